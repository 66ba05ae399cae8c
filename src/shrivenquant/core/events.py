"""The market-event record as a NumPy structured dtype, mirroring ``sq_event`` in ``src/_native/sq_event.h``.

One 64-byte record per book change, trade, top-of-book update or mark price: the common currency of the
book's batch API, the WAL, recordings and the backtester. Prices and quantities are raw int64 at the
instrument's price and size precision (:data:`RAW_NULL` where absent); timestamps are ns since the Unix
epoch, UTC. Byte layout: ``docs/event-record.md``.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

import numpy as np

from shrivenquant._native.fixed import RAW_NULL

__all__ = [
    "EVENT_DTYPE",
    "EVENT_FIELDS",
    "RAW_NULL",
    "EventFlag",
    "EventKind",
    "empty_events",
]


class EventKind(IntEnum):
    """What a record says (``kind`` field)."""

    NONE = 0
    LEVEL = 1  # L2: set level `price` on `side` to `qty` (0 deletes)
    CLEAR = 2  # clear the book (side NONE) or one side
    ADD = 3  # L3: add order `order_id`
    MODIFY = 4  # L3: change order `order_id` to `price` / `qty`
    CANCEL = 5  # L3: remove order `order_id`
    FILL = 6  # L3: resting order `order_id` executed for `qty` at `price`
    TRADE = 7  # public trade print; side = aggressor
    BBO = 8  # top of book for one side
    MARK = 9  # mark / index price


class EventFlag(IntFlag):
    """Bits of the ``flags`` field."""

    NONE = 0
    LAST = 1  # last record of a venue message: the book is consistent after it
    SNAPSHOT = 2  # part of a snapshot
    TOB = 4  # top-of-book only data
    MBP = 8  # market-by-price (L2) data
    BAD_TS = 16  # ts_event missing or not from the venue


#: (name, numpy type, byte offset) in C struct order.
EVENT_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("ts_event", "<i8", 0),
    ("ts_local", "<i8", 8),
    ("price", "<i8", 16),
    ("qty", "<i8", 24),
    ("order_id", "<u8", 32),
    ("seq", "<u8", 40),
    ("aux", "<i8", 48),
    ("instrument_id", "<u4", 56),
    ("kind", "u1", 60),
    ("side", "u1", 61),
    ("flags", "u1", 62),
    ("reserved", "u1", 63),
)

#: The 64-byte market-event record (little-endian, aligned like the C struct).
EVENT_DTYPE = np.dtype(
    {
        "names": [f[0] for f in EVENT_FIELDS],
        "formats": [f[1] for f in EVENT_FIELDS],
        "offsets": [f[2] for f in EVENT_FIELDS],
        "itemsize": 64,
    },
    align=True,
)


def empty_events(n: int) -> np.ndarray:
    """A zeroed array of ``n`` event records with price and qty set to :data:`RAW_NULL`."""
    if n < 0:
        from shrivenquant.errors import ValidationError

        raise ValidationError(f"number of events must be >= 0, got {n}")
    out = np.zeros(n, dtype=EVENT_DTYPE)
    out["price"] = RAW_NULL
    out["qty"] = RAW_NULL
    return out
