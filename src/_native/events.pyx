# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: binding=True, embedsignature=True, autotestdict=False
"""Native view of the 64-byte market-event record (``sq_event`` in ``sq_event.h``).

Exports the record's C layout and the kind/side/flag constants so that the NumPy mirror
(:data:`shrivenquant.core.events.EVENT_DTYPE`) can be checked against the compiler's view.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

from sq_common cimport (
    SQ_EV_ADD, SQ_EV_BBO, SQ_EV_CANCEL, SQ_EV_CLEAR, SQ_EV_FILL, SQ_EV_KIND_MAX, SQ_EV_LEVEL, SQ_EV_MARK,
    SQ_EV_MODIFY, SQ_EV_NONE, SQ_EV_TRADE, SQ_F_BAD_TS, SQ_F_LAST, SQ_F_MBP, SQ_F_SNAPSHOT, SQ_F_TOB,
    SQ_SIDE_ASK, SQ_SIDE_BID, SQ_SIDE_NONE, sq_event,
)


def record_layout() -> dict:
    """The C layout of ``sq_event``: ``{"itemsize": n, "fields": {name: (offset, size)}}``."""
    cdef sq_event e
    return {
        "itemsize": sizeof(sq_event),
        "fields": {
            "ts_event": (<char*>&e.ts_event - <char*>&e, sizeof(e.ts_event)),
            "ts_local": (<char*>&e.ts_local - <char*>&e, sizeof(e.ts_local)),
            "price": (<char*>&e.price - <char*>&e, sizeof(e.price)),
            "qty": (<char*>&e.qty - <char*>&e, sizeof(e.qty)),
            "order_id": (<char*>&e.order_id - <char*>&e, sizeof(e.order_id)),
            "seq": (<char*>&e.seq - <char*>&e, sizeof(e.seq)),
            "aux": (<char*>&e.aux - <char*>&e, sizeof(e.aux)),
            "instrument_id": (<char*>&e.instrument_id - <char*>&e, sizeof(e.instrument_id)),
            "kind": (<char*>&e.kind - <char*>&e, sizeof(e.kind)),
            "side": (<char*>&e.side - <char*>&e, sizeof(e.side)),
            "flags": (<char*>&e.flags - <char*>&e, sizeof(e.flags)),
            "reserved": (<char*>&e.reserved - <char*>&e, sizeof(e.reserved)),
        },
    }


def record_constants() -> dict:
    """The kind, side and flag constants of ``sq_event.h`` by name."""
    return {
        "EV_NONE": SQ_EV_NONE, "EV_LEVEL": SQ_EV_LEVEL, "EV_CLEAR": SQ_EV_CLEAR, "EV_ADD": SQ_EV_ADD,
        "EV_MODIFY": SQ_EV_MODIFY, "EV_CANCEL": SQ_EV_CANCEL, "EV_FILL": SQ_EV_FILL,
        "EV_TRADE": SQ_EV_TRADE, "EV_BBO": SQ_EV_BBO, "EV_MARK": SQ_EV_MARK, "EV_KIND_MAX": SQ_EV_KIND_MAX,
        "SIDE_NONE": SQ_SIDE_NONE, "SIDE_BID": SQ_SIDE_BID, "SIDE_ASK": SQ_SIDE_ASK,
        "F_LAST": SQ_F_LAST, "F_SNAPSHOT": SQ_F_SNAPSHOT, "F_TOB": SQ_F_TOB, "F_MBP": SQ_F_MBP,
        "F_BAD_TS": SQ_F_BAD_TS,
    }


def count_kinds(const unsigned char[::1] records not None) -> list:
    """Counts of records per kind (index = kind) over a contiguous event array's bytes, in one pass.

    ``records`` is the ``uint8`` view of an EVENT_DTYPE array (``arr.view(np.uint8)``).
    """
    cdef Py_ssize_t n = records.shape[0] // sizeof(sq_event)
    cdef Py_ssize_t i
    cdef const sq_event *ev
    cdef Py_ssize_t counts[16]
    cdef int k
    if records.shape[0] % sizeof(sq_event) != 0:
        raise ValueError(f"buffer of {records.shape[0]} bytes is not a whole number of {sizeof(sq_event)}-byte records")
    for k in range(16):
        counts[k] = 0
    if n:
        ev = <const sq_event *>&records[0]
        with nogil:
            for i in range(n):
                k = ev[i].kind
                counts[k if k < 16 else 15] += 1
    return [counts[k] for k in range(SQ_EV_KIND_MAX + 1)]
