"""The native engine's fast paths against the plain-Python reference model, at the edges where the fast
path hands over to the exact slow one: 64-bit notional and margin products near int64 overflow, the
order-to-trade ratio with products past int64, the duplicate-id ring filling past its capacity (expired ids
dropped lazily), and cancels that release an order found by the same probe."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shrivenquant._native.risk import RiskEngine
from shrivenquant.risk import ReferenceRiskModel
from shrivenquant.risk import RejectReason as R

BUY, SELL = 1, 2
I64 = 2**63 - 1


def pair(inst: dict[str, Any] | None = None, strat: dict[str, Any] | None = None,
         account: dict[str, Any] | None = None) -> tuple[Any, Any]:
    out = []
    for cls in (RiskEngine, ReferenceRiskModel):
        e = cls(1, 1)
        e.configure_instrument(0, **(inst or {}))
        e.configure_strategy(0, **(strat or {}))
        e.configure_account(**(account or {}))
        out.append(e)
    return out[0], out[1]


def both(a: Any, b: Any, name: str, *args: int) -> int:
    ra, rb = getattr(a, name)(*args), getattr(b, name)(*args)
    assert ra == rb, (name, args, ra, rb)
    if ra:
        assert a.last_reject() == b.last_reject(), (name, args)
    return ra


@settings(max_examples=300, deadline=None)
@given(k=st.integers(0, 18), num=st.sampled_from([1, 3, 7, 1000]), px=st.integers(4, 2**40),
       delta=st.integers(-3, 3))
def test_notional_at_the_int64_edge(k: int, num: int, px: int, delta: int) -> None:
    # qty such that px * qty * num sits just below / at / just above 2**63: the 64-bit path hands over to 128 bits
    qty = max(1, I64 // (px * num) + delta)
    n = -(-(px * qty * num) // 10**k)
    a, b = pair(inst={"notional_num": num, "notional_den": 10**k, "max_notional": min(n, 2**61)})
    r = both(a, b, "check", 0, 0, BUY, px, qty, 0, 1)
    assert r == (R.MAX_ORDER_QTY if qty > 2**61 else 0 if n <= 2**61 else R.MAX_ORDER_NOTIONAL)  # caps (docs)
    if r == 0 and n >= 1:
        a, b = pair(inst={"notional_num": num, "notional_den": 10**k, "max_notional": n - 1})
        assert both(a, b, "check", 0, 0, BUY, px, qty, 0, 2) == R.MAX_ORDER_NOTIONAL
        assert a.last_reject()[:2] == (n, n - 1)


@settings(max_examples=300, deadline=None)
@given(bps=st.integers(0, 40_000), px=st.integers(1, 2**31), qty=st.integers(1, 2**29), shift=st.integers(-1, 0))
def test_margin_is_exact_ceiling(bps: int, px: int, qty: int, shift: int) -> None:
    # margin = ceil(notional * bps / 10000) in 64 bits when it fits, else 128; balance at the boundary
    notional = px * qty
    margin = -(-(notional * bps) // 10_000)
    a, b = pair(inst={"margin_bps": bps}, account={"margin": True, "balance": margin + shift})
    want = 0 if shift == 0 else R.MARGIN
    assert both(a, b, "check", 0, 0, BUY, px, qty, 0, 1) == want
    assert a.snapshot()["account"]["order_margin"] == (margin if want == 0 else 0)


@given(bps=st.sampled_from([4, 5, 7, 9999, 10001, 40000]), d=st.integers(-2, 2), shift=st.integers(-1, 0))
def test_margin_at_the_int64_edge(bps: int, d: int, shift: int) -> None:
    # notional * bps just below / at / above 2**63: the 64-bit multiply-shift by 10000 hands over to 128 bits
    notional = min(I64 // bps + d, 2**61)
    margin = -(-(notional * bps) // 10_000)
    a, b = pair(inst={"margin_bps": bps}, account={"margin": True, "balance": margin + shift})
    assert both(a, b, "check", 0, 0, BUY, notional, 1, 0, 1) == (0 if shift == 0 else R.MARGIN)
    assert a.snapshot()["account"]["order_margin"] == (margin if shift == 0 else 0)


@settings(max_examples=200, deadline=None)
@given(ratio=st.sampled_from([1, 999, 2**40, 2**62, I64 // 2, I64]), trades=st.integers(0, 5),
       msgs=st.integers(0, 12))
def test_order_to_trade_ratio_with_large_products(ratio: int, trades: int, msgs: int) -> None:
    # (msgs + 1) * 1000 > ratio * max(trades, 1): ratio * trades may pass int64 (then the 128-bit compare decides)
    a, b = pair(strat={"otr_x1000": ratio, "otr_min_messages": 0})
    oid = 0
    for _ in range(trades):
        oid += 1
        both(a, b, "check", 0, 0, BUY, 10, 1, 0, oid)
        both(a, b, "on_fill", oid, 0, 0, BUY, 10, 1, 0)
    for _ in range(msgs):
        oid += 1
        both(a, b, "check", 0, 0, BUY, 10, 1, 0, oid)
    assert a.snapshot()["strategies"] == b.snapshot()["strategies"]
    assert list(a.reject_counts()) == list(b.reject_counts())


@settings(max_examples=40, deadline=None)
@given(window=st.integers(1, 50_000), steps=st.lists(st.integers(0, 200), min_size=1, max_size=40),
       n=st.integers(900, 3000), probes=st.lists(st.integers(1, 3000), max_size=30))
def test_duplicate_ring_past_capacity(window: int, steps: list[int], n: int, probes: list[int]) -> None:
    # more increasing ids than the ring's initial 1,024 slots within and across windows: the ring expires
    # lazily when full and grows when the window still holds every id; lower ids probed afterwards
    a, b = pair(account={"duplicate_window_ns": window})
    ts = 0
    for oid in range(1, n + 1):
        ts += steps[oid % len(steps)]
        both(a, b, "check", 0, 0, BUY, 10, 1, ts, oid)
        both(a, b, "on_canceled", oid)
    for p in probes:
        ts += steps[p % len(steps)]
        both(a, b, "check", 0, 0, BUY, 10, 1, ts, p)
        both(a, b, "on_canceled", p)
    assert list(a.reject_counts()) == list(b.reject_counts())
    assert a.snapshot()["account"] == b.snapshot()["account"]


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["new", "cancel", "fill"]), st.integers(1, 40), st.integers(1, 5)),
                    min_size=1, max_size=300))
def test_release_by_the_found_slot(ops: list[tuple[str, int, int]]) -> None:
    # cancels and fills erase the working-order entry at the slot their lookup found (backward-shift deletion):
    # colliding and wrapping ids keep the table consistent with the model
    a, b = pair()
    for k, (op, oid, q) in enumerate(ops):
        if op == "new":
            both(a, b, "check", 0, 0, BUY if oid & 1 else SELL, 10, q, k, oid * 1024)
        elif op == "cancel":
            both(a, b, "on_canceled", oid * 1024)
        else:
            both(a, b, "on_fill", oid * 1024, 0, 0, BUY, 10, q, k)
    sa, sb = a.snapshot(), b.snapshot()
    assert sa["orders"] == sb["orders"]
    assert sa["instruments"] == sb["instruments"] and sa["account"] == sb["account"]
    assert list(a.working_orders()) == sorted(sb["orders"])


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), window=st.sampled_from([0, 50, 5_000, 10**9]), lag=st.integers(1, 3000))
def test_long_batch_through_the_c_runner(seed: int, window: int, lag: int) -> None:
    # a batch long enough that, inside the C loop, the pool and the working-order table grow, the duplicate
    # ring fills and expires, and cancels/fills erase from a large table; compared with the reference model
    import numpy as np

    from shrivenquant.risk import RISK_OP_DTYPE, RiskOp

    rng = np.random.default_rng(seed)
    n = 3000
    k = np.arange(1, n + 1)
    recs = np.zeros(3 * n, dtype=RISK_OP_DTYPE)
    new, cxl, fill = recs[0::3], recs[1::3], recs[2::3]
    ts = np.cumsum(rng.integers(0, 40, n))
    for part in (new, cxl, fill):
        part["ts"] = ts
        part["price"] = 100 + rng.integers(0, 3, n)
        part["qty"] = 1 + rng.integers(0, 3, n)
        part["side"] = 1 + rng.integers(0, 2, n)
    new["op"], new["order_id"] = int(RiskOp.NEW), np.where(rng.random(n) < 0.97, k, rng.integers(1, n + 1, n))
    cxl["op"], cxl["order_id"] = int(RiskOp.CANCELED), k - lag
    fill["op"], fill["order_id"] = int(RiskOp.FILLED), rng.integers(1, n + 1, n)
    a, b = pair(account={"duplicate_window_ns": window})
    np.testing.assert_array_equal(a.process(recs), b.process(recs))
    assert a.snapshot() == b.snapshot()


@settings(max_examples=12, deadline=None)
@given(n=st.integers(200, 3000), partial=st.integers(0, 3), which=st.sampled_from([None, 0, 1]),
       stride=st.sampled_from([1, 7, 1024]))
def test_release_all_with_a_large_table(n: int, partial: int, which: int | None, stride: int) -> None:
    # release_all of every order with the id table at least 1/8 full clears the table in one pass instead of
    # erasing order by order; per strategy it erases one by one. Either way the engine then behaves as the model
    engines = []
    for cls in (RiskEngine, ReferenceRiskModel):
        e = cls(1, 2)
        e.configure_instrument(0)
        engines.append(e)
    a, b = engines
    for k in range(1, n + 1):
        both(a, b, "check", 0, k & 1, BUY if k % 3 else SELL, 10, 1 + k % 4, k, k * stride)
    for k in range(1, n + 1, 5):  # some orders partly filled, some canceled before the mass release
        if partial:
            both(a, b, "on_fill", k * stride, 0, 0, BUY, 10, 1, n + k)
        both(a, b, "on_canceled", (k + 1) * stride)
    assert a.release_all(which) == b.release_all(which)
    assert a.snapshot() == b.snapshot()
    assert list(a.working_orders()) == list(b.working_orders())
    for k in range(1, n + 1, 3):  # ids reused after the release, then cancels of them and of released ids
        both(a, b, "check", 0, k & 1, BUY, 10, 1, 2 * n + k, k * stride)
        both(a, b, "on_canceled", (k + 2) * stride)
    assert a.snapshot() == b.snapshot()


@settings(max_examples=200, deadline=None)
@given(ratio=st.integers(1, 6000), min_msgs=st.integers(0, 6), trades=st.integers(0, 4), msgs=st.integers(0, 14),
       reconfigure=st.sampled_from([None, 1, 1500, 4001]), reset=st.booleans())
def test_order_to_trade_threshold_exact(ratio: int, min_msgs: int, trades: int, msgs: int, reconfigure: int | None,
                                        reset: bool) -> None:
    # the check compares messages with a threshold kept from the ratio, min_messages and trades; it must follow
    # every change of those (fills, reconfiguration, reset_day) exactly at the boundary (ratio near 1000 * k)
    a, b = pair(strat={"otr_x1000": ratio, "otr_min_messages": min_msgs})
    oid = 0
    for _ in range(trades):
        oid += 1
        both(a, b, "check", 0, 0, BUY, 10, 1, 0, oid)
        both(a, b, "on_fill", oid, 0, 0, BUY, 10, 1, 0)
    if reset:
        a.reset_day()
        b.reset_day()
    if reconfigure is not None:
        for e in (a, b):
            e.configure_strategy(0, otr_x1000=reconfigure, otr_min_messages=min_msgs)
    for _ in range(msgs):
        oid += 1
        both(a, b, "check", 0, 0, BUY, 10, 1, 0, oid)
        both(a, b, "check_cancel", oid, 0)
    assert a.snapshot()["strategies"] == b.snapshot()["strategies"]
    assert list(a.reject_counts()) == list(b.reject_counts())


def window_pair(window: int, dup_ns: int = 0) -> tuple[Any, Any]:
    a = RiskEngine(1, 2, order_window=window)
    b = ReferenceRiskModel(1, 2)
    for e in (a, b):
        e.configure_instrument(0, margin_bps=1000, max_open=50)
        for s in (0, 1):
            e.configure_strategy(s, max_open=30)
        e.configure_account(margin=True, balance=10**9, duplicate_window_ns=dup_ns)
    return a, b


def same(a: Any, b: Any) -> None:
    assert a.snapshot() == b.snapshot()
    assert list(a.working_orders()) == list(b.working_orders())
    for s in (0, 1):
        assert list(a.working_orders(s)) == list(b.working_orders(s))


@settings(max_examples=200, deadline=None)
@given(window=st.sampled_from([1, 2, 4, 8]), dup_ns=st.sampled_from([0, 5]),
       ops=st.lists(st.tuples(st.sampled_from(["new", "new", "new", "jump", "back", "cancel", "fill", "modify",
                                               "ack", "release", "time"]),
                              st.integers(0, 60), st.integers(1, 9)), max_size=80))
def test_order_window_eviction_and_overflow(window: int, dup_ns: int, ops: list[tuple[str, int, int]]) -> None:
    # a window of 1-8 slots: orders that stay working while newer ids pass are evicted to the overflow table,
    # ids that go back or jump ahead by more than the window, duplicates across the window boundary, cancels /
    # fills / modifies / acks of evicted orders and release_all all give the reference model's results and state
    a, b = window_pair(window, dup_ns)
    nxt, ts = 1, 0
    for op, x, q in ops:
        if op == "new":
            both(a, b, "check", 0, x & 1, 1 + (q & 1), 100 + q, q, ts, nxt)
            nxt += 1
        elif op == "jump":
            nxt += window + x  # past the whole window
            both(a, b, "check", 0, x & 1, 1 + (q & 1), 100 + q, q, ts, nxt)
            nxt += 1
        elif op == "back":  # an older id again: a duplicate while working / within the window, else accepted
            both(a, b, "check", 0, x & 1, 1 + (q & 1), 100 + q, q, ts, max(1, nxt - 1 - x))
        elif op == "cancel":
            both(a, b, "on_canceled", max(1, nxt - 1 - x))
        elif op == "fill":
            both(a, b, "on_fill", max(1, nxt - 1 - x), 0, x & 1, 1 + (q & 1), 100, q, ts)
        elif op == "modify":
            both(a, b, "check_modify", max(1, nxt - 1 - x), 100 + q, q, ts)
        elif op == "ack":
            both(a, b, "on_accepted", max(1, nxt - 1 - x))
        elif op == "release":
            both(a, b, "release_all", None if x & 1 else (x >> 1) & 1)
        else:
            ts += q
        same(a, b)


def test_order_window_keeps_an_old_order_working() -> None:
    # order 1 stays working while 100 newer ids pass a 4-slot window (evicted on id 5, into the overflow table);
    # it is still found, modified, filled and canceled, and its id stays a duplicate while it works
    a, b = window_pair(4)
    assert both(a, b, "check", 0, 0, BUY, 100, 5, 0, 1) == 0
    for oid in range(2, 102):
        assert both(a, b, "check", 0, 1, SELL, 100, 1, 0, oid) == 0
        assert both(a, b, "on_canceled", oid) == 0
    assert a.order(1) == b.order(1) == (0, 0, BUY, 100, 5, False)
    assert both(a, b, "check", 0, 0, BUY, 100, 1, 0, 1) == R.DUPLICATE_ORDER_ID
    assert both(a, b, "check_modify", 1, 101, 4, 0) == 0
    assert both(a, b, "on_fill", 1, 0, 0, BUY, 101, 1, 0) == 0
    same(a, b)
    assert both(a, b, "on_canceled", 1) == 0
    assert both(a, b, "on_canceled", 1) == R.UNKNOWN_ORDER
    same(a, b)
    assert a.working_orders().size == 0


def test_order_window_must_be_a_power_of_two() -> None:
    import pytest

    from shrivenquant.errors import ValidationError

    for bad in (0, 3, 100, 2**25):
        with pytest.raises(ValidationError):
            RiskEngine(1, 1, order_window=bad)
