"""The batch path's per-instrument envelope (``sq_rk_box`` in ``sq_risk.h``): a NEW limit order whose price and
quantity lie in the instrument's box skips the stateless checks it implies (well-formed, restricted, tick, lot,
min/max quantity, collar, min/max notional) and computes notional and margin without overflow tests. Here every
edge of that box (the collar bounds of each side, min and max quantity, min and max notional of the instrument and
of each strategy, the price cut that keeps px * qty * num and the margin's product inside int64, tick / lot other
than 1, a den that is not a power of ten, no reference, restricted, reference updates inside a batch, which rebuild
the box) is put in a batch, which must give the results and state of one-by-one calls and of the plain-Python
reference model."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from risk_support import one_by_one

from shrivenquant._native.risk import RiskEngine
from shrivenquant.risk import RISK_OP_DTYPE, ReferenceRiskModel, RiskOp

I64 = 2**63 - 1
NEW, CANCELED, REFERENCE = int(RiskOp.NEW), int(RiskOp.CANCELED), int(RiskOp.REFERENCE)
FILLED, MARK = int(RiskOp.FILLED), int(RiskOp.MARK)


def _same(cfg: dict[str, Any], refs: list[int], recs: np.ndarray) -> np.ndarray:
    engines = []
    for cls in (RiskEngine, RiskEngine, ReferenceRiskModel):
        e = cls(len(cfg["instruments"]), len(cfg["strategies"]))
        for i, kw in enumerate(cfg["instruments"]):
            e.configure_instrument(i, **kw)
            if refs[i] > 0:
                e.set_reference(i, refs[i])
        for s, kw in enumerate(cfg["strategies"]):
            e.configure_strategy(s, **kw)
        e.configure_account(**cfg["account"])
        engines.append(e)
    batch, seq, ref = engines
    got = batch.process(recs)
    np.testing.assert_array_equal(got, one_by_one(seq, recs))
    np.testing.assert_array_equal(got, ref.process(recs))
    assert batch.snapshot() == seq.snapshot() == ref.snapshot()
    assert batch.last_reject() == seq.last_reject() == ref.last_reject()
    assert list(batch.reject_counts()) == list(seq.reject_counts()) == list(ref.reject_counts())
    return got


def _bounds(kw: dict[str, Any], ref: int, side: int) -> list[int]:
    """The prices at and beside the collar bounds of `side` (as the engine rounds them), and a few others."""
    out = [1, 2, ref, ref - 1, ref + 1]
    unit, tick = kw["collar_unit"], kw["tick"]
    up, dn = (kw["buy_up"], kw["buy_down"]) if side == 1 else (kw["sell_up"], kw["sell_down"])
    hi = lo = None
    if unit == 1:
        hi = None if up is None else ref * (10_000 + up) // 10_000
        lo = None if dn is None else -(-ref * (10_000 - dn) // 10_000)
    elif unit == 2:
        hi = None if up is None else ref + up * tick
        lo = None if dn is None else ref - dn * tick
    out += [b + d for b in (hi, lo) if b is not None for d in (-1, 0, 0, 1, 1)]
    return [p for p in out if p >= 0]


@st.composite
def envelope_cases(draw: Any) -> tuple[dict[str, Any], list[int], np.ndarray]:
    ni, ns = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    insts, refs = [], []
    for _ in range(ni):
        unit = draw(st.sampled_from([0, 1, 2]))
        band = st.none() | st.integers(0, 3000 if unit == 1 else 30)
        min_qty = draw(st.integers(0, 4))
        kw = {
            "tick": draw(st.sampled_from([1, 1, 1, 1, 2, 5])), "lot": draw(st.sampled_from([1, 1, 1, 1, 3])),
            "min_qty": min_qty, "max_qty": draw(st.none() | st.integers(max(min_qty, 1), 60)),
            "min_notional": draw(st.integers(0, 200)), "max_notional": draw(st.none() | st.integers(100, 20_000)),
            "restricted": draw(st.integers(0, 20)) == 0, "collar_unit": unit,
            "buy_up": draw(band), "buy_down": draw(band), "sell_up": draw(band), "sell_down": draw(band),
            "margin_bps": draw(st.sampled_from([0, 1, 999, 3333, 10_000, 40_000])),
            "notional_num": draw(st.sampled_from([1, 3, 1000])), "notional_den": draw(st.sampled_from([1, 10, 100, 3])),
        }
        insts.append(kw)
        refs.append(draw(st.sampled_from([0, 100, 137, 1000, 99_999])))
    strats = [{"max_notional": draw(st.none() | st.integers(50, 50_000))} for _ in range(ns)]
    account = {"margin": draw(st.booleans()), "balance": draw(st.sampled_from([10**15, 10**6, 3_000, 0])),
               "duplicate_window_ns": draw(st.sampled_from([0, 5]))}
    rows: list[tuple[Any, ...]] = []
    oid, ts, cur = 0, 0, list(refs)
    for _ in range(draw(st.integers(1, 80))):
        ts += draw(st.sampled_from([0, 1, 2]))
        i = draw(st.integers(0, ni - 1))
        kw = insts[i]
        if draw(st.integers(0, 8)) == 0:  # a reference update inside the batch: the box is built again
            cur[i] = draw(st.sampled_from([50, 100, 101, 1000, 99_999]))
            rows.append((ts, 0, cur[i], 0, i, 0, REFERENCE, 1, b"\0" * 6))
            continue
        qmin, qmax = kw["min_qty"], kw["max_qty"] or 60
        qty = draw(st.sampled_from([qmin - 1, qmin, qmin + 1, qmax - 1, qmax, qmax + 1, 1, 2]))
        side = draw(st.sampled_from([1, 2]))
        px = draw(st.sampled_from(_bounds(kw, cur[i] or 100, side)))
        oid += 1 if draw(st.integers(0, 9)) else draw(st.integers(2, 5))
        rows.append((ts, oid, px, qty, i, draw(st.integers(0, ns - 1)), NEW, side, b"\0" * 6))
        if draw(st.booleans()):
            rows.append((ts, max(1, oid - draw(st.integers(0, 4))), 0, 0, 0, 0, CANCELED, 1, b"\0" * 6))
    recs = np.array(rows, dtype=RISK_OP_DTYPE)
    return {"instruments": insts, "strategies": strats, "account": account}, refs, recs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=envelope_cases())
def test_batch_envelope_edges(case: tuple[dict[str, Any], list[int], np.ndarray]) -> None:
    # prices at and beside each collar bound of either side, quantities at and beside min and max, each instrument
    # in or out of the box (tick, lot, den, restricted, no reference), margin on or off with a tight balance
    _same(*case)


@settings(max_examples=300, deadline=None)
@given(bps=st.sampled_from([0, 1, 1000, 9999, 10_000, 40_000]), num=st.sampled_from([1, 7, 1000]),
       den=st.sampled_from([1, 10, 10**6]), qmax=st.sampled_from([None, 1, 3, 10**6, 2**40]), d=st.integers(-2, 2),
       dq=st.integers(-1, 1), margin=st.booleans())
def test_batch_envelope_overflow_cut(bps: int, num: int, den: int, qmax: int | None, d: int, dq: int,
                                     margin: bool) -> None:
    # the box's cuts (no collar): vcap = min(I64, floor(I64 / max(bps, 1)) * den), quantities up to
    # qhi = min(max_qty, 2^floor(log2(vcap // num) / 2)), prices up to vcap // (qhi * num); orders at, below and
    # above both cuts and well above them (the full path and its overflow-checked arithmetic: a notional whose
    # margin product passes int64 must not be in the box)
    vcap = min(I64, I64 // max(bps, 1) * den)
    t = vcap // num
    qhi = min(qmax or 2**61, 1 << ((t.bit_length() - 1) // 2))  # the engine's cut: 2^floor(floor(log2 t) / 2)
    pcap = vcap // (qhi * num)
    cfg = {"instruments": [{"max_qty": qmax, "margin_bps": bps, "notional_num": num, "notional_den": den}],
           "strategies": [{}], "account": {"margin": margin, "balance": I64 // 2}}
    rows: list[tuple[Any, ...]] = []
    for px in (p for p in (pcap + d, pcap + d + 1, 2 * pcap + d, 16 * pcap) if 1 <= p <= I64):
        for qty in (qhi + dq, qhi, 1):
            if qty >= 1:
                rows.append((len(rows), len(rows) + 1, px, qty, 0, 0, NEW, 1 + len(rows) % 2, b"\0" * 6))
    if rows:
        _same(cfg, [0], np.array(rows, dtype=RISK_OP_DTYPE))


def test_batch_envelope_lands_on_each_bound() -> None:
    # one instrument, 5 % collar (bps) around 10000 with different buy and sell bands, min qty 2, max qty 9: the
    # records at each bound are accepted, one past it rejected with that bound's reason, in one batch
    from shrivenquant.risk import RejectReason as R

    kw = {"min_qty": 2, "max_qty": 9, "collar_unit": 1, "buy_up": 500, "buy_down": 300, "sell_up": 200,
          "sell_down": 400, "margin_bps": 1000, "notional_num": 1, "notional_den": 100}
    cfg = {"instruments": [kw], "strategies": [{}], "account": {"margin": True, "balance": 10**9}}
    cases = [  # (side, px, qty, expected)
        (1, 10_500, 2, 0), (1, 10_501, 2, R.PRICE_COLLAR), (1, 9_700, 9, 0), (1, 9_699, 9, R.PRICE_COLLAR),
        (2, 10_200, 2, 0), (2, 10_201, 2, R.PRICE_COLLAR), (2, 9_600, 9, 0), (2, 9_599, 9, R.PRICE_COLLAR),
        (1, 10_000, 1, R.MIN_QTY), (1, 10_000, 10, R.MAX_ORDER_QTY), (2, 10_000, 1, R.MIN_QTY),
        (2, 10_000, 10, R.MAX_ORDER_QTY), (1, 10_000, 9, 0), (2, 10_000, 2, 0),
    ]
    recs = np.array([(k, k + 1, px, q, 0, 0, NEW, side, b"\0" * 6) for k, (side, px, q, _) in enumerate(cases)],
                    dtype=RISK_OP_DTYPE)
    got = _same(cfg, [10_000], recs)
    assert got.tolist() == [int(want) for *_, want in cases]


def test_batch_envelope_notional_bounds() -> None:
    # notional = price (num = den = 1, qty 1): min notional, the instrument's maximum and two strategies' maxima
    # (the box's range ends at the smallest maximum; a larger one is met on the full path), and a minimum above
    # one strategy's maximum (the box's range is empty)
    from shrivenquant.risk import RejectReason as R

    for min_n, s0_max in ((10, 50), (60, 50)):
        cfg = {"instruments": [{"min_notional": min_n, "max_notional": 100}],
               "strategies": [{"max_notional": s0_max}, {}], "account": {}}
        rows, want = [], []
        for s, cap in ((0, min(s0_max, 100)), (1, 100)):
            for px in (9, 10, 11, 49, 50, 51, 59, 60, 61, 99, 100, 101):
                rows.append((len(rows), len(rows) + 1, px, 1, 0, s, NEW, 1 + px % 2, b"\0" * 6))
                want.append(R.MIN_NOTIONAL if px < min_n else R.MAX_ORDER_NOTIONAL if px > cap else 0)
        got = _same(cfg, [0], np.array(rows, dtype=RISK_OP_DTYPE))
        assert got.tolist() == [int(w) for w in want]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=envelope_cases(), second=envelope_cases())
def test_batch_envelope_follows_reconfiguration(first: tuple[dict[str, Any], list[int], np.ndarray],
                                                second: tuple[dict[str, Any], list[int], np.ndarray]) -> None:
    # an envelope is kept from one process() call to the next: a configure_* call or a reference update between
    # two batches must build it again (the second batch runs under the second case's limits and references)
    cfg1, refs1, recs1 = first
    cfg2, refs2, recs2 = second
    ni = min(len(cfg1["instruments"]), len(cfg2["instruments"]))
    ns = min(len(cfg1["strategies"]), len(cfg2["strategies"]))
    recs1 = recs1[(recs1["instrument"] < ni) & (recs1["strategy"] < ns)]
    recs2 = recs2[(recs2["instrument"] < ni) & (recs2["strategy"] < ns)].copy()
    recs2["order_id"] += 1000
    engines = [cls(ni, ns) for cls in (RiskEngine, RiskEngine, ReferenceRiskModel)]
    for cfg, refs in ((cfg1, refs1), (cfg2, refs2)):
        for e in engines:
            for i in range(ni):
                e.configure_instrument(i, **cfg["instruments"][i])
                if refs[i] > 0:
                    e.set_reference(i, refs[i])
            for s in range(ns):
                e.configure_strategy(s, **cfg["strategies"][s])
            e.configure_account(**cfg["account"])
        recs = recs1 if cfg is cfg1 else recs2
        batch, seq, ref = engines
        got = batch.process(recs)
        np.testing.assert_array_equal(got, one_by_one(seq, recs))
        np.testing.assert_array_equal(got, ref.process(recs))
        assert batch.snapshot() == seq.snapshot() == ref.snapshot()


def test_batch_envelope_after_a_strategy_limit_tightens() -> None:
    # the box's notional range ends at the smallest strategy maximum: a configure_strategy between two batches that
    # lowers it must reach the next batch (notional = price here)
    from shrivenquant.risk import RejectReason as R

    e, ref = RiskEngine(1, 1), ReferenceRiskModel(1, 1)
    for x in (e, ref):
        x.configure_instrument(0, max_qty=10)
        x.configure_strategy(0, max_notional=100)
    first = np.array([(1, 1, 60, 1, 0, 0, NEW, 1, b"\0" * 6)], dtype=RISK_OP_DTYPE)
    assert e.process(first).tolist() == ref.process(first).tolist() == [0]
    for x in (e, ref):
        x.configure_strategy(0, max_notional=50)
    second = np.array([(2, 2, 60, 1, 0, 0, NEW, 1, b"\0" * 6), (2, 3, 50, 1, 0, 0, NEW, 2, b"\0" * 6)],
                      dtype=RISK_OP_DTYPE)
    assert e.process(second).tolist() == ref.process(second).tolist() == [R.MAX_ORDER_NOTIONAL, 0]
    assert e.snapshot() == ref.snapshot()


def test_batch_exposure_reducing_order_needs_no_margin() -> None:
    # long 5 with the balance used up by the position's margin: a sell of 3 reduces the exposure and needs no margin
    # (accepted on the batch path), a further sell of 3 would pass the position (not reducing) and is rejected
    from shrivenquant.risk import RejectReason as R

    cfg = {"instruments": [{"max_qty": 10}], "strategies": [{}], "account": {"margin": True, "balance": 500}}
    rows = [(1, 1, 100, 5, 0, 0, NEW, 1), (2, 1, 100, 5, 0, 0, FILLED, 1), (3, 0, 100, 0, 0, 0, MARK, 1),
            (4, 2, 100, 3, 0, 0, NEW, 2), (5, 3, 100, 3, 0, 0, NEW, 2), (6, 4, 100, 2, 0, 0, NEW, 2)]
    recs = np.array([(*r, b"\0" * 6) for r in rows], dtype=RISK_OP_DTYPE)
    got = _same(cfg, [0], recs)
    assert got.tolist() == [0, 0, 0, 0, R.MARGIN, 0]
    # with room in the balance every order is accepted, and the reducing one is counted with no margin (snapshot)
    cfg["account"]["balance"] = 10**6
    assert _same(cfg, [0], recs).tolist() == [0] * 6
