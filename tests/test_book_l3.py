"""The native L3 book (``OrderBookL3``): hypothesis sequences against a small pure-Python reference model
(dict of orders + per-level FIFO lists) checked after every step, unit tests of each operation and error,
and exact rebuilds of the real CME (Databento MBO) and NASDAQ (LOBSTER) samples."""

from __future__ import annotations

import bisect
import contextlib
import copy
import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant.book import OrderBookL3
from shrivenquant.core.events import EVENT_DTYPE, RAW_NULL, EventFlag, EventKind, empty_events
from shrivenquant.errors import BookError, FixedPointOverflowError, ValidationError
from shrivenquant.venues.databento import load_mbo_csv
from shrivenquant.venues.lobster import (
    SYNTHETIC_ID_BASE,
    load_messages,
    load_orderbook,
    replay_with_orderbook,
)

ADD, MODIFY, CANCEL, FILL, CLEAR = (int(k) for k in (EventKind.ADD, EventKind.MODIFY, EventKind.CANCEL,
                                                     EventKind.FILL, EventKind.CLEAR))
LAST = int(EventFlag.LAST)
INT64_MAX = 2**63 - 1


# ---------------------------------------------------------------------------------------------- reference
class Gap(Exception):
    """The reference's gap (unknown id, duplicate add, over-fill): what a lenient book counts."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Bad(Exception):
    """The reference's malformed update: raises in both policies."""


class RefL3:
    """A deliberately simple L3 book: a dict of orders and, per side and price, a FIFO as an insertion-
    ordered dict (re-inserting a key moves it to the back). Mirrors OrderBookL3's documented semantics."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.orders: dict[int, list[int]] = {}  # id -> [side, price, qty]
        self.levels: dict[int, dict[int, dict[int, None]]] = {1: {}, 2: {}}
        self.prices: dict[int, list[int]] = {1: [], 2: []}  # sorted ascending
        self.gaps = {"unknown": 0, "duplicate": 0, "overfill": 0}

    # -- structure
    def _link(self, oid: int, side: int, price: int) -> None:
        lv = self.levels[side].get(price)
        if lv is None:
            lv = self.levels[side][price] = {}
            bisect.insort(self.prices[side], price)
        lv[oid] = None

    def _unlink(self, oid: int) -> None:
        side, price, _ = self.orders[oid]
        lv = self.levels[side][price]
        del lv[oid]
        if not lv:
            del self.levels[side][price]
            self.prices[side].remove(price)

    def _gap(self, kind: str) -> None:
        if self.strict:
            raise Gap(kind)
        self.gaps[kind] += 1

    # -- operations
    def add(self, oid: int, side: int, price: int, qty: int) -> None:
        if side not in (1, 2) or price == RAW_NULL or qty <= 0:
            raise Bad
        if oid in self.orders:
            self._gap("duplicate")
            return
        self.orders[oid] = [side, price, qty]
        self._link(oid, side, price)

    def modify(self, oid: int, price: int, qty: int) -> None:
        if price == RAW_NULL or qty <= 0:
            raise Bad
        if oid not in self.orders:
            self._gap("unknown")
            return
        o = self.orders[oid]
        if price == o[1] and qty <= o[2]:
            o[2] = qty  # keeps its place
            return
        self._unlink(oid)
        o[1], o[2] = price, qty
        self._link(oid, o[0], price)  # to the back (a no-op move when it already was last)

    def reduce(self, oid: int, qty: int | None) -> None:
        if qty is not None and qty <= 0:
            raise Bad
        if oid not in self.orders:
            self._gap("unknown")
            return
        o = self.orders[oid]
        if qty is not None and qty < o[2]:
            o[2] -= qty
            return
        if qty is not None and qty > o[2]:
            self._gap("overfill")  # strict: raises before changing anything
        self._unlink(oid)
        del self.orders[oid]

    def clear(self, side: int) -> None:
        for s in (1, 2):
            if side in (0, s):
                for oid in [k for k, o in self.orders.items() if o[0] == s]:
                    del self.orders[oid]
                self.levels[s].clear()
                self.prices[s].clear()

    # -- queries
    def depth(self, side: int, n: int | None = None) -> list[tuple[int, int, int]]:
        prices = self.prices[side][::-1] if side == 1 else self.prices[side]
        if n is not None:
            prices = prices[:n]
        out = []
        for p in prices:
            ids = self.levels[side][p]
            out.append((p, sum(self.orders[i][2] for i in ids), len(ids)))
        return out

    def queue(self, oid: int) -> tuple[int, int]:
        side, price, _ = self.orders[oid]
        ahead = 0
        for n, i in enumerate(self.levels[side][price]):
            if i == oid:
                return ahead, n
            ahead += self.orders[i][2]
        raise AssertionError("order not in its level")


def apply_ref(ref: RefL3, op: tuple[Any, ...]) -> None:
    name, *args = op
    if name == "add":
        ref.add(*args)
    elif name == "modify":
        ref.modify(*args)
    elif name in ("cancel", "execute"):
        ref.reduce(args[0], args[1])
    else:
        ref.clear(args[0])


def apply_book(book: OrderBookL3, op: tuple[Any, ...]) -> None:
    name, *args = op
    if name == "add":
        book.add(*args)
    elif name == "modify":
        book.modify(*args)
    elif name == "cancel":
        book.cancel(args[0], args[1])
    elif name == "execute":
        book.execute(args[0], args[1])
    else:
        book.clear(args[0])


def to_records(ops: list[tuple[Any, ...]]) -> np.ndarray:
    ev = empty_events(len(ops))
    for i, (name, *a) in enumerate(ops):
        r = ev[i]
        if name == "add":
            r["kind"], r["order_id"], r["side"], r["price"], r["qty"] = ADD, a[0], a[1], a[2], a[3]
        elif name == "modify":
            r["kind"], r["order_id"], r["side"], r["price"], r["qty"] = MODIFY, a[0], 1, a[1], a[2]
        elif name == "cancel":
            r["kind"], r["order_id"], r["qty"] = CANCEL, a[0], RAW_NULL if a[1] is None else a[1]
        elif name == "execute":
            r["kind"], r["order_id"], r["qty"] = FILL, a[0], a[1]
        else:
            r["kind"], r["side"] = CLEAR, a[0]
    return ev


def assert_same(book: OrderBookL3, ref: RefL3) -> None:
    """Every observable of the book equals the reference's."""
    assert len(book) == len(ref.orders)
    bp, bq, bc, ap, aq, ac = book.depth()
    for side, (px, qty, cnt) in ((1, (bp, bq, bc)), (2, (ap, aq, ac))):
        expected = ref.depth(side)
        assert list(zip(px.tolist(), qty.tolist(), cnt.tolist(), strict=True)) == expected
        for p, q, c in expected:
            ids, qtys = book.level_orders(side, p)
            assert ids.tolist() == list(ref.levels[side][p])  # FIFO order, exactly
            assert qtys.tolist() == [ref.orders[i][2] for i in ref.levels[side][p]]
            assert book.level(side, p) == (q, c)
    for side, prop in ((1, "bid"), (2, "ask")):
        d = ref.depth(side)
        assert getattr(book, f"best_{prop}_price_raw") == (d[0][0] if d else RAW_NULL)
        assert getattr(book, f"best_{prop}_qty_raw") == (d[0][1] if d else RAW_NULL)
        assert getattr(book, f"best_{prop}_count") == (d[0][2] if d else 0)
    for oid, (side, price, qty) in ref.orders.items():
        assert book.order(oid) == (side, price, qty)
        assert book.queue_position(oid) == ref.queue(oid)
        assert oid in book
    assert book.gap_counts() == ref.gaps


# ---------------------------------------------------------------------------------------------- strategies
_n_ops = st.integers(20, 150)


def _draw_ops(data: st.DataObject) -> list[tuple[Any, ...]]:
    """20-150 updates decoded from drawn bytes (fast to draw, shrinks towards zeros): 40 % adds, 40 %
    updates of resting orders (tracked on a lenient shadow reference: same-price modifies up and down,
    price changes, partial / full / over-sized cancels and executes), 20 % the rest: updates of unknown
    ids, bad sizes, clears (duplicate adds come from the adds' narrow id range)."""
    n = data.draw(_n_ops)
    raw = data.draw(st.binary(min_size=6 * n, max_size=6 * n))
    words = [int.from_bytes(raw[i:i + 2], "little") for i in range(0, 6 * n, 2)]
    shadow = RefL3(strict=False)
    ops: list[tuple[Any, ...]] = []
    for k in range(n):
        pick, a, b = words[3 * k] % 10, words[3 * k + 1], words[3 * k + 2]
        live = list(shadow.orders)
        px, qty = 9995 + (a >> 5) % 11, 1 + (b >> 1) % 40  # an 11-tick band: shared levels, crosses
        if pick < 4:
            op: tuple[Any, ...] = ("add", a % 25, 1 + b % 2, px, qty)
        elif live and pick < 8:
            oid = live[a % len(live)]
            _, price, rest = shadow.orders[oid]
            op = (("modify", oid, price, 1 + (b >> 2) % (rest + 5)),  # same price, size down / same / up
                  ("modify", oid, 9995 + (b >> 2) % 11, qty),
                  ("cancel", oid, None if (b >> 2) % 3 == 0 else 1 + (b >> 4) % (rest + 2)),
                  ("execute", oid, 1 + (b >> 2) % (rest + 2)))[b % 4]
        else:
            unknown, bad = 25 + a % 5, -(b % 3)  # ids never added; sizes <= 0
            op = (("modify", unknown, px, qty), ("cancel", unknown, None), ("execute", unknown, qty),
                  ("add", a % 25, 1 + b % 2, px, bad), ("modify", a % 25, px, bad),
                  ("cancel", a % 25, bad if bad else -1), ("execute", a % 25, bad),
                  ("clear", b % 3))[(b >> 3) % 8]
        with contextlib.suppress(Bad):
            apply_ref(shadow, op)
        ops.append(op)
    return ops


def _step(book: OrderBookL3, ref: RefL3, op: tuple[Any, ...]) -> None:
    """Apply op to both; a reference error must be the book's error, with nothing changed."""
    try:
        apply_ref(ref, op)
    except Gap as g:
        with pytest.raises(BookError) as exc:
            apply_book(book, op)
        assert exc.value.order_id == op[1]
        assert {"duplicate": "already resting", "unknown": "unknown order id",
                "overfill": "more than its resting quantity"}[g.kind] in str(exc.value)
    except Bad:
        with pytest.raises(BookError, match="must be > 0"):
            apply_book(book, op)
    else:
        apply_book(book, op)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.booleans())
def test_random_sequences_match_reference(data: st.DataObject, strict: bool) -> None:
    ops = _draw_ops(data)
    book, ref = OrderBookL3(2, 0, strict=strict), RefL3(strict)
    for op in ops:
        _step(book, ref, op)
        assert_same(book, ref)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.booleans())
def test_batch_matches_reference(data: st.DataObject, strict: bool) -> None:
    """apply_events over the same updates as records: the same book and the number of records that
    changed it (lenient: gaps skipped and counted), or (strict) the error at the index of the first bad
    record with every record before it applied."""
    ops = _draw_ops(data)
    ref = RefL3(strict)
    fail_at = None
    applied = 0
    for i, op in enumerate(ops):
        before = dict(ref.gaps)
        try:
            apply_ref(ref, op)
        except (Gap, Bad):
            fail_at = i
            break
        applied += 1 - (ref.gaps["unknown"] - before["unknown"]) - (ref.gaps["duplicate"] - before["duplicate"])
    book = OrderBookL3(2, 0, strict=strict)
    records = to_records(ops)
    if fail_at is None:
        assert book.apply_events(records) == applied
    else:
        with pytest.raises(BookError) as exc:
            book.apply_events(records)
        assert exc.value.index == fail_at
        assert f"at record {fail_at} (" in str(exc.value)
    assert_same(book, ref)


# ---------------------------------------------------------------------------------------------- unit tests
def test_fifo_priority_and_queue_position() -> None:
    b = OrderBookL3(2, 3)
    for oid, q in ((1, 500), (2, 300), (3, 200)):
        b.add(oid, 1, 10_000, q)
    assert b.queue_position(3) == (800, 2)
    b.modify(1, 10_000, 400)  # size down: keeps its place
    assert b.level_orders(1, 10_000)[0].tolist() == [1, 2, 3]
    assert b.queue_position(3) == (700, 2)
    b.modify(2, 10_000, 301)  # size up: to the back
    assert b.level_orders(1, 10_000)[0].tolist() == [1, 3, 2]
    assert b.queue_position(2) == (600, 2)
    b.modify(2, 10_000, 301)  # unchanged, already last
    b.modify(1, 10_001, 400)  # price change: a new level, better
    assert (b.best_bid_price_raw, b.best_bid_qty_raw, b.best_bid_count) == (10_001, 400, 1)
    b.modify(1, 10_000, 400)  # back: behind 3 and 2
    assert b.level_orders(1, 10_000)[0].tolist() == [3, 2, 1]
    b.execute(3, 50)  # partial: keeps priority
    assert b.level_orders(1, 10_000)[1].tolist() == [150, 301, 400]
    b.cancel(2, 1)  # partial cancel
    assert b.order(2) == (1, 10_000, 300)
    b.execute(3, 150)  # full: removed
    assert 3 not in b and b.order(3) is None
    assert b.level(1, 10_000) == (700, 2)
    b.cancel(2)
    b.cancel(1, 400)  # cancelling exactly the rest removes the order and the level
    assert len(b) == 0 and b.bid_levels == 0 and b.best_bid() is None
    assert b.best_bid_price_raw == RAW_NULL and b.best_bid_qty_raw == RAW_NULL and b.level(1, 10_000) == (0, 0)


def test_top_of_book_values() -> None:
    b = OrderBookL3(2, 3)
    assert b.spread_raw == RAW_NULL and b.mid is None and not b.is_crossed and not b.is_locked
    assert b.top_raw() == (RAW_NULL, RAW_NULL, RAW_NULL, RAW_NULL)
    b.add(1, 1, 481_000, 2_000)
    b.add(2, 2, 481_025, 5_500)
    b.add(3, 2, 481_050, 1)
    assert b.best_bid() == (Price("4810.00"), Quantity("2.000"))
    assert b.best_ask() == (Price("4810.25"), Quantity("5.500"))
    assert b.top_raw() == (481_000, 2_000, 481_025, 5_500)
    assert b.spread_raw == 25
    assert b.mid == Price("4810.125") and b.mid.precision == 3  # exact: one more decimal
    assert b.qty_at(2, 481_050) == 1 and b.qty_at(2, 481_075) == 0 and b.qty_at(1, 481_025) == 0
    assert b.levels(2) == [(Price("4810.25"), Quantity("5.500"), 1), (Price("4810.50"), Quantity("0.001"), 1)]
    assert b.levels(2, 1) == b.levels(2)[:1] and b.levels(1, 0) == []
    b.add(4, 1, 481_025, 1)
    assert b.is_locked and not b.is_crossed and b.spread_raw == 0
    b.add(5, 1, 481_050, 1)
    assert b.is_crossed and not b.is_locked and b.spread_raw == -25
    bp, bq, bc, ap, aq, ac = b.depth(2)
    assert (bp.tolist(), bq.tolist(), bc.tolist()) == ([481_050, 481_025], [1, 1], [1, 1])
    assert (ap.tolist(), aq.tolist(), ac.tolist()) == ([481_025, 481_050], [5_500, 1], [1, 1])
    assert all(a.dtype == np.int64 for a in b.depth())
    l2 = b.to_l2(1)
    assert [a.tolist() for a in l2] == [[481_050], [1], [481_025], [5_500]]
    top = OrderBookL3(18, 0)
    top.add(1, 1, 1, 1)
    top.add(2, 2, 4, 1)
    assert top.mid == Price.from_raw(2, 18)  # precision 18: (1 + 4) / 2 rounded half-even
    top.add(3, 2, 2, 1)
    assert top.mid == Price.from_raw(2, 18)  # 1.5 -> 2 (half to even)


def test_to_l2_events_loads_an_l2_book() -> None:
    b = OrderBookL3(2, 0)
    for oid, side, px, q in ((1, 1, 100, 5), (2, 1, 100, 7), (3, 1, 99, 1), (4, 2, 101, 2), (5, 2, 103, 9)):
        b.add(oid, side, px, q)
    ev = b.to_l2_events(ts_event=7, instrument_id=3)
    assert ev.dtype == EVENT_DTYPE
    assert ev["kind"].tolist() == [CLEAR, 1, 1, 1, 1]
    assert ev["side"].tolist() == [0, 1, 1, 2, 2]
    assert ev["price"].tolist() == [RAW_NULL, 100, 99, 101, 103]
    assert ev["qty"].tolist() == [RAW_NULL, 12, 1, 2, 9]
    assert ev["aux"].tolist() == [0, 2, 1, 1, 1]  # order counts
    assert (ev["flags"] & int(EventFlag.SNAPSHOT)).all() and (ev["flags"] & int(EventFlag.MBP)).all()
    assert (ev["flags"] & LAST).tolist() == [0, 0, 0, 0, LAST]
    assert set(ev["ts_event"].tolist()) == {7} and set(ev["instrument_id"].tolist()) == {3}
    # an L2 book as a dict per side, loaded by the documented LEVEL/CLEAR semantics
    l2: dict[int, dict[int, int]] = {1: {}, 2: {}}
    for r in ev.tolist():
        if r[8] == CLEAR:
            l2[1].clear()
            l2[2].clear()
        else:
            l2[r[9]][r[2]] = r[3]
    bp, bq, ap, aq = b.to_l2()
    assert dict(zip(bp.tolist(), bq.tolist(), strict=True)) == l2[1]
    assert dict(zip(ap.tolist(), aq.tolist(), strict=True)) == l2[2]
    assert b.to_l2_events(1)["price"].tolist() == [RAW_NULL, 100, 101]


def test_l2_view_loads_the_l2_book(shared_data: Path) -> None:
    """The L3 rebuild of the CME day, viewed as L2, loads the native L2 book both ways (snapshot arrays
    and snapshot records) with the same depth and top of book."""
    l2mod = pytest.importorskip("shrivenquant._native.book")
    ev, info = load_mbo_csv(shared_data / DATABENTO / ESH4)
    l3 = OrderBookL3(info.price_precision, 0)
    l3.apply_events(ev)
    for load in ("arrays", "records"):
        l2 = l2mod.OrderBook(info.price_precision, 0, 25)  # ES tick 0.25 = 25 raw
        if load == "arrays":
            l2.load_snapshot(*l3.to_l2())
        else:
            assert l2.apply_events(l3.to_l2_events()) == 1 + l3.bid_levels + l3.ask_levels
        assert [a.tolist() for a in l2.depth()] == [a.tolist() for a in l3.to_l2()]
        assert l2.top_raw() == l3.top_raw() and l2.mid == l3.mid and l2.spread_raw == l3.spread_raw
        assert l2.is_crossed == l3.is_crossed and l2.best_bid() == l3.best_bid()


def test_errors_are_book_errors_with_context() -> None:
    b = OrderBookL3(2, 0)
    b.add(7, 2, 500, 10)
    with pytest.raises(BookError, match="unknown order id 8") as exc:
        b.cancel(8)
    assert exc.value.order_id == 8 and exc.value.index is None
    with pytest.raises(BookError, match="duplicate add"):
        b.add(7, 1, 400, 1)
    with pytest.raises(BookError, match="11 \\(raw\\) is more than its resting quantity 10"):
        b.execute(7, 11)
    with pytest.raises(BookError, match="more than its resting quantity"):
        b.cancel(7, 11)
    with pytest.raises(BookError, match="must be > 0"):
        b.add(9, 1, 400, 0)
    with pytest.raises(BookError, match="must be > 0"):
        b.add(9, 1, 400, -5)
    with pytest.raises(BookError, match="must be > 0"):
        b.modify(7, 500, 0)
    with pytest.raises(BookError, match="must be > 0"):
        b.execute(7, 0)
    with pytest.raises(BookError, match="RAW_NULL"):
        b.cancel(7, RAW_NULL)
    with pytest.raises(BookError, match="price is missing"):
        b.add(9, 1, RAW_NULL, 1)
    with pytest.raises(BookError, match="price is missing"):
        b.modify(7, RAW_NULL, 1)
    with pytest.raises(BookError, match="unknown order id"):
        b.queue_position(99)
    for bad in (lambda: b.add(9, 3, 1, 1), lambda: b.add(9, 0, 1, 1), lambda: b.add(-1, 1, 1, 1),
                lambda: b.add(2**64, 1, 1, 1), lambda: b.add("9", 1, 1, 1), lambda: b.add(9, 1, 1.5, 1),
                lambda: b.add(9, 1, 2**63, 1), lambda: b.add(9, 1, 1, True), lambda: b.levels(3),
                lambda: b.depth(-1), lambda: b.clear(5), lambda: OrderBookL3(19, 0), lambda: OrderBookL3(2, -1)):
        with pytest.raises(ValidationError):
            bad()
    assert len(b) == 1 and b.order(7) == (2, 500, 10)  # nothing changed
    assert "x" not in b and -1 not in b and 2**64 not in b and True not in b
    assert issubclass(BookError, ValidationError) and issubclass(BookError, ValueError)
    b.add(np.uint64(2**64 - 1), 1, np.int64(-(2**63) + 1), np.int32(3))  # NumPy ints and the extremes
    assert b.order(2**64 - 1) == (1, -(2**63) + 1, 3) and np.uint64(2**64 - 1) in b
    assert len(b.levels(1, np.int64(1))) == 1 and b.depth(np.uint8(0))[0].size == 0


def test_extreme_prices_and_quantity_overflow() -> None:
    b = OrderBookL3(0, 0)
    b.add(1, 2, INT64_MAX, 1)
    b.add(2, 2, -INT64_MAX, 1)
    b.add(3, 1, -INT64_MAX, 1)
    assert b.best_ask_price_raw == -INT64_MAX and b.depth()[3].tolist() == [-INT64_MAX, INT64_MAX]
    b.add(4, 1, 0, INT64_MAX)
    with pytest.raises(FixedPointOverflowError):
        b.add(5, 1, 0, 1)
    b.add(5, 1, 0 + 1, 1)
    with pytest.raises(FixedPointOverflowError):
        b.modify(5, 0, 1)  # to a level whose total would overflow
    assert b.order(5) == (1, 1, 1) and b.level(1, 0) == (INT64_MAX, 1)
    with pytest.raises(FixedPointOverflowError):
        _ = b.spread_raw  # -INT64_MAX - 1 is INT64_MIN: the null marker, not a spread


def test_lenient_policy_counts_gaps() -> None:
    b = OrderBookL3(2, 0, strict=False)
    b.cancel(1)
    b.execute(1, 5)
    b.modify(1, 100, 5)
    b.add(2, 1, 100, 5)
    b.add(2, 1, 100, 6)
    b.execute(2, 9)  # over-fill: the order goes
    assert len(b) == 0 and not b.strict
    assert b.gap_counts() == {"unknown": 3, "duplicate": 1, "overfill": 1}
    with pytest.raises(BookError):
        b.add(3, 1, 100, 0)  # malformed input raises in both policies
    b.clear()
    assert b.gap_counts()["unknown"] == 3  # counts are kept: since the book was made


def test_batch_input_validation_and_kinds() -> None:
    b = OrderBookL3(2, 0)
    with pytest.raises(ValidationError, match="EVENT_DTYPE"):
        b.apply_events(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValidationError, match="ndarray"):
        b.apply_events([1, 2])
    with pytest.raises(ValidationError, match="1-dimensional"):
        b.apply_events(empty_events(4).reshape(2, 2))
    ev = to_records([("add", i, 1 + i % 2, 100 + i, 1 + i) for i in range(10)])
    ev["kind"][3] = int(EventKind.TRADE)  # ignored kinds
    ev["kind"][4] = int(EventKind.LEVEL)
    assert b.apply_events(ev[::2]) == 4  # a strided view: records 0, 2, 4 (LEVEL: ignored), 6, 8
    assert sorted(b.order(i)[1] for i in (0, 2, 6, 8)) == [100, 102, 106, 108]
    assert b.apply_events(empty_events(0)) == 0
    clear = to_records([("clear", 1)])
    assert b.apply_events(clear) == 1 and b.bid_levels == 0 and b.ask_levels == 0  # all even ids were bids
    bad = to_records([("add", 50, 1, 1, 1), ("clear", 0)])
    bad["side"][1] = 7
    with pytest.raises(BookError, match="record 1 \\(CLEAR\\)") as exc:
        b.apply_events(bad)
    assert exc.value.index == 1 and 50 in b
    fill_null = to_records([("execute", 50, 1)])
    fill_null["qty"] = RAW_NULL
    with pytest.raises(BookError, match="RAW_NULL"):
        b.apply_events(fill_null)
    ro = to_records([("cancel", 50, None)])
    ro.flags.writeable = False
    assert b.apply_events(ro) == 1 and len(b) == 0


def test_copy_clear_level_and_repr() -> None:
    b = OrderBookL3(2, 0)
    for i in range(6):
        b.add(i, 1 if i < 3 else 2, 100 if i < 3 else 105, i + 1)
    c = b.copy()
    d = copy.deepcopy(b)
    c.cancel(0)
    assert 0 in b and 0 not in c and 0 in d and copy.copy(b).level(1, 100) == (6, 3)
    assert b.clear_level(1, 100) == 3 and b.clear_level(1, 100) == 0
    assert len(b) == 3 and b.bid_levels == 0 and len(c) == 5
    b.clear(2)
    assert len(b) == 0 and len(d) == 6
    text = repr(d)
    assert text == "OrderBookL3(orders=6, levels=1/1, bid=1.00 x 6 (3), ask=1.05 x 15 (3))"
    assert repr(OrderBookL3(2, 0)) == "OrderBookL3(orders=0, levels=0/0, bid=-, ask=-)"
    html = d._repr_html_()
    assert "<table>" in html and "<td>1.05</td>" in html and "6 orders" in html
    assert (d.price_precision, d.size_precision, d.strict) == (2, 0, True)


def test_pools_grow_and_are_reused() -> None:
    """Enough orders to grow every pool and table many times; then empty and refill (reuse)."""
    rng = np.random.default_rng(3)
    n = 60_000
    ids = rng.permutation(np.arange(1, 10 * n, 10))[:n]
    prices = rng.integers(-2_000, 2_000, size=n)
    ref = RefL3()
    book = OrderBookL3(2, 0)
    ops = [("add", int(i), 1 if p < 0 else 2, int(p) if p < 0 else int(p) + 1, int(i % 97) + 1)
           for i, p in zip(ids, prices, strict=True)]
    for op in ops:
        apply_ref(ref, op)
    assert book.apply_events(to_records(ops)) == n
    assert_same(book, ref)
    cancels = [("cancel", int(i), None) for i in ids[::2]]
    for op in cancels:
        apply_ref(ref, op)
    book.apply_events(to_records(cancels))
    assert_same(book, ref)
    book.apply_events(to_records(ops[::2]))  # re-add into the freed slots
    for op in ops[::2]:
        apply_ref(ref, op)
    assert_same(book, ref)


# ---------------------------------------------------------------------------------------------- real data
DATABENTO = "databento-mbo-cme"
ESH4 = "esh4-glbx-mdp3-20231225.mbo.csv.gz"
ESH4_SNAPSHOT = "esh4-glbx-mdp3-20231224.mbo.csv.gz"
ESM4 = "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.csv.gz"


def _csv_rows(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt") as fh:
        return [line.rstrip("\n").split(",") for line in fh][1:]


def test_databento_loader_mapping(shared_data: Path) -> None:
    """Every field of every record against the CSV text, by the documented mapping."""
    path = shared_data / DATABENTO / ESH4
    ev, info = load_mbo_csv(path)
    rows = _csv_rows(path)
    assert info.records == len(rows) == ev.shape[0] == 68_792
    assert info.instrument_ids == (17077,) and info.publisher_ids == (1,) and info.price_precision == 2
    assert info.actions == {"A": 29_216, "C": 17_999, "F": 6_371, "M": 12_233, "T": 2_973}
    kinds = {"A": ADD, "C": CANCEL, "M": MODIFY, "R": CLEAR, "T": int(EventKind.TRADE), "F": 0, "N": 0}
    flag_map = ((128, int(EventFlag.LAST)), (32, int(EventFlag.SNAPSHOT)), (64, int(EventFlag.TOB)),
                (16, int(EventFlag.MBP)))
    for rec, row in zip(ev.tolist(), rows, strict=True):
        ts_recv, ts_event, _, _, _, action, side, price, size, _, oid, flags, _, seq = row
        price_raw = RAW_NULL if int(price) == INT64_MAX else int(price) // 10**7
        assert int(price) == INT64_MAX or int(price) % 10**7 == 0
        want_flags = sum(ours for theirs, ours in flag_map if int(flags) & theirs)
        assert rec == (int(ts_event), int(ts_recv), price_raw, RAW_NULL if action == "R" else int(size),
                       int(oid), int(seq), ord(action) * 256 + int(flags), 0, kinds[action],
                       {"B": 1, "A": 2, "N": 0}[side], want_flags, 0)


def _replay_checked(ev: np.ndarray, price_precision: int) -> tuple[OrderBookL3, RefL3, dict[str, int]]:
    """Per-event Python calls on the book and the reference, compared after every record (size, top of
    book with counts), at every LAST boundary (top 10 levels with counts, order and level totals) and
    in full (every level's FIFO and every order's queue position) every 10,000 records."""
    book, ref = OrderBookL3(price_precision, 0), RefL3()
    stats = {"events": 0, "last": 0, "crossed_at_last": 0, "full_checks": 0}
    for i, rec in enumerate(ev.tolist()):
        kind, oid, side, price, qty, flags = rec[8], rec[4], rec[9], rec[2], rec[3], rec[10]
        if kind == ADD:
            book.add(oid, side, price, qty)
            ref.add(oid, side, price, qty)
        elif kind == CANCEL:
            book.cancel(oid, qty)
            ref.reduce(oid, qty)
        elif kind == MODIFY:
            book.modify(oid, price, qty)
            ref.modify(oid, price, qty)
        elif kind == CLEAR:
            book.clear()
            ref.clear(0)
        stats["events"] += 1
        assert len(book) == len(ref.orders)
        for s, prop in ((1, "bid"), (2, "ask")):
            prices = ref.prices[s]
            if prices:
                p = prices[-1] if s == 1 else prices[0]
                ids = ref.levels[s][p]
                top = (p, sum(ref.orders[j][2] for j in ids), len(ids))
            else:
                top = (RAW_NULL, RAW_NULL, 0)
            assert (getattr(book, f"best_{prop}_price_raw"), getattr(book, f"best_{prop}_qty_raw"),
                    getattr(book, f"best_{prop}_count")) == top
        if flags & LAST:
            stats["last"] += 1
            stats["crossed_at_last"] += book.is_crossed
            bp, bq, bc, ap, aq, ac = book.depth()
            assert int(bc.sum() + ac.sum()) == len(book)  # order counts add up
            assert (bq > 0).all() and (aq > 0).all() and (bc > 0).all() and (ac > 0).all()
            assert list(zip(bp[:10].tolist(), bq[:10].tolist(), bc[:10].tolist(), strict=True)) == ref.depth(1, 10)
            assert list(zip(ap[:10].tolist(), aq[:10].tolist(), ac[:10].tolist(), strict=True)) == ref.depth(2, 10)
        if i % 10_000 == 0 or i == len(ev) - 1:
            assert_same(book, ref)
            stats["full_checks"] += 1
    return book, ref, stats


@pytest.mark.slow
def test_databento_esh4_rebuild(shared_data: Path) -> None:
    """The Christmas-day ESH4 file (snapshot, then a day of events): per event against the reference,
    and the batch rebuild equal to it; final state as the data's README records it."""
    ev, info = load_mbo_csv(shared_data / DATABENTO / ESH4)
    book, ref, stats = _replay_checked(ev, info.price_precision)
    assert stats["events"] == 68_792 and stats["last"] == 47_022 and stats["full_checks"] == 8
    assert stats["crossed_at_last"] == 891  # CME pre-open / reopen auction states, as documented
    assert len(book) == 11_217
    assert book.best_bid() == (Price("4810.00"), Quantity("22")) and book.best_ask()[0] == Price("4810.25")
    batch = OrderBookL3(info.price_precision, 0)
    assert batch.apply_events(ev) == 29_216 + 17_999 + 12_233  # T and F records change nothing
    assert_same(batch, ref)
    assert batch.gap_counts() == {"unknown": 0, "duplicate": 0, "overfill": 0}


def test_databento_esm4_and_snapshot_rebuild(shared_data: Path) -> None:
    ev, info = load_mbo_csv(shared_data / DATABENTO / ESM4)
    assert info.instrument_ids == (5602,) and ev["kind"][0] == CLEAR
    book, ref, stats = _replay_checked(ev, info.price_precision)
    assert len(book) == 13_598 and stats["crossed_at_last"] == 0 and stats["last"] == 185
    assert (book.best_bid_price_raw, book.best_ask_price_raw) == (521_400, 521_425)
    batch = OrderBookL3(2, 0)
    batch.apply_events(ev)
    assert_same(batch, ref)
    snap, sinfo = load_mbo_csv(shared_data / DATABENTO / ESH4_SNAPSHOT)
    assert sinfo.actions == {"A": 8_725}
    sbook = OrderBookL3(2, 0)
    assert sbook.apply_events(snap) == len(sbook) == 8_725
    assert (snap["flags"] & int(EventFlag.SNAPSHOT)).all() and int((snap["flags"] & LAST).sum()) == 1
    # the Sunday snapshot is the Monday file's opening book
    monday, _ = load_mbo_csv(shared_data / DATABENTO / ESH4)
    mbook = OrderBookL3(2, 0)
    mbook.apply_events(monday[:8_725])
    assert [a.tolist() for a in mbook.depth()] == [a.tolist() for a in sbook.depth()]


LOBSTER_L1 = "lobster/amzn_2012-06-21_level1/AMZN_2012-06-21_34200000_57600000_{}_1.csv.gz"
LOBSTER_L10 = "lobster/amzn_2021-04-12_first30min/AMZN_2021-04-12_34200000_57600000_message_10.csv.gz"


def test_lobster_messages_mapping(shared_data: Path) -> None:
    path = shared_data / LOBSTER_L1.format("message")
    ev = load_messages(path)
    rows = _csv_rows(path)
    assert ev.shape[0] == len(rows) == 57_515
    midnight = 1_340_251_200_000_000_000  # 2012-06-21 00:00 EDT (UTC-4) in ns UTC
    kinds = {1: ADD, 2: CANCEL, 3: CANCEL, 4: FILL, 5: int(EventKind.TRADE), 6: int(EventKind.TRADE)}
    for i, (rec, row) in enumerate(zip(ev.tolist(), rows, strict=True)):
        t, typ, oid, size, price, direction = row
        whole, _, frac = t.partition(".")
        ts = midnight + int(whole) * 10**9 + int(frac.ljust(9, "0"))
        side = 1 if direction == "1" else 2
        want_side = 3 - side if typ == "5" else side
        assert rec == (ts, ts, int(price), int(size), int(oid), i, int(typ), 0, kinds[int(typ)], want_side, LAST, 0)
    l10 = load_messages(shared_data / LOBSTER_L10)  # no header, 7 columns, ns times
    assert l10.shape[0] == 40_674 and l10["ts_event"][0] == 1_618_200_000_000_000_000 + 34_200_000_376_608
    cross = l10[l10["aux"] == 6]
    assert cross.shape[0] == 1 and cross["order_id"][0] == 0 and cross["side"][0] == 0


def test_lobster_level1_replay_matches_orderbook_file(shared_data: Path) -> None:
    """After every message the book's best bid and ask (price and size) equal the orderbook file's.

    Levels that enter the top level from below (13,955 of 115,030 side-rows) are seeded from the file, as
    the messages never showed them; all other 101,075 side-rows match from the messages alone."""
    ev = load_messages(shared_data / LOBSTER_L1.format("message"))
    ob = load_orderbook(shared_data / LOBSTER_L1.format("orderbook"))
    assert ob.rows == ev.shape[0] and ob.levels == 1
    book = OrderBookL3(4, 0)
    rep = replay_with_orderbook(book, ev, ob)
    assert rep.mismatches == 0, rep.notes
    assert rep.messages == 57_515 and rep.compared == 2 * 57_515
    assert rep.matched == 101_075 and rep.seeded_rows == rep.newly_visible == 13_955
    assert rep.matched + rep.seeded_rows == rep.compared
    assert rep.unknown_ids == 10_446 and rep.unmatched_unknown == 0 and rep.overdrawn == 0
    assert rep.hidden_trades == 2_445 and rep.halts == 0
    assert (book.best_bid_price_raw, book.best_bid_qty_raw) == (int(ob.bid_prices[-1, 0]), int(ob.bid_qtys[-1, 0]))
    assert (book.best_ask_price_raw, book.best_ask_qty_raw) == (int(ob.ask_prices[-1, 0]), int(ob.ask_qtys[-1, 0]))
    # the check has teeth: one execution a share short is caught at once
    i = int(np.flatnonzero((ev["aux"] == 4) & (ev["qty"] > 1))[100])
    bad = ev.copy()
    bad["qty"][i] -= 1
    rep_bad = replay_with_orderbook(OrderBookL3(4, 0), bad, ob)
    assert rep_bad.mismatches >= 1 and rep_bad.first_mismatch == i


def test_lobster_unknown_ids_policy(shared_data: Path) -> None:
    """The 2021 file starts at 09:30 with orders resting from before: strict raises at the first one,
    lenient skips and counts exactly the deletions/executions of ids never submitted."""
    ev = load_messages(shared_data / LOBSTER_L10)
    with pytest.raises(BookError, match="record 6 \\(FILL\\): unknown order id 14799757") as exc:
        OrderBookL3(4, 0).apply_events(ev)
    assert exc.value.index == 6 and exc.value.order_id == 14_799_757
    book = OrderBookL3(4, 0, strict=False)
    ref = RefL3(strict=False)
    for rec in ev.tolist():
        kind, oid, side, price, qty = rec[8], rec[4], rec[9], rec[2], rec[3]
        if kind == ADD:
            ref.add(oid, side, price, qty)
        elif kind in (CANCEL, FILL):
            ref.reduce(oid, qty)
    submitted: set[int] = set()
    never = 0
    for rec in ev.tolist():
        if rec[8] == ADD:
            submitted.add(rec[4])
        elif rec[8] in (CANCEL, FILL) and rec[4] not in submitted:
            never += 1
    assert book.apply_events(ev) == 17_187 + 3 + 14_462 + 5_389 - never
    assert book.gap_counts() == {"unknown": never, "duplicate": 0, "overfill": 0} and never == 2_310
    assert_same(book, ref)
    with pytest.raises(ValidationError, match="empty book"):
        replay_with_orderbook(book, ev, load_orderbook(shared_data / LOBSTER_L1.format("orderbook")))


def test_synthetic_ids_do_not_collide_with_lobster_ids(shared_data: Path) -> None:
    ev = load_messages(shared_data / LOBSTER_L1.format("message"))
    assert int(ev["order_id"].max()) < SYNTHETIC_ID_BASE
