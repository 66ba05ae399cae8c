"""The rolling-window rings' layout of batch round 7 (``sq_rk_ring`` in ``sq_risk.h``): exactly ``limit`` slots, a
pointer to the next one (which, once the ring is full, holds the oldest of the last ``limit`` events: the test and
the push touch the same slot) and a full flag that ``reset()`` and reconfiguration clear. Limits that are not powers
of two, the wrap, a partly filled ring across ``reset()``, reconfiguring a ring mid-session and the modify, cancel
and execution rings are run through ``process()``, one by one and through the plain-Python reference model; the
results, state and later batches must agree."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from risk_support import one_by_one

from shrivenquant._native.risk import RiskEngine
from shrivenquant.risk import RISK_OP_DTYPE, ReferenceRiskModel, RejectReason, RiskOp

NEW, MODIFY, CANCEL = int(RiskOp.NEW), int(RiskOp.MODIFY), int(RiskOp.CANCEL)
CANCELED, FILLED = int(RiskOp.CANCELED), int(RiskOp.FILLED)
PAD = b"\0" * 6
RATE = int(RejectReason.ORDER_RATE)


def _build(cls: Any, ns: int, ring: dict[str, Any]) -> Any:
    e = cls(2, ns)
    for i in range(2):
        e.configure_instrument(i, max_qty=10**6, max_notional=10**12)
        e.set_reference(i, 100)
    for s in range(ns):
        e.configure_strategy(s, **ring)
    e.configure_account(balance=10**15, duplicate_window_ns=0)
    return e


def _state(e: Any) -> tuple[Any, ...]:
    return e.snapshot(), e.last_reject(), list(e.reject_counts())


def _engines(ns: int, ring: dict[str, Any]) -> tuple[Any, Any, Any]:
    return _build(RiskEngine, ns, ring), _build(RiskEngine, ns, ring), _build(ReferenceRiskModel, ns, ring)


def _run(engines: tuple[Any, Any, Any], rows: list[tuple[Any, ...]]) -> np.ndarray:
    batch, seq, ref = engines
    recs = np.array(rows, dtype=RISK_OP_DTYPE)
    got = batch.process(recs)
    np.testing.assert_array_equal(got, one_by_one(seq, recs))
    np.testing.assert_array_equal(got, ref.process(recs))
    assert _state(batch) == _state(seq) == _state(ref)
    return got


def _news(ts: list[int], first_id: int, s: int = 0) -> list[tuple[Any, ...]]:
    return [(t, first_id + j, 100, 1, j % 2, s, NEW, 1 + j % 2, PAD) for j, t in enumerate(ts)]


def test_ring_of_a_non_power_of_two_limit_wraps_on_its_oldest_event() -> None:
    # limit 5 per 100 ns (5 slots): five orders at 0..4 fill it; at 99 the oldest (0) is still inside the window;
    # at 100 it has left (one more), then at 100 again the next oldest (1) has not; at 101 it has
    engines = _engines(1, {"order_limit": 5, "order_window_ns": 100})
    got = _run(engines, _news([0, 1, 2, 3, 4, 99, 100, 100, 101, 102, 103, 104, 104], 1))
    assert got.tolist() == [0, 0, 0, 0, 0, RATE, 0, RATE, 0, 0, 0, 0, RATE]
    # many wraps (the ring's slot pointer passes its end dozens of times), each order exactly at the edge
    ts = [200 + 100 * (j // 5) + j % 5 for j in range(300)]
    assert not _run(engines, _news(ts, 100)).any()
    late = ts[-5] + 99  # the oldest of the last five is ts[-5]: still inside
    assert _run(engines, _news([late, late + 1], 1000)).tolist() == [RATE, 0]


def test_ring_partly_filled_then_reset_allows_a_full_limit_again() -> None:
    ring = {"order_limit": 7, "order_window_ns": 10**9}
    engines = _engines(2, ring)
    # strategy 0: 4 of 7 slots, strategy 1: 7 of 7 and a reject
    assert not _run(engines, _news([1, 2, 3, 4], 1)).any()
    assert _run(engines, _news(list(range(10, 18)), 100, s=1)).tolist() == [0] * 7 + [RATE]
    for e in engines:
        e.reset()
    # after reset: times may start anywhere (here before the old ones) and exactly 7 more pass per strategy
    for s in (0, 1):
        got = _run(engines, _news([-50] * 9, 1000 + 100 * s, s=s))
        assert got.tolist() == [0] * 7 + [RATE, RATE]
    # reset once more with the rings full and wrapped (slot pointer not at the array's start)
    # (the -50 entries leave the window at 10**9 - 50: three orders there, then one at 10**9 - 100 meets one)
    assert _run(engines, _news([10**9] * 3 + [10**9 - 100], 5000)).tolist() == [0, 0, 0, RATE]
    for e in engines:
        e.reset()
    assert _run(engines, _news([0] * 8, 6000)).tolist() == [0] * 7 + [RATE]


def test_ring_reconfigured_mid_session_starts_empty() -> None:
    engines = _engines(1, {"order_limit": 3, "order_window_ns": 1000})
    assert _run(engines, _news([0, 1, 2, 3], 1)).tolist() == [0, 0, 0, RATE]
    for e in engines:
        e.configure_strategy(0, order_limit=6, order_window_ns=1000)
    assert _run(engines, _news([4] * 7, 10)).tolist() == [0] * 6 + [RATE]
    for e in engines:
        e.configure_strategy(0)  # off: one slot that pushes overwrite, never full
    assert not _run(engines, _news(list(range(55, 5, -1)), 100)).any()  # (times stepping back)
    for e in engines:
        e.configure_strategy(0, order_limit=1, order_window_ns=10)
    assert _run(engines, _news([6, 15, 16, 26, 26], 200)).tolist() == [0, RATE, 0, 0, RATE]


def test_modify_cancel_exec_rings_share_the_layout() -> None:
    ring = {"modify_limit": 3, "modify_window_ns": 50, "cancel_limit": 2, "cancel_window_ns": 50,
            "exec_limit": 5, "exec_window_ns": 50}
    engines = _engines(1, ring)
    rows = _news([0] * 6, 1)
    rows += [(t, 1, 101, 1, 0, 0, MODIFY, 0, PAD) for t in (1, 2, 3, 4, 51, 52)]
    rows += [(t, 2 + j, 0, 0, 0, 0, CANCEL, 0, PAD) for j, t in enumerate((5, 6, 7, 56))]
    got = _run(engines, rows)
    rate_m, rate_c = int(RejectReason.MODIFY_RATE), int(RejectReason.CANCEL_RATE)
    assert got[6:12].tolist() == [0, 0, 0, rate_m, 0, 0]
    assert got[12:16].tolist() == [0, 0, rate_c, 0]
    # fills: the execution ring at 5 per 50 ns
    fills = [(60 + j, 6, 100, 1, 1, 0, FILLED, 2, PAD) for j in range(1)]
    _run(engines, fills)
    for e in engines:
        e.reset()
    _run(engines, _news([0] * 3, 1) + [(t, 1, 101, 1, 0, 0, MODIFY, 0, PAD) for t in (1, 2, 3, 4)])


@st.composite
def ring_streams(draw: Any) -> tuple[int, dict[str, Any], list[list[tuple[Any, ...]]]]:
    ns = draw(st.integers(1, 3))
    limit = draw(st.integers(1, 13))
    window = draw(st.sampled_from([1, 7, 50, 300]))
    parts: list[list[tuple[Any, ...]]] = []
    oid, ts = 1, 0
    for _ in range(draw(st.integers(1, 4))):
        rows: list[tuple[Any, ...]] = []
        for _ in range(draw(st.integers(1, 80))):
            ts += draw(st.sampled_from([0, 0, 1, 3, window, -2]))
            s = draw(st.integers(0, ns - 1))
            if oid > 3 and draw(st.integers(0, 3)) == 0:
                rows.append((ts, oid - draw(st.integers(1, 3)), 0, 0, 0, 0, CANCELED, 0, PAD))
            rows.append((ts, oid, 100, 1, oid % 2, s, NEW, 1 + oid % 2, PAD))
            oid += 1
        parts.append(rows)
    return ns, {"order_limit": limit, "order_window_ns": window}, parts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ring_streams(), st.booleans())
def test_ring_streams_with_resets_match_one_by_one_and_reference(case: Any, reset_between: bool) -> None:
    ns, ring, parts = case
    engines = _engines(ns, ring)
    for rows in parts:
        _run(engines, rows)
        if reset_between:
            for e in engines:
                e.reset()
