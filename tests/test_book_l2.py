"""The native L2 book (``shrivenquant.book.OrderBook``) against a pure-Python reference model, its input
checks, and a replay of the real USD-M BTCUSDT recording checked against every matching bookTicker."""

from __future__ import annotations

import copy
import math
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant._native.book import _set_batch_thread_min
from shrivenquant._native.fixed import RAW_NULL, Price, Quantity
from shrivenquant.book import OrderBook
from shrivenquant.core.events import EVENT_DTYPE, EventFlag, EventKind, empty_events
from shrivenquant.errors import (
    FixedPointOverflowError,
    PrecisionError,
    ShrivenQuantTypeError,
    ValidationError,
)
from shrivenquant.venues.binance.synthetic import synthetic_instrument

INT64_MAX = 2**63 - 1
FIXED_BYTES = 6 * 1024  # the book's fixed allowance on top of 32 bytes per live level


class RefBook:
    """The reference model: a dict per side, sorted on every query, exact arithmetic (Fraction)."""

    def __init__(self, pp: int, sp: int) -> None:
        self.pp, self.sp = pp, sp
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def side(self, side: int) -> dict[int, int]:
        return self.bids if side == 1 else self.asks

    def apply(self, side: int, px: int, qty: int) -> None:
        if qty == 0:
            self.side(side).pop(px, None)
        else:
            self.side(side)[px] = qty

    def clear(self, side: int = 0) -> None:
        if side in (0, 1):
            self.bids.clear()
        if side in (0, 2):
            self.asks.clear()

    def sorted(self, side: int) -> list[tuple[int, int]]:
        return sorted(self.side(side).items(), reverse=side == 1)

    def top(self) -> tuple[int, int, int, int]:
        b, a = self.sorted(1), self.sorted(2)
        return (*(b[0] if b else (RAW_NULL, RAW_NULL)), *(a[0] if a else (RAW_NULL, RAW_NULL)))

    def within(self, side: int, px: int, limit: int) -> bool:
        return px >= limit if side == 1 else px <= limit

    def walk(self, aggressor: int, want: int) -> tuple[int, Fraction | None, int, int | None]:
        left, levels, notional, last = want, 0, 0, None
        for px, q in self.sorted(2 if aggressor == 1 else 1):
            if left == 0:
                break
            take = min(q, left)
            notional += px * take
            left -= take
            levels += 1
            last = px
        filled = want - left
        avg = Fraction(notional, filled * 10**self.pp) if filled else None
        return levels, avg, filled, last


def assert_same(book: OrderBook, ref: RefBook) -> None:
    """Every query of the native book equals the reference's (floats to 1e-12 relative)."""
    assert book._check_invariants() == 0
    assert book.memory_bytes() <= 32 * len(book) + FIXED_BYTES
    bp, bq, ap, aq = ref.top()
    assert book.top_raw() == (bp, bq, ap, aq)
    assert (book.best_bid_price_raw, book.best_bid_qty_raw, book.best_ask_price_raw, book.best_ask_qty_raw) == (
        bp, bq, ap, aq)
    n_bids, n_asks = len(ref.bids), len(ref.asks)
    assert (book.bid_levels, book.ask_levels, len(book)) == (n_bids, n_asks, n_bids + n_asks)
    for side, best in ((1, (bp, bq)), (2, (ap, aq))):
        got = book.best_bid() if side == 1 else book.best_ask()
        if best[0] == RAW_NULL:
            assert got is None
        else:
            assert got == (Price.from_raw(best[0], ref.pp), Quantity.from_raw(best[1], ref.sp))
    levels = {1: ref.sorted(1), 2: ref.sorted(2)}
    # depth, full and cut
    for n in (None, 0, 1, 3):
        d = book.depth(n)
        want = [levels[1][:n] if n is not None else levels[1], levels[2][:n] if n is not None else levels[2]]
        assert all(a.dtype == np.int64 for a in d)
        assert d[0].tolist() == [p for p, _ in want[0]] and d[1].tolist() == [q for _, q in want[0]]
        assert d[2].tolist() == [p for p, _ in want[1]] and d[3].tolist() == [q for _, q in want[1]]
    assert book.levels(1, 2) == [(Price.from_raw(p, ref.pp), Quantity.from_raw(q, ref.sp)) for p, q in levels[1][:2]]
    both = RAW_NULL not in (bp, ap)
    assert book.spread_raw == (ap - bp if both else RAW_NULL)
    assert book.mid == (Price.from_raw((bp + ap) * 5, ref.pp + 1) if both else None)
    assert book.is_crossed == (both and bp > ap)
    assert book.is_locked == (both and bp == ap)
    micro = book.microprice()
    if both:
        assert math.isclose(micro, float(Fraction(bp * aq + ap * bq, (aq + bq) * 10**ref.pp)), rel_tol=1e-12)
    else:
        assert micro is None
    for n in (1, 2, 5):
        sb = sum(q for _, q in levels[1][:n])
        sa = sum(q for _, q in levels[2][:n])
        imb = book.imbalance(n)
        assert (imb is None) if sb + sa == 0 else math.isclose(imb, (sb - sa) / (sb + sa), rel_tol=1e-12, abs_tol=1e-15)
    # quantities up to a price / within bps, at and around existing levels
    for side in (1, 2):
        lv = levels[side]
        probes = [p for p, _ in lv[:3]] + ([lv[-1][0], lv[len(lv) // 2][0] + 1] if lv else [0])
        for limit in probes:
            assert book.qty_up_to_price(side, limit) == sum(q for p, q in lv if ref.within(side, p, limit))
        for px, q in lv[:2]:
            assert book.qty_at(side, px) == q
        for bps in (0, 1, 25, 2.5):
            if lv:
                best = lv[0][0]
                delta = math.floor(Fraction(bps) * abs(best) / 10000)
                want_q = sum(q for p, q in lv if abs(p - best) <= delta)
            else:
                want_q = 0
            assert book.qty_within_bps(side, bps) == want_q
    # market fills for both aggressors, inside and beyond the available size
    for aggressor in (1, 2):
        avail = sum(q for _, q in levels[2 if aggressor == 1 else 1])
        for want in {1, max(1, avail // 3), max(1, avail), avail + 5}:
            nlev, avg, filled, last = ref.walk(aggressor, want)
            got = book.simulate_market_fill(aggressor, want)
            assert got[0] == nlev and got[2] == filled and got[3] == want - filled
            assert (got[1] is None) if avg is None else math.isclose(got[1], float(avg), rel_tol=1e-12)
            if filled == want:
                assert math.isclose(book.avg_fill_price(aggressor, want), float(avg), rel_tol=1e-12)
                assert book.worst_fill_price(aggressor, want) == Price.from_raw(last, ref.pp)
            else:
                assert book.avg_fill_price(aggressor, want) is None
                assert book.worst_fill_price(aggressor, want) is None


# ------------------------------------------------------------------------------------------ property tests

MID = 50_000  # ticks


def _ticks() -> st.SearchStrategy[int]:
    """Prices in ticks: mostly near the mid, some a few % away, some far (1/100 .. 10x the mid)."""
    return st.one_of(
        st.integers(MID - 40, MID + 40),
        st.integers(MID - 40, MID + 40),
        st.integers(MID - 3_000, MID + 3_000),
        st.integers(MID // 100, MID * 10),
    )


_qty = st.one_of(st.just(0), st.integers(1, 10**9))
_level = st.tuples(st.sampled_from([1, 2]), _ticks(), _qty)
_op = st.one_of(
    st.tuples(st.just("apply"), _level),
    st.tuples(st.just("apply"), _level),
    st.tuples(st.just("apply"), _level),
    st.tuples(st.just("level"), _level),
    st.tuples(st.just("events"), st.lists(st.one_of(_level, st.sampled_from(["clear0", "clear1", "clear2", "trade"])),
                                          max_size=40)),
    st.tuples(st.just("snapshot"), st.tuples(st.lists(st.tuples(_ticks(), _qty), max_size=30),
                                              st.lists(st.tuples(_ticks(), _qty), max_size=30))),
    st.tuples(st.just("clear"), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("trend"), st.tuples(st.sampled_from([1, 2]), st.integers(-5_000, 5_000), st.integers(1, 60))),
)


def _records(items: list, tick: int) -> np.ndarray:
    ev = empty_events(len(items))
    for i, it in enumerate(items):
        if isinstance(it, str):
            if it == "trade":
                ev[i] = (0, 0, MID * tick, 5, 0, 0, 0, 0, int(EventKind.TRADE), 1, int(EventFlag.LAST), 0)
            else:
                ev[i]["kind"], ev[i]["side"] = int(EventKind.CLEAR), int(it[-1])
        else:
            side, t, q = it
            ev[i]["kind"], ev[i]["side"], ev[i]["price"], ev[i]["qty"] = int(EventKind.LEVEL), side, t * tick, q
    return ev


def _run(ops: list, tick: int, pp: int = 2, sp: int = 3) -> None:
    book, ref = OrderBook(pp, sp, tick), RefBook(pp, sp)
    assert_same(book, ref)
    for kind, arg in ops:
        if kind == "apply":
            side, t, q = arg
            book.apply(side, t * tick, q)
            ref.apply(side, t * tick, q)
        elif kind == "level":
            side, t, q = arg
            book.apply_level(side, Price.from_raw(t * tick, pp), Quantity.from_raw(q, sp))
            ref.apply(side, t * tick, q)
        elif kind == "events":
            n_applied = book.apply_events(_records(arg, tick))
            assert n_applied == sum(1 for it in arg if it != "trade")
            for it in arg:
                if isinstance(it, str):
                    if it != "trade":
                        ref.clear(int(it[-1]))
                else:
                    ref.apply(it[0], it[1] * tick, it[2])
        elif kind == "snapshot":
            bids, asks = arg
            cols = [np.array(col, dtype=np.int64) for levels in (bids, asks)
                    for col in ([t * tick for t, _ in levels], [q for _, q in levels])]
            book.load_snapshot(*cols)
            ref.clear()
            for t, q in bids:
                ref.apply(1, t * tick, q) if q else None
            for t, q in asks:
                ref.apply(2, t * tick, q) if q else None
        elif kind == "clear":
            book.clear(arg)
            ref.clear(arg)
        else:  # a run of levels walking the price away: exercises the window moves and resizes
            side, step, n = arg
            for j in range(n):
                t = max(1, MID + step * j // 4)
                book.apply(side, t * tick, j + 1)
                ref.apply(side, t * tick, j + 1)
        assert_same(book, ref)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_op, max_size=25), st.sampled_from([1, 10, 25]))
def test_matches_reference_model(ops: list, tick: int) -> None:
    _run(ops, tick)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([1, 2]), st.integers(-3, 3), st.integers(0, 3)), max_size=60))
def test_matches_reference_on_a_crowded_few_ticks(seq: list) -> None:
    """Many updates on a handful of prices, both sides overlapping: locked, crossed, emptied and refilled."""
    _run([("apply", (s, MID + t, q)) for s, t, q in seq], 10)


def test_large_random_book_against_reference() -> None:
    """Thousands of levels (many blocks, window growth and shrinkage), checked every 500 updates."""
    rng = random.Random(11)
    tick, pp, sp = 10, 2, 3
    book, ref = OrderBook(pp, sp, tick), RefBook(pp, sp)
    mid = 6_000_000
    for step in range(60_000):
        if step % 15_000 == 0:
            mid += rng.choice([-1, 1]) * rng.randrange(2_000, 20_000)  # a jump: recentring
        side = rng.choice([1, 2])
        r = rng.random()
        if r < 0.85:
            off = int(rng.expovariate(1 / 300))
        elif r < 0.97:
            off = rng.randrange(0, 60_000)
        else:
            off = rng.randrange(0, 50 * mid)
        t = mid - off - 1 if side == 1 else mid + off + 1
        if t <= 0:
            continue
        q = 0 if rng.random() < 0.35 else rng.randrange(1, 10**6)
        book.apply(side, t * tick, q)
        ref.apply(side, t * tick, q)
        if step % 500 == 0:
            assert_same(book, ref)
        if step == 30_000:  # thin the book out: the window must shrink back within the budget
            for side_, lv in ((1, ref.sorted(1)), (2, ref.sorted(2))):
                for px, _ in lv[::2]:
                    book.apply(side_, px, 0)
                    ref.apply(side_, px, 0)
            assert_same(book, ref)
    assert_same(book, ref)
    layout = book._layout()
    assert layout["bids"]["blocks"] >= 3 and layout["bids"]["window_ticks"] > 64
    other = book.copy()
    book.clear()
    assert len(book) == 0 and book._check_invariants() == 0
    assert_same(other, ref)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-(2**62), 2**62), st.integers(0, INT64_MAX)), max_size=30),
       st.lists(st.tuples(st.integers(-(2**62), 2**62), st.integers(0, INT64_MAX)), max_size=30),
       st.sampled_from([1, 7, 2**56]))
def test_snapshot_with_extreme_prices(bids: list, asks: list, tick: int) -> None:
    """Negative and huge prices (multiples of the tick), huge sizes, ticks up to 2**56: exact, and sums too
    large for int64 raise."""
    bids = [(p - p % tick, q) for p, q in bids]
    asks = [(p - p % tick, q) for p, q in asks]
    book, ref = OrderBook(0, 0, tick), RefBook(0, 0)
    book.load_snapshot(np.array([p for p, _ in bids], dtype=np.int64), np.array([q for _, q in bids], dtype=np.int64),
                       np.array([p for p, _ in asks], dtype=np.int64), np.array([q for _, q in asks], dtype=np.int64))
    for p, q in bids:
        ref.apply(1, p, q) if q else None
    for p, q in asks:
        ref.apply(2, p, q) if q else None
    assert book._check_invariants() == 0
    assert book.top_raw() == ref.top()
    for p, _ in [*bids, *asks][:5]:  # deletes, one by one, far from each other: windows empty and move
        for side in (1, 2):
            book.apply(side, p, 0)
            ref.apply(side, p, 0)
            assert book._check_invariants() == 0 and book.top_raw() == ref.top()
        if tick > 1:
            with pytest.raises(ValidationError, match="tick"):
                book.apply(1, p + 1, 0)
    for side in (1, 2):
        d = book.depth(None)
        lv = ref.sorted(side)
        assert (d[0] if side == 1 else d[2]).tolist() == [p for p, _ in lv]
        total = sum(q for _, q in lv)
        if lv and total > INT64_MAX:
            with pytest.raises(FixedPointOverflowError):
                book.qty_up_to_price(side, lv[-1][0])
        elif lv:
            assert book.qty_up_to_price(side, lv[-1][0]) == total


# Window slots hold 32-bit quantities; 2**32 - 1 and above go to a per-side escape table. Quantities on both
# sides of that line, on crowded and on spread ticks: new levels, overwrites either way, deletes, moves, resizes.
_ESC = 2**32 - 1
# (2**31 - 1 then 2**31 on one slot: the OR of old and new quantity reaches 2**32 - 1 with neither escaped)
_esc_qty = st.one_of(st.just(0), st.integers(1, 9), st.sampled_from([_ESC - 1, _ESC, _ESC + 1, 2**31 - 1, 2**31]),
                     st.integers(_ESC - 2, 2**35))
_esc_tick = st.one_of(st.integers(MID - 6, MID + 6), _ticks())
_esc_level = st.tuples(st.sampled_from([1, 2]), _esc_tick, _esc_qty)
_esc_op = st.one_of(
    st.tuples(st.just("apply"), _esc_level),
    st.tuples(st.just("apply"), _esc_level),
    st.tuples(st.just("events"), st.lists(st.one_of(_esc_level, st.sampled_from(["clear1", "clear2"])), max_size=40)),
    st.tuples(st.just("snapshot"), st.tuples(st.lists(st.tuples(_esc_tick, _esc_qty), max_size=30),
                                              st.lists(st.tuples(_esc_tick, _esc_qty), max_size=30))),
    st.tuples(st.just("trend"), st.tuples(st.sampled_from([1, 2]), st.integers(-5_000, 5_000), st.integers(1, 60))),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_esc_op, max_size=25), st.sampled_from([1, 10]))
def test_matches_reference_with_quantities_beyond_32_bits(ops: list, tick: int) -> None:
    _run(ops, tick)


def test_many_escaped_quantities_in_a_large_book() -> None:
    """Thousands of levels, a third of them with quantities >= 2**32 - 1 (the escape table grows, shrinks and is
    rebuilt by window resizes and moves), checked against the reference every 400 updates."""
    rng = random.Random(5)
    tick = 10
    book, ref = OrderBook(2, 3, tick), RefBook(2, 3)
    mid, most = 6_000_000, 0
    for step in range(24_000):
        if step % 8_000 == 0:
            mid += rng.choice([-1, 1]) * rng.randrange(2_000, 20_000)
        side = rng.choice([1, 2])
        off = int(rng.expovariate(1 / 400)) if rng.random() < 0.9 else rng.randrange(0, 40_000)
        t = mid - off - 1 if side == 1 else mid + off + 1
        r = rng.random()
        q = 0 if r < 0.35 else (rng.randrange(_ESC - 3, 2**36) if r < 0.6 else rng.randrange(1, 10**6))
        book.apply(side, t * tick, q)
        ref.apply(side, t * tick, q)
        most = max(most, book._layout()["bids"]["escaped"])
        if step % 400 == 0:
            assert_same(book, ref)
        if step == 16_000:  # delete most levels: the window shrinks, escaped levels leave it
            for side_, lv in ((1, ref.sorted(1)), (2, ref.sorted(2))):
                for px, _ in lv[: len(lv) * 9 // 10]:
                    book.apply(side_, px, 0)
                    ref.apply(side_, px, 0)
            assert_same(book, ref)
    assert_same(book, ref)
    assert most > 100
    assert_same(book.copy(), ref)
    for side_, lv in ((1, ref.sorted(1)), (2, ref.sorted(2))):  # everything goes: the tables empty
        for px, _ in lv:
            book.apply(side_, px, 0)
    assert len(book) == 0 and book._check_invariants() == 0
    assert book._layout()["bids"]["escaped"] == 0 and book._layout()["asks"]["escaped"] == 0


# Batches on one and on two threads (bids on the calling thread, asks on a second one, every record read by
# both): the same book as sequential application and the reference model, and on a bad record k the same
# error (type, message, index) with exactly records[:k] applied.
_BAD = ["side0", "side3", "qty-1", "qtynull", "pxnull", "offtick", "clear3"]
_batch_item = st.one_of(_esc_level, _level, _level, _level, st.sampled_from(["clear0", "clear1", "clear2", "trade"]))


def _bad_record(ev: np.ndarray, k: int, bad: str, tick: int) -> None:
    r = ev[k]
    r["kind"], r["side"], r["price"], r["qty"] = int(EventKind.LEVEL), 1, MID * tick, 5
    if bad == "side0":
        r["side"] = 0
    elif bad == "side3":
        r["side"] = 3
    elif bad == "qty-1":
        r["qty"], r["side"] = -1, 2
    elif bad == "qtynull":
        r["qty"] = RAW_NULL
    elif bad == "pxnull":
        r["price"], r["side"] = RAW_NULL, 2
    elif bad == "offtick":
        r["price"], r["side"] = MID * tick + 1, 2
    else:
        r["kind"], r["side"] = int(EventKind.CLEAR), 3


def _apply_batch(book: OrderBook, ev: np.ndarray, threads: int | None) -> tuple[int | None, str | None]:
    try:
        return book.apply_events(ev, threads=threads), None
    except ValidationError as exc:
        return None, str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_batch_item, max_size=30), st.lists(_batch_item, min_size=1, max_size=300),
       st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.sampled_from(_BAD))), st.sampled_from([1, 10]))
def test_batch_on_two_threads_equals_sequential(prefix: list, items: list, bad: tuple | None, tick: int) -> None:
    if bad is not None and bad[1] == "offtick" and tick == 1:
        bad = (bad[0], "qty-1")
    ev = _records(items, tick)
    k = None if bad is None else bad[0] % len(items)
    if k is not None:
        _bad_record(ev, k, bad[1], tick)
    books = {}
    results = {}
    old = _set_batch_thread_min(0)
    try:
        for mode in (1, 2, None):
            book = OrderBook(2, 3, tick)
            book.apply_events(_records(prefix, tick), threads=mode)
            results[mode] = _apply_batch(book, ev, mode)
            books[mode] = book
    finally:
        _set_batch_thread_min(old)
    assert results[2] == results[1] and results[None] == results[1]
    # the reference: the prefix, then the records before the bad one, one at a time
    ref = RefBook(2, 3)
    seq = OrderBook(2, 3, tick)
    todo = [*prefix, *(items if k is None else items[:k])]
    for it in todo:
        if isinstance(it, str):
            if it != "trade":
                ref.clear(int(it[-1]))
                seq.clear(int(it[-1]))
        else:
            ref.apply(it[0], it[1] * tick, it[2])
            seq.apply(it[0], it[1] * tick, it[2])
    if k is None:
        assert results[1] == (sum(1 for it in items if it != "trade"), None)
    else:
        n_ok = sum(1 for it in items[:k] if it != "trade")
        assert results[1][1] is not None and f"record {k} " in results[1][1]
        assert f"the {n_ok} records before it were applied" in results[1][1]
    for book in (*books.values(), seq):
        assert_same(book, ref)


def test_batch_thread_knob_and_argument_checks() -> None:
    ev = _records([(1, MID - j, j + 1) for j in range(50)] + [(2, MID + j, j + 1) for j in range(50)], 10)
    old = _set_batch_thread_min(10)
    try:
        assert _set_batch_thread_min(old) == 10
    finally:
        _set_batch_thread_min(old)
    book = OrderBook(2, 3, 10)
    assert book.apply_events(ev, threads=2) == 100 and book.apply_events_range(ev, 10, 90, threads=2) == 80
    assert book.top_raw() == (MID * 10, 1, MID * 10, 1)
    for bad in (0, 3, True, "2", 1.0 + 0.5):
        with pytest.raises(ValidationError, match="threads"):
            book.apply_events(ev, threads=bad)


def test_real_stream_on_two_threads_matches_one(shared_data: Path) -> None:
    """The USD-M recording's depth records in one call on one and on two threads: the same book."""
    path = shared_data / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    from shrivenquant.venues.binance.recording import decode_file

    ev, _ = decode_file(path)
    ev = np.ascontiguousarray(ev[(ev["kind"] == EventKind.LEVEL) | (ev["kind"] == EventKind.CLEAR)][:200_000])
    one, two = OrderBook(2, 3, 10), OrderBook(2, 3, 10)
    assert one.apply_events(ev, threads=1) == two.apply_events(ev, threads=2) == len(ev)
    assert [a.tolist() for a in one.depth()] == [a.tolist() for a in two.depth()]
    assert one.top_raw() == two.top_raw() and two._check_invariants() == 0


# ------------------------------------------------------------------------------------------ examples, edges

def test_empty_book() -> None:
    book = OrderBook(2, 3, 10)
    assert book.top_raw() == (RAW_NULL,) * 4
    assert book.best_bid() is None and book.best_ask() is None
    assert book.mid is None and book.microprice() is None and book.imbalance(5) is None
    assert book.spread_raw == RAW_NULL and not book.is_crossed and not book.is_locked
    assert [a.tolist() for a in book.depth(10)] == [[], [], [], []]
    assert book.levels(1) == [] and book.qty_at(2, 100) == 0
    assert book.avg_fill_price(1, 5) is None and book.worst_fill_price(2, 5) is None
    assert book.simulate_market_fill(1, 5) == (0, None, 0, 5)
    assert book.qty_within_bps(1, 10) == 0 and book.qty_up_to_price(2, 10**6) == 0
    assert len(book) == 0 and book.memory_bytes() <= FIXED_BYTES
    assert "0 bids, 0 asks" in repr(book)
    book.apply(1, 100, 0)  # deleting an unknown level is a no-op
    assert len(book) == 0


def test_small_book_queries_by_hand() -> None:
    book = OrderBook(2, 3, 10)
    book.apply(1, 6177360, 1500)
    book.apply(1, 6177300, 10)
    book.apply(2, 6177370, 200)
    book.apply(2, 6180000, 7)
    assert book.best_bid() == (Price("61773.60"), Quantity("1.500"))
    assert book.mid == Price("61773.650") and book.mid.precision == 3
    assert book.spread_raw == 10
    assert book.microprice() == pytest.approx((61773.60 * 0.2 + 61773.70 * 1.5) / 1.7, rel=1e-15)
    assert book.imbalance(1) == pytest.approx((1500 - 200) / 1700)
    assert book.simulate_market_fill(1, 205) == (2, pytest.approx((61773.70 * 200 + 61800.00 * 5) / 205), 205, 0)
    assert book.worst_fill_price(2, 1510) == Price("61773.00")
    assert book.qty_up_to_price(2, 6177999) == 200
    assert book.qty_within_bps(2, 5) == 207  # 61800.00 is 4.26 bps above 61773.70
    assert book.qty_within_bps(2, Decimal("4.2")) == 200
    assert book.levels(2) == [(Price("61773.70"), Quantity("0.200")), (Price("61800.00"), Quantity("0.007"))]
    text = repr(book)
    assert "ask 1" in text and "61773.70" in text and "bid 2" in text and "0.010" in text
    html = book._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "61773.60" in html
    book.apply(1, 6177370, 5)
    assert book.is_locked and not book.is_crossed
    book.apply(1, 6177400, 5)
    assert book.is_crossed and book.spread_raw == -30


def test_best_moves_to_far_levels_when_the_near_ones_go() -> None:
    """The window empties while levels remain far away: the best jumps to the nearest of them."""
    book = OrderBook(2, 3, 10)
    far = [1_000, 50_000, 2_000_000]  # ticks, all far outside a fresh 64-tick window
    for t in far:
        book.apply(1, t * 10, t)
        book.apply(2, (10**7 - t) * 10, t)
    book.apply(1, 5_000_000 * 10, 1)
    book.apply(2, 5_000_001 * 10, 1)
    assert book.top_raw() == (50_000_000, 1, 50_000_010, 1)
    book.apply(1, 5_000_000 * 10, 0)
    book.apply(2, 5_000_001 * 10, 0)
    assert book.top_raw() == (20_000_000, 2_000_000, (10**7 - 2_000_000) * 10, 2_000_000)
    for t in far[::-1]:
        assert book._check_invariants() == 0
        assert book.best_bid_price_raw == t * 10
        book.apply(1, t * 10, 0)
    assert book.bid_levels == 0 and book.best_bid_price_raw == RAW_NULL and book.ask_levels == 3


def test_mid_at_precision_18_rounds_half_even() -> None:
    book = OrderBook(18, 0)
    book.apply(1, 1, 1)
    book.apply(2, 2, 1)
    assert book.mid == Price.from_raw(2, 18)  # 1.5 -> 2
    book.apply(2, 4, 1)
    book.apply(2, 2, 0)
    assert book.mid == Price.from_raw(2, 18)  # 2.5 -> 2


def test_apply_level_converts_precision_exactly() -> None:
    book = OrderBook(2, 3, 10)
    book.apply_level(1, Price("61773.6"), Quantity("1.5"))
    assert book.top_raw()[:2] == (6177360, 1500)
    with pytest.raises(PrecisionError):
        book.apply_level(1, Price("61773.655"), Quantity("1"))
    with pytest.raises(PrecisionError):
        book.apply_level(1, Price("61773.60"), Quantity("0.0001"))
    with pytest.raises(ValidationError, match="tick"):
        book.apply_level(1, Price("61773.61"), Quantity("1"))
    with pytest.raises(ShrivenQuantTypeError):
        book.apply_level(1, 6177360, Quantity("1"))  # type: ignore[arg-type]
    with pytest.raises(ShrivenQuantTypeError):
        book.apply_level(1, Price("1"), Price("1"))  # type: ignore[arg-type]
    book.apply_level(1, Price("61773.60"), Quantity("0"))
    assert len(book) == 0


def test_for_instrument() -> None:
    inst = synthetic_instrument()  # tick 0.10: price precision 1, tick_raw 1
    book = OrderBook.for_instrument(inst)
    assert (book.price_precision, book.size_precision, book.tick_raw) == (1, inst.size_precision, 1)
    nse_like = msgspec.structs.replace(inst, price_tick=Price("0.05"))
    book = OrderBook.for_instrument(nse_like)
    assert (book.price_precision, book.tick_raw) == (2, 5)
    with pytest.raises(ValidationError, match="tick"):
        book.apply(1, 10_002, 1)
    with pytest.raises(ShrivenQuantTypeError):
        OrderBook.for_instrument("BTCUSDT")  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "match"), [
    ((-1, 3), "price_precision"), ((2, 19), "size_precision"), ((2.0, 3), "price_precision"),
    ((2, 3, 0), "tick_raw"), ((2, 3, 2**57), "tick_raw"), ((2, 3, "10"), "tick_raw"), ((True, 3), "price_precision"),
])
def test_constructor_checks(args: tuple, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        OrderBook(*args)


@pytest.mark.parametrize(("side", "px", "qty", "match"), [
    (0, 100, 1, "side"), (3, 100, 1, "side"), ("1", 100, 1, "side"), (None, 100, 1, "side"), (2**70, 100, 1, "side"),
    (1, 100, -1, "qty_raw must be >= 0"), (1, 100, RAW_NULL, "RAW_NULL"), (1, RAW_NULL, 1, "RAW_NULL"),
    (1, 105, 1, "not a multiple of the tick"), (1, 2**63, 1, "does not fit in int64"), (1, 100, 1.0, "qty_raw"),
    (1, 1e2, 1, "price_raw"),
])
def test_apply_rejects_bad_input(side: object, px: object, qty: object, match: str) -> None:
    book = OrderBook(2, 3, 10)
    book.apply(1, 100, 7)
    with pytest.raises(ValidationError, match=match):
        book.apply(side, px, qty)  # type: ignore[arg-type]
    assert book.top_raw()[:2] == (100, 7)  # unchanged


def test_apply_accepts_numpy_integers_and_off_window_ticks() -> None:
    book = OrderBook(2, 3, 10)
    book.apply(np.uint8(1), np.int64(1000), np.int32(5))
    book.apply(2, 10**15, 1)  # far away: overflow part
    with pytest.raises(ValidationError, match="tick"):
        book.apply(2, 10**15 + 3, 1)
    with pytest.raises(ValidationError, match="tick"):
        book.apply(1, 10**15 + 3, 0)  # an off-tick delete is bad input too, even far away
    with pytest.raises(ValidationError, match="tick"):
        book.apply(1, 1003, 0)
    assert book.top_raw() == (1000, 5, 10**15, 1)
    assert book.qty_at(np.int8(1), np.int64(1000)) == 5 and book.levels(np.uint8(2), np.int64(1))[0][1].raw == 1
    with pytest.raises(ValidationError, match="side"):
        book.levels(True)


def test_apply_events_batch_and_slices() -> None:
    ev = _records([(1, 100, 5), (2, 103, 7), "trade", (1, 101, 2), (2, 103, 0), (2, 104, 1), "clear1", (1, 99, 3)], 10)
    book = OrderBook(2, 3, 10)
    assert book.apply_events(ev) == 7
    assert book.top_raw() == (990, 3, 1040, 1)
    other = OrderBook(2, 3, 10)
    assert other.apply_events(ev[:3]) == 2 and other.apply_events(ev[3:]) == 5  # contiguous slices, read in place
    assert other.top_raw() == book.top_raw()
    third = OrderBook(2, 3, 10)
    assert third.apply_events_range(ev, 0, 4) == 3 and third.apply_events_range(ev, 4, 8) == 4
    assert third.apply_events_range(ev, 8, 8) == 0 and third.apply_events(ev[:0]) == 0
    assert third.top_raw() == book.top_raw()
    readonly = ev.copy()
    readonly.flags.writeable = False
    assert OrderBook(2, 3, 10).apply_events(readonly) == 7


@pytest.mark.parametrize(("records", "match"), [
    ([1, 2, 3], "NumPy array"),
    (np.zeros(4, dtype=np.int64), "dtype EVENT_DTYPE"),
    (empty_events(8).reshape(2, 4), "1-D"),
    (empty_events(8)[::2], "contiguous"),
    (np.zeros(64 * 3 + 1, dtype=np.uint8)[1:].view(EVENT_DTYPE), "aligned"),
])
def test_apply_events_rejects_bad_arrays(records: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        OrderBook(2, 3).apply_events(records)  # type: ignore[arg-type]


def test_apply_events_bad_record_names_its_index() -> None:
    book = OrderBook(2, 3, 10)
    ev = _records([(1, 100, 5), (2, 103, 7), (1, 101, 2)], 10)
    ev[2]["qty"] = -4
    with pytest.raises(ValidationError, match=r"record 2 \(LEVEL\).*>= 0.*2 records before it were applied"):
        book.apply_events(ev)
    assert book.top_raw() == (1000, 5, 1030, 7)
    ev[2]["qty"], ev[2]["side"] = 4, 0
    with pytest.raises(ValidationError, match="record 2.*side"):
        book.apply_events(ev)
    ev[2]["side"], ev[2]["price"] = 1, 1015
    with pytest.raises(ValidationError, match=r"record 3 \(LEVEL\).*tick"):
        book.apply_events_range(np.concatenate([ev[:1], ev]), 0, 4)
    ev[2]["kind"], ev[2]["side"] = int(EventKind.CLEAR), 3
    with pytest.raises(ValidationError, match=r"record 2 \(CLEAR\) has side 3"):
        book.apply_events(ev)
    for start, stop in ((-1, 2), (2, 1), (0, 4)):
        with pytest.raises(ValidationError, match="start <= stop"):
            book.apply_events_range(ev, start, stop)


def test_load_snapshot_checks_before_changing_anything() -> None:
    book = OrderBook(2, 3, 10)
    book.apply(1, 500, 1)
    good = np.array([100, 90], dtype=np.int64)
    qty = np.array([1, 2], dtype=np.int64)
    for args, match in (
        ((good.astype(np.float64), qty, good, qty), "int64"),
        (([100, 90], qty, good, qty), "NumPy int64 array"),
        ((good, qty[:1], good, qty), "match in length"),
        ((good.reshape(2, 1), qty, good, qty), "1-D"),
        ((np.array([100, RAW_NULL], dtype=np.int64), qty, good, qty), "RAW_NULL"),
        ((good, np.array([1, -2], dtype=np.int64), good, qty), ">= 0"),
        ((good, qty, np.array([100, 95], dtype=np.int64), qty), "tick"),
    ):
        with pytest.raises(ValidationError, match=match):
            book.load_snapshot(*args)
        assert book.top_raw() == (500, 1, RAW_NULL, RAW_NULL)
    asks = np.array([130, 120, 140, 120], dtype=np.int64)[::-1]  # strided input is fine
    book.load_snapshot(good, qty, asks, np.array([3, 0, 4, 5], dtype=np.int64))
    assert book.depth(None)[0].tolist() == [100, 90] and book.depth(None)[2].tolist() == [120, 130]
    assert book.qty_at(2, 120) == 4  # the last entry for a repeated price wins; zero quantities are skipped


def test_query_argument_checks() -> None:
    book = OrderBook(2, 3, 10)
    book.apply(1, 100, 5)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValidationError, match="qty_raw"):
            book.avg_fill_price(2, bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="aggressor_side"):
        book.simulate_market_fill(0, 5)
    with pytest.raises(ValidationError, match="n must be"):
        book.depth(-1)
    with pytest.raises(ValidationError, match="n_levels"):
        book.imbalance(0)
    for bad in (-1, float("nan"), "1", True):
        with pytest.raises(ValidationError, match="bps"):
            book.qty_within_bps(1, bad)
    with pytest.raises(ValidationError, match="side"):
        book.levels(0)
    with pytest.raises(ValidationError, match="side"):
        book.clear(5)


def test_overflowing_results_raise() -> None:
    book = OrderBook(0, 0)
    book.apply(1, -(2**62) * 2 + 1, 1)  # near INT64_MIN
    book.apply(2, 2**62 + (2**62 - 1), 1)  # INT64_MAX
    with pytest.raises(FixedPointOverflowError):
        _ = book.spread_raw
    assert book.mid == Price.from_raw(0, 1)  # (-(2**63 - 1) + (2**63 - 1)) / 2, exact
    book.apply(2, 2**62 + (2**62 - 1), 0)
    book.apply(2, 2**62, 1)
    with pytest.raises(FixedPointOverflowError):
        _ = book.mid  # (sum * 5) at precision 1 does not fit


def test_copy_is_independent() -> None:
    book = OrderBook(2, 3, 10)
    for i in range(300):
        book.apply(1, 10_000 - 10 * i, i + 1)
        book.apply(2, 10_010 + 10 * i * 7, i + 1)
    for dup in (book.copy(), copy.copy(book), copy.deepcopy(book)):
        assert dup.depth(None)[0].tolist() == book.depth(None)[0].tolist()
        assert dup._check_invariants() == 0 and dup.tick_raw == 10
        dup.apply(1, 10_000, 0)
        assert book.best_bid_price_raw == 10_000 and dup.best_bid_price_raw == 9_990
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(book)


def test_clear_one_side() -> None:
    book = OrderBook(2, 3, 10)
    book.apply(1, 100, 1)
    book.apply(2, 110, 1)
    book.clear(2)
    assert book.top_raw() == (100, 1, RAW_NULL, RAW_NULL)
    book.clear(1)
    assert len(book) == 0


# ------------------------------------------------------------------------------------------ real data

def test_real_usdm_replay_matches_every_bookticker(shared_data: Path) -> None:
    """USD-M BTCUSDT 2024-08-08: snapshot, Binance's futures sync rule, then every depth message; whenever a
    bookTicker's u equals the last applied depth u, the book's best bid/ask price and qty equal it."""
    path = shared_data / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    from shrivenquant.venues.binance.recording import decode_file

    ev, stats = decode_file(path)
    info = stats.symbols["BTCUSDT"]
    book = OrderBook(info.price_precision, info.size_precision, 10)  # tick 0.10 USDT at 2 dp
    ends = np.flatnonzero(ev["flags"] & int(EventFlag.LAST)) + 1
    starts = np.concatenate([[0], ends[:-1]])
    kind, seq, first, prev = ev["kind"].tolist(), ev["seq"].tolist(), ev["aux"].tolist(), ev["order_id"].tolist()
    price, qty = ev["price"].tolist(), ev["qty"].tolist()
    state = {"snapshot": None, "last_u": None, "applied": 0, "dropped": 0}
    buffered: list[tuple[int, int]] = []  # depth messages streamed before the snapshot line
    order: list[tuple[int, int]] = []  # record ranges in the order they were applied

    def depth_message(a: int, b: int) -> None:
        u = seq[a]
        if u < state["snapshot"]:  # futures rule: drop u < lastUpdateId
            state["dropped"] += 1
            return
        if state["last_u"] is None:
            assert first[a] <= state["snapshot"] <= u  # the first one straddles the snapshot
        else:
            assert prev[a] == state["last_u"]  # pu chain: no gap
        book.apply_events_range(ev, a, b)
        order.append((a, b))
        state["applied"] += 1
        state["last_u"] = u
        if u in early:  # a bookTicker with this u came before the depth message
            check(early.pop(u))
        if state["applied"] % 1000 == 0:
            assert book._check_invariants() == 0

    early: dict[int, tuple[int, int, int, int]] = {}
    counts = {"checks": 0, "mismatches": 0}

    def check(expected: tuple[int, int, int, int]) -> None:
        counts["checks"] += 1
        counts["mismatches"] += book.top_raw() != expected

    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        k = kind[a]
        if k == EventKind.CLEAR:
            book.apply_events_range(ev, a, b)  # CLEAR + the snapshot levels
            order.append((a, b))
            state["snapshot"] = seq[a]
            for msg in buffered:
                depth_message(*msg)
        elif k in (EventKind.LEVEL, EventKind.NONE):
            if state["snapshot"] is None:
                buffered.append((a, b))
            else:
                depth_message(a, b)
        elif k == EventKind.BBO:
            ticker = (price[a], qty[a], price[a + 1], qty[a + 1])
            if state["last_u"] is not None and seq[a] == state["last_u"]:
                check(ticker)
            elif state["last_u"] is None or seq[a] > state["last_u"]:
                early[seq[a]] = ticker
    assert buffered and state["dropped"] > 0 and state["applied"] == 6547
    assert counts["mismatches"] == 0 and counts["checks"] >= 629
    assert book._check_invariants() == 0
    assert book.memory_bytes() <= 32 * len(book) + FIXED_BYTES
    # the final book equals a dict replay of the same records in the same order
    ref = RefBook(2, 3)
    side, kinds = ev["side"].tolist(), kind
    for a, b in order:
        for i in range(a, b):
            if kinds[i] == EventKind.CLEAR:
                ref.clear()
            elif kinds[i] == EventKind.LEVEL:
                ref.apply(side[i], price[i], qty[i])
    d = book.depth(None)
    assert list(zip(d[0].tolist(), d[1].tolist(), strict=True)) == ref.sorted(1)
    assert list(zip(d[2].tolist(), d[3].tolist(), strict=True)) == ref.sorted(2)
    assert (book.bid_levels, book.ask_levels) == (5018, 4578)
