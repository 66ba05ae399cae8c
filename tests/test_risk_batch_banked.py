"""The batch path's banked exposure deltas and lean run (``sq_rk_process`` / ``sq_rk_fast_run`` in ``sq_risk.h``).

While the headroom holds and the engine has at most 64 (strategy, instrument) cells, an accepted NEW or a CANCELED
adds its exposure changes to a per-cell delta in one of 8 banks (by record index) instead of the instrument,
strategy, position and account counters; the deltas are folded into those counters before anything reads them: a
generic call inside the batch, the headroom running out (the full checks read live values), a return to the Cython
loop (fills, marks, references, balances, audited rejects) and the end of ``process``. An instrument with a net
position keeps its working quantity live (the exposure-reducing test reads it). Here each of those reasons is put in
batches, and the results, the final state (snapshots, counters, last reject), the hook calls and what later batches
do must equal one-by-one calls and the plain-Python reference model. Engines with more than 64 cells take the direct
(unbanked) path and are compared the same way."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from risk_support import one_by_one, record_hooks

from shrivenquant._native.risk import RiskEngine
from shrivenquant.risk import RISK_OP_DTYPE, ReferenceRiskModel, RejectReason, RiskOp

NEW, MODIFY, CANCEL = int(RiskOp.NEW), int(RiskOp.MODIFY), int(RiskOp.CANCEL)
ACCEPTED, REJECTED, CANCELED = int(RiskOp.ACCEPTED), int(RiskOp.REJECTED), int(RiskOp.CANCELED)
FILLED, MARK, REFERENCE, BALANCE = int(RiskOp.FILLED), int(RiskOp.MARK), int(RiskOp.REFERENCE), int(RiskOp.BALANCE)
PAD = b"\0" * 6
UNKNOWN_ID = 10**12  # fills of ids no order has: they move the position only (non-flat instruments)

# (instruments, strategies): up to 64 cells take the banked path (the table's index widths at their largest:
# 64 x 1, 1 x 64, 3 x 21, 5 x 12), more take the direct one
SHAPES = [(1, 1), (2, 2), (4, 2), (3, 5), (8, 8), (64, 1), (1, 64), (3, 21), (5, 12), (13, 5), (65, 1), (9, 8)]


def _build(cls: Any, cfg: dict[str, Any]) -> Any:
    ni, ns = len(cfg["instruments"]), len(cfg["strategies"])
    e = cls(ni, ns)
    for i, kw in enumerate(cfg["instruments"]):
        e.configure_instrument(i, **kw)
        e.set_reference(i, cfg["refs"][i])
    for s, kw in enumerate(cfg["strategies"]):
        e.configure_strategy(s, **kw)
    e.configure_account(**cfg["account"])
    return e


def _state(e: Any) -> tuple[Any, ...]:
    return e.snapshot(), e.last_reject(), list(e.reject_counts())


def _same(cfg: dict[str, Any], parts: list[np.ndarray], hooks: bool) -> list[np.ndarray]:
    """Each part through process() on one engine, one by one on another and through the reference model: the same
    results, state and hook calls after every part (so what a batch leaves behind is checked by the next one)."""
    batch, seq, ref = (_build(cls, cfg) for cls in (RiskEngine, RiskEngine, ReferenceRiskModel))
    logs = record_hooks((batch, seq, ref), hooks)
    outs = []
    for recs in parts:
        got = batch.process(recs)
        np.testing.assert_array_equal(got, one_by_one(seq, recs))
        np.testing.assert_array_equal(got, ref.process(recs))
        assert _state(batch) == _state(seq) == _state(ref)
        assert logs[0] == logs[1] == logs[2]
        outs.append(got)
    return outs


@st.composite
def banked_cases(draw: Any) -> tuple[dict[str, Any], list[np.ndarray], bool]:
    ni, ns = draw(st.sampled_from(SHAPES))
    tight = draw(st.sampled_from(["none", "none", "none", "inst_open", "net", "gross", "strat_open", "credit",
                                  "order_rate", "otr", "acct_open", "balance"]))
    insts, refs = [], []
    for _ in range(ni):
        unit = draw(st.sampled_from([0, 1]))
        insts.append({
            # (a maximum quantity too: without one the headroom's position steps are the 2^61 cap)
            "max_qty": draw(st.sampled_from([40, 40, 40, None])), "min_qty": draw(st.sampled_from([0, 1, 2])),
            # a maximum notional on every instrument: the headroom's credit and margin steps are that large (without
            # one the step is the 2^61 cap and the headroom stays near 0: no banked run)
            "max_notional": draw(st.sampled_from([5_000, 20_000])), "collar_unit": unit,
            "buy_up": 2000 if unit else None, "buy_down": 2000 if unit else None,
            "sell_up": 2000 if unit else None, "sell_down": 2000 if unit else None,
            "margin_bps": draw(st.sampled_from([1000, 10_000])), "notional_num": draw(st.sampled_from([1, 3])),
            "notional_den": draw(st.sampled_from([1, 10])),
            "max_open": draw(st.integers(2, 6)) if tight == "inst_open" else None,
            "max_net": draw(st.integers(10, 60)) if tight == "net" else None,
            "max_gross": draw(st.integers(20, 90)) if tight == "gross" else None,
        })
        refs.append(100)
    strats = []
    for _ in range(ns):
        kw: dict[str, Any] = {"max_notional": draw(st.sampled_from([None, 30_000]))}
        if tight == "strat_open":
            kw["max_open"] = draw(st.integers(2, 6))
        if tight == "credit":
            kw["credit_limit"] = draw(st.integers(200, 3000))
        if tight == "order_rate" or draw(st.integers(0, 3)) == 0:
            # a rate limit: with room (the run skips the ring's test) or nearly met (the run tests the ring)
            kw["order_limit"] = draw(st.sampled_from([3, 10, 20, 40, 1000]))
            kw["order_window_ns"] = draw(st.sampled_from([5, 50, 10**6]))
        if tight == "otr":
            kw["otr_x1000"] = draw(st.integers(1000, 4000))
            kw["otr_min_messages"] = draw(st.integers(0, 8))
        if draw(st.integers(0, 4)) == 0:  # breakers that fills and marks can trip inside a batch
            kw["daily_loss"] = draw(st.integers(0, 300))
        strats.append(kw)
    account = {"margin": draw(st.booleans()) or tight == "balance",
               "balance": draw(st.integers(500, 3000)) if tight == "balance" else 10**12,
               "duplicate_window_ns": draw(st.sampled_from([0, 5, 40])),
               "max_open": draw(st.integers(3, 10)) if tight == "acct_open" else None}
    cfg = {"instruments": insts, "strategies": strats, "account": account, "refs": refs}

    parts: list[np.ndarray] = []
    oid, ts = 0, 0
    for _ in range(draw(st.integers(1, 3))):
        rows: list[tuple[Any, ...]] = []
        lag = draw(st.integers(1, 40))
        hot = [draw(st.integers(0, ni - 1)) for _ in range(2)]  # most records on a few cells (same-cell chains)
        for _ in range(draw(st.integers(1, 120))):
            ts += draw(st.sampled_from([0, 1, 1, 2, 7]))
            i = draw(st.sampled_from(hot)) if draw(st.integers(0, 3)) else draw(st.integers(0, ni - 1))
            s = draw(st.integers(0, ns - 1))
            side = draw(st.sampled_from([1, 2]))
            roll = draw(st.integers(0, 39))
            if roll == 0:  # a fill of no known order: the instrument gets a net position (not flat)
                rows.append((ts, UNKNOWN_ID, draw(st.sampled_from([90, 100, 110])), draw(st.integers(1, 30)), i, s,
                             FILLED, side, PAD))
            elif roll == 1:  # a fill of a working order (or of a released one)
                rows.append((ts, max(1, oid - draw(st.integers(0, lag))), 100, draw(st.integers(1, 20)), i, s,
                             FILLED, side, PAD))
            elif roll == 2:
                rows.append((ts, 0, draw(st.sampled_from([80, 100, 125])), 0, i, 0, MARK, 1, PAD))
            elif roll == 3:  # generic calls inside the batch (the deltas are folded in first)
                op = draw(st.sampled_from([MODIFY, CANCEL, ACCEPTED, REJECTED]))
                rows.append((ts, max(1, oid - draw(st.integers(0, lag))), draw(st.sampled_from([95, 100, 105])),
                             draw(st.integers(1, 30)), 0, 0, op, 1, PAD))
            elif roll == 4:  # an order the checks reject (out of range, invalid, an older id): audited with hooks
                bad = draw(st.sampled_from(["qty", "px", "old", "inst", "side", "neg", "strat", "far"]))
                bi = {"inst": ni, "neg": -1, "far": 2**31 - 1}.get(bad, i)
                bs = {"strat": ns, "neg": -1, "far": 1}.get(bad, s)
                rows.append((ts, max(1, oid - 3) if bad == "old" else oid + 1, -5 if bad == "px" else 100,
                             0 if bad == "qty" else 5, bi, bs, NEW, 3 if bad == "side" else side, PAD))
                if bad != "old":
                    oid += 1
            elif roll == 5 and tight == "balance":
                rows.append((ts, 0, 0, draw(st.integers(0, 3000)), 0, 0, BALANCE, 1, PAD))
            elif roll in (6, 7) and oid > 0:  # an id used before (working: duplicate; released: in the window or not)
                rows.append((ts, max(1, oid - draw(st.integers(0, 2 * lag))), 100, 5, i, s, NEW, side, PAD))
            else:
                oid += 1 if draw(st.integers(0, 12)) else draw(st.integers(2, 30))
                px = draw(st.sampled_from([95, 99, 100, 101, 105]))
                rows.append((ts, oid, px, draw(st.sampled_from([1, 2, 5, 10, 20, 40])), i, s, NEW, side, PAD))
                if draw(st.integers(0, 5)):
                    rows.append((ts, max(1, oid - lag), 0, 0, 0, 0, CANCELED, 1, PAD))
        parts.append(np.array(rows, dtype=RISK_OP_DTYPE))
    return cfg, parts, draw(st.booleans())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=banked_cases())
def test_banked_batch_equals_one_by_one(case: tuple[dict[str, Any], list[np.ndarray], bool]) -> None:
    # every flush reason (generic calls, fills / marks / balances returning to the Cython loop, audited rejects,
    # the headroom running out with one limit tight, the end of each process call), non-flat instruments, the
    # order-rate ring with and without room, banked and unbanked shapes
    cfg, parts, hooks = case
    _same(cfg, parts, hooks)


def _positions_cfg(margin_bps: int) -> dict[str, Any]:
    return {"instruments": [{"margin_bps": margin_bps, "notional_num": 1, "notional_den": 1, "max_notional": 10**6,
                             "max_qty": 100} for _ in range(2)],
            "strategies": [{}, {}], "account": {"margin": True, "balance": 10**12, "duplicate_window_ns": 0},
            "refs": [100, 100]}


@settings(max_examples=80, deadline=None)
@given(pos=st.integers(-60, 60), qtys=st.lists(st.integers(1, 40), min_size=1, max_size=40), lag=st.integers(1, 6),
       bps=st.sampled_from([1000, 10_000]), data=st.data())
def test_banked_reducing_orders_on_a_position(pos: int, qtys: list[int], lag: int, bps: int, data: Any) -> None:
    # instrument 0 holds a net position (a fill of no known order in the first batch); the second batch's orders on
    # both sides, each often released later by a CANCELED: an order that only reduces the position (counting the
    # same side's working quantity, live across strategies and banks) takes no margin, the others do
    cfg = _positions_cfg(bps)
    first = [(0, UNKNOWN_ID, 100, abs(pos), 0, 0, FILLED, 1 if pos > 0 else 2, PAD)] if pos else []
    rows: list[tuple[Any, ...]] = []
    for k, q in enumerate(qtys, start=1):
        side = data.draw(st.sampled_from([1, 2]))
        rows.append((k, k, 100, q, data.draw(st.sampled_from([0, 0, 1])), data.draw(st.integers(0, 1)), NEW, side, PAD))
        if k > lag and data.draw(st.booleans()):
            rows.append((k, k - lag, 0, 0, 0, 0, CANCELED, 1, PAD))
    parts = [np.array([*first, (0, 0, 100, 0, 1, 0, MARK, 1, PAD)], dtype=RISK_OP_DTYPE),
             np.array(rows, dtype=RISK_OP_DTYPE)]
    _same(cfg, parts, False)


def test_banked_long_run_wraps_the_duplicate_ring_and_meets_the_rate_limit() -> None:
    # 12,000 NEW + CANCELED pairs on 8 cells: the duplicate-id ring (8,192 entries at first) fills, is expired and
    # wraps (the run stops at its end), the order-rate ring's room shrinks below the run's skip threshold (the ring
    # is then tested per order) and the limit is met; now and then an id re-used inside the duplicate window
    n, lag = 12000, 32
    k = np.arange(1, n + 1)
    new = np.zeros(n, dtype=RISK_OP_DTYPE)
    new["ts"], new["order_id"], new["price"], new["qty"] = k, k, 100, 1 + k % 3
    new["instrument"], new["strategy"], new["op"], new["side"] = k % 4, k % 2, NEW, 1 + k % 2
    cxl = new.copy()
    cxl["op"], cxl["order_id"] = CANCELED, k - lag
    recs = np.empty(2 * n, dtype=RISK_OP_DTYPE)
    recs[0::2], recs[1::2] = new, cxl
    # every 250th CANCELED replaced by a NEW that re-uses the id of the order released 8 pairs earlier: inside the
    # duplicate window (it must be found in the ring, also after the ring wrapped), so rejected as a duplicate
    again = np.arange(250, n, 250)
    recs["op"][2 * again - 1], recs["order_id"][2 * again - 1] = NEW, again - lag - 8
    cfg = {"instruments": [{"margin_bps": 1000, "notional_den": 10, "max_notional": 10**6, "max_qty": 10}
                           for _ in range(4)],
           "strategies": [{"order_limit": 5900, "order_window_ns": 10**9}, {"order_limit": 10000,
                                                                           "order_window_ns": 10**9}],
           "account": {"margin": True, "balance": 10**12, "duplicate_window_ns": 3000}, "refs": [100] * 4}
    got = _same(cfg, [recs[: 2 * n // 3], recs[2 * n // 3:]], False)
    both = np.concatenate(got)
    assert (both[2 * again - 1] == int(RejectReason.DUPLICATE_ORDER_ID)).all()
    res = both[0::2]
    assert (res[k % 2 == 1] == 0).all()  # strategy 1: 6,000 orders, limit 10,000
    assert (res[k % 2 == 0][:5900] == 0).all()  # strategy 0: limit 5,900, met
    assert (res[k % 2 == 0][5900:] == int(RejectReason.ORDER_RATE)).all()


def test_banked_strategy_halted_inside_a_batch() -> None:
    # strategy 0's daily-loss breaker trips on a mark inside the batch (its position from a fill loses 30 > 20):
    # the records after it run in a new native call whose table blocks the strategy, so its NEW orders are
    # rejected (DAILY_LOSS_LIMIT: halted by that breaker) while strategy 1's are accepted, as one by one
    cfg = {"instruments": [{"max_notional": 10**6, "max_qty": 100, "margin_bps": 1000} for _ in range(2)],
           "strategies": [{"daily_loss": 20}, {}], "account": {"margin": True, "balance": 10**12}, "refs": [100, 100]}
    rows: list[tuple[Any, ...]] = []
    for k in range(1, 41):
        rows.append((k, k, 100, 2, k % 2, (k // 2) % 2, NEW, 1 + k % 2, PAD))
        if k > 4:
            rows.append((k, k - 4, 0, 0, 0, 0, CANCELED, 1, PAD))
        if k == 10:
            rows.append((k, UNKNOWN_ID, 100, 3, 0, 0, FILLED, 1, PAD))
        if k == 20:
            rows.append((k, 0, 90, 0, 0, 0, MARK, 1, PAD))
    for hooks in (False, True):
        got = _same(cfg, [np.array(rows, dtype=RISK_OP_DTYPE)], hooks)[0]
        news = np.array([r[6] == NEW for r in rows])
        strat0 = np.array([r[5] == 0 for r in rows])
        late = np.arange(len(rows)) > next(j for j, r in enumerate(rows) if r[6] == MARK)
        assert (got[news & strat0 & late] == int(RejectReason.DAILY_LOSS_LIMIT)).all()
        assert (got[news & ~strat0] == 0).all()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window=st.sampled_from([1024, 2048, 32768]), n=st.integers(1000, 3000), lag=st.sampled_from([0, 700, 1500]),
       data=st.data())
def test_banked_window_grows_with_the_working_ids(window: int, n: int, lag: int, data: Any) -> None:
    # the window in use starts at 1,024 slots and doubles up to `order_window` when a new id's slot holds an older
    # working order (beyond it, that order moves to the overflow): working sets spanning more than 1,024 ids, in
    # one batch and one by one (whose checks grow it too), then everything released in a second batch
    cfg = {"instruments": [{"max_notional": 10**6, "max_qty": 10} for _ in range(2)], "strategies": [{}],
           "account": {}, "refs": [100, 100]}
    rows: list[tuple[Any, ...]] = []
    for k in range(1, n + 1):
        rows.append((k, k, 100, 1 + k % 5, k % 2, 0, NEW, 1 + k % 2, PAD))
        if lag and k > lag:
            rows.append((k, k - lag, 0, 0, 0, 0, CANCELED, 1, PAD))
    ids = list(range(max(1, n - lag + 1) if lag else 1, n + 1))
    order = data.draw(st.permutations(ids))
    rest = [(n + 1, oid, 0, 0, 0, 0, CANCELED, 1, PAD) for oid in order]
    engines = []
    for cls in (RiskEngine, RiskEngine, ReferenceRiskModel):
        e = cls(2, 1, order_window=window) if cls is RiskEngine else cls(2, 1)
        for i, kw in enumerate(cfg["instruments"]):
            e.configure_instrument(i, **kw)
            e.set_reference(i, 100)
        engines.append(e)
    batch, seq, ref = engines
    for recs in (np.array(rows, dtype=RISK_OP_DTYPE), np.array(rest, dtype=RISK_OP_DTYPE)):
        got = batch.process(recs)
        np.testing.assert_array_equal(got, one_by_one(seq, recs))
        np.testing.assert_array_equal(got, ref.process(recs))
        assert _state(batch) == _state(seq) == _state(ref)
        assert sorted(batch.working_orders().tolist()) == sorted(seq.working_orders().tolist())
    assert batch.snapshot()["account"]["n_open"] == 0


@st.composite
def rate_ring_cases(draw: Any) -> tuple[dict[str, Any], list[np.ndarray], bool]:
    """Long NEW + CANCELED runs whose order-rate rings sit at their limit (a long session: the lean run tests the ring
    per order). Windows near the time a limit's worth of orders takes, so an order is often just inside or just
    outside; times mostly rise, with bursts (steps of 0), jumps and steps back; 1-5 strategies."""
    ni, ns = draw(st.sampled_from([(1, 1), (2, 2), (4, 2), (1, 3), (2, 4), (1, 5)]))
    step = draw(st.sampled_from([1, 3, 10]))
    strats = []
    for _ in range(ns):
        kw: dict[str, Any] = {}
        if draw(st.integers(0, 5)):
            lim = draw(st.sampled_from([1, 5, 16, 17, 40, 100]))
            kw["order_limit"] = lim
            kw["order_window_ns"] = draw(st.integers(1, 2 * lim * ns * step))
        strats.append(kw)
    cfg = {"instruments": [{"max_qty": 40, "max_notional": 10**6} for _ in range(ni)], "strategies": strats,
           "account": {"balance": 10**12, "duplicate_window_ns": draw(st.sampled_from([0, 30]))}, "refs": [100] * ni}
    lag = draw(st.integers(1, 12))
    back = draw(st.sampled_from([0, 8, 30]))  # one step back in `back` records (0: none)
    parts, oid, ts = [], 0, 0
    for _ in range(draw(st.integers(1, 2))):
        rows: list[tuple[Any, ...]] = []
        for _ in range(draw(st.integers(50, 400))):
            roll = draw(st.integers(0, 59))
            if back and roll % back == 1:
                ts -= draw(st.integers(1, 60 * step))
            else:
                ts += {0: draw(st.integers(100, 2000)), 2: 0, 3: 0}.get(roll, step)
            oid += 1
            rows.append((ts, oid, 100, 1 + oid % 3, oid % ni, draw(st.integers(0, ns - 1)) if roll == 4 else oid % ns,
                         NEW, 1 + oid % 2, PAD))
            rows.append((ts, oid - lag, 0, 0, 0, 0, CANCELED, 1, PAD))
        parts.append(np.array(rows, dtype=RISK_OP_DTYPE))
    return cfg, parts, draw(st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=rate_ring_cases())
def test_banked_rate_ring_at_its_limit(case: tuple[dict[str, Any], list[np.ndarray], bool]) -> None:
    cfg, parts, hooks = case
    _same(cfg, parts, hooks)


def test_banked_rate_ring_threshold_edges() -> None:
    # one strategy, limit 20 per 100 ns, the ring full with a large time (500) in its second-oldest entry (times not
    # in order in the ring); the second batch: a NEW at 10,000 (meets the oldest entry, 1), then the lean run from a
    # CANCELED at 10,000, a NEW at 550 and one at 599 that meet the entry 500 (ORDER_RATE: any test that took the
    # ring's entries as ordered, or a bound of them, would allow them), then NEWs that pass until they meet the entry
    # of the NEW at 10,000
    cfg = {"instruments": [{"max_qty": 40, "max_notional": 10**6}],
           "strategies": [{"order_limit": 20, "order_window_ns": 100}],
           "account": {"balance": 10**12, "duplicate_window_ns": 0}, "refs": [100]}
    first = [(ts, oid, 100, 1, 0, 0, NEW, 1, PAD) for oid, ts in enumerate([1, 500, *range(2, 20)], start=1)]
    second = [(10_000, 21, 100, 1, 0, 0, NEW, 1, PAD), (10_000, 20, 0, 0, 0, 0, CANCELED, 1, PAD),
              (550, 22, 100, 1, 0, 0, NEW, 1, PAD), (599, 23, 100, 1, 0, 0, NEW, 1, PAD),
              (600, 24, 100, 1, 0, 0, NEW, 1, PAD),
              *[(10_001 + j, 25 + j, 100, 1, 0, 0, NEW, 2, PAD) for j in range(30)]]
    got = _same(cfg, [np.array(first, dtype=RISK_OP_DTYPE), np.array(second, dtype=RISK_OP_DTYPE)], False)
    rate = int(RejectReason.ORDER_RATE)
    assert not got[0].any()
    assert got[1][:5].tolist() == [0, 0, rate, rate, 0]
    # the entries 2..19 allow 18 more; then the entry of the NEW at 10,000 (allows from 10,100)
    assert (got[1][5:23] == 0).all() and (got[1][23:] == rate).all()
