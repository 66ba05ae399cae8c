"""Risk configuration: TOML / JSON loading, validation errors, building against instruments, and the
PreTradeRisk layer over Order, Price, Quantity, Money and order events."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from shrivenquant.core import (
    Instrument,
    InstrumentKind,
    LiquiditySide,
    Money,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderSide,
    Price,
    Quantity,
)
from shrivenquant.errors import InstrumentError, PrecisionError, RiskRejectionError, ValidationError
from shrivenquant.risk import (
    InstrumentLimits,
    KillState,
    PreTradeRisk,
    PriceCollar,
    RejectReason,
    RiskConfig,
    StrategyLimits,
    Throttle,
    TradingState,
    config_from_json,
    config_from_toml,
    engine_arguments,
    load_config,
)

BTC = Instrument(venue="BINANCE", symbol="BTCUSDT", kind=InstrumentKind.SPOT, quote="USDT", base="BTC",
                 price_tick=Price("0.01"), size_step=Quantity("0.00001"), min_notional=Money("5"))
ETH = Instrument(venue="BINANCE", symbol="ETHUSDT", kind=InstrumentKind.SPOT, quote="USDT", base="ETH",
                 price_tick=Price("0.01"), size_step=Quantity("0.0001"))

TOML = """
currency = "USDT"
money_precision = 2

[[instruments]]
instrument_id = "BTCUSDT.BINANCE"
max_order_qty = "2"
max_order_notional = 150000
max_position_net = "3"
collar = { unit = "bps", buy_up = 500, buy_down = 500, sell_up = 500, sell_down = 500 }

[[strategies]]
name = "mm"
credit_limit = 250000
order_rate = { limit = 2, window_ns = 1_000_000_000 }
daily_loss = { limit = 1000, action = "REDUCING" }

[[strategies]]
name = "taker"

[account]
credit_limit = 1e6
duplicate_window_ns = 60_000_000_000
"""


def _order(cid: str, side: OrderSide, qty: str, price: str | None, ts: int = 1) -> Order:
    if price is None:
        return Order.market(client_order_id=cid, instrument_id="BTCUSDT.BINANCE", side=side,
                            quantity=Quantity(qty), ts_init=ts)
    return Order.limit(client_order_id=cid, instrument_id="BTCUSDT.BINANCE", side=side, quantity=Quantity(qty),
                       price=Price(price), ts_init=ts)


def test_toml_and_json_give_the_same_config(tmp_path: Path) -> None:
    cfg = config_from_toml(TOML)
    assert cfg.instruments[0].collar == PriceCollar(unit="bps", buy_up=500, buy_down=500, sell_up=500, sell_down=500)
    assert cfg.strategies[0].order_rate == Throttle(limit=2, window_ns=1_000_000_000)
    assert config_from_json(msgspec.json.encode(cfg)) == cfg
    (tmp_path / "risk.toml").write_text(TOML)
    (tmp_path / "risk.json").write_bytes(msgspec.json.encode(cfg))
    assert load_config(tmp_path / "risk.toml") == load_config(tmp_path / "risk.json") == cfg
    with pytest.raises(ValidationError, match="toml or .json"):
        load_config(tmp_path / "risk.yaml")


@pytest.mark.parametrize(("snippet", "message"), [
    ('[[strategies]]\nname = "x"\ncredit_limit = -1', "credit_limit must be >= 0"),
    ('[[strategies]]\nname = "x"\norder_rate = { limit = 0, window_ns = 5 }', "Throttle.limit must be > 0"),
    ('[[strategies]]\nname = "x"\norder_rate = { limit = 5, window_ns = 0 }', "window_ns must be > 0"),
    ('[[instruments]]\ninstrument_id = "A.B"\ncollar = { unit = "bps", buy_down = 10000 }', "reaches zero"),
    ('[[instruments]]\ninstrument_id = "A.B"\ncollar = { unit = "bps" }', "at least one band"),
    ('[[instruments]]\ninstrument_id = "A.B"\ncollar = { unit = "pct", buy_up = 1 }', "unit"),
    ('[[instruments]]\ninstrument_id = "A.B"\nmin_qty = 5\nmax_order_qty = 4', "min_qty 5 > max_order_qty 4"),
    ('[[instruments]]\ninstrument_id = "A.B"\nmax_position_net = 5\nmax_position_gross = 4', "never larger"),
    ('[[instruments]]\ninstrument_id = "A.B"\nmargin_rate = 0.00001', "whole number of bps"),
    ('[[strategies]]\nname = "x"\n[[strategies]]\nname = "x"', "more than once"),
    ('[[strategies]]\nname = "x"\ndaily_loss = { limit = 5, action = "STOP" }', "action"),
    ('[[strategies]]\nname = "x"\norder_to_trade = { max_ratio = 0.0001 }', "3 decimals"),
    ('[[strategies]]\nname = "x"\nunknown_field = 1', "unknown_field"),
    ('[account]\nduplicate_window_ns = -5', "duplicate_window_ns must be >= 0"),
    ('[account]\nbalance = "nan"', "finite"),
])
def test_validation_errors_name_the_field(snippet: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config_from_toml('currency = "USDT"\n' + snippet)


def test_bad_syntax_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="TOML"):
        config_from_toml("currency = ")
    with pytest.raises(ValidationError, match="JSON"):
        config_from_json(b"{")


def test_building_checks_instruments() -> None:
    cfg = config_from_toml(TOML)
    with pytest.raises(InstrumentError, match="unknown instruments"):
        PreTradeRisk.from_config(cfg, [ETH])
    inr = Instrument(venue="NSE", symbol="INFY", kind=InstrumentKind.EQUITY, quote="INR", price_tick=Price("0.05"),
                     size_step=Quantity("1"))
    with pytest.raises(InstrumentError, match="quote currency INR"):
        PreTradeRisk.from_config(RiskConfig(currency="USDT"), [inr])
    coinm = Instrument(venue="BINANCE_COINM", symbol="BTCUSD_PERP", kind=InstrumentKind.PERPETUAL, quote="USDT",
                       price_tick=Price("0.1"), size_step=Quantity("1"), multiplier=Quantity("100"), inverse=True)
    with pytest.raises(InstrumentError, match="inverse"):
        PreTradeRisk.from_config(RiskConfig(currency="USDT"), [coinm])
    tiny = InstrumentLimits(instrument_id="BTCUSDT.BINANCE", max_order_qty=Decimal("0.000001"))
    bad = RiskConfig(currency="USDT", money_precision=2, instruments=(tiny,))
    with pytest.raises(ValidationError, match="Decimal"):
        InstrumentLimits(instrument_id="X.Y", max_order_qty="1")  # type: ignore[arg-type]
    with pytest.raises(PrecisionError, match="max_order_qty"):
        PreTradeRisk.from_config(bad, [BTC])


def test_engine_arguments_are_raw() -> None:
    args = engine_arguments(config_from_toml(TOML), [BTC, ETH])
    btc = args["instruments"][0]
    assert (btc["tick"], btc["lot"], btc["max_qty"], btc["max_net"]) == (1, 1, 200_000, 300_000)
    # notional = price_raw (2 dp) * qty_raw (5 dp) / 10**5 at money precision 2; the venue's 5 USDT minimum
    assert (btc["notional_num"], btc["notional_den"], btc["min_notional"]) == (1, 10**5, 500)
    assert btc["max_notional"] == 15_000_000
    assert args["strategies"][0]["order_limit"] == 2 and args["strategies"][0]["daily_loss_action"] == 1
    assert args["account"]["duplicate_window_ns"] == 60_000_000_000


def test_pre_trade_risk_over_domain_types() -> None:
    risk = PreTradeRisk.from_config(config_from_toml(TOML), [BTC, ETH])
    rejected: list[tuple[int, ...]] = []
    risk.on_reject(lambda *a: rejected.append(a))
    assert risk.check(_order("m1", OrderSide.BUY, "1", None)) == RejectReason.NO_REFERENCE_PRICE
    risk.set_reference("BTCUSDT.BINANCE", Price("60000"))
    assert risk.check(_order("a1", OrderSide.BUY, "1.5", "60100.00"), "mm") == RejectReason.ACCEPTED
    assert risk.check(_order("a1", OrderSide.BUY, "0.1", "60100.00"), "mm") == RejectReason.DUPLICATE_ORDER_ID
    assert risk.check(_order("a2", OrderSide.BUY, "2.5", "60000.00"), "mm") == RejectReason.MAX_ORDER_QTY
    assert risk.check(_order("a3", OrderSide.BUY, "1", "63000.01"), "mm") == RejectReason.PRICE_COLLAR
    assert risk.check(_order("a4", OrderSide.BUY, "1.6", "60000.00"), "mm") == RejectReason.POSITION_LIMIT_NET
    assert risk.check(_order("a5", OrderSide.SELL, "0.00001", "60000.00"), "mm") == RejectReason.MIN_NOTIONAL
    assert risk.check(_order("a6", OrderSide.SELL, "1", "60000.00", ts=2), "mm") == RejectReason.ACCEPTED
    assert risk.check(_order("a6b", OrderSide.SELL, "1", "60000.00", ts=2), "mm") == RejectReason.ORDER_RATE
    assert risk.check(_order("a7", OrderSide.SELL, "1", "60000.00", ts=2), "taker") == RejectReason.ACCEPTED
    assert risk.reject_counts()[RejectReason.DUPLICATE_ORDER_ID] == 1
    assert len(rejected) == sum(risk.reject_counts().values())
    assert risk.explain(RejectReason.ORDER_RATE).startswith("ORDER_RATE: order rate above the limit (strategy 0")
    with pytest.raises(RiskRejectionError) as info:
        risk.check_or_raise(_order("a1", OrderSide.BUY, "0.1", "60100.00"), "mm")
    assert info.value.check == "DUPLICATE_ORDER_ID"

    # OMS events
    ack = OrderAccepted(client_order_id="a1", instrument_id="BTCUSDT.BINANCE", ts_event=3, ts_init=3,
                        venue_order_id="v1")
    assert risk.apply(ack) == RejectReason.ACCEPTED
    fill = OrderFilled(client_order_id="a1", instrument_id="BTCUSDT.BINANCE", ts_event=4, ts_init=4,
                       venue_order_id="v1", trade_id="t1",
                       order_side=OrderSide.BUY, last_qty=Quantity("1.5"), last_px=Price("60100.00"),
                       fee=Money("0"), liquidity_side=LiquiditySide.MAKER)
    assert risk.apply(fill) == RejectReason.ACCEPTED
    snap = risk.engine.snapshot()
    assert snap["positions"][(0, 0)]["pos"] == 150_000 and snap["strategies"][0]["open_notional"] == 6_000_000  # a6
    risk.update_mark("BTCUSDT.BINANCE", Price("59300.00"))   # loss 1.5 * 800 = 1200 > 1000: REDUCING
    assert risk.trading_state("mm") == (TradingState.REDUCING, 1)
    assert risk.check(_order("a8", OrderSide.BUY, "0.1", "59300.00", ts=5 * 10**9), "mm") == \
        RejectReason.DAILY_LOSS_LIMIT
    assert risk.check(_order("a9", OrderSide.SELL, "0.5", "59300.00", ts=5 * 10**9), "mm") == RejectReason.ACCEPTED
    cancel = OrderCanceled(client_order_id="a9", instrument_id="BTCUSDT.BINANCE", ts_event=6, ts_init=6,
                           venue_order_id="v9")
    assert risk.apply(cancel) == RejectReason.ACCEPTED
    assert risk.apply(cancel) == RejectReason.UNKNOWN_ORDER

    killed: list[tuple[int, list[int]]] = []
    risk.on_kill(lambda s, ids: killed.append((s, list(ids))))
    risk.kill("taker")
    assert killed == [(1, [risk.order_id("a7")])]
    assert risk.kill_state("taker") == KillState.MANUAL
    risk.reset_kill("taker")
    risk.set_trading_state(TradingState.HALTED)
    assert risk.trading_state() == (TradingState.HALTED, 0)
    with pytest.raises(ValidationError, match="unknown strategy"):
        risk.check(_order("b1", OrderSide.BUY, "1", "60000.00"), "nobody")
    with pytest.raises(InstrumentError):
        risk.update_mark("XRPUSDT.BINANCE", Price("1"))


def test_pre_trade_risk_reset_starts_a_new_session() -> None:
    cfg = config_from_toml(TOML)
    risk = PreTradeRisk.from_config(cfg, [BTC, ETH])
    risk.set_reference("BTCUSDT.BINANCE", Price("60000"))
    assert risk.check(_order("a1", OrderSide.BUY, "1.5", "60100.00"), "mm") == RejectReason.ACCEPTED
    risk.kill("taker")
    risk.set_trading_state(TradingState.HALTED)
    risk.reset()
    fresh = PreTradeRisk.from_config(cfg, [BTC, ETH])
    fresh.set_reference("BTCUSDT.BINANCE", Price("60000"))
    assert risk.engine.snapshot() == fresh.engine.snapshot()
    assert risk.order_ids == {}
    # the same client id again: accepted as in a fresh gate (the duplicate memory went with the session)
    assert risk.check(_order("a1", OrderSide.BUY, "1.5", "60100.00"), "mm") == RejectReason.ACCEPTED
    assert fresh.check(_order("a1", OrderSide.BUY, "1.5", "60100.00"), "mm") == RejectReason.ACCEPTED
    assert risk.engine.snapshot() == fresh.engine.snapshot()


def test_default_config_has_one_strategy() -> None:
    cfg = RiskConfig(currency="USDT")
    assert cfg.strategies == (StrategyLimits(name="default"),)
    risk = PreTradeRisk.from_config(cfg, [ETH])
    o = Order.limit(client_order_id="x", instrument_id="ETHUSDT.BINANCE", side=OrderSide.BUY,
                    quantity=Quantity("0.0001"), price=Price("3000.00"), ts_init=0)
    assert risk.check(o) == RejectReason.ACCEPTED
    assert risk.check_modify("x", Price("3000.01"), Quantity("0.0002"), 1) == RejectReason.ACCEPTED
    assert risk.check_modify("nope", Price("3000.01"), Quantity("0.0002"), 1) == RejectReason.UNKNOWN_ORDER
    assert risk.check_cancel("x", 2) == RejectReason.ACCEPTED
