"""The lean run's lazy form (``sq_rk_fast_body`` with ``lazy``, ``sq_rk_fast_scan`` in ``sq_risk.h``).

In a lazy run an accepted NEW banks only its message count, a CANCELED of an order the same run opened only frees its
window slot, and at the run's end a scan (the run's accepted ids, newest first; in e8114c0 and 5910ec6 the id range
below its newest id) banks the quantity, notional, margin and open count of the run's orders still working;
CANCELEDs of orders opened before the run bank their full deltas. The form is
picked per run from a decayed mix of NEWs and same-run CANCELEDs kept across ``process`` calls (and ``reset()``); a
fresh engine's first run is eager. Here the streams make that choice flip inside one call and across calls, put
CANCELEDs on orders of the same run and of earlier runs, end runs at every kind of record the lean run leaves to the
generic path (so the scan runs at many run ends), wrap the window, hold net positions (the non-flat variants, with
reducing orders), sit the order-rate rings at their limit (the ring-checked variants) and reset the engine between
calls. Results, state (snapshot, counters, last reject, reject counts, working orders) and hook calls after every call
must equal one-by-one calls on a twin engine and the plain-Python reference model."""

from __future__ import annotations

import random
from functools import partial
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from risk_support import one_by_one, record_hooks
from test_risk_batch_banked import (
    ACCEPTED,
    BALANCE,
    CANCEL,
    CANCELED,
    FILLED,
    MARK,
    MODIFY,
    NEW,
    PAD,
    REFERENCE,
    REJECTED,
    UNKNOWN_ID,
    _build,
    _state,
)

from shrivenquant._native.risk import RiskEngine
from shrivenquant.risk import RISK_OP_DTYPE, ReferenceRiskModel, RejectReason

RESET = None  # in a list of parts: reset() every engine there
# by default a run's orders stay within this many ids of its newest one (the window in use has at least 1,024
# slots): the scan walks ids; streams that cross it (the scan walks the whole window) set _Stream.span and jumps
SPAN = 1000
INTERRUPTS = ("fill", "fill_unknown", "mark", "modify", "cancel_check", "canceled_unknown", "rejected", "accepted",
              "audited_reject", "reference", "balance")


def _check(cfg: dict[str, Any], parts: list[np.ndarray | None], hooks: bool, window: int = 32768) -> list[np.ndarray]:
    """Each part through process() on one engine, one by one on a twin and through the reference model (RESET:
    reset() on all three); results, state, working orders and hook calls compared after every part."""
    mk = partial(RiskEngine, order_window=window)
    batch, seq, ref = _build(mk, cfg), _build(mk, cfg), _build(ReferenceRiskModel, cfg)
    logs = record_hooks((batch, seq, ref), hooks)
    outs = []
    for recs in parts:
        if recs is RESET:
            for e in (batch, seq, ref):
                e.reset()
        else:
            got = batch.process(recs)
            np.testing.assert_array_equal(got, one_by_one(seq, recs))
            np.testing.assert_array_equal(got, ref.process(recs))
            outs.append(got)
        assert _state(batch) == _state(seq) == _state(ref)
        assert batch.checks == seq.checks == ref.checks
        assert batch.working_orders().tolist() == seq.working_orders().tolist() == ref.working_orders().tolist()
        assert logs[0] == logs[1] == logs[2]
    return outs


class _Stream:
    """Builds records: NEWs with rising ids, CANCELEDs of orders it believes working (a superset of the engine's:
    NEWs it rejects and orders fills complete stay in it), and the records that end a lean run."""

    def __init__(self, rng: random.Random, ni: int, ns: int) -> None:
        self.rng, self.ni, self.ns = rng, ni, ns
        self.rows: list[tuple[Any, ...]] = []
        self.oid, self.ts = 0, 0
        self.working: list[int] = []  # ascending
        self.brk = 0  # ids above it were issued after the last record that ends a run
        self.span = SPAN
        self.jumps = False  # now and then a NEW id far above the last (with span unbounded: runs wider than the window)

    def cut(self) -> np.ndarray:
        out, self.rows = np.array(self.rows, dtype=RISK_OP_DTYPE), []
        self.brk = self.oid  # process() returns: every run ends
        return out

    def restart(self, from_one: bool) -> None:
        """After reset(): nothing works; ids (and times) may start again from 1."""
        self.working.clear()
        if from_one:
            self.oid, self.ts = 0, 0
        self.brk = self.oid

    def new(self, gap: int = 1, qty: int | None = None, side: int | None = None, inst: int | None = None) -> int:
        r = self.rng
        nid = self.oid + gap
        # keep the orders issued since the last run end within `span` ids of the newest (see SPAN)
        for oid in [o for o in self.working if self.brk < o <= nid - self.span]:
            self.canceled(oid)
        self.oid = nid
        self.ts += r.choice((0, 1, 1, 2))
        i = r.randrange(self.ni) if inst is None else inst
        self.rows.append((self.ts, nid, r.choice((99, 100, 100, 101)), r.choice((1, 2, 5, 10, 20, 40)) if qty is None
                          else qty, i, r.randrange(self.ns), NEW, r.choice((1, 2)) if side is None else side, PAD))
        self.working.append(nid)
        return nid

    def canceled(self, oid: int) -> None:
        self.rows.append((self.ts, oid, 0, 0, 0, 0, CANCELED, 1, PAD))
        if oid in self.working:
            self.working.remove(oid)

    def cancel_lag(self, lag: int) -> None:
        """CANCELED of the working order `lag` places below the newest (none if there are fewer)."""
        if lag < len(self.working):
            self.canceled(self.working[-1 - lag])

    def fill_position(self, inst: int, qty: int, side: int) -> None:
        self.rows.append((self.ts, UNKNOWN_ID, 100, qty, inst, 0, FILLED, side, PAD))
        self.brk = self.oid

    def interrupt(self, kind: str) -> None:
        """One record the lean run leaves to the generic path or the Cython loop: the run ends there."""
        r, ts = self.rng, self.ts
        w = r.choice(self.working) if self.working else max(self.oid, 1)
        i, s = r.randrange(self.ni), r.randrange(self.ns)
        rec: tuple[Any, ...]
        if kind == "fill":  # of a working order (partly, or completely: released)
            rec = (ts, w, 100, r.choice((1, 1, 2, 40)), i, s, FILLED, r.choice((1, 2)), PAD)
        elif kind == "fill_unknown":  # a position on an instrument (not flat from the next call on; or flat again)
            rec = (ts, UNKNOWN_ID, 100, r.choice((1, 3, 10)), i, s, FILLED, r.choice((1, 2)), PAD)
        elif kind == "mark":
            rec = (ts, 0, r.choice((95, 100, 104)), 0, i, 0, MARK, 1, PAD)
        elif kind == "modify":
            rec = (ts, w, r.choice((99, 100, 101)), r.choice((1, 5, 30)), 0, 0, MODIFY, 1, PAD)
        elif kind == "cancel_check":
            rec = (ts, w, 0, 0, 0, 0, CANCEL, 1, PAD)
        elif kind == "canceled_unknown":  # released before, or never issued
            rec = (ts, r.choice((self.oid + 7, max(1, self.oid - 2 * SPAN), 0)), 0, 0, 0, 0, CANCELED, 1, PAD)
        elif kind == "rejected":
            rec = (ts, w, 0, 0, 0, 0, REJECTED, 1, PAD)
            if w in self.working:
                self.working.remove(w)
        elif kind == "accepted":
            rec = (ts, w, 0, 0, 0, 0, ACCEPTED, 1, PAD)
        elif kind == "audited_reject":  # a NEW the checks reject (quantity 0 or a price <= 0): the audit hook
            self.oid += 1
            rec = (ts, self.oid, r.choice((100, -5)), 0, i, s, NEW, 1, PAD)
        elif kind == "reference":
            rec = (ts, 0, 100, 0, i, 0, REFERENCE, 1, PAD)
        else:
            rec = (ts, 0, 0, 10**12, 0, 0, BALANCE, 1, PAD)
        self.rows.append(rec)
        self.brk = self.oid


def _cfg(ni: int, ns: int, *, margin: bool = True, strat: dict[str, Any] | None = None,
         inst: dict[str, Any] | None = None, account: dict[str, Any] | None = None) -> dict[str, Any]:
    ikw = {"max_qty": 40, "max_notional": 10**6, "margin_bps": 1000, "notional_den": 10, **(inst or {})}
    return {"instruments": [dict(ikw) for _ in range(ni)], "strategies": [dict(strat or {}) for _ in range(ns)],
            "account": {"margin": margin, "balance": 10**12, "duplicate_window_ns": 0, **(account or {})},
            "refs": [100] * ni}


def _phase(sm: _Stream, mode: str, pairs: int, every: int, kinds: tuple[str, ...], long_lag: int) -> None:
    """`pairs` NEWs of one mix: "cancel" (most released by the next records: same-run CANCELEDs, lazy runs),
    "grow" (few released: eager runs), "old" (released `long_lag` NEWs later: CANCELEDs of earlier runs' orders),
    "mixed"; a record of `kinds` every ~`every` records (0: none)."""
    r = sm.rng
    for _ in range(pairs):
        if every and r.randrange(every) == 0:
            sm.interrupt(r.choice(kinds))
        sm.new(gap=r.randrange(600, 5000) if sm.jumps and r.randrange(120) == 0 else 1 if r.randrange(12)
               else r.randrange(2, 40))
        if mode == "cancel":
            if r.randrange(10):
                sm.cancel_lag(r.choice((0, 0, 0, 1, 2, 5)))
        elif mode == "grow":
            if r.randrange(6) == 0:
                sm.cancel_lag(r.randrange(len(sm.working)))
        elif mode == "old":
            sm.cancel_lag(long_lag)
        else:
            sm.cancel_lag(r.choice((0, 1, 3, long_lag, long_lag // 2)))


# ------------------------------------------------------------------------------------------------- property tests

@st.composite
def lazy_cases(draw: Any) -> tuple[dict[str, Any], list[np.ndarray | None], bool, int]:
    ni, ns = draw(st.sampled_from([(1, 1), (2, 1), (1, 2), (2, 2), (4, 2), (3, 3), (8, 8)]))
    tight = draw(st.sampled_from(["none", "none", "none", "inst_open", "strat_open", "acct_open", "credit",
                                  "balance"]))
    strats = []
    for _ in range(ns):
        kw: dict[str, Any] = {}
        if draw(st.integers(0, 2)) == 0:  # a rate ring with room, or nearly at its limit (the ring-checked runs)
            kw["order_limit"] = draw(st.sampled_from([16, 17, 40, 300]))
            kw["order_window_ns"] = draw(st.sampled_from([20, 100, 400]))
        if tight == "strat_open":
            kw["max_open"] = draw(st.integers(4, 40))
        if tight == "credit":
            kw["credit_limit"] = draw(st.integers(2_000, 40_000))
        strats.append(kw)
    cfg = {
        "instruments": [{"max_qty": 40, "max_notional": draw(st.sampled_from([20_000, 10**6])),
                         "margin_bps": draw(st.sampled_from([1000, 10_000])),
                         "notional_den": draw(st.sampled_from([1, 10])),
                         "max_open": draw(st.integers(4, 40)) if tight == "inst_open" else None} for _ in range(ni)],
        "strategies": strats,
        "account": {"margin": draw(st.booleans()) or tight == "balance",
                    "balance": draw(st.integers(2_000, 30_000)) if tight == "balance" else 10**12,
                    "duplicate_window_ns": draw(st.sampled_from([0, 0, 30])),
                    "max_open": draw(st.integers(4, 60)) if tight == "acct_open" else None},
        "refs": [100] * ni}
    sm = _Stream(random.Random(draw(st.integers(0, 2**32 - 1))), ni, ns)
    if draw(st.booleans()):  # ids of one run further apart than the window's slots: the scan walks the whole window
        sm.span, sm.jumps = 2**62, True
    for i in range(draw(st.integers(0, min(ni, 2)))):  # net positions: the non-flat runs (reducing orders too)
        sm.fill_position(i, draw(st.sampled_from([5, 40, 200])), draw(st.sampled_from([1, 2])))
    parts: list[np.ndarray | None] = []
    kinds = tuple(draw(st.lists(st.sampled_from(INTERRUPTS), min_size=1, max_size=4, unique=True)))
    phases = draw(st.integers(1, 6))
    for ph in range(phases):
        mode = draw(st.sampled_from(["cancel", "cancel", "grow", "old", "mixed"]))
        _phase(sm, mode, draw(st.integers(5, 400)), draw(st.sampled_from([0, 0, 4, 30, 150])), kinds,
               draw(st.sampled_from([20, 150, 600])))
        cut = draw(st.integers(0, 5)) if ph < phases - 1 else 2
        if cut == 0:
            parts.append(sm.cut())
            if draw(st.integers(0, 2)) == 0:
                parts.append(RESET)
                sm.restart(draw(st.booleans()))
        elif cut == 1:
            parts.append(sm.cut())
    if sm.rows:
        parts.append(sm.cut())
    return cfg, parts, draw(st.booleans()), draw(st.sampled_from([1024, 2048, 32768]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=lazy_cases())
def test_lazy_streams_equal_one_by_one(case: tuple[dict[str, Any], list[np.ndarray | None], bool, int]) -> None:
    # phases of cancel-heavy and growing mixes (the form flips between runs, inside a call and across calls),
    # CANCELEDs of same-run and earlier orders, every kind of run end, tight limits (short runs: the headroom runs
    # out), net positions, rate rings, resets (the mix is kept; ids may start again from 1), windows in use growing
    cfg, parts, hooks, window = case
    _check(cfg, parts, hooks, window)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pos=st.integers(-80, 80).filter(bool), n=st.integers(50, 500), margin=st.booleans(),
       flips=st.integers(0, 3), seed=st.integers(0, 2**32 - 1))
def test_lazy_reducing_orders_on_a_position(pos: int, n: int, margin: bool, flips: int, seed: int) -> None:
    # instrument 0 holds a net position (instrument 1 flat): orders on both sides, most released by the next records
    # (lazy runs: the same-run CANCELED of an order on the non-flat instrument takes its working quantity back from the
    # live value the reducing test reads) and some long after; `flips` fills move the position inside the batch
    rng = random.Random(seed)
    sm = _Stream(rng, 2, 2)
    sm.fill_position(0, abs(pos), 1 if pos > 0 else 2)
    parts: list[np.ndarray | None] = [sm.cut()]
    for j in range(2):
        for _ in range(n):
            sm.new(qty=rng.choice((1, 2, 5, 10, 20, 40)), inst=rng.choice((0, 0, 0, 1)))
            sm.cancel_lag(rng.choice((0, 0, 1, 2, 60)) if rng.randrange(8) else 200)
            if flips and rng.randrange(n // flips + 1) == 0:
                sm.interrupt("fill_unknown")
        parts.append(sm.cut())
        if j == 0 and rng.randrange(2):
            parts.append(RESET)
            sm.restart(True)
            sm.fill_position(0, abs(pos), 2 if pos > 0 else 1)
    _check(_cfg(2, 2, margin=margin, inst={"margin_bps": 10_000}), parts, False)


# ------------------------------------------------------------------------------------------------- example tests

def _warm(sm: _Stream, pairs: int = 64) -> np.ndarray:
    """A cancel-heavy call: the engine's later runs are lazy."""
    for _ in range(pairs):
        sm.new()
        sm.canceled(sm.oid)
    return sm.cut()


@pytest.mark.parametrize("kind", INTERRUPTS)
def test_lazy_runs_ended_by_each_record_kind(kind: str) -> None:
    # 1,500 NEWs, CANCELEDs at lags inside and beyond a run (runs end at a `kind` record every ~8 records, or ~60),
    # on 2 instruments x 2 strategies with margin: the scan at hundreds of run ends, its `live` count meeting
    # CANCELEDs of the run's own and of earlier orders
    sm = _Stream(random.Random(kind), 2, 2)
    parts: list[np.ndarray | None] = [_warm(sm)]
    for every in (8, 60):
        for _ in range(750):
            if sm.rng.randrange(every) == 0:
                sm.interrupt(kind)
            sm.new()
            sm.cancel_lag(sm.rng.choice((0, 0, 1, 2, 7, 30, 120)))
        parts.append(sm.cut())
    _check(_cfg(2, 2), parts, True)


@pytest.mark.parametrize("nonflat", [False, True])
def test_lazy_mix_flips_inside_a_call_and_across_calls(nonflat: bool) -> None:
    # a fresh engine (first run eager) then cancel-heavy, growing, cancel-heavy, earlier-order CANCELEDs and
    # cancel-heavy phases, a mark every ~50 records ending runs: the form flips inside each call; three calls with a
    # reset() before the last (the mix carries over; ids restart from 1)
    sm = _Stream(random.Random(7 + nonflat), 3, 2)
    if nonflat:
        sm.fill_position(1, 30, 2)
    parts: list[np.ndarray | None] = []
    for plan in ([("cancel", 300), ("grow", 400), ("cancel", 500)], [("old", 300), ("cancel", 400), ("grow", 300)],
                 [("grow", 200), ("cancel", 600), ("mixed", 300)]):
        for mode, pairs in plan:
            _phase(sm, mode, pairs, 50, ("mark",), 150)
        parts.append(sm.cut())
        if len(parts) == 2:
            parts.append(RESET)
            sm.restart(True)
            if nonflat:
                sm.fill_position(1, 30, 1)
    _check(_cfg(3, 2), parts, False)


@pytest.mark.parametrize(("window", "nonflat", "edge", "extra"), [(1024, False, 0, 0), (1024, False, 1, 0),
                                                                  (1024, True, 2, 0), (2048, False, 0, 0),
                                                                  (32768, True, 1, 0), (1024, False, 0, 600),
                                                                  (1024, True, 1, 300), (32768, False, 2, 900)])
def test_lazy_scan_reaches_the_bottom_of_the_window(window: int, nonflat: bool, edge: int, extra: int) -> None:
    # one lazy run of 1,024 + `extra` NEWs on consecutive ids, all released at once except three orders near the
    # bottom of the 1,024-slot window in use below its newest id, and the newest: the scan (down from the newest id)
    # must reach them; `edge` puts the lowest kept one at that bottom (max_id - 1,023) or one or two above it (without
    # `extra`: the run's first order); with `extra` the run spans more ids than the window has slots (a duplicate
    # window: runs not cut at 1,024 NEWs)
    sm = _Stream(random.Random(window + edge + extra), 2, 1)
    sm.span = 1024  # (no order more than 1,023 ids below the run's newest: the kept ones stay)
    parts: list[np.ndarray | None] = [_warm(sm)]
    if nonflat:
        sm.fill_position(0, 25, 1)
    sm.new()
    sm.canceled(sm.oid)  # (the call's first NEW takes the generic path: the run starts after it)
    last = sm.oid + 1024 + extra - edge
    kept = []
    while sm.oid < last - 1:
        sm.new()
        if last - 1023 + edge <= sm.oid <= last - 1021 + edge:
            kept.append(sm.oid)
        else:
            sm.canceled(sm.oid)
    kept.append(sm.new())
    assert len(kept) == 4 and kept[0] == last - 1023 + edge
    parts.append(sm.cut())
    # the kept orders then released in a later call (CANCELEDs of orders of an earlier run), with new ones
    for oid in kept:
        sm.canceled(oid)
        sm.new()
    parts.append(sm.cut())
    _check(_cfg(2, 1, account={"duplicate_window_ns": 10**9 if extra else 0}), parts, False, window)


@pytest.mark.parametrize("nonflat", [False, True])
def test_lazy_rate_ring_at_its_limit(nonflat: bool) -> None:
    # every strategy's order-rate ring at its limit (20 orders per 100 ns, each strategy sending one every ~4 ns):
    # the runs test the ring per order (the ring-checked lazy variants) and end at a NEW the ring refuses (ORDER_RATE
    # from the generic call); CANCELEDs of the run's own orders and of earlier ones
    sm = _Stream(random.Random(11), 2, 2)
    parts: list[np.ndarray | None] = [_warm(sm, 30)]
    if nonflat:
        sm.fill_position(1, 12, 2)
    for _ in range(2):
        for _ in range(800):
            sm.new()
            sm.ts += 1
            sm.cancel_lag(sm.rng.choice((0, 0, 1, 3, 50)))
        parts.append(sm.cut())
    outs = _check(_cfg(2, 2, strat={"order_limit": 20, "order_window_ns": 100}), parts, True)
    news = np.concatenate([p["op"] == NEW for p in parts if p is not None][1:])
    res = np.concatenate(outs[1:])[news]
    assert 0 < (res == int(RejectReason.ORDER_RATE)).sum() < (res == 0).sum()  # at the limit, most accepted


@pytest.mark.parametrize(("grow", "laps", "offset", "nonflat"), [(0, 1, 5, False), (0, 4, -1, True), (0, 1, -1, False),
                                                                 (1, 1, 40, False), (1, 2, -1, True), (2, 1, 100, True),
                                                                 (2, 1, -1, False)])
def test_lazy_run_with_ids_further_apart_than_the_window(grow: int, laps: int, offset: int, nonflat: bool) -> None:
    # the window in use grown to W = 1,024 << grow slots (orders 1, 1 + 1,024, 1 + 2,048, ... working at once), then
    # one lazy run whose newest id is `laps` windows (+ `offset`) above its first order, no slot shared: the scan
    # walks the whole window; with offset -1 the first order is in the last slot it walks (max_id - (W - 1)).
    # (e8114c0's scan stopped at max_id - 1,023 and lost the first order; fixed in 5910ec6.)
    sm = _Stream(random.Random(laps * 100 + offset), 2, 1)
    sm.new(inst=0)
    for _ in range(grow):  # ids 1, 1,025, 2,049, ...: each new one meets a working order in its slot
        sm.brk = sm.oid
        sm.new(gap=1024, inst=0)
    parts: list[np.ndarray | None] = [sm.cut(), _warm(sm)]
    if nonflat:
        sm.fill_position(0, 25, 1)
    sm.new()
    sm.canceled(sm.oid)  # (the call's first NEW takes the generic path)
    first = sm.new(qty=5, inst=1)  # the run's first order, kept
    for _ in range(8):
        sm.new()
        sm.canceled(sm.oid)
    sm.rows.append((sm.ts, first + laps * (1024 << grow) + offset, 100, 7, 1, 0, NEW, 2, PAD))  # the run's newest
    parts.append(sm.cut())
    _check(_cfg(2, 1), parts, False, 32768)


def test_lazy_whole_window_scan_skips_the_newest_earlier_order() -> None:
    # the call's first NEW (id P, taken by the generic path) stays working: the run starts above it. The run: P + 1
    # released, P + 2 and P + 3 kept, then pairs, then P + 1,025 (the slot of P + 1: free). Its ids span more than the
    # 1,024 slots, so the scan walks the whole window down from P + 1,025: the next slot it meets holds order P, which
    # the run did not open (not counted, not banked); then it must still find P + 2 and P + 3
    sm = _Stream(random.Random(3), 2, 2)
    sm.span = 2048
    parts: list[np.ndarray | None] = [_warm(sm)]
    for nonflat in (False, True):
        if nonflat:
            sm.fill_position(1, 9, 2)
        p = sm.new()
        sm.new()
        sm.canceled(sm.oid)
        sm.new()
        sm.new()
        for _ in range(40):
            sm.new()
            sm.canceled(sm.oid)
        sm.rows.append((sm.ts, p + 1025, 100, 3, 1, 1, NEW, 1, PAD))
        sm.oid = p + 1025
        parts.append(sm.cut())
        for oid in (p, p + 2, p + 3, p + 1025):  # released in the next call (then the working set is empty)
            sm.canceled(oid)
    parts.append(sm.cut())
    _check(_cfg(2, 2), parts, True)


@pytest.mark.parametrize("gap", [2000, 10**6])
def test_lazy_run_with_ids_further_apart_than_the_window_minimal(gap: int) -> None:
    # the minimal form: after a cancel-heavy call, one call of NEWs 1000, 1000 + gap and 1000 + 2 * gap (the first one
    # takes the generic path, the other two are one lazy run): all three are working and banked
    e = _build(RiskEngine, _cfg(2, 1))
    warm = [r for k in range(1, 201) for r in ((k, k, 100, 1, 0, 0, NEW, 1, PAD), (k, k, 0, 0, 0, 0, CANCELED, 1, PAD))]
    e.process(np.array(warm, dtype=RISK_OP_DTYPE))
    e.process(np.array([(300, 1000, 100, 1, 0, 0, NEW, 1, PAD), (301, 1000 + gap, 100, 2, 1, 0, NEW, 2, PAD),
                        (302, 1000 + 2 * gap, 100, 3, 0, 0, NEW, 1, PAD)], dtype=RISK_OP_DTYPE))
    assert e.working_orders().tolist() == [1000, 1000 + gap, 1000 + 2 * gap]
    snap = e.snapshot()
    assert snap["account"]["n_open"] == 3 and snap["strategies"][0]["n_open"] == 3
    assert [(d["open_buy"], d["open_sell"], d["n_open"]) for d in snap["instruments"]] == [(4, 0, 2), (0, 2, 1)]


@pytest.mark.parametrize("nonflat", [False, True])
def test_lazy_slot_reused_inside_a_run(nonflat: bool) -> None:
    # one lazy run: Y kept, Y + 1 released at once, ..., then Y + 1 + 1,024 (the slot Y + 1 had) kept, then pairs.
    # Walking the run's ids newest first, the scan meets Y + 1 (released) whose slot now holds Y + 1,025: that order is
    # not Y + 1 (not counted again), and Y must still be found and banked
    sm = _Stream(random.Random(5), 2, 2)
    sm.span = 2048
    parts: list[np.ndarray | None] = [_warm(sm)]
    if nonflat:
        sm.fill_position(0, 14, 1)
    sm.new()
    sm.canceled(sm.oid)  # (the call's first NEW takes the generic path)
    y = sm.new(inst=0)
    sm.new(inst=1)
    sm.canceled(y + 1)
    for _ in range(30):
        sm.new()
        sm.canceled(sm.oid)
    sm.rows.append((sm.ts, y + 1025, 100, 6, 1, 1, NEW, 2, PAD))
    sm.oid = y + 1025
    sm.working.append(sm.oid)
    for _ in range(5):
        sm.new()
        sm.canceled(sm.oid)
    parts.append(sm.cut())
    for oid in (y, y + 1025):
        sm.canceled(oid)
    parts.append(sm.cut())
    _check(_cfg(2, 2), parts, False)


@pytest.mark.parametrize("dup_ns", [1, 40])
def test_lazy_runs_across_the_duplicate_ring_wrap(dup_ns: int) -> None:
    # a duplicate window (the lazy run reads its accepted ids back from the duplicate ring): 10,000 NEWs, times rising
    # by 1 per record, so the ring (8,192 entries) wraps with its old entries expired and runs are cut at its end; most
    # released by the next records, some 50 NEWs later; every 400th NEW re-uses a recent id (a duplicate inside the
    # window when dup_ns allows, or not)
    sm = _Stream(random.Random(dup_ns), 2, 2)
    parts: list[np.ndarray | None] = [_warm(sm)]
    for _ in range(2):
        for n in range(5000):
            sm.new()
            sm.ts += 1
            if n % 400 == 399:
                sm.rows.append((sm.ts, sm.oid - 2, 100, 1, 0, 0, NEW, 1, PAD))
            sm.cancel_lag(sm.rng.choice((0, 0, 1, 3, 50)))
        parts.append(sm.cut())
    _check(_cfg(2, 2, account={"duplicate_window_ns": dup_ns}), parts, False)
