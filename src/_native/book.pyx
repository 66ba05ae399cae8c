# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=True, embedsignature=True, autotestdict=False, annotation_typing=False
"""Native L2 (market-by-price) order book: :class:`OrderBook`.

Prices and quantities are raw int64 at the book's ``price_precision`` / ``size_precision`` (value =
raw / 10**precision); ``RAW_NULL`` (INT64_MIN) marks "no level" in raw results. Sides are 1 = bid,
2 = ask. The core is C (``sq_book.h``): per side a dense ring-buffer window of ticks around the best
level (O(1) updates, the best level and its size cached) and a sorted block list for the levels beyond
it, within 32 bytes per live level plus a fixed ~6 KiB. See ``docs/order-book.md``.
"""

cimport cython
cimport numpy as cnp
from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t, INT64_MAX, INT64_MIN
from libc.stdlib cimport calloc, free

from sq_common cimport sq_event, raw_i64 as _i64, book_side as _side

import numpy as _np

from shrivenquant._native.fixed import Price as _Price, Quantity as _Quantity
from shrivenquant.errors import (
    FixedPointOverflowError as _FixedPointOverflowError,
    ShrivenQuantTypeError as _ShrivenQuantTypeError,
    ValidationError as _ValidationError,
)

cnp.import_array()

cdef extern from "sq_fixed.h" nogil:
    const int64_t SQ_POW10[19]

cdef extern from "sq_book.h" nogil:
    const int SQ_BK_OK, SQ_BK_ENOMEM, SQ_BK_ETICK, SQ_BK_ESIDE, SQ_BK_EQTY, SQ_BK_EPRICE
    const int64_t SQ_BK_TICK_MAX, SQ_BK_NULL, SQ_BK_SIDE_FIXED
    ctypedef struct sq_bk_side:
        int64_t W
        int64_t nwin
        int64_t nov
        int64_t nblk
        int64_t ecnt
        int64_t top_px
        int64_t top_qty
        int64_t dir
    ctypedef struct sq_bk:
        sq_bk_side s[2]
        int64_t tick
    ctypedef struct sq_bk_it:
        pass
    int sq_bk_init(sq_bk *bk, int64_t tick)
    void sq_bk_free(sq_bk *bk)
    int sq_bk_copy(sq_bk *dst, const sq_bk *src)
    int sq_bk_apply(sq_bk *bk, int side, int64_t px, int64_t qty)
    int sq_bk_apply_events(sq_bk *bk, const sq_event *ev, int64_t n, int64_t *applied, int64_t *err_at)
    int sq_bk_apply_events_2t(sq_bk *bk, const sq_event *ev, int64_t n, int64_t *applied, int64_t *err_at)
    const int64_t SQ_BK_MT_MIN
    int sq_bk_core_free()
    int sq_bk_clear_side(sq_bk *bk, int i)
    void sq_bk_it_init(sq_bk_it *it, const sq_bk *bk, int i)
    int sq_bk_it_next(sq_bk_it *it, int64_t *px, int64_t *qty)
    int64_t sq_bk_qty_at(const sq_bk *bk, int i, int64_t px)
    int64_t sq_bk_bytes(const sq_bk *bk)
    int64_t sq_bk_side_bytes(const sq_bk_side *s)
    int sq_bk_check(const sq_bk *bk)

cdef extern from *:
    bint _add_overflow "__builtin_add_overflow"(int64_t a, int64_t b, int64_t *r) nogil
    bint _sub_overflow "__builtin_sub_overflow"(int64_t a, int64_t b, int64_t *r) nogil
    bint _mul_overflow "__builtin_mul_overflow"(int64_t a, int64_t b, int64_t *r) nogil

cdef int _REPR_LEVELS = 5
cdef int _HTML_LEVELS = 10

cdef object _EVENT_DTYPE = None
cdef int64_t _batch_thread_min = -1  # records from which apply_events uses two threads; -1: not yet set


cdef int64_t _thread_min():
    global _batch_thread_min
    if _batch_thread_min < 0:
        import os
        _batch_thread_min = SQ_BK_MT_MIN if (os.cpu_count() or 1) >= 2 else INT64_MAX
    return _batch_thread_min


def _set_batch_thread_min(n: int) -> int:
    """Test / benchmark hook: apply_events(threads=None) uses two threads from ``n`` records on (default
    65,536 on a machine with two or more CPUs); returns the previous value."""
    global _batch_thread_min
    cdef int64_t old = _thread_min()
    _batch_thread_min = <int64_t>n
    return old


cdef object _event_dtype():
    global _EVENT_DTYPE
    if _EVENT_DTYPE is None:
        from shrivenquant.core.events import EVENT_DTYPE
        _EVENT_DTYPE = EVENT_DTYPE
    return _EVENT_DTYPE


# ---------------------------------------------------------------------------------------- arguments

cdef inline int _precision(object p, str what) except -1:
    if isinstance(p, bool) or not isinstance(p, int) or p < 0 or p > 18:
        raise _ValidationError(f"{what} must be an int from 0 to 18, got {p!r}")
    return <int>p


cdef inline int64_t _positive_qty(object qty_raw) except? -1:
    cdef int64_t q = _i64(qty_raw, "qty_raw")
    if q <= 0:
        raise _ValidationError(f"qty_raw must be > 0 (a raw quantity to fill), got {q}")
    return q


cdef int64_t _count_arg(object n, str what) except -2:
    """n >= 0, or None (-1: no limit)."""
    if n is None:
        return -1
    if isinstance(n, bool) or not (isinstance(n, int) or hasattr(type(n), "__index__")) or n < 0:
        raise _ValidationError(f"{what} must be a non-negative int or None, got {n!r}")
    return <int64_t>min(n.__index__(), INT64_MAX)


# ---------------------------------------------------------------------------------------- the book

@cython.final
@cython.auto_pickle(False)
cdef class OrderBook:
    """An L2 (market-by-price) book: one aggregated quantity per price level and side.

    Args:
        price_precision: decimals of raw prices (0..18): price = raw / 10**price_precision.
        size_precision: decimals of raw quantities (0..18).
        tick_raw: the price tick in raw units (``Price("0.10")`` at precision 2 is 10). Every price must
            be a multiple of it (else :class:`~shrivenquant.errors.ValidationError`). It sets the grid of
            the dense window, so give the instrument's real tick: :meth:`for_instrument` does.

    Updates: :meth:`apply` (raw ints, one call per level), :meth:`apply_level` (``Price`` /
    ``Quantity``), :meth:`apply_events` (an :data:`~shrivenquant.core.events.EVENT_DTYPE` array in one
    native call), :meth:`load_snapshot`. A quantity of 0 deletes the level; deleting an unknown level is a
    no-op (Binance futures send such deletes). The best bid and ask, and their sizes, are maintained on
    every update: reading them is O(1) and never re-sorts.

    Side conventions: :meth:`levels`, :meth:`depth`, :meth:`qty_at`, :meth:`qty_up_to_price` and
    :meth:`qty_within_bps` take the **book side** (1 = bids, 2 = asks). :meth:`avg_fill_price`,
    :meth:`worst_fill_price` and :meth:`simulate_market_fill` take the **aggressor side** (1 = a buy,
    which consumes asks; 2 = a sell, which consumes bids).

    Empty sides: raw properties give ``RAW_NULL``; :meth:`best_bid` / :meth:`best_ask` / :attr:`mid` /
    :meth:`microprice` give None; fills that the book cannot complete give None
    (:meth:`simulate_market_fill` reports the remainder instead).

    Memory: at most 32 bytes per live level plus a fixed ~6 KiB (:meth:`memory_bytes`).
    """

    cdef sq_bk *bk
    cdef readonly int price_precision
    """Decimals of raw prices."""
    cdef readonly int size_precision
    """Decimals of raw quantities."""
    cdef readonly int64_t tick_raw
    """The price tick, raw (at ``price_precision``)."""
    # the top's last Python ints and tuple, reused while the top is unchanged (reads allocate nothing then)
    cdef int64_t _tv[4]
    cdef list _tobj
    cdef object _ttuple

    def __cinit__(self, *args, **kwargs):
        self.bk = <sq_bk *>calloc(1, sizeof(sq_bk))
        if self.bk == NULL or sq_bk_init(self.bk, 1) != SQ_BK_OK:
            raise MemoryError("OrderBook: out of memory")
        self.tick_raw = 1
        self._tobj = [None, None, None, None]
        self._ttuple = None

    def __init__(self, price_precision: int, size_precision: int, tick_raw: int = 1) -> None:
        cdef int64_t tick
        self.price_precision = _precision(price_precision, "price_precision")
        self.size_precision = _precision(size_precision, "size_precision")
        tick = _i64(tick_raw, "tick_raw")
        if tick < 1 or tick > SQ_BK_TICK_MAX:
            raise _ValidationError(f"tick_raw must be from 1 to 2**56 (the tick in raw units), got {tick}")
        if tick != self.bk.tick:
            sq_bk_free(self.bk)
            if sq_bk_init(self.bk, tick) != SQ_BK_OK:
                raise MemoryError("OrderBook: out of memory")
        self.tick_raw = tick

    def __dealloc__(self):
        if self.bk != NULL:
            sq_bk_free(self.bk)
            free(self.bk)
            self.bk = NULL

    @classmethod
    def for_instrument(cls, instrument) -> OrderBook:
        """A book at ``instrument``'s price and size precision, with its price tick."""
        from shrivenquant.core.instrument import Instrument

        if not isinstance(instrument, Instrument):
            raise _ShrivenQuantTypeError(
                f"expected a shrivenquant.core.Instrument, got {type(instrument).__name__}")
        pp = instrument.price_precision
        return cls(pp, instrument.size_precision, instrument.price_tick.raw_at(pp))

    # ------------------------------------------------------------------------------------ updates

    cdef int _raise(self, int st, int64_t side, int64_t px, int64_t qty, str where) except -1:
        if st == SQ_BK_ENOMEM:
            raise MemoryError(f"OrderBook{where}: out of memory (clear the book before reusing it)")
        if st == SQ_BK_ESIDE:
            raise _ValidationError(f"OrderBook{where}: side must be 1 (bid) or 2 (ask), got {side}")
        if st == SQ_BK_EQTY:
            raise _ValidationError(
                f"OrderBook{where}: qty_raw must be >= 0 (0 deletes the level), got "
                f"{'RAW_NULL' if qty == INT64_MIN else qty}")
        if st == SQ_BK_EPRICE:
            raise _ValidationError(f"OrderBook{where}: price_raw is RAW_NULL (no value): expected a raw price")
        if st == SQ_BK_ETICK:
            raise _ValidationError(
                f"OrderBook{where}: price_raw {px} is not a multiple of the tick (tick_raw={self.tick_raw} "
                f"at price precision {self.price_precision})")
        raise _ValidationError(f"OrderBook{where}: update failed with status {st}")

    def apply(self, side, price_raw, qty_raw) -> None:
        """Set the level at ``price_raw`` on ``side`` (1 bid, 2 ask) to ``qty_raw`` (0 deletes it).

        Raw ints at the book's precisions. Deleting an unknown level is a no-op.
        """
        cdef int64_t s = _i64(side, "side")
        cdef int64_t px = _i64(price_raw, "price_raw")
        cdef int64_t q = _i64(qty_raw, "qty_raw")
        cdef int st = sq_bk_apply(self.bk, <int>s if s == 1 or s == 2 else 0, px, q)
        if st != SQ_BK_OK:
            self._raise(st, s, px, q, ".apply")

    def apply_level(self, side, price, qty) -> None:
        """Set the level at ``price`` (:class:`Price`) on ``side`` to ``qty`` (:class:`Quantity`; zero deletes).

        Values at another precision are converted exactly (else :class:`~shrivenquant.errors.PrecisionError`).
        """
        if type(price) is not _Price:
            raise _ShrivenQuantTypeError(f"price must be a Price, got {type(price).__name__}")
        if type(qty) is not _Quantity:
            raise _ShrivenQuantTypeError(f"qty must be a Quantity, got {type(qty).__name__}")
        cdef int s = _side(side)
        cdef int64_t px = price.raw if price.precision == self.price_precision else price.raw_at(self.price_precision)
        cdef int64_t q = qty.raw if qty.precision == self.size_precision else qty.raw_at(self.size_precision)
        cdef int st = sq_bk_apply(self.bk, s, px, q)
        if st != SQ_BK_OK:
            self._raise(st, s, px, q, ".apply_level")

    cdef const sq_event *_records(self, object records, int64_t *n) except NULL:
        cdef cnp.ndarray arr
        cdef object dt = _event_dtype()
        cdef const sq_event *ptr
        if not isinstance(records, cnp.ndarray):
            raise _ValidationError(
                f"records must be a NumPy array of EVENT_DTYPE, got {type(records).__name__}")
        arr = <cnp.ndarray>records
        rdt = <object>cnp.PyArray_DESCR(arr)
        if rdt is not dt and rdt != dt:
            raise _ValidationError(f"records must have dtype EVENT_DTYPE (64-byte event records), got {rdt}")
        if cnp.PyArray_NDIM(arr) != 1:
            raise _ValidationError(f"records must be 1-D, got shape {records.shape}")
        if not cnp.PyArray_IS_C_CONTIGUOUS(arr) or not cnp.PyArray_ISALIGNED(arr):
            raise _ValidationError(
                "records must be contiguous and aligned (a slice arr[i:j] is; arr[::k] is not): "
                "use np.ascontiguousarray(records)")
        n[0] = cnp.PyArray_DIM(arr, 0)
        ptr = <const sq_event *>cnp.PyArray_DATA(arr)
        if ptr == NULL:  # zero-size arrays may have a NULL data pointer
            return <const sq_event *>&self.bk.tick
        return ptr

    cdef int64_t _apply_records(self, const sq_event *ev, int64_t n, int64_t offset, object threads) except -1:
        cdef int64_t applied = 0, err_at = -1
        cdef int st = -1
        cdef bint two
        if threads is None:
            two = n >= _thread_min() and sq_bk_core_free()
        elif not isinstance(threads, bool) and (threads == 1 or threads == 2):
            two = threads == 2
        else:
            raise _ValidationError(f"threads must be None (automatic), 1 or 2, got {threads!r}")
        if two:  # the calling thread keeps the GIL (no other Python thread can touch the book meanwhile)
            st = sq_bk_apply_events_2t(self.bk, ev, n, &applied, &err_at)
        if st == -1:  # one thread, or the second thread could not be started (nothing was applied)
            st = sq_bk_apply_events(self.bk, ev, n, &applied, &err_at)
        cdef const sq_event *e
        if st != SQ_BK_OK:
            e = &ev[err_at]
            if st == SQ_BK_ESIDE and e.kind == 2:
                raise _ValidationError(
                    f"OrderBook.apply_events: record {err_at + offset} (CLEAR) has side {e.side}: expected 0 "
                    f"(both sides), 1 or 2; the {applied} records before it were applied")
            try:
                self._raise(st, e.side, e.price, e.qty, ".apply_events")
            except _ValidationError as exc:
                raise _ValidationError(
                    f"record {err_at + offset} (LEVEL): {exc}; the {applied} records before it were applied"
                ) from None
        return applied

    def apply_events(self, records, threads=None) -> int:
        """Apply an :data:`~shrivenquant.core.events.EVENT_DTYPE` array in one native call.

        ``LEVEL`` records set (side, price) to qty; ``CLEAR`` records clear both sides (side 0) or one
        (1 / 2); other kinds are skipped. Records of every ``instrument_id`` are applied: select one
        instrument's first. The buffer is read in place (contiguous slices ``arr[i:j]`` too, no copy).
        Returns the number of records applied. A bad record raises
        :class:`~shrivenquant.errors.ValidationError` naming its index; the records before it stay applied.

        ``threads``: None (the default) applies the bids and the asks on two threads for arrays of 65,536
        records or more when the load average leaves a core free (each thread reads every record, applies
        its side's and checks the others', so the result, errors included, is exactly the sequential one;
        the calling thread keeps the GIL), else on one; 1 or 2 force either. Two threads cut the wall time
        by ~1.4x on the real streams when a core is free, cost ~1.3x the CPU time, and are ~1.3x slower
        than one thread when no core is free.
        """
        cdef int64_t n = 0
        cdef const sq_event *ev = self._records(records, &n)
        return self._apply_records(ev, n, 0, threads)

    def apply_events_range(self, records, start, stop, threads=None) -> int:
        """:meth:`apply_events` over ``records[start:stop]`` without building a slice (0 <= start <= stop <= len)."""
        cdef int64_t n = 0
        cdef const sq_event *ev = self._records(records, &n)
        cdef int64_t a = _i64(start, "start"), b = _i64(stop, "stop")
        if a < 0 or b < a or b > n:
            raise _ValidationError(f"need 0 <= start <= stop <= {n} (len(records)), got start={a}, stop={b}")
        return self._apply_records(ev + a, b - a, a, threads)

    def load_snapshot(self, bid_prices, bid_qtys, ask_prices, ask_qtys) -> None:
        """Replace the book with a snapshot: four 1-D int64 arrays of raw prices and quantities.

        The input is checked before anything changes (prices on the tick and not RAW_NULL, quantities
        >= 0, matching lengths); zero quantities are skipped, a repeated price keeps its last quantity.
        """
        cdef const int64_t[:] bp, bq, ap, aq
        bp = self._column(bid_prices, "bid_prices")
        bq = self._column(bid_qtys, "bid_qtys")
        ap = self._column(ask_prices, "ask_prices")
        aq = self._column(ask_qtys, "ask_qtys")
        if bp.shape[0] != bq.shape[0] or ap.shape[0] != aq.shape[0]:
            raise _ValidationError(
                f"load_snapshot: price and quantity arrays must match in length, got bids {bp.shape[0]} / "
                f"{bq.shape[0]}, asks {ap.shape[0]} / {aq.shape[0]}")
        self._check_levels(bp, bq, "bid")
        self._check_levels(ap, aq, "ask")
        self._clear(0)
        self._load_side(1, bp, bq)
        self._load_side(2, ap, aq)

    cdef object _column(self, object a, str what):
        if not isinstance(a, cnp.ndarray):
            raise _ValidationError(f"load_snapshot: {what} must be a NumPy int64 array, got {type(a).__name__}")
        if a.dtype != _np.int64:
            raise _ValidationError(f"load_snapshot: {what} must have dtype int64 (raw values), got {a.dtype}")
        if a.ndim != 1:
            raise _ValidationError(f"load_snapshot: {what} must be 1-D, got shape {a.shape}")
        return a

    cdef int _check_levels(self, const int64_t[:] px, const int64_t[:] q, str side) except -1:
        cdef Py_ssize_t i
        for i in range(px.shape[0]):
            if px[i] == INT64_MIN:
                raise _ValidationError(f"load_snapshot: {side} level {i}: price is RAW_NULL (no value)")
            if px[i] % self.tick_raw != 0:
                raise _ValidationError(
                    f"load_snapshot: {side} level {i}: price_raw {px[i]} is not a multiple of the tick "
                    f"(tick_raw={self.tick_raw})")
            if q[i] < 0:
                raise _ValidationError(
                    f"load_snapshot: {side} level {i}: qty must be >= 0, got "
                    f"{'RAW_NULL' if q[i] == INT64_MIN else q[i]}")
        return 0

    cdef int _load_side(self, int side, const int64_t[:] px, const int64_t[:] q) except -1:
        cdef Py_ssize_t i, best = -1
        cdef int st
        # the best level first, so the window starts where it belongs
        for i in range(px.shape[0]):
            if q[i] > 0 and (best < 0 or (px[i] > px[best] if side == 1 else px[i] < px[best])):
                best = i
        if best >= 0:
            st = sq_bk_apply(self.bk, side, px[best], q[best])
            if st != SQ_BK_OK:
                self._raise(st, side, px[best], q[best], ".load_snapshot")
        for i in range(px.shape[0]):
            if q[i] > 0:
                st = sq_bk_apply(self.bk, side, px[i], q[i])
                if st != SQ_BK_OK:
                    self._raise(st, side, px[i], q[i], ".load_snapshot")
        return 0

    cdef int _clear(self, int side) except -1:
        if side != 2 and sq_bk_clear_side(self.bk, 0) != SQ_BK_OK:
            raise MemoryError("OrderBook.clear: out of memory")
        if side != 1 and sq_bk_clear_side(self.bk, 1) != SQ_BK_OK:
            raise MemoryError("OrderBook.clear: out of memory")
        return 0

    def clear(self, side: int = 0) -> None:
        """Remove every level: both sides (0, the default), the bids (1) or the asks (2)."""
        if side != 0:
            self._clear(_side(side, "side (0 both, 1 bids, 2 asks)"))
        else:
            self._clear(0)

    def copy(self) -> OrderBook:
        """An independent deep copy."""
        cdef OrderBook out = OrderBook.__new__(OrderBook)
        sq_bk_free(out.bk)
        if sq_bk_copy(out.bk, self.bk) != SQ_BK_OK:
            sq_bk_init(out.bk, 1)
            raise MemoryError("OrderBook.copy: out of memory")
        out.price_precision = self.price_precision
        out.size_precision = self.size_precision
        out.tick_raw = self.tick_raw
        return out

    def __copy__(self) -> OrderBook:
        return self.copy()

    def __deepcopy__(self, memo: dict) -> OrderBook:
        return self.copy()

    # ------------------------------------------------------------------------------------ top of book

    cdef inline object _top_int(self, int k, int64_t v):
        cdef object o
        if v == self._tv[k]:
            o = self._tobj[k]
            if o is not None:
                return o
        o = v
        self._tobj[k] = o
        self._tv[k] = v
        self._ttuple = None
        return o

    @property
    def best_bid_price_raw(self) -> int:
        """Best bid price, raw; RAW_NULL if there are no bids."""
        return self._top_int(0, self.bk.s[0].top_px)

    @property
    def best_bid_qty_raw(self) -> int:
        """Quantity at the best bid, raw; RAW_NULL if there are no bids."""
        return self._top_int(1, self.bk.s[0].top_qty)

    @property
    def best_ask_price_raw(self) -> int:
        """Best ask price, raw; RAW_NULL if there are no asks."""
        return self._top_int(2, self.bk.s[1].top_px)

    @property
    def best_ask_qty_raw(self) -> int:
        """Quantity at the best ask, raw; RAW_NULL if there are no asks."""
        return self._top_int(3, self.bk.s[1].top_qty)

    def top_raw(self) -> tuple:
        """``(best_bid_price, best_bid_qty, best_ask_price, best_ask_qty)``, raw (RAW_NULL for an empty side).

        O(1); while the top is unchanged the same tuple is returned again (nothing is allocated).
        """
        cdef int64_t bp = self.bk.s[0].top_px, bq = self.bk.s[0].top_qty
        cdef int64_t ap = self.bk.s[1].top_px, aq = self.bk.s[1].top_qty
        if (self._ttuple is not None and bp == self._tv[0] and bq == self._tv[1] and ap == self._tv[2]
                and aq == self._tv[3]):
            return self._ttuple
        t = (self._top_int(0, bp), self._top_int(1, bq), self._top_int(2, ap), self._top_int(3, aq))
        self._ttuple = t
        return t

    def best_bid(self):
        """``(Price, Quantity)`` of the best bid, or None if there are no bids."""
        return self._best(0)

    def best_ask(self):
        """``(Price, Quantity)`` of the best ask, or None if there are no asks."""
        return self._best(1)

    cdef object _best(self, int i):
        cdef sq_bk_side *s = &self.bk.s[i]
        if s.nwin == 0:
            return None
        return (_Price.from_raw(s.top_px, self.price_precision), _Quantity.from_raw(s.top_qty, self.size_precision))

    @property
    def bid_levels(self) -> int:
        """Number of bid levels."""
        return self.bk.s[0].nwin + self.bk.s[0].nov

    @property
    def ask_levels(self) -> int:
        """Number of ask levels."""
        return self.bk.s[1].nwin + self.bk.s[1].nov

    def __len__(self) -> int:
        return self.bk.s[0].nwin + self.bk.s[0].nov + self.bk.s[1].nwin + self.bk.s[1].nov

    @property
    def spread_raw(self) -> int:
        """Best ask - best bid, raw (negative when crossed); RAW_NULL if a side is empty."""
        cdef int64_t out
        if self.bk.s[0].nwin == 0 or self.bk.s[1].nwin == 0:
            return INT64_MIN
        if _sub_overflow(self.bk.s[1].top_px, self.bk.s[0].top_px, &out) or out == INT64_MIN:
            raise _FixedPointOverflowError("OrderBook.spread_raw: the spread does not fit in int64")
        return out

    @property
    def mid(self):
        """(best bid + best ask) / 2 as an exact :class:`Price` at ``price_precision + 1`` (a book at
        precision 18 rounds half-even at 18); None if a side is empty."""
        cdef int64_t b = self.bk.s[0].top_px, a = self.bk.s[1].top_px
        cdef object total, raw
        if self.bk.s[0].nwin == 0 or self.bk.s[1].nwin == 0:
            return None
        total = <object>b + <object>a
        if self.price_precision < 18:
            raw = total * 5
            p = self.price_precision + 1
        else:
            raw = total // 2
            if total % 2 and raw % 2:  # half-even
                raw += 1
            p = 18
        if raw > INT64_MAX or raw <= INT64_MIN:
            raise _FixedPointOverflowError(f"OrderBook.mid: {raw} does not fit in int64 at precision {p}")
        return _Price.from_raw(raw, p)

    def microprice(self):
        """Size-weighted mid (bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty) as a float in price
        units; the "weighted mid", not Stoikov's (2018) refined micro-price. None if a side is empty."""
        cdef sq_bk_side *b = &self.bk.s[0]
        cdef sq_bk_side *a = &self.bk.s[1]
        cdef long double num, den
        if b.nwin == 0 or a.nwin == 0:
            return None
        num = <long double>b.top_px * <long double>a.top_qty + <long double>a.top_px * <long double>b.top_qty
        den = (<long double>a.top_qty + <long double>b.top_qty) * <long double>SQ_POW10[self.price_precision]
        return <double>(num / den)

    @property
    def is_crossed(self) -> bool:
        """True if best bid > best ask (both sides present)."""
        return self.bk.s[0].nwin != 0 and self.bk.s[1].nwin != 0 and self.bk.s[0].top_px > self.bk.s[1].top_px

    @property
    def is_locked(self) -> bool:
        """True if best bid == best ask (both sides present)."""
        return self.bk.s[0].nwin != 0 and self.bk.s[1].nwin != 0 and self.bk.s[0].top_px == self.bk.s[1].top_px

    # ------------------------------------------------------------------------------------ depth

    def qty_at(self, side, price_raw) -> int:
        """Quantity at exactly ``price_raw`` on book side ``side`` (1 bids, 2 asks); 0 if there is no level."""
        cdef int s = _side(side)
        return sq_bk_qty_at(self.bk, s - 1, _i64(price_raw, "price_raw"))

    def depth(self, n=None) -> tuple:
        """``(bid_px, bid_qty, ask_px, ask_qty)``: int64 arrays of the best ``n`` levels per side (all if
        None), best first, raw. Sides with fewer levels give shorter arrays."""
        cdef int64_t lim = _count_arg(n, "n")
        bp, bq = self._side_arrays(0, lim)
        ap, aq = self._side_arrays(1, lim)
        return bp, bq, ap, aq

    cdef tuple _side_arrays(self, int i, int64_t lim):
        cdef sq_bk_side *s = &self.bk.s[i]
        cdef int64_t total = s.nwin + s.nov
        cdef int64_t k = total if lim < 0 or lim > total else lim
        cdef cnp.ndarray px = _np.empty(k, dtype=_np.int64)
        cdef cnp.ndarray qty = _np.empty(k, dtype=_np.int64)
        cdef int64_t *pp = <int64_t *>cnp.PyArray_DATA(px)
        cdef int64_t *qq = <int64_t *>cnp.PyArray_DATA(qty)
        cdef sq_bk_it it
        cdef int64_t j = 0, p, q
        sq_bk_it_init(&it, self.bk, i)
        while j < k and sq_bk_it_next(&it, &p, &q):
            pp[j] = p
            qq[j] = q
            j += 1
        return px, qty

    def levels(self, side, n=None) -> list:
        """The best ``n`` levels (all if None) of book side ``side`` as ``(Price, Quantity)``, best first."""
        cdef int s = _side(side)
        px, qty = self._side_arrays(s - 1, _count_arg(n, "n"))
        return list(zip(_Price.from_raw_array(px, self.price_precision),
                        _Quantity.from_raw_array(qty, self.size_precision)))

    def imbalance(self, n_levels=1):
        """(bid qty - ask qty) / (bid qty + ask qty) over the best ``n_levels`` (>= 1) per side, a float in
        [-1, 1]; None if the book is empty."""
        cdef int64_t lim = _count_arg(n_levels, "n_levels")
        cdef long double b, a
        if lim == 0:
            raise _ValidationError("imbalance: n_levels must be >= 1")
        b = self._sum_top(0, lim)
        a = self._sum_top(1, lim)
        if b + a == 0:
            return None
        return <double>((b - a) / (b + a))

    cdef long double _sum_top(self, int i, int64_t lim):
        cdef sq_bk_it it
        cdef int64_t j = 0, p, q
        cdef long double total = 0
        sq_bk_it_init(&it, self.bk, i)
        while (lim < 0 or j < lim) and sq_bk_it_next(&it, &p, &q):
            total += q
            j += 1
        return total

    def qty_up_to_price(self, side, price_raw) -> int:
        """Total quantity on book side ``side`` at prices at least as good as ``price_raw`` (bids >= it,
        asks <= it), raw."""
        cdef int s = _side(side)
        return self._qty_to(s - 1, _i64(price_raw, "price_raw"))

    cdef int64_t _qty_to(self, int i, int64_t limit) except? -1:
        cdef sq_bk_it it
        cdef int64_t p, q, total = 0
        cdef int64_t d = self.bk.s[i].dir
        sq_bk_it_init(&it, self.bk, i)
        while sq_bk_it_next(&it, &p, &q):
            if (p < limit) if d < 0 else (p > limit):
                break
            if _add_overflow(total, q, &total):
                raise _FixedPointOverflowError("OrderBook: the summed quantity does not fit in int64")
        return total

    def qty_within_bps(self, side, bps) -> int:
        """Total quantity on book side ``side`` within ``bps`` basis points of that side's best price
        (bids >= best * (1 - bps/1e4), asks <= best * (1 + bps/1e4), exactly), raw; 0 if the side is empty.

        ``bps``: int, float, Decimal or Fraction, >= 0.
        """
        from fractions import Fraction

        cdef int s = _side(side)
        cdef sq_bk_side *sd = &self.bk.s[s - 1]
        if isinstance(bps, (bool, str, bytes)):
            raise _ValidationError(f"bps must be a number >= 0, got {bps!r}")
        try:
            f = Fraction(bps)
        except (TypeError, ValueError, OverflowError):
            raise _ValidationError(f"bps must be a finite number >= 0, got {bps!r}") from None
        if f < 0:
            raise _ValidationError(f"bps must be >= 0, got {bps!r}")
        if sd.nwin == 0:
            return 0
        best = sd.top_px
        delta = (f * abs(best)) // 10000
        limit = best - delta if s == 1 else best + delta
        limit = max(min(limit, INT64_MAX), INT64_MIN + 1)
        return self._qty_to(s - 1, limit)

    # ------------------------------------------------------------------------------------ fills

    cdef int _walk(self, int aggressor, int64_t want, int64_t *filled, int64_t *levels, int64_t *last_px,
                   long double *notional):
        """Consume the opposite side for ``want``; fills filled / levels / last price / sum(px * q)."""
        cdef sq_bk_it it
        cdef int64_t p, q, take, left = want
        cdef long double acc = 0
        sq_bk_it_init(&it, self.bk, 1 if aggressor == 1 else 0)
        levels[0] = 0
        last_px[0] = INT64_MIN
        while left > 0 and sq_bk_it_next(&it, &p, &q):
            take = q if q < left else left
            acc += <long double>p * <long double>take
            left -= take
            levels[0] += 1
            last_px[0] = p
        filled[0] = want - left
        notional[0] = acc
        return 0

    cdef object _avg(self, long double notional, int64_t filled):
        return <double>(notional / (<long double>filled * <long double>SQ_POW10[self.price_precision]))

    def avg_fill_price(self, side, qty_raw):
        """Average price (float, price units) a market order of ``qty_raw`` would pay; ``side`` is the
        **aggressor** side (1 buy: consumes asks; 2 sell: consumes bids). None if the book cannot fill it."""
        cdef int s = _side(side)
        cdef int64_t want = _positive_qty(qty_raw), filled, levels, last
        cdef long double notional
        self._walk(s, want, &filled, &levels, &last, &notional)
        if filled < want:
            return None
        return self._avg(notional, filled)

    def worst_fill_price(self, side, qty_raw):
        """The deepest price (:class:`Price`) a market order of ``qty_raw`` would reach; ``side`` is the
        **aggressor** side. None if the book cannot fill it."""
        cdef int s = _side(side)
        cdef int64_t want = _positive_qty(qty_raw), filled, levels, last
        cdef long double notional
        self._walk(s, want, &filled, &levels, &last, &notional)
        if filled < want:
            return None
        return _Price.from_raw(last, self.price_precision)

    def simulate_market_fill(self, aggressor_side, qty_raw) -> tuple:
        """What a market order of ``qty_raw`` on ``aggressor_side`` (1 buy, 2 sell) would get from the book
        as it stands: ``(levels_consumed, avg_price, filled_raw, remainder_raw)``. ``avg_price`` is a float
        in price units (None if nothing fills); a partial fill reports its remainder."""
        cdef int s = _side(aggressor_side, "aggressor_side")
        cdef int64_t want = _positive_qty(qty_raw), filled, levels, last
        cdef long double notional
        self._walk(s, want, &filled, &levels, &last, &notional)
        return (levels, self._avg(notional, filled) if filled else None, filled, want - filled)

    # ------------------------------------------------------------------------------------ introspection

    def memory_bytes(self) -> int:
        """Bytes of native memory the book holds (windows, bitmaps, blocks, directories, the core struct):
        at most 32 per live level plus a fixed ~6 KiB."""
        return sq_bk_bytes(self.bk)

    def _check_invariants(self) -> int:
        """Test hook: 0 if every internal invariant holds (including the memory budget), else its number."""
        return sq_bk_check(self.bk)

    def _layout(self) -> dict:
        """Test / benchmark hook: window ticks, levels in the window and the overflow, blocks, window levels whose
        quantity (>= 2**32 - 1) sits in the escape table, per side."""
        return {name: {"window_ticks": self.bk.s[i].W, "in_window": self.bk.s[i].nwin,
                       "in_overflow": self.bk.s[i].nov, "blocks": self.bk.s[i].nblk,
                       "escaped": self.bk.s[i].ecnt,
                       "bytes": sq_bk_side_bytes(&self.bk.s[i])}
                for i, name in ((0, "bids"), (1, "asks"))}

    cdef str _fmt(self, int64_t raw, int precision):
        return str(_Price.from_raw(raw, precision))

    def __repr__(self) -> str:
        head = (f"OrderBook(price_precision={self.price_precision}, size_precision={self.size_precision}, "
                f"tick_raw={self.tick_raw}): {self.bid_levels} bids, {self.ask_levels} asks")
        bp, bq, ap, aq = self.depth(_REPR_LEVELS)
        if not len(bp) and not len(ap):
            return head
        rows = [(f"ask {i + 1}", self._fmt(ap[i], self.price_precision), self._fmt(aq[i], self.size_precision))
                for i in range(len(ap) - 1, -1, -1)]
        rows += [(f"bid {i + 1}", self._fmt(bp[i], self.price_precision), self._fmt(bq[i], self.size_precision))
                 for i in range(len(bp))]
        wp = max(len(r[1]) for r in rows)
        wq = max(len(r[2]) for r in rows)
        return head + "".join(f"\n  {r[0]:<6} {r[1]:>{wp}}  {r[2]:>{wq}}" for r in rows)

    def _repr_html_(self) -> str:
        import html

        bp, bq, ap, aq = self.depth(_HTML_LEVELS)
        cells = []
        for i in range(max(len(bp), len(ap))):
            b = (self._fmt(bq[i], self.size_precision), self._fmt(bp[i], self.price_precision)) if i < len(bp) else ("", "")
            a = (self._fmt(ap[i], self.price_precision), self._fmt(aq[i], self.size_precision)) if i < len(ap) else ("", "")
            cells.append("<tr>" + "".join(f"<td style='text-align:right'>{html.escape(c)}</td>" for c in (*b, *a))
                         + "</tr>")
        return (f"<div><b>OrderBook</b> {self.bid_levels} bids, {self.ask_levels} asks "
                f"(price precision {self.price_precision}, size precision {self.size_precision}, "
                f"tick_raw {self.tick_raw})<table><thead><tr><th>bid qty</th><th>bid</th><th>ask</th>"
                f"<th>ask qty</th></tr></thead><tbody>{''.join(cells)}</tbody></table></div>")
