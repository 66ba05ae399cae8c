"""The backtest engine: determinism, latency ordering, chunked and merged data, risk, configs, callbacks."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shrivenquant.backtest import (
    BacktestEngine,
    ImbalanceTaker,
    MarketMaker,
    Strategy,
    VenueConfig,
    generated_events,
    merge_sources,
    run,
)
from shrivenquant.core import OrderAccepted, OrderFilled
from shrivenquant.errors import ValidationError


@pytest.fixture(scope="module")
def stream() -> tuple[np.ndarray, list[Any]]:
    ev, insts, _ = generated_events(4000, seed=11)
    return ev, insts


def _mm() -> MarketMaker:
    return MarketMaker(qty=10, offset_ticks=0, skew_qty=20, max_position=100)


def _venue(entry: int = 1_000_000, resp: int = 1_000_000) -> dict[str, VenueConfig]:
    return {"BINANCE_USDM": VenueConfig(entry_latency_ns=entry, response_latency_ns=resp, maker_fee="-0.0001",
                                        taker_fee="0.0004", queue="power2")}


def test_rerun_is_bit_identical(stream: tuple[np.ndarray, list[Any]]) -> None:
    ev, insts = stream
    a = BacktestEngine(insts, _mm(), venues=_venue()).run(ev)
    b = BacktestEngine(insts, _mm(), venues=_venue()).run(ev)
    assert a.fills.size > 50
    assert a.fills.tobytes() == b.fills.tobytes()
    assert a.equity.tobytes() == b.equity.tobytes() and a.equity_ts.tobytes() == b.equity_ts.tobytes()
    assert a.orders == b.orders and a.positions == b.positions and a.fees == b.fees


def test_fills_agree_with_the_oms_positions(stream: tuple[np.ndarray, list[Any]]) -> None:
    ev, insts = stream
    r = BacktestEngine(insts, _mm(), venues=_venue()).run(ev)
    signed = np.where(r.fills["side"] == 1, r.fills["qty"], -r.fills["qty"]).sum()
    pos = r.om.position(insts[0].id)
    assert pos.qty == signed
    assert sum(o["filled_raw"] for o in r.orders) == int(r.fills["qty"].sum())
    # the equity curve starts at the deposit and ends at deposit + cash flows + position at mid - fees
    assert r.equity[0] == 10_000.0


class _Recorder(Strategy):
    """Sends one limit order at the first book update and records when things arrive."""

    def __init__(self) -> None:
        self.sent_at: int | None = None
        self.seen: list[tuple[int, Any]] = []

    def on_book(self, ctx: Any, instrument: int) -> None:
        if self.sent_at is None:
            book = ctx.book(instrument)
            self.sent_at = ctx.now
            ctx.limit(instrument, 1, book.best_bid_price_raw, 10)

    def on_order_event(self, ctx: Any, event: Any) -> None:
        self.seen.append((ctx.now, event))


def test_acks_and_fills_arrive_after_their_latency(stream: tuple[np.ndarray, list[Any]]) -> None:
    ev, insts = stream
    entry, resp = 7_000_000, 3_000_000
    s = _Recorder()
    BacktestEngine(insts, s, venues=_venue(entry, resp)).run(ev)
    assert s.sent_at is not None
    (now, ack), *rest = s.seen
    assert type(ack) is OrderAccepted
    assert ack.ts_event == s.sent_at + entry  # reached the venue after the entry latency
    assert now == ack.ts_event + resp  # and came back after the response latency
    for now, e in rest:
        assert now == e.ts_event + resp
        assert e.ts_event >= ack.ts_event
    assert any(type(e) is OrderFilled for _, e in rest)


def test_chunked_and_whole_input_give_the_same_run(stream: tuple[np.ndarray, list[Any]]) -> None:
    ev, insts = stream
    whole = BacktestEngine(insts, _mm(), venues=_venue()).run(ev)
    cuts = [0, 1, 777, 1500, 3001, ev.size]  # cuts fall inside messages: the engine carries them over
    chunks = [ev[a:b] for a, b in itertools.pairwise(cuts)]
    chunked = BacktestEngine(insts, _mm(), venues=_venue()).run(iter(chunks))
    assert whole.fills.tobytes() == chunked.fills.tobytes()
    assert whole.events == chunked.events == ev.size


def test_merge_sources_orders_by_local_time_stably(stream: tuple[np.ndarray, list[Any]]) -> None:
    ev, _ = stream
    a = ev[: ev.size // 2].copy()
    b = ev[ev.size // 2:].copy()
    b["ts_local"] -= b["ts_local"][0] - a["ts_local"][0]  # overlap the two in time
    b["instrument_id"] = 1
    merged = np.concatenate(list(merge_sources([iter(np.array_split(a, 3)), iter(np.array_split(b, 5))])))
    assert merged.size == a.size + b.size
    assert (np.diff(merged["ts_local"]) >= 0).all()
    for iid, src in ((0, a), (1, b)):  # each source keeps its own order
        assert merged[merged["instrument_id"] == iid].tobytes() == src.tobytes()


def test_risk_gate_denies_before_the_venue(stream: tuple[np.ndarray, list[Any]]) -> None:
    _ev, _insts = stream
    cfg = {"data": {"generated_messages": 1500, "seed": 11},
           "strategy": {"name": "market_maker",
                        "params": {"qty": "0.010", "skew_qty": "0.020", "max_position": "0.100"}},
           "risk": {"currency": "USDT", "instruments": [{"instrument_id": "SYNTHUSDT.BINANCE_USDM",
                                                          "max_order_qty": "0.005"}]}}
    r = run(cfg)
    assert r.orders and all(o["status"] == "DENIED" for o in r.orders)
    assert r.fills.size == 0


def test_toml_config_and_imbalance_taker(tmp_path: Path) -> None:
    path = tmp_path / "bt.toml"
    path.write_text('initial_balance = "2000"\n[data]\ngenerated_messages = 3000\n'
                    '[strategy]\nname = "imbalance_taker"\n'
                    'params = { qty = "0.010", max_position = "0.050", threshold = 0.5, cooldown_ns = 200000000 }\n'
                    '[venue]\ntaker_fee = "0.0004"\nentry_latency_ns = 500000\n')
    r = run(path)
    assert r.fills.size > 0 and (r.fills["liquidity"] == 2).all()  # a taker
    assert r.equity[0] == 2000.0
    assert abs(int(np.where(r.fills["side"] == 1, r.fills["qty"], -r.fills["qty"]).sum())) <= 50
    with pytest.raises(ValidationError):
        run({"strategy": {"name": "nope"}, "data": {"generated_messages": 200}})


class _Timers(Strategy):
    def __init__(self) -> None:
        self.timers: list[int] = []
        self.bars: list[Any] = []
        self.trades = 0

    def on_start(self, ctx: Any) -> None:
        ctx.set_timer(ctx.now + 1_000_000_000, "tick")

    def on_timer(self, ctx: Any, ts: int, name: str) -> None:
        self.timers.append(ts)
        if len(self.timers) < 3:
            ctx.set_timer(ts + 1_000_000_000, name)

    def on_trade(self, ctx: Any, instrument: int, aggressor: int, price_raw: int, qty_raw: int) -> None:
        self.trades += 1

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.bars.append(bar)


def test_timers_bars_and_trades(stream: tuple[np.ndarray, list[Any]]) -> None:
    ev, insts = stream
    s = _Timers()
    BacktestEngine(insts, s, bar_interval_ns=1_000_000_000).run(ev)
    t0 = int(ev["ts_local"][0])
    assert s.timers == [t0 + k * 1_000_000_000 for k in (1, 2, 3)]
    assert s.trades == int((ev["kind"] == 7).sum())
    assert s.bars and all(b.ts_close - b.ts_open == 1_000_000_000 and b.low <= b.close <= b.high for b in s.bars)
    assert sum(b.trades for b in s.bars) <= s.trades


def test_imbalance_taker_reduce_only_never_flips(stream: tuple[np.ndarray, list[Any]]) -> None:
    ev, insts = stream
    r = BacktestEngine(insts, ImbalanceTaker(qty=10, max_position=30, threshold=0.4, cooldown_ns=100_000_000),
                       venues=_venue()).run(ev)
    pos = np.cumsum(np.where(r.fills["side"] == 1, r.fills["qty"], -r.fills["qty"]))
    assert r.fills.size and np.abs(pos).max() <= 30


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # CAGR of seconds, annualised
def test_tearsheet_from_a_run(stream: tuple[np.ndarray, list[Any]]) -> None:
    ev, insts = stream
    r = BacktestEngine(insts, _mm(), venues=_venue(), sample_ns=100_000_000).run(ev)
    rep = r.report("mm")
    html = rep.to_html(plots=False)
    assert "Sharpe" in html


def test_progress_bar_on_request(stream: tuple[np.ndarray, list[Any]], capsys: pytest.CaptureFixture[str]) -> None:
    ev, insts = stream
    BacktestEngine(insts, Strategy(), progress=True).run(ev)
    err = capsys.readouterr().err
    assert f"{ev.size:,}/{ev.size:,} events" in err and "100.0%" in err
