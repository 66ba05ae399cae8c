# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=True, embedsignature=True, autotestdict=False
"""Native L3 (market-by-order) order book: :class:`OrderBookL3`.

Every resting order is kept, by id, in FIFO queues per price level. Prices and quantities are raw int64
at the book's ``price_precision`` / ``size_precision`` (value = raw / 10**precision); the empty-side
marker of the raw properties is ``RAW_NULL`` (INT64_MIN). The core is C (``sq_book_l3.h``): an
open-addressing hash map from order id to a slot in a pooled array of order structs, intrusive doubly
linked FIFO lists per level, and per side a hash map from price to level plus a sorted array of levels
with the best at its end. Pools and tables grow geometrically, so a steady-state event allocates nothing.
"""

cimport cython
cimport numpy as cnp
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.exc cimport PyErr_Occurred, PyErr_Clear
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t, INT64_MIN, INT64_MAX

from sq_common cimport sq_event, raw_i64 as _i64, book_side as _side

import numpy as _np

from shrivenquant._native.fixed import Price as _Price, Quantity as _Quantity
from shrivenquant.errors import (
    BookError as _BookError,
    FixedPointOverflowError as _FixedPointOverflowError,
    ValidationError as _ValidationError,
)

cnp.import_array()

cdef extern from "Python.h":
    unsigned long long PyLong_AsUnsignedLongLong(object o)

cdef extern from *:
    bint _sub_overflow "__builtin_sub_overflow"(int64_t a, int64_t b, int64_t *r) nogil

cdef extern from "sq_book_l3.h" nogil:
    const int64_t NULL_RAW "SQ_L3_NULL"
    const int SQ_L3_OK, SQ_L3_ERR_UNKNOWN, SQ_L3_ERR_DUPLICATE, SQ_L3_ERR_QTY, SQ_L3_ERR_OVERFILL
    const int SQ_L3_ERR_SIDE, SQ_L3_ERR_PRICE, SQ_L3_ERR_NOMEM, SQ_L3_ERR_OVERFLOW
    ctypedef struct sq_l3_order:
        uint64_t id
        int64_t qty
        int32_t prev, next, level
    ctypedef struct sq_l3_level:
        int64_t price
        int64_t qty
        int32_t count, head, tail, side
    ctypedef struct sq_l3_side:
        int64_t *key
        int32_t *lv
        int32_t n, cap
    ctypedef struct sq_l3_book:
        sq_l3_order *orders
        sq_l3_level *levels
        int32_t live
        sq_l3_side sides[3]
    ctypedef struct sq_l3_counts:
        int64_t applied, unknown, duplicate, overfill
    int sq_l3_init(sq_l3_book *b)
    void sq_l3_free(sq_l3_book *b)
    int sq_l3_copy(sq_l3_book *dst, const sq_l3_book *src)
    void sq_l3_clear_all(sq_l3_book *b)
    void sq_l3_clear_side(sq_l3_book *b, int side)
    int32_t sq_l3_clear_level(sq_l3_book *b, int side, int64_t price)
    int32_t sq_l3_find(const sq_l3_book *b, uint64_t id)
    int32_t sq_l3_level_at(const sq_l3_book *b, int side, int64_t price)
    int sq_l3_add(sq_l3_book *b, uint64_t id, int side, int64_t price, int64_t qty)
    int sq_l3_reduce(sq_l3_book *b, uint64_t id, int64_t qty, int allow_null, int clamp)
    int sq_l3_modify(sq_l3_book *b, uint64_t id, int64_t price, int64_t qty)
    int sq_l3_apply(sq_l3_book *b, const sq_event *ev, int64_t n, int strict, sq_l3_counts *c,
                    int64_t *err_index)

cdef object _EVENT_DTYPE = None
cdef object _KIND_NAMES = {3: "ADD", 4: "MODIFY", 5: "CANCEL", 6: "FILL", 2: "CLEAR"}
cdef object _OPS = {3: "add", 4: "modify", 5: "cancel", 6: "execute", 2: "clear"}


cdef object _event_dtype():
    global _EVENT_DTYPE
    if _EVENT_DTYPE is None:
        from shrivenquant.core.events import EVENT_DTYPE
        _EVENT_DTYPE = EVENT_DTYPE
    return _EVENT_DTYPE


# ---------------------------------------------------------------------- argument conversion

cdef uint64_t _oid_slow(object x) except? 0xFFFFFFFFFFFFFFFF:
    if isinstance(x, bool) or not isinstance(x, int):
        if not hasattr(type(x), "__index__") or isinstance(x, bool):
            raise _ValidationError(f"order_id must be an int, got {type(x).__name__}")
        x = x.__index__()
    if x < 0 or x > 0xFFFFFFFFFFFFFFFF:
        raise _ValidationError(f"order_id {x} out of range: expected 0 <= order_id < 2**64")
    return <uint64_t>x


cdef inline uint64_t _oid(object x) except? 0xFFFFFFFFFFFFFFFF:
    cdef unsigned long long v
    if type(x) is int:
        v = PyLong_AsUnsignedLongLong(x)
        if v != 0xFFFFFFFFFFFFFFFF or PyErr_Occurred() == NULL:
            return v
        PyErr_Clear()
    return _oid_slow(x)


cdef inline int _precision(object p, str what) except -1:
    if isinstance(p, bool) or not isinstance(p, int) or p < 0 or p > 18:
        raise _ValidationError(f"{what} must be an int from 0 to 18, got {p!r}")
    return <int>p


cdef inline object _n_arg(object n):
    if n is None:
        return None
    if not isinstance(n, bool) and hasattr(type(n), "__index__"):
        n = n.__index__()
        if n >= 0:
            return n
    raise _ValidationError(f"n must be a non-negative int or None, got {n!r}")


# ---------------------------------------------------------------------- the book

@cython.final
@cython.auto_pickle(False)
cdef class OrderBookL3:
    """An L3 (market-by-order) book: resting orders by id in FIFO queues per price level.

    Args:
        price_precision: decimals of raw prices (0..18): price = raw / 10**price_precision.
        size_precision: decimals of raw quantities (0..18).
        strict: the gap policy. ``True`` (default): an unknown order id, a duplicate add or an execute /
            cancel of more than the resting size raises :class:`~shrivenquant.errors.BookError` (in
            :meth:`apply_events`, naming the record index; records before it stay applied, it is not).
            ``False``: those are counted in :meth:`gap_counts` instead: unknown ids and duplicate adds
            are skipped, over-fills remove the whole order. Malformed input (bad side, missing price,
            zero or negative size) raises in both modes.

    Updates: :meth:`add`, :meth:`modify` (same price and smaller size keeps queue priority; a price
    change or a larger size goes to the back of the level), :meth:`cancel` (whole or partial),
    :meth:`execute` (partial or full), :meth:`clear`, and :meth:`apply_events` over an
    :data:`~shrivenquant.core.events.EVENT_DTYPE` array in one native call. Costs: finding an order
    or an existing level is O(1) (hash maps); an add, cancel, execute or modify that neither creates nor
    empties a level is O(1); creating or emptying a level k places from the best is O(log L + k) for L
    levels on its side. Queries: top of book O(1), :meth:`queue_position` O(orders ahead), depth O(n).
    """

    cdef sq_l3_book b
    cdef readonly int price_precision
    """Decimals of raw prices."""
    cdef readonly int size_precision
    """Decimals of raw quantities."""
    cdef readonly bint strict
    """The gap policy: True raises on unknown ids / duplicates / over-fills, False counts them."""
    cdef int64_t n_unknown, n_duplicate, n_overfill
    cdef bint ready

    def __cinit__(self, *args, **kwargs):
        if sq_l3_init(&self.b) != SQ_L3_OK:
            raise MemoryError("OrderBookL3: out of memory")
        self.ready = True

    def __init__(self, price_precision: int, size_precision: int, strict: bool = True) -> None:
        self.price_precision = _precision(price_precision, "price_precision")
        self.size_precision = _precision(size_precision, "size_precision")
        self.strict = bool(strict)

    def __dealloc__(self):
        if self.ready:
            sq_l3_free(&self.b)

    # ------------------------------------------------------------------ errors

    cdef int _fail(self, int st, uint64_t oid, int64_t qty, str op, object where) except -1:
        """Raise for status st (where: '' or ' at record i (KIND)')."""
        cdef int32_t o
        if st == SQ_L3_ERR_NOMEM:
            raise MemoryError(f"OrderBookL3: out of memory{where}")
        if st == SQ_L3_ERR_OVERFLOW:
            raise _FixedPointOverflowError(
                f"{op} of order {oid}{where}: a level's total quantity would not fit in int64")
        if st == SQ_L3_ERR_UNKNOWN:
            msg = f"{op}{where}: unknown order id {oid} (no resting order with this id)"
        elif st == SQ_L3_ERR_DUPLICATE:
            msg = f"add{where}: order id {oid} is already resting (duplicate add)"
        elif st == SQ_L3_ERR_QTY:
            shown = "RAW_NULL (missing)" if qty == NULL_RAW else str(qty)
            msg = f"{op} of order {oid}{where}: quantity must be > 0 (raw), got {shown}"
        elif st == SQ_L3_ERR_OVERFILL:
            o = sq_l3_find(&self.b, oid)
            rest = self.b.orders[o].qty if o >= 0 else "less"
            msg = f"{op} of order {oid}{where}: {qty} (raw) is more than its resting quantity {rest}"
        elif st == SQ_L3_ERR_SIDE:
            msg = f"{op}{where}: side must be 1 (bid) or 2 (ask)" + (" or 0 (both)" if op == "clear" else "")
        elif st == SQ_L3_ERR_PRICE:
            msg = f"{op} of order {oid}{where}: price is missing (RAW_NULL)"
        else:
            msg = f"{op} of order {oid}{where}: failed with status {st}"
        raise _BookError(msg, index=None, order_id=oid)

    cdef inline int _gap(self, int st, uint64_t oid, int64_t qty, str op) except -1:
        """Per-event status: OK, a counted gap (lenient), or raise."""
        if st == SQ_L3_OK:
            return 0
        if not self.strict:
            if st == SQ_L3_ERR_UNKNOWN:
                self.n_unknown += 1
                return 0
            if st == SQ_L3_ERR_DUPLICATE:
                self.n_duplicate += 1
                return 0
            if st == SQ_L3_ERR_OVERFILL:
                self.n_overfill += 1
                return 0
        return self._fail(st, oid, qty, op, "")

    # ------------------------------------------------------------------ per-event updates

    def add(self, order_id, side, price_raw, qty_raw) -> None:
        """Add order ``order_id`` on ``side`` (1 bid, 2 ask) at ``price_raw`` for ``qty_raw`` (> 0), at the
        back of its level's queue."""
        cdef uint64_t oid = _oid(order_id)
        cdef int64_t qty = _i64(qty_raw, "qty_raw")
        cdef int st = sq_l3_add(&self.b, oid, _side(side), _i64(price_raw, "price_raw"), qty)
        if st != SQ_L3_OK:
            self._gap(st, oid, qty, "add")

    def modify(self, order_id, price_raw, qty_raw) -> None:
        """Change order ``order_id`` to ``price_raw`` / ``qty_raw`` (> 0). The same price with a smaller (or
        equal) size keeps its queue position; a new price or a larger size goes to the back of the level."""
        cdef uint64_t oid = _oid(order_id)
        cdef int64_t qty = _i64(qty_raw, "qty_raw")
        cdef int st = sq_l3_modify(&self.b, oid, _i64(price_raw, "price_raw"), qty)
        if st != SQ_L3_OK:
            self._gap(st, oid, qty, "modify")

    def cancel(self, order_id, qty_raw=None) -> None:
        """Cancel order ``order_id``: all of it (``qty_raw`` None), or ``qty_raw`` of it (a partial cancel
        keeps queue priority; cancelling exactly the resting size removes the order)."""
        cdef uint64_t oid = _oid(order_id)
        cdef int64_t qty = NULL_RAW if qty_raw is None else _i64(qty_raw, "qty_raw")
        cdef int st
        if qty == NULL_RAW and qty_raw is not None:
            st = SQ_L3_ERR_QTY
        else:
            st = sq_l3_reduce(&self.b, oid, qty, 1, not self.strict)
        if st != SQ_L3_OK:
            self._gap(st, oid, qty, "cancel")

    def execute(self, order_id, qty_raw) -> None:
        """Execute ``qty_raw`` (> 0) of resting order ``order_id``: partial (keeps priority) or full
        (removes it). More than the resting size raises (strict) or removes the order (lenient)."""
        cdef uint64_t oid = _oid(order_id)
        cdef int64_t qty = _i64(qty_raw, "qty_raw")
        cdef int st = sq_l3_reduce(&self.b, oid, qty, 0, not self.strict)
        if st != SQ_L3_OK:
            self._gap(st, oid, qty, "execute")

    def apply_events(self, records) -> int:
        """Apply an :data:`~shrivenquant.core.events.EVENT_DTYPE` array in one native call; returns the
        number of records that changed the book.

        Kinds: ``ADD`` (order_id, side, price, qty), ``MODIFY`` (order_id, price, qty; side ignored),
        ``CANCEL`` (order_id; qty = size removed, RAW_NULL = the whole order), ``FILL`` (order_id, qty
        executed), ``CLEAR`` (side 0 both, 1 bids, 2 asks); other kinds are ignored. Records of every
        ``instrument_id`` are applied: select one instrument's records first. Gaps follow the book's
        ``strict`` policy; a strict failure raises :class:`~shrivenquant.errors.BookError` with
        ``index`` = the failing record (earlier records stay applied, it does not).
        """
        cdef cnp.ndarray arr
        cdef sq_l3_counts c
        cdef int64_t err_index = -1
        cdef int st
        cdef const sq_event *ev
        if not isinstance(records, cnp.ndarray):
            raise _ValidationError(f"records must be an EVENT_DTYPE ndarray, got {type(records).__name__}")
        arr = <cnp.ndarray>records
        if arr.dtype is not _event_dtype() and arr.dtype != _event_dtype():
            raise _ValidationError(f"records must have EVENT_DTYPE, got dtype {arr.dtype}")
        if arr.ndim != 1:
            raise _ValidationError(f"records must be 1-dimensional, got {arr.ndim} dimensions")
        if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
            arr = _np.ascontiguousarray(arr)
        c.applied = 0
        c.unknown = 0
        c.duplicate = 0
        c.overfill = 0
        ev = <const sq_event *>cnp.PyArray_DATA(arr)
        st = sq_l3_apply(&self.b, ev, cnp.PyArray_DIM(arr, 0), self.strict, &c, &err_index)
        self.n_unknown += c.unknown
        self.n_duplicate += c.duplicate
        self.n_overfill += c.overfill
        if st != SQ_L3_OK:
            self._fail_record(st, &ev[err_index], err_index)
        return c.applied

    cdef int _fail_record(self, int st, const sq_event *e, int64_t i) except -1:
        kind = _KIND_NAMES.get(e.kind, str(e.kind))
        try:
            self._fail(st, e.order_id, e.qty, _OPS.get(e.kind, "apply"), f" at record {i} ({kind})")
        except _BookError as exc:
            exc.index = i
            raise
        return 0

    def clear(self, side=0) -> None:
        """Remove every order (``side`` 0), or every bid (1) or ask (2). :meth:`gap_counts` are kept."""
        cdef int s
        try:
            s = side
        except (TypeError, OverflowError):
            s = -1
        if s == 0:
            sq_l3_clear_all(&self.b)
        elif s == 1 or s == 2:
            sq_l3_clear_side(&self.b, s)
        else:
            raise _ValidationError(f"side must be 0 (both), 1 (bid) or 2 (ask), got {side!r}")

    def clear_level(self, side, price_raw) -> int:
        """Remove every order at (``side``, ``price_raw``); returns how many were removed."""
        return sq_l3_clear_level(&self.b, _side(side), _i64(price_raw, "price_raw"))

    def gap_counts(self) -> dict:
        """Gaps absorbed by a lenient book since it was made: ``{"unknown": n, "duplicate": n,
        "overfill": n}`` (unknown ids and duplicate adds skipped, over-fills clamped; zeros when strict)."""
        return {"unknown": self.n_unknown, "duplicate": self.n_duplicate, "overfill": self.n_overfill}

    def copy(self) -> OrderBookL3:
        """An independent deep copy (orders, queues, gap counts, policy)."""
        cdef OrderBookL3 out = OrderBookL3.__new__(OrderBookL3)
        sq_l3_free(&out.b)
        out.ready = False
        if sq_l3_copy(&out.b, &self.b) != SQ_L3_OK:
            raise MemoryError("OrderBookL3.copy: out of memory")
        out.ready = True
        out.price_precision = self.price_precision
        out.size_precision = self.size_precision
        out.strict = self.strict
        out.n_unknown = self.n_unknown
        out.n_duplicate = self.n_duplicate
        out.n_overfill = self.n_overfill
        return out

    def __copy__(self) -> OrderBookL3:
        return self.copy()

    def __deepcopy__(self, memo: dict) -> OrderBookL3:
        return self.copy()

    # ------------------------------------------------------------------ orders

    def __len__(self) -> int:
        return self.b.live

    def __contains__(self, order_id) -> bool:
        cdef uint64_t oid
        try:
            oid = _oid(order_id)
        except _ValidationError:
            return False
        return sq_l3_find(&self.b, oid) >= 0

    def order(self, order_id) -> tuple | None:
        """``(side, price_raw, qty_raw)`` of resting order ``order_id``, or None."""
        cdef int32_t o = sq_l3_find(&self.b, _oid(order_id))
        if o < 0:
            return None
        cdef sq_l3_order *od = &self.b.orders[o]
        cdef sq_l3_level *lv = &self.b.levels[od.level]
        return (lv.side, lv.price, od.qty)

    def queue_position(self, order_id) -> tuple:
        """``(qty_ahead_raw, orders_ahead)``: the quantity and number of orders ahead of ``order_id`` in its
        level's queue (O(orders ahead)). Raises :class:`~shrivenquant.errors.BookError` if unknown."""
        cdef uint64_t oid = _oid(order_id)
        cdef int32_t o = sq_l3_find(&self.b, oid)
        cdef int64_t ahead = 0
        cdef int64_t n = 0
        cdef int32_t cur
        if o < 0:
            raise _BookError(f"queue_position: unknown order id {oid}", order_id=oid)
        cur = self.b.orders[o].prev
        while cur >= 0:
            ahead += self.b.orders[cur].qty
            n += 1
            cur = self.b.orders[cur].prev
        return (ahead, n)

    def qty_at(self, side, price_raw) -> int:
        """Total quantity resting at exactly ``price_raw`` on ``side`` (1 bids, 2 asks); 0 if no level."""
        cdef int32_t l = sq_l3_level_at(&self.b, _side(side), _i64(price_raw, "price_raw"))
        return self.b.levels[l].qty if l >= 0 else 0

    def level(self, side, price_raw) -> tuple:
        """``(qty_raw, order_count)`` at (``side``, ``price_raw``); ``(0, 0)`` if no order rests there."""
        cdef int32_t l = sq_l3_level_at(&self.b, _side(side), _i64(price_raw, "price_raw"))
        if l < 0:
            return (0, 0)
        return (self.b.levels[l].qty, self.b.levels[l].count)

    def level_orders(self, side, price_raw) -> tuple:
        """``(order_ids, qtys_raw)`` at (``side``, ``price_raw``) in queue order (first = next to fill), as
        uint64 / int64 arrays (empty if no order rests there)."""
        cdef int32_t l = sq_l3_level_at(&self.b, _side(side), _i64(price_raw, "price_raw"))
        cdef int32_t n = self.b.levels[l].count if l >= 0 else 0
        ids = _np.empty(n, dtype=_np.uint64)
        qtys = _np.empty(n, dtype=_np.int64)
        cdef uint64_t[::1] vi = ids
        cdef int64_t[::1] vq = qtys
        cdef int32_t cur = self.b.levels[l].head if l >= 0 else -1
        cdef int32_t i = 0
        while cur >= 0:
            vi[i] = self.b.orders[cur].id
            vq[i] = self.b.orders[cur].qty
            i += 1
            cur = self.b.orders[cur].next
        return (ids, qtys)

    # ------------------------------------------------------------------ top of book

    cdef inline int32_t _best(self, int side):
        cdef sq_l3_side *s = &self.b.sides[side]
        return s.lv[s.n - 1] if s.n else -1

    @property
    def best_bid_price_raw(self) -> int:
        """Best bid price, raw (RAW_NULL if no bids)."""
        cdef int32_t l = self._best(1)
        return self.b.levels[l].price if l >= 0 else NULL_RAW

    @property
    def best_ask_price_raw(self) -> int:
        """Best ask price, raw (RAW_NULL if no asks)."""
        cdef int32_t l = self._best(2)
        return self.b.levels[l].price if l >= 0 else NULL_RAW

    @property
    def best_bid_qty_raw(self) -> int:
        """Total quantity at the best bid, raw (RAW_NULL if no bids)."""
        cdef int32_t l = self._best(1)
        return self.b.levels[l].qty if l >= 0 else NULL_RAW

    @property
    def best_ask_qty_raw(self) -> int:
        """Total quantity at the best ask, raw (RAW_NULL if no asks)."""
        cdef int32_t l = self._best(2)
        return self.b.levels[l].qty if l >= 0 else NULL_RAW

    @property
    def best_bid_count(self) -> int:
        """Number of orders at the best bid (0 if no bids)."""
        cdef int32_t l = self._best(1)
        return self.b.levels[l].count if l >= 0 else 0

    @property
    def best_ask_count(self) -> int:
        """Number of orders at the best ask (0 if no asks)."""
        cdef int32_t l = self._best(2)
        return self.b.levels[l].count if l >= 0 else 0

    @property
    def bid_levels(self) -> int:
        """Number of bid price levels."""
        return self.b.sides[1].n

    @property
    def ask_levels(self) -> int:
        """Number of ask price levels."""
        return self.b.sides[2].n

    cdef object _top(self, int side):
        cdef int32_t l = self._best(side)
        if l < 0:
            return None
        return (_Price.from_raw(self.b.levels[l].price, self.price_precision),
                _Quantity.from_raw(self.b.levels[l].qty, self.size_precision))

    def best_bid(self) -> tuple | None:
        """``(Price, Quantity)`` of the best bid, or None if there are no bids."""
        return self._top(1)

    def best_ask(self) -> tuple | None:
        """``(Price, Quantity)`` of the best ask, or None if there are no asks."""
        return self._top(2)

    def top_raw(self) -> tuple:
        """``(best_bid_price, best_bid_qty, best_ask_price, best_ask_qty)``, raw (RAW_NULL for an empty side)."""
        cdef int32_t b = self._best(1)
        cdef int32_t a = self._best(2)
        return (self.b.levels[b].price if b >= 0 else NULL_RAW, self.b.levels[b].qty if b >= 0 else NULL_RAW,
                self.b.levels[a].price if a >= 0 else NULL_RAW, self.b.levels[a].qty if a >= 0 else NULL_RAW)

    @property
    def spread_raw(self) -> int:
        """Best ask - best bid, raw (negative when crossed); RAW_NULL if a side is empty."""
        cdef int32_t b = self._best(1)
        cdef int32_t a = self._best(2)
        cdef int64_t d
        if a < 0 or b < 0:
            return NULL_RAW
        if _sub_overflow(self.b.levels[a].price, self.b.levels[b].price, &d) or d == NULL_RAW:
            raise _FixedPointOverflowError("OrderBookL3.spread_raw: the spread does not fit in int64")
        return d

    @property
    def mid(self):
        """(best bid + best ask) / 2 as an exact :class:`~shrivenquant.Price` at ``price_precision + 1`` (a
        half-tick mid ends in 5; a book at precision 18 rounds half-even at 18); None if a side is empty."""
        cdef int32_t b = self._best(1)
        cdef int32_t a = self._best(2)
        if a < 0 or b < 0:
            return None
        total = <object>self.b.levels[a].price + <object>self.b.levels[b].price  # Python ints: exact
        if self.price_precision < 18:
            return _Price.from_raw(total * 5, self.price_precision + 1)
        q, r = divmod(total, 2)
        if r and q % 2:
            q += 1
        return _Price.from_raw(q, self.price_precision)

    @property
    def is_crossed(self) -> bool:
        """True if best bid > best ask (both sides present)."""
        cdef int32_t b = self._best(1)
        cdef int32_t a = self._best(2)
        return a >= 0 and b >= 0 and self.b.levels[b].price > self.b.levels[a].price

    @property
    def is_locked(self) -> bool:
        """True if best bid == best ask (both sides present)."""
        cdef int32_t b = self._best(1)
        cdef int32_t a = self._best(2)
        return a >= 0 and b >= 0 and self.b.levels[b].price == self.b.levels[a].price

    # ------------------------------------------------------------------ depth

    cdef object _side_arrays(self, int side, object n, bint counts):
        cdef sq_l3_side *s = &self.b.sides[side]
        cdef int32_t m = s.n if n is None or n > s.n else <int32_t>n
        px = _np.empty(m, dtype=_np.int64)
        qty = _np.empty(m, dtype=_np.int64)
        cnt = _np.empty(m if counts else 0, dtype=_np.int64)
        cdef int64_t[::1] vp = px
        cdef int64_t[::1] vq = qty
        cdef int64_t[::1] vc = cnt
        cdef int32_t i
        cdef sq_l3_level *lv
        for i in range(m):
            lv = &self.b.levels[s.lv[s.n - 1 - i]]
            vp[i] = lv.price
            vq[i] = lv.qty
            if counts:
                vc[i] = lv.count
        return (px, qty, cnt) if counts else (px, qty)

    def depth(self, n=None) -> tuple:
        """The top ``n`` levels per side (all if None), best first, as six int64 arrays:
        ``(bid_prices, bid_qtys, bid_counts, ask_prices, ask_qtys, ask_counts)`` (raw; counts = orders)."""
        n = _n_arg(n)
        return self._side_arrays(1, n, True) + self._side_arrays(2, n, True)

    def to_l2(self, n=None) -> tuple:
        """The L2 view: ``(bid_prices, bid_qtys, ask_prices, ask_qtys)``, int64 raw arrays best first (top
        ``n`` levels per side, all if None)."""
        n = _n_arg(n)
        return self._side_arrays(1, n, False) + self._side_arrays(2, n, False)

    def to_l2_events(self, n=None, *, ts_event=0, ts_local=0, instrument_id=0):
        """The L2 view as an :data:`~shrivenquant.core.events.EVENT_DTYPE` snapshot that loads an L2 book
        through its ``apply_events``: one ``CLEAR`` (side 0) then a ``LEVEL`` per bid then per ask, best
        first, ``aux`` = the level's order count, flags ``SNAPSHOT|MBP`` and ``LAST`` on the final record."""
        bp, bq, bc, ap, aq, ac = self.depth(n)
        nb = bp.shape[0]
        out = _np.zeros(1 + nb + ap.shape[0], dtype=_event_dtype())
        out["ts_event"] = ts_event
        out["ts_local"] = ts_local
        out["instrument_id"] = instrument_id
        out["flags"] = 2 | 8
        out["kind"] = 1
        out["price"][0] = NULL_RAW
        out["qty"][0] = NULL_RAW
        out["kind"][0] = 2
        out["side"][1:1 + nb] = 1
        out["side"][1 + nb:] = 2
        out["price"][1:] = _np.concatenate((bp, ap))
        out["qty"][1:] = _np.concatenate((bq, aq))
        out["aux"][1:] = _np.concatenate((bc, ac))
        out["flags"][len(out) - 1] |= 1
        return out

    def levels(self, side, n=None) -> list:
        """The top ``n`` levels of ``side`` (all if None), best first, as ``(Price, Quantity, order_count)``."""
        cdef int sd = _side(side)
        n = _n_arg(n)
        cdef sq_l3_side *s = &self.b.sides[sd]
        cdef int32_t m = s.n if n is None or n > s.n else <int32_t>n
        cdef int32_t i
        cdef sq_l3_level *lv
        out = []
        for i in range(m):
            lv = &self.b.levels[s.lv[s.n - 1 - i]]
            out.append((_Price.from_raw(lv.price, self.price_precision),
                        _Quantity.from_raw(lv.qty, self.size_precision), lv.count))
        return out

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        bb, ba = self.best_bid(), self.best_ask()
        bid = f"{bb[0]} x {bb[1]} ({self.best_bid_count})" if bb is not None else "-"
        ask = f"{ba[0]} x {ba[1]} ({self.best_ask_count})" if ba is not None else "-"
        return (f"OrderBookL3(orders={self.b.live}, levels={self.b.sides[1].n}/{self.b.sides[2].n}, "
                f"bid={bid}, ask={ask}{', crossed' if self.is_crossed else ''})")

    def _repr_html_(self) -> str:
        rows = []
        bids = self.levels(1, 10)
        asks = self.levels(2, 10)
        for i in range(max(len(bids), len(asks))):
            b = bids[i] if i < len(bids) else ("", "", "")
            a = asks[i] if i < len(asks) else ("", "", "")
            rows.append(f"<tr><td>{b[2]}</td><td>{b[1]}</td><td>{b[0]}</td>"
                        f"<td>{a[0]}</td><td>{a[1]}</td><td>{a[2]}</td></tr>")
        head = ("<tr><th>orders</th><th>bid qty</th><th>bid</th><th>ask</th><th>ask qty</th>"
                "<th>orders</th></tr>")
        return (f"<div><b>OrderBookL3</b>: {self.b.live} orders, {self.b.sides[1].n} bid / "
                f"{self.b.sides[2].n} ask levels{' (crossed)' if self.is_crossed else ''}"
                f"<table>{head}{''.join(rows)}</table></div>")
