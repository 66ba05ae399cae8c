# cython: language_level=3
"""Declarations and argument helpers shared by the native modules (header-only: no module of its own).

- ``sq_event``: the 64-byte market-event record of ``sq_event.h`` (mirrored by EVENT_DTYPE).
- ``raw_i64``: a Python integer (int or NumPy integer) as a raw int64, else ValidationError.
- ``book_side``: 1 (bid / buy) or 2 (ask / sell), else ValidationError.
"""

from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t, INT64_MAX, INT64_MIN


cdef extern from "sq_event.h" nogil:
    ctypedef struct sq_event:
        int64_t ts_event
        int64_t ts_local
        int64_t price
        int64_t qty
        uint64_t order_id
        uint64_t seq
        int64_t aux
        uint32_t instrument_id
        uint8_t kind
        uint8_t side
        uint8_t flags
        uint8_t reserved
    const int SQ_EV_NONE, SQ_EV_LEVEL, SQ_EV_CLEAR, SQ_EV_ADD, SQ_EV_MODIFY, SQ_EV_CANCEL
    const int SQ_EV_FILL, SQ_EV_TRADE, SQ_EV_BBO, SQ_EV_MARK, SQ_EV_KIND_MAX
    const int SQ_SIDE_NONE, SQ_SIDE_BID, SQ_SIDE_ASK
    const int SQ_F_LAST, SQ_F_SNAPSHOT, SQ_F_TOB, SQ_F_MBP, SQ_F_BAD_TS


cdef inline int64_t _raw_i64_slow(object x, str what) except? -1:
    from shrivenquant.errors import ValidationError

    if isinstance(x, bool) or not (isinstance(x, int) or hasattr(type(x), "__index__")):
        raise ValidationError(f"{what} must be an int (raw int64), got {type(x).__name__}")
    x = x.__index__()
    if x > INT64_MAX or x < INT64_MIN:
        raise ValidationError(f"{what} {x} does not fit in int64: expected a raw int64")
    return <int64_t>x


cdef inline int64_t raw_i64(object x, str what) except? -1:
    cdef int overflow = 0
    cdef long long v
    if type(x) is int:
        v = PyLong_AsLongLongAndOverflow(x, &overflow)
        if overflow == 0:
            return v
    return _raw_i64_slow(x, what)


cdef inline int book_side(object side, str what="side") except -1:
    cdef int overflow = 0
    cdef long long v = 0
    if type(side) is int:
        v = PyLong_AsLongLongAndOverflow(side, &overflow)
        if overflow == 0 and (v == 1 or v == 2):
            return <int>v
    elif not isinstance(side, bool) and hasattr(type(side), "__index__"):  # NumPy integers
        s = side.__index__()
        if s == 1 or s == 2:
            return <int>s
    from shrivenquant.errors import ValidationError

    raise ValidationError(f"{what} must be 1 (bid / buy) or 2 (ask / sell), got {side!r}")
