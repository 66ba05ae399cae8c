"""Every pre-trade check at its boundary (just inside accepts, just outside rejects with its reason), for
the native engine and the plain-Python reference model alike."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrivenquant._native.risk import RiskEngine
from shrivenquant.errors import ValidationError
from shrivenquant.risk import ReferenceRiskModel, RejectReason, RiskOp
from shrivenquant.risk import RejectReason as R

IMPLS = [RiskEngine, ReferenceRiskModel]
BUY, SELL = 1, 2


@pytest.fixture(params=IMPLS, ids=["native", "reference"])
def impl(request: pytest.FixtureRequest) -> Any:
    return request.param


def make(impl: Any, ni: int = 1, ns: int = 1, *, inst: dict[str, Any] | None = None,
         strat: dict[str, Any] | None = None, account: dict[str, Any] | None = None) -> Any:
    e = impl(ni, ns)
    for i in range(ni):
        e.configure_instrument(i, **(inst or {}))
    for s in range(ns):
        e.configure_strategy(s, **(strat or {}))
    e.configure_account(**(account or {}))
    return e


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def test_no_limits_accepts(impl: Any) -> None:
    e = make(impl)
    assert e.check(0, 0, BUY, 100, 5, 0, 1) == 0
    assert e.snapshot()["instruments"][0]["open_buy"] == 5


@pytest.mark.parametrize("args", [
    (0, 0, 3, 100, 5, 0, 1),   # side
    (0, 0, BUY, 100, 0, 0, 1),  # qty
    (0, 0, BUY, -1, 5, 0, 1),   # price
    (1, 0, BUY, 100, 5, 0, 1),  # instrument index
    (0, 1, BUY, 100, 5, 0, 1),  # strategy index
    (0, 0, BUY, 100, 5, 0, 0),  # order id
])
def test_invalid_order(impl: Any, args: tuple[int, ...]) -> None:
    e = make(impl)
    assert e.check(*args) == R.INVALID_ORDER


def test_max_order_qty(impl: Any) -> None:
    e = make(impl, inst={"max_qty": 100, "lot": 10})
    assert e.check(0, 0, BUY, 100, 100, 0, 1) == 0
    assert e.check(0, 0, BUY, 100, 110, 0, 2) == R.MAX_ORDER_QTY
    assert e.last_reject() == (110, 100, 1, 0)


def test_max_order_notional_instrument_and_strategy(impl: Any) -> None:
    # notional = ceil(px * qty * 3 / 10)
    e = make(impl, inst={"max_notional": 300, "notional_num": 3, "notional_den": 10})
    assert e.check(0, 0, BUY, 10, 100, 0, 1) == 0                 # exactly 300
    assert e.check(0, 0, BUY, 10, 101, 0, 2) == R.MAX_ORDER_NOTIONAL  # 303
    e = make(impl, strat={"max_notional": 1000})
    assert e.check(0, 0, SELL, 10, 100, 0, 1) == 0
    assert e.check(0, 0, SELL, 10, 101, 0, 2) == R.MAX_ORDER_NOTIONAL
    assert e.last_reject() == (1010, 1000, 2, 0)


def test_notional_rounds_up(impl: Any) -> None:
    e = make(impl, inst={"max_notional": 1, "notional_num": 1, "notional_den": 100})
    assert e.check(0, 0, BUY, 10, 10, 0, 1) == 0                     # 100 / 100 = 1
    assert e.check(0, 0, BUY, 101, 1, 0, 2) == R.MAX_ORDER_NOTIONAL  # ceil(1.01) = 2
    assert e.last_reject()[:2] == (2, 1)


def test_min_qty_and_min_notional(impl: Any) -> None:
    e = make(impl, inst={"min_qty": 20, "min_notional": 500})
    assert e.check(0, 0, BUY, 25, 20, 0, 1) == 0
    assert e.check(0, 0, BUY, 100, 19, 0, 2) == R.MIN_QTY
    assert e.check(0, 0, BUY, 24, 20, 0, 3) == R.MIN_NOTIONAL
    assert e.last_reject() == (480, 500, 1, 0)


def test_tick_and_lot(impl: Any) -> None:
    e = make(impl, inst={"tick": 5, "lot": 10})
    assert e.check(0, 0, BUY, 10005, 10, 0, 1) == 0
    assert e.check(0, 0, BUY, 10006, 10, 0, 2) == R.TICK_SIZE
    assert e.check(0, 0, BUY, 10005, 15, 0, 3) == R.LOT_SIZE


def test_price_collar_bps_per_side(impl: Any) -> None:
    e = make(impl, inst={"collar_unit": 1, "buy_up": 100, "buy_down": 200, "sell_up": 50, "sell_down": 300})
    assert e.check(0, 0, BUY, 10000, 1, 0, 1) == R.NO_REFERENCE_PRICE
    e.set_reference(0, 10000)
    ids = Ids()
    assert e.check(0, 0, BUY, 10100, 1, 0, ids()) == 0
    assert e.check(0, 0, BUY, 10101, 1, 0, ids()) == R.PRICE_COLLAR
    assert e.check(0, 0, BUY, 9800, 1, 0, ids()) == 0
    assert e.check(0, 0, BUY, 9799, 1, 0, ids()) == R.PRICE_COLLAR
    assert e.check(0, 0, SELL, 10050, 1, 0, ids()) == 0
    assert e.check(0, 0, SELL, 10051, 1, 0, ids()) == R.PRICE_COLLAR
    assert e.check(0, 0, SELL, 9700, 1, 0, ids()) == 0
    assert e.check(0, 0, SELL, 9699, 1, 0, ids()) == R.PRICE_COLLAR
    # bps bounds never widen the band: 1 bp of 10001 is 1.0001 -> upper bound floor(10002.0001) = 10002
    e.set_reference(0, 10001)
    e.configure_instrument(0, collar_unit=1, buy_up=1)
    assert e.check(0, 0, BUY, 10002, 1, 0, ids()) == 0
    assert e.check(0, 0, BUY, 10003, 1, 0, ids()) == R.PRICE_COLLAR


def test_price_collar_ticks(impl: Any) -> None:
    e = make(impl, inst={"tick": 5, "collar_unit": 2, "buy_up": 2, "sell_down": 3})
    e.set_reference(0, 10000)
    assert e.check(0, 0, BUY, 10010, 1, 0, 1) == 0
    assert e.check(0, 0, BUY, 10015, 1, 0, 2) == R.PRICE_COLLAR
    assert e.check(0, 0, BUY, 5, 1, 0, 3) == 0  # no buy_down band
    assert e.check(0, 0, SELL, 9985, 1, 0, 4) == 0
    assert e.check(0, 0, SELL, 9980, 1, 0, 5) == R.PRICE_COLLAR


def test_market_order_needs_reference_and_is_valued_at_it(impl: Any) -> None:
    e = make(impl, inst={"max_notional": 1000})
    assert e.check(0, 0, BUY, 0, 10, 0, 1) == R.NO_REFERENCE_PRICE
    e.set_reference(0, 100)
    assert e.check(0, 0, BUY, 0, 10, 0, 2) == 0
    assert e.check(0, 0, BUY, 0, 11, 0, 3) == R.MAX_ORDER_NOTIONAL
    assert e.order(2) == (0, 0, BUY, 100, 10, False)


@pytest.mark.parametrize(("kind", "reason"), [("order", R.ORDER_RATE), ("modify", R.MODIFY_RATE),
                                              ("cancel", R.CANCEL_RATE)])
def test_rate_throttles_rolling_window(impl: Any, kind: str, reason: RejectReason) -> None:
    e = make(impl, strat={f"{kind}_limit": 3, f"{kind}_window_ns": 1000})
    ids = Ids()

    def send(ts: int) -> int:
        if kind == "order":
            return int(e.check(0, 0, BUY, 100, 1, ts, ids()))
        if kind == "modify":
            return int(e.check_modify(1, 100 + ts % 7 + 1, 1, ts))
        return int(e.check_cancel(1, ts))

    if kind != "order":
        assert e.check(0, 0, BUY, 100, 1, 0, ids()) == 0
    assert [send(t) for t in (0, 1, 2)] == [0, 0, 0]
    assert send(999) == reason          # 3 messages in (-1, 999]
    assert send(1000) == 0              # the one at 0 left the window (1000 - 1000, 1000]
    assert send(1000) == reason
    assert send(1001) == 0


def test_duplicate_order_id_working_and_window(impl: Any) -> None:
    e = make(impl, account={"duplicate_window_ns": 100})
    assert e.check(0, 0, BUY, 100, 1, 0, 7) == 0
    assert e.check(0, 0, BUY, 100, 1, 5, 7) == R.DUPLICATE_ORDER_ID
    assert e.on_canceled(7) == 0
    assert e.check(0, 0, BUY, 100, 1, 99, 7) == R.DUPLICATE_ORDER_ID   # seen at 0, window 100
    assert e.check(0, 0, BUY, 100, 1, 100, 7) == 0
    e2 = make(impl)  # no window: only working ids are duplicates
    assert e2.check(0, 0, BUY, 100, 1, 0, 7) == 0
    assert e2.check(0, 0, BUY, 100, 1, 0, 7) == R.DUPLICATE_ORDER_ID
    e2.on_canceled(7)
    assert e2.check(0, 0, BUY, 100, 1, 0, 7) == 0


@pytest.mark.parametrize("scope", ["strategy", "account"])
def test_credit_limit_counts_working_orders_at_once(impl: Any, scope: str) -> None:
    kw = {"strat": {"credit_limit": 1000}} if scope == "strategy" else {"account": {"credit_limit": 1000}}
    e = make(impl, **kw)
    assert e.check(0, 0, BUY, 10, 60, 0, 1) == 0
    assert e.check(0, 0, SELL, 10, 40, 0, 2) == 0            # 600 + 400 = 1000
    assert e.check(0, 0, BUY, 1, 1, 0, 3) == R.CREDIT_LIMIT   # 1001
    assert e.on_fill(1, 0, 0, BUY, 10, 10, 1) == 0            # 100 of it released
    assert e.check(0, 0, BUY, 10, 10, 0, 4) == 0
    assert e.check(0, 0, BUY, 1, 1, 0, 5) == R.CREDIT_LIMIT
    assert e.on_canceled(2) == 0
    assert e.check(0, 0, BUY, 10, 40, 0, 6) == 0


def test_position_limit_net_after_full_fill(impl: Any) -> None:
    e = make(impl, inst={"max_net": 100})
    assert e.check(0, 0, BUY, 10, 60, 0, 1) == 0
    assert e.check(0, 0, BUY, 10, 40, 0, 2) == 0               # worst long 100
    assert e.check(0, 0, BUY, 10, 1, 0, 3) == R.POSITION_LIMIT_NET
    assert e.check(0, 0, SELL, 10, 100, 0, 4) == 0             # worst short -100
    assert e.check(0, 0, SELL, 10, 1, 0, 5) == R.POSITION_LIMIT_NET
    e.on_fill(1, 0, 0, BUY, 10, 60, 1)                          # position +60, open buy 40
    assert e.check(0, 0, BUY, 10, 1, 0, 6) == R.POSITION_LIMIT_NET
    e.on_canceled(4)
    assert e.check(0, 0, SELL, 10, 160, 0, 7) == 0              # 60 - 160 = -100
    assert e.check(0, 0, SELL, 10, 1, 0, 8) == R.POSITION_LIMIT_NET


def test_position_limit_gross(impl: Any) -> None:
    e = make(impl, 1, 2, inst={"max_gross": 150})
    assert e.check(0, 0, BUY, 10, 100, 0, 1) == 0
    e.on_fill(1, 0, 0, BUY, 10, 100, 1)
    assert e.check(0, 1, SELL, 10, 50, 0, 2) == 0   # strategy 1 short 50: gross 150, net 50
    assert e.check(0, 1, SELL, 10, 1, 0, 3) == R.POSITION_LIMIT_GROSS
    e.on_fill(2, 0, 1, SELL, 10, 50, 2)
    assert e.snapshot()["instruments"][0]["gross_pos"] == 150
    assert e.snapshot()["instruments"][0]["net_pos"] == 50


@pytest.mark.parametrize("scope", ["strategy", "instrument", "account"])
def test_max_open_orders(impl: Any, scope: str) -> None:
    kw: dict[str, Any] = {"strategy": {"strat": {"max_open": 2}}, "instrument": {"inst": {"max_open": 2}},
                          "account": {"account": {"max_open": 2}}}[scope]
    e = make(impl, **kw)
    assert e.check(0, 0, BUY, 10, 1, 0, 1) == 0
    assert e.check(0, 0, BUY, 10, 1, 0, 2) == 0
    assert e.check(0, 0, BUY, 10, 1, 0, 3) == R.MAX_OPEN_ORDERS
    e.on_fill(1, 0, 0, BUY, 10, 1, 0)
    assert e.check(0, 0, BUY, 10, 1, 0, 4) == 0


def test_margin_against_balance_and_unrealized(impl: Any) -> None:
    e = make(impl, inst={"margin_bps": 5000}, account={"margin": True, "balance": 1000})
    assert e.check(0, 0, BUY, 10, 200, 0, 1) == 0     # notional 2000, margin 1000 = equity
    assert e.check(0, 0, BUY, 1, 1, 0, 2) == R.MARGIN  # one more unit of margin
    assert e.last_reject() == (1001, 1000, 3, -1)
    e.set_balance(1001)
    assert e.check(0, 0, BUY, 1, 1, 0, 3) == 0
    # a fill turns order margin into position margin at the mark; a loss cuts equity
    e.on_fill(1, 0, 0, BUY, 10, 200, 1)
    snap = e.snapshot()["account"]
    assert (snap["order_margin"], snap["pos_margin"]) == (1, 1000)
    e.on_mark(0, 9)                                    # unrealized -200, position margin 900
    snap = e.snapshot()["account"]
    assert (snap["unrealized"], snap["pos_margin"]) == (-200, 900)
    assert e.check(0, 0, BUY, 1, 1, 0, 4) == R.MARGIN  # need 1 + 900 + 1 = 902 > equity 1001 - 200
    e.set_balance(1101)
    assert e.check(0, 0, BUY, 1, 1, 0, 5) == R.MARGIN  # 902 > 901
    e.set_balance(1102)
    assert e.check(0, 0, BUY, 1, 1, 0, 6) == 0         # 902 = 902


def test_margin_free_for_reducing_orders(impl: Any) -> None:
    e = make(impl, account={"margin": True, "balance": 1000})
    e.on_fill(0, 0, 0, BUY, 10, 100, 0)                # unknown id: position +100, position margin 1000
    assert e.snapshot()["account"]["pos_margin"] == 1000
    assert e.check(0, 0, BUY, 10, 1, 0, 1) == R.MARGIN
    assert e.check(0, 0, SELL, 10, 100, 0, 2) == 0     # reduces: no margin
    assert e.check(0, 0, SELL, 10, 1, 0, 3) == R.MARGIN  # would flip (open sells count): needs margin


def test_kill_switch_global_and_strategy(impl: Any) -> None:
    e = make(impl, 1, 2)
    seen: list[tuple[int, list[int]]] = []
    e.kill_hook = lambda s, ids: seen.append((s, list(ids)))
    assert e.check(0, 0, BUY, 10, 1, 0, 1) == 0
    assert e.check(0, 1, BUY, 10, 1, 0, 2) == 0
    e.kill(0)
    assert seen == [(0, [1])]
    assert e.check(0, 0, BUY, 10, 1, 0, 3) == R.KILL_SWITCH_STRATEGY
    assert e.check_modify(1, 11, 1, 0) == R.KILL_SWITCH_STRATEGY
    assert e.check_cancel(1, 0) == 0                   # cancels still pass
    assert e.check(0, 1, BUY, 10, 1, 0, 4) == 0
    e.kill()
    assert seen[-1] == (-1, [1, 2, 4])
    assert e.check(0, 1, BUY, 10, 1, 0, 5) == R.KILL_SWITCH_GLOBAL
    e.reset_kill()
    assert e.check(0, 0, BUY, 10, 1, 0, 6) == R.KILL_SWITCH_STRATEGY
    e.reset_kill(0)
    assert e.check(0, 0, BUY, 10, 1, 0, 7) == 0
    assert e.kill_state(0) == 0


@pytest.mark.parametrize("scope", [None, 0])
def test_trading_states(impl: Any, scope: int | None) -> None:
    e = make(impl)
    e.on_fill(0, 0, 0, BUY, 10, 10, 0)                  # long 10
    e.set_trading_state(2, scope)
    assert e.check(0, 0, SELL, 10, 1, 0, 1) == R.TRADING_HALTED
    e.set_trading_state(1, scope)
    assert e.check(0, 0, BUY, 10, 1, 0, 2) == R.REDUCE_ONLY
    assert e.check(0, 0, SELL, 10, 11, 0, 3) == R.REDUCE_ONLY   # would flip to short
    assert e.check(0, 0, SELL, 10, 6, 0, 4) == 0
    assert e.check(0, 0, SELL, 10, 5, 0, 5) == R.REDUCE_ONLY   # working sells 6 + 5 > 10
    assert e.check(0, 0, SELL, 10, 4, 0, 5) == 0
    assert e.check_modify(4, 10, 7, 0) == R.REDUCE_ONLY          # more working qty
    assert e.check_modify(4, 10, 5, 0) == 0
    e.set_trading_state(0, scope)
    assert e.check(0, 0, BUY, 10, 1, 0, 6) == 0


def test_restricted_instrument(impl: Any) -> None:
    e = make(impl, 2, inst={"restricted": False})
    e.configure_instrument(1, restricted=True)
    assert e.check(0, 0, BUY, 10, 1, 0, 1) == 0
    assert e.check(1, 0, BUY, 10, 1, 0, 2) == R.RESTRICTED_INSTRUMENT


@pytest.mark.parametrize("action", [1, 2])
def test_daily_loss_breaker(impl: Any, action: int) -> None:
    e = make(impl, strat={"daily_loss": 100, "daily_loss_action": action})
    tripped: list[tuple[int, int, int]] = []
    e.breaker_hook = lambda s, st, c: tripped.append((s, st, c))
    assert e.check(0, 0, BUY, 100, 10, 0, 1) == 0
    e.on_fill(1, 0, 0, BUY, 100, 10, 1)
    e.on_mark(0, 90)                                     # loss 100: not above the limit
    assert e.trading_state(0) == (0, 0)
    e.on_mark(0, 89)                                     # loss 110
    assert e.trading_state(0) == (action, 1)
    assert tripped == [(0, action, 1)]
    assert e.check(0, 0, BUY, 89, 1, 0, 2) == R.DAILY_LOSS_LIMIT
    assert e.check(0, 0, SELL, 89, 10, 0, 3) == (R.DAILY_LOSS_LIMIT if action == 2 else 0)
    e.on_mark(0, 200)                                    # recovery does not reset a breaker
    assert e.trading_state(0) == (action, 1)
    e.set_trading_state(0, 0)
    e.reset_day()
    assert e.check(0, 0, BUY, 200, 1, 0, 4) == 0


def test_drawdown_breaker_account(impl: Any) -> None:
    e = make(impl, account={"drawdown": 50, "drawdown_action": 1})
    e.on_fill(0, 0, 0, BUY, 100, 10, 0)
    e.on_mark(0, 120)                                    # pnl +200: peak 200
    e.on_mark(0, 115)                                    # drawdown 50: inside
    assert e.trading_state() == (0, 0)
    e.on_mark(0, 114)                                    # drawdown 60
    assert e.trading_state() == (1, 2)
    assert e.check(0, 0, BUY, 100, 1, 0, 1) == R.DRAWDOWN_LIMIT
    assert e.check(0, 0, SELL, 100, 10, 0, 2) == 0


def test_realized_pnl_average_cost(impl: Any) -> None:
    e = make(impl)
    e.on_fill(0, 0, 0, BUY, 100, 10, 0)
    e.on_fill(0, 0, 0, BUY, 110, 10, 0)                  # avg 105
    e.on_fill(0, 0, 0, SELL, 120, 15, 0)                 # realized 15 * 15 = 225
    e.on_fill(0, 0, 0, SELL, 90, 10, 0)                  # close 5 at 90: -75; then short 5 at 90
    s = e.snapshot()
    assert s["strategies"][0]["realized"] == 150
    assert s["positions"][(0, 0)]["pos"] == -5
    e.on_mark(0, 80)
    assert e.snapshot()["strategies"][0]["unrealized"] == 50


def test_repeated_execution_throttle(impl: Any) -> None:
    e = make(impl, strat={"exec_limit": 3, "exec_window_ns": 1000})
    killed: list[int] = []
    e.kill_hook = lambda s, ids: killed.append(s)
    for ts in (0, 10, 20):
        e.on_fill(0, 0, 0, BUY, 10, 1, ts)
    e.on_fill(0, 0, 0, BUY, 10, 1, 1000)                 # 4th fill, but the first left the window
    assert e.kill_state(0) == 0
    e.on_fill(0, 0, 0, BUY, 10, 1, 1009)                 # 10, 20, 1000, 1009: four in (9, 1009]
    assert e.kill_state(0) == 2 and killed == [0]
    assert e.check(0, 0, BUY, 10, 1, 1010, 1) == R.REPEATED_EXECUTION
    e.reset_kill(0)
    assert e.check(0, 0, BUY, 10, 1, 1010, 2) == 0


def test_order_to_trade_ratio(impl: Any) -> None:
    e = make(impl, strat={"otr_x1000": 2500, "otr_min_messages": 2})
    assert e.check(0, 0, BUY, 10, 1, 0, 1) == 0
    assert e.check(0, 0, BUY, 10, 1, 0, 2) == 0          # 2 messages, 0 trades: min reached
    assert e.check(0, 0, BUY, 10, 1, 0, 3) == R.ORDER_TO_TRADE_RATIO  # 3 / 1 > 2.5
    e.on_fill(1, 0, 0, BUY, 10, 1, 0)
    assert e.check(0, 0, BUY, 10, 1, 0, 4) == R.ORDER_TO_TRADE_RATIO  # still 3 / 1
    e.on_fill(2, 0, 0, BUY, 10, 1, 0)
    assert e.check(0, 0, BUY, 10, 1, 0, 5) == 0          # 3 / 2 <= 2.5
    assert e.check(0, 0, BUY, 10, 1, 0, 6) == 0          # 4 / 2
    assert e.check(0, 0, BUY, 10, 1, 0, 7) == 0          # 5 / 2 = 2.5: inside
    assert e.check(0, 0, BUY, 10, 1, 0, 8) == R.ORDER_TO_TRADE_RATIO
    e.reset_day()
    assert e.check(0, 0, BUY, 10, 1, 0, 9) == 0


def test_modify_rechecks_and_applies(impl: Any) -> None:
    e = make(impl, inst={"max_qty": 10}, strat={"credit_limit": 100})
    assert e.check(0, 0, BUY, 5, 10, 0, 1) == 0
    assert e.check_modify(1, 5, 11, 0) == R.MAX_ORDER_QTY
    assert e.check_modify(1, 10, 10, 0) == 0              # notional 100 = limit
    assert e.check_modify(1, 11, 10, 0) == R.CREDIT_LIMIT
    assert e.snapshot()["strategies"][0]["open_notional"] == 100
    assert e.check_modify(99, 10, 10, 0) == R.UNKNOWN_ORDER
    assert e.check_cancel(99, 0) == R.UNKNOWN_ORDER


def test_fill_after_cancel_moves_position(impl: Any) -> None:
    e = make(impl)
    assert e.check(0, 0, SELL, 10, 5, 0, 1) == 0
    assert e.on_canceled(1) == 0
    assert e.on_fill(1, 0, 0, SELL, 10, 5, 1) == R.UNKNOWN_ORDER
    assert e.snapshot()["instruments"][0]["net_pos"] == -5
    assert e.on_canceled(1) == R.UNKNOWN_ORDER
    with pytest.raises(ValidationError):
        e.on_fill(1, 5, 0, SELL, 10, 5, 1)                # unknown order on a bad instrument index


def test_reject_counters_and_audit_hook(impl: Any) -> None:
    e = make(impl, inst={"max_qty": 5})
    got: list[tuple[int, ...]] = []
    e.audit_hook = lambda *a: got.append(a)
    assert e.check(0, 0, BUY, 10, 5, 3, 1) == 0
    assert e.check(0, 0, BUY, 10, 6, 4, 2) == R.MAX_ORDER_QTY
    assert e.check(0, 0, BUY, 10, 7, 5, 3) == R.MAX_ORDER_QTY
    assert e.check_cancel(42, 6) == R.UNKNOWN_ORDER
    counts = e.reject_counts()
    assert counts[R.MAX_ORDER_QTY] == 2 and counts[R.UNKNOWN_ORDER] == 1 and counts.sum() == 3
    assert got[0] == (R.MAX_ORDER_QTY, RiskOp.NEW, 2, 0, 0, BUY, 10, 6, 4)
    assert got[2][:3] == (R.UNKNOWN_ORDER, RiskOp.CANCEL, 42)


def test_explain_is_readable() -> None:
    e = make(RiskEngine, inst={"max_qty": 5})
    assert e.check(0, 0, BUY, 10, 6, 0, 1) == R.MAX_ORDER_QTY
    text = e.explain(R.MAX_ORDER_QTY)
    assert text.startswith("MAX_ORDER_QTY") and "value 6, limit 5" in text and "instrument 0" in text


def test_configuration_errors() -> None:
    with pytest.raises(ValidationError):
        RiskEngine(0, 1)
    e = RiskEngine(1, 1)
    with pytest.raises(ValidationError, match="max_qty"):
        e.configure_instrument(0, max_qty=-1)
    with pytest.raises(ValidationError, match="buy_down"):
        e.configure_instrument(0, collar_unit=1, buy_down=10000)
    with pytest.raises(ValidationError, match="order_limit"):
        e.configure_strategy(0, order_limit=0, order_window_ns=1)
    with pytest.raises(ValidationError, match="instrument"):
        e.configure_instrument(1)
    with pytest.raises(ValidationError, match="daily_loss_action"):
        e.configure_account(daily_loss=1, daily_loss_action=3)


def test_release_all_cancel_on_disconnect(impl: Any) -> None:
    e = make(impl, 1, 2, strat={"credit_limit": 100})
    assert e.check(0, 0, BUY, 10, 5, 0, 1) == 0
    assert e.check(0, 0, SELL, 10, 5, 0, 2) == 0
    assert e.check(0, 1, BUY, 10, 5, 0, 3) == 0
    assert e.check(0, 0, BUY, 1, 1, 0, 4) == R.CREDIT_LIMIT
    assert e.release_all(0) == 2
    assert list(e.working_orders()) == [3]
    assert e.check(0, 0, BUY, 10, 10, 0, 5) == 0
    assert e.release_all() == 2
    snap = e.snapshot()
    assert snap["account"]["n_open"] == 0 and snap["account"]["open_notional"] == 0
    assert snap["instruments"][0]["open_buy"] == snap["instruments"][0]["open_sell"] == 0


@settings(max_examples=300, deadline=None)
@given(px=st.integers(1, 10**9), qty=st.integers(1, 10**9), num=st.sampled_from([1, 3, 7, 100]),
       k=st.integers(0, 18))
def test_notional_is_exact_ceiling(px: int, qty: int, num: int, k: int) -> None:
    n = -(-(px * qty * num) // 10**k)
    if n > 2**61:  # notional limits are capped at 2**61 (see test_sums_cannot_overflow)
        return
    e = make(RiskEngine, inst={"max_notional": n, "notional_num": num, "notional_den": 10**k})
    assert e.check(0, 0, BUY, px, qty, 0, 1) == 0
    if n >= 1:
        e.configure_instrument(0, max_notional=n - 1, notional_num=num, notional_den=10**k)
        assert e.check(0, 0, BUY, px, qty, 0, 2) == R.MAX_ORDER_NOTIONAL
        assert e.last_reject()[:2] == (n, n - 1)


def test_duplicate_of_a_lower_id_is_found(impl: Any) -> None:
    # ids above every accepted id skip the duplicate lookups: a lower id must still be looked up
    e = make(impl, account={"duplicate_window_ns": 100})
    assert e.check(0, 0, BUY, 10, 1, 0, 5) == 0
    assert e.check(0, 0, BUY, 10, 1, 0, 9) == 0
    assert e.check(0, 0, BUY, 10, 1, 1, 5) == R.DUPLICATE_ORDER_ID   # working
    assert e.on_canceled(5) == 0
    assert e.check(0, 0, BUY, 10, 1, 99, 5) == R.DUPLICATE_ORDER_ID  # seen at 0, window 100
    assert e.check(0, 0, BUY, 10, 1, 100, 5) == 0
    assert e.check(0, 0, BUY, 10, 1, 100, 3) == 0                    # never seen


def test_sums_cannot_overflow(impl: Any) -> None:
    # with every limit off, an order's quantity and notional stay below 2**61 and open notional below 2**62
    e = make(impl)
    assert e.check(0, 0, BUY, 1, 2**61, 0, 1) == 0
    assert e.check(0, 0, BUY, 1, 2**61 + 1, 0, 2) == R.MAX_ORDER_QTY
    assert e.check(0, 0, BUY, 2, 2**60 + 1, 0, 3) == R.MAX_ORDER_NOTIONAL
    assert e.check(0, 0, SELL, 1, 2**61, 0, 4) == 0
    assert e.check(0, 0, SELL, 1, 1, 0, 5) == R.CREDIT_LIMIT   # 2**62 of working notional already
    assert e.last_reject()[1] == 2**62
