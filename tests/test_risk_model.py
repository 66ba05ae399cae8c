"""Model-based tests: the native engine against the plain-Python reference model over random sequences of
orders, modifies, cancels, fills, marks, reference and balance updates, kill switches, state changes and
time steps (same decisions, same reject counters, same state); and the batch API against one-by-one calls."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from risk_support import one_by_one, record_hooks

from shrivenquant._native.risk import RiskEngine
from shrivenquant.risk import RISK_OP_DTYPE, ReferenceRiskModel, RiskOp

NI, NS = 2, 2
small = st.one_of(st.integers(1, 10).map(lambda q: 2 * q), st.integers(1, 40))
prices = st.one_of(st.integers(8, 12).map(lambda k: 10 * k), st.integers(8, 12).map(lambda k: 10 * k),
                   st.integers(1, 130))
maybe = st.none() | st.integers(min_value=0, max_value=400)
breaker = st.one_of(st.none(), st.none(), st.integers(min_value=1, max_value=150).map(lambda k: 20 * k))
windows = st.sampled_from([5, 10, 20, 40])
steps = st.sampled_from([0, 0, 1, 5, 10, 20])


@st.composite
def configs(draw: Any) -> dict[str, Any]:
    insts = []
    for _ in range(NI):
        unit = draw(st.sampled_from([0, 1, 2]))
        band = st.none() | st.integers(min_value=0, max_value=3000 if unit == 1 else 20)
        insts.append({
            "tick": draw(st.sampled_from([1, 2, 5])), "lot": draw(st.sampled_from([1, 2])),
            "min_qty": draw(st.integers(0, 3)), "max_qty": draw(st.none() | st.integers(5, 40)),
            "min_notional": draw(st.integers(0, 50)), "max_notional": draw(st.none() | st.integers(100, 4000)),
            "restricted": draw(st.integers(0, 9)) == 0,
            "collar_unit": unit, "buy_up": draw(band), "buy_down": draw(band), "sell_up": draw(band),
            "sell_down": draw(band),
            "max_net": draw(st.none() | st.integers(5, 80)), "max_gross": draw(st.none() | st.integers(5, 150)),
            "max_open": draw(st.none() | st.integers(1, 8)), "margin_bps": draw(st.sampled_from([1000, 5000, 10000])),
            "notional_num": draw(st.sampled_from([1, 3])), "notional_den": draw(st.sampled_from([1, 10])),
        })
    strats = []
    for _ in range(NS):
        def throttle(name: str) -> dict[str, Any]:
            lim = draw(st.none() | st.integers(1, 6))
            return {f"{name}_limit": lim, f"{name}_window_ns": draw(windows) if lim else 0}
        strats.append({
            "max_notional": draw(st.none() | st.integers(50, 3000)), "credit_limit": draw(maybe.map(
                lambda v: None if v is None else v * 20)),
            "max_open": draw(st.none() | st.integers(1, 8)), **throttle("order"), **throttle("modify"),
            **throttle("cancel"), **throttle("exec"),
            "otr_x1000": draw(st.none() | st.integers(1000, 8000)), "otr_min_messages": draw(st.integers(0, 10)),
            "daily_loss": draw(breaker), "daily_loss_action": draw(st.sampled_from([1, 2])),
            "drawdown": draw(breaker), "drawdown_action": draw(st.sampled_from([1, 2])),
        })
    account = {
        "credit_limit": draw(maybe.map(lambda v: None if v is None else v * 40)),
        "max_open": draw(st.none() | st.integers(1, 12)), "daily_loss": draw(breaker),
        "daily_loss_action": draw(st.sampled_from([1, 2])), "drawdown": draw(breaker),
        "drawdown_action": draw(st.sampled_from([1, 2])), "margin": draw(st.booleans()),
        "balance": draw(st.integers(0, 5000)), "duplicate_window_ns": draw(st.sampled_from([0, 0, 20])),
    }
    # the native engine's order window: 1 to 16 slots put most orders through eviction and the overflow table
    window = draw(st.sampled_from([1, 2, 4, 16, 32768]))
    return {"instruments": insts, "strategies": strats, "account": account, "window": window}


def build(cls: Any, cfg: dict[str, Any]) -> Any:
    e = cls(NI, NS, order_window=cfg["window"]) if cls is RiskEngine else cls(NI, NS)
    for i, kw in enumerate(cfg["instruments"]):
        e.configure_instrument(i, **kw)
    for s, kw in enumerate(cfg["strategies"]):
        e.configure_strategy(s, **kw)
    e.configure_account(**cfg["account"])
    return e


class RiskMachine(RuleBasedStateMachine):
    """Drives the native engine and the reference model with the same calls."""

    def __init__(self) -> None:
        super().__init__()
        self.ts = 0
        self.next_id = 1
        self.log_native: list[tuple[Any, ...]] = []
        self.log_ref: list[tuple[Any, ...]] = []

    @initialize(cfg=configs())
    def setup(self, cfg: dict[str, Any]) -> None:
        self.native = build(RiskEngine, cfg)
        self.ref = build(ReferenceRiskModel, cfg)
        for e, log in ((self.native, self.log_native), (self.ref, self.log_ref)):
            e.audit_hook = lambda *a, log=log: log.append(("audit", *a))
            e.kill_hook = lambda s, ids, log=log: log.append(("kill", s, tuple(ids)))
            e.breaker_hook = lambda *a, log=log: log.append(("breaker", *a))

    def both(self, name: str, *args: Any) -> None:
        a = getattr(self.native, name)(*args)
        b = getattr(self.ref, name)(*args)
        assert a == b, (name, args, a, b)

    def some_id(self, data: Any) -> int:
        return int(data.draw(st.integers(1, max(1, self.next_id))))

    @rule(i=st.integers(0, NI - 1), s=st.integers(0, NS - 1), side=st.sampled_from([1, 2]),
          px=st.just(0) | prices, qty=small, reuse=st.integers(0, 9), data=st.data())
    def new_order(self, i: int, s: int, side: int, px: int, qty: int, reuse: int, data: Any) -> None:
        if reuse == 0:
            oid = self.some_id(data)
        else:
            oid = self.next_id
            self.next_id += 1
        self.both("check", i, s, side, px, qty, self.ts, oid)

    @rule(d=st.integers(1, 40))
    def jump_ids(self, d: int) -> None:
        # ids that skip ahead by more than the order window: older orders' slots are left alone or evicted
        self.next_id += d

    @rule(px=prices, qty=small, data=st.data())
    def modify(self, px: int, qty: int, data: Any) -> None:
        self.both("check_modify", self.some_id(data), px, qty, self.ts)

    @rule(data=st.data())
    def cancel_request(self, data: Any) -> None:
        self.both("check_cancel", self.some_id(data), self.ts)

    @rule(op=st.sampled_from(["on_accepted", "on_rejected", "on_canceled"]), data=st.data())
    def venue_event(self, op: str, data: Any) -> None:
        self.both(op, self.some_id(data))

    @rule(s=st.none() | st.integers(0, NS - 1))
    def release_all(self, s: int | None) -> None:
        self.both("release_all", s)

    @rule(i=st.integers(0, NI - 1), s=st.integers(0, NS - 1), side=st.sampled_from([1, 2]),
          px=prices, qty=small, data=st.data())
    def fill(self, i: int, s: int, side: int, px: int, qty: int, data: Any) -> None:
        self.both("on_fill", self.some_id(data), i, s, side, px, qty, self.ts)

    @rule(i=st.integers(0, NI - 1), px=prices)
    def mark(self, i: int, px: int) -> None:
        self.both("on_mark", i, px)

    @rule(i=st.integers(0, NI - 1), px=prices)
    def reference(self, i: int, px: int) -> None:
        self.both("set_reference", i, px)

    @rule(balance=st.integers(-100, 6000))
    def balance(self, balance: int) -> None:
        self.both("set_balance", balance)

    @rule(dt=steps)
    def time_step(self, dt: int) -> None:
        self.ts += dt

    @rule(s=st.none() | st.integers(0, NS - 1), on=st.booleans())
    def kill_switch(self, s: int | None, on: bool) -> None:
        self.both("kill" if on else "reset_kill", s)

    @rule(s=st.none() | st.integers(0, NS - 1), state=st.integers(0, 2))
    def trading_state(self, s: int | None, state: int) -> None:
        self.both("set_trading_state", state, s)

    @precondition(lambda self: self.ts > 0)
    @rule()
    def new_day(self) -> None:
        self.both("reset_day")

    @rule(restart=st.booleans())
    def reset(self, restart: bool) -> None:
        self.both("reset")
        if restart:  # a new session may start its ids and timestamps over
            self.next_id, self.ts = 1, 0

    @invariant()
    def same_state(self) -> None:
        if not hasattr(self, "native"):
            return
        assert self.native.snapshot() == self.ref.snapshot()
        assert self.native.last_reject() == self.ref.last_reject()
        assert self.log_native == self.log_ref
        for s in (None, *range(NS)):
            assert self.native.trading_state(s) == self.ref.trading_state(s)
            assert self.native.kill_state(s) == self.ref.kill_state(s)
            assert list(self.native.working_orders(s)) == list(self.ref.working_orders(s))


RiskMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestRiskModel = RiskMachine.TestCase


# ----------------------------------------------------------------------------------------------- batch

@st.composite
def streams(draw: Any) -> np.ndarray:
    n = draw(st.integers(1, 150))
    recs = np.zeros(n, dtype=RISK_OP_DTYPE)
    ts = 0
    next_id = 1
    for k in range(n):
        ts += draw(steps)
        op = draw(st.sampled_from([RiskOp.NEW] * 5 + [RiskOp.MODIFY, RiskOp.CANCEL, RiskOp.ACCEPTED,
                                                       RiskOp.REJECTED, RiskOp.CANCELED, RiskOp.FILLED,
                                                       RiskOp.FILLED, RiskOp.MARK, RiskOp.REFERENCE,
                                                       RiskOp.BALANCE]))
        if op == RiskOp.NEW and draw(st.integers(0, 9)):
            oid = next_id
            next_id += 1 if draw(st.integers(0, 5)) else draw(st.integers(2, 40))
        else:
            oid = draw(st.integers(1, next_id))
        px = draw(prices) if op != RiskOp.NEW or draw(st.integers(0, 9)) else 0
        recs[k] = (ts, oid, px, draw(small) if op != RiskOp.BALANCE else draw(st.integers(0, 5000)),
                   draw(st.integers(0, NI - 1)), draw(st.integers(0, NS - 1)), int(op), draw(st.sampled_from([1, 2])),
                   b"\0" * 6)
    return recs


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), recs=streams(), hooks=st.booleans())
def test_batch_equals_one_by_one(cfg: dict[str, Any], recs: np.ndarray, hooks: bool) -> None:
    batch, seq, ref = build(RiskEngine, cfg), build(RiskEngine, cfg), build(ReferenceRiskModel, cfg)
    logs = record_hooks((batch, seq, ref), hooks)
    got = batch.process(recs)
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, one_by_one(seq, recs))
    np.testing.assert_array_equal(got, ref.process(recs))
    assert batch.snapshot() == seq.snapshot() == ref.snapshot()
    assert logs[0] == logs[1] == logs[2]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), before=streams(), after=streams(), hooks=st.booleans())
def test_reset_equals_a_fresh_engine(cfg: dict[str, Any], before: np.ndarray, after: np.ndarray,
                                     hooks: bool) -> None:
    # an engine that ran `before` and was reset behaves like one freshly configured (same references and
    # balance: reset keeps them) on `after`: same results, state, counters and hook calls; the reference model too
    used, used_ref = build(RiskEngine, cfg), build(ReferenceRiskModel, cfg)
    used.process(before)
    used_ref.process(before)
    used.reset()
    used_ref.reset()
    fresh = build(RiskEngine, cfg)
    snap = used.snapshot()
    for i, inst in enumerate(snap["instruments"]):
        if inst["ref"] > 0:
            fresh.set_reference(i, inst["ref"])
    fresh.set_balance(snap["account"]["balance"])
    assert snap == fresh.snapshot() == used_ref.snapshot()
    assert used.last_reject() == fresh.last_reject() == used_ref.last_reject()
    logs = record_hooks((used, fresh, used_ref), hooks)
    got = used.process(after)
    np.testing.assert_array_equal(got, fresh.process(after))
    np.testing.assert_array_equal(got, used_ref.process(after))
    assert used.snapshot() == fresh.snapshot() == used_ref.snapshot()
    assert logs[0] == logs[1] == logs[2]
    for s in (None, *range(NS)):
        assert used.trading_state(s) == fresh.trading_state(s) == used_ref.trading_state(s)
        assert used.kill_state(s) == fresh.kill_state(s) == used_ref.kill_state(s)


@st.composite
def new_cancel_streams(draw: Any) -> np.ndarray:
    # the batch's usual records: NEW orders with increasing ids, each often followed by the CANCELED of an order
    # some ids earlier (the specialised path of process()), with now and then an id jump, an older id, a market
    # order, an unknown cancel or another op (which the generic path takes)
    n = draw(st.integers(1, 120))
    lag = draw(st.integers(1, 12))
    out = []
    ts, oid = 0, 0
    for _ in range(n):
        ts += draw(st.sampled_from([0, 1, 1, 3]))
        oid += 1 if draw(st.integers(0, 15)) else draw(st.integers(2, 40))
        new_id = oid if draw(st.integers(0, 20)) else draw(st.integers(1, oid))
        px = draw(prices) if draw(st.integers(0, 15)) else 0
        out.append((ts, new_id, px, draw(small), draw(st.integers(0, NI - 1)), draw(st.integers(0, NS - 1)),
                    int(RiskOp.NEW), draw(st.sampled_from([1, 2])), b"\0" * 6))
        if draw(st.integers(0, 3)):
            op = RiskOp.CANCELED if draw(st.integers(0, 9)) else draw(st.sampled_from(
                [RiskOp.ACCEPTED, RiskOp.REJECTED, RiskOp.MODIFY, RiskOp.CANCEL, RiskOp.FILLED, RiskOp.MARK]))
            out.append((ts, max(1, oid - lag + draw(st.integers(-1, 1))), draw(prices), draw(small),
                        draw(st.integers(0, NI - 1)), draw(st.integers(0, NS - 1)), int(op),
                        draw(st.sampled_from([1, 2])), b"\0" * 6))
    return np.array(out, dtype=RISK_OP_DTYPE)


# the stateful limits (scope, name, a binding value used when the drawn config has it off)
LIMITS = (("inst", "max_open", 3), ("inst", "max_net", 30), ("inst", "max_gross", 60), ("strat", "max_open", 4),
          ("strat", "credit_limit", 3000), ("strat", "order_limit", 3), ("strat", "otr_x1000", 2000),
          ("acct", "max_open", 5), ("acct", "credit_limit", 5000), ("acct", "balance", 800))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), recs=new_cancel_streams(), hooks=st.booleans(), keep=st.sampled_from(LIMITS))
def test_batch_fast_path_equals_one_by_one(cfg: dict[str, Any], recs: np.ndarray, hooks: bool,
                                           keep: tuple[str, str, int]) -> None:
    # one stateful limit binding, the others off and the per-order checks loose: most NEW records take the
    # specialised path and its headroom (the stateful checks skipped while no limit can be met), and that limit's
    # boundary is met there
    off: dict[str, dict[str, Any]] = {
        "inst": {"max_open": None, "max_net": None, "max_gross": None},
        "strat": {"max_open": None, "credit_limit": None, "order_limit": None, "otr_x1000": None},
        "acct": {"max_open": None, "credit_limit": None, "balance": 10**9}}
    scope, name, value = keep
    del off[scope][name]
    for inst in cfg["instruments"]:
        inst.update(restricted=False, min_notional=0, collar_unit=0, tick=1, lot=1, max_qty=40,
                    max_notional=max(inst["max_notional"] or 0, 5200), **off["inst"])
        if scope == "inst" and inst[name] is None:
            inst[name] = value
    for strat in cfg["strategies"]:
        strat.update(max_notional=None, **off["strat"])
        if scope == "strat" and strat[name] is None:
            strat[name] = value
            if name == "order_limit":
                strat["order_window_ns"] = 10
    cfg["account"].update(**off["acct"])
    if scope == "acct":
        cfg["account"][name] = cfg["account"][name] or value
        cfg["account"]["margin"] |= name == "balance"
    test_batch_equals_one_by_one.hypothesis.inner_test(cfg, recs, hooks)  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keep=st.sampled_from(LIMITS), scale=st.integers(0, 12), q_cap=st.integers(1, 40), data=st.data())
def test_batch_headroom_meets_each_limit(keep: tuple[str, str, int], scale: int, q_cap: int, data: Any) -> None:
    # every NEW passes the per-order checks, so the specialised path covers long runs with its headroom; the one
    # stateful limit set (to any value from 0) must stop the run exactly where one-by-one checking does
    scope, name, _ = keep
    inst = {"max_qty": q_cap, "max_notional": 130 * q_cap * 3, "notional_num": 3, "margin_bps": 5000}
    strat: dict[str, Any] = {}
    acct: dict[str, Any] = {"balance": 10**9, "margin": True}
    # the limit in units of a few orders (scale 0-12): orders' qty <= q_cap, notional <= 390 * q_cap
    value = scale * {"max_net": q_cap, "max_gross": q_cap, "credit_limit": 200 * q_cap, "balance": 100 * q_cap,
                     "otr_x1000": 1000}.get(name, 1)
    if scope == "inst":
        inst[name] = value
    elif scope == "strat":
        strat[name] = value if name == "credit_limit" else max(value, 1)  # throttle and ratio need >= 1
        if name == "order_limit":
            strat["order_window_ns"] = data.draw(st.sampled_from([5, 50]))
    else:
        acct[name] = value
    cfg = {"instruments": [dict(inst) for _ in range(NI)], "strategies": [dict(strat) for _ in range(NS)],
           "account": acct, "window": data.draw(st.sampled_from([4, 32768]))}
    n = data.draw(st.integers(20, 150))
    rows, ts = [], 0
    for k in range(1, n + 1):
        ts += data.draw(st.sampled_from([0, 1, 2]))
        rows.append((ts, k, data.draw(st.integers(1, 130)), data.draw(st.sampled_from([q_cap] * 4 + [1 + q_cap // 2])),
                     data.draw(st.integers(0, NI - 1)), data.draw(st.integers(0, NS - 1)), int(RiskOp.NEW),
                     data.draw(st.sampled_from([1, 2])), b"\0" * 6))
        if k > 5 and data.draw(st.integers(0, 3)) == 0:
            rows.append((ts, k - 5, 0, 0, 0, 0, int(RiskOp.CANCELED), 1, b"\0" * 6))
    recs = np.array(rows, dtype=RISK_OP_DTYPE)
    test_batch_equals_one_by_one.hypothesis.inner_test(cfg, recs, False)  # type: ignore[attr-defined]
