"""Arrow <-> event-record conversion (pyarrow is imported here only, lazily by the catalog).

Two Arrow forms of an :data:`~shrivenquant.core.events.EVENT_DTYPE` array:

* **columns** (:func:`events_to_table`, :func:`batch_to_events`): one Arrow column per record field, with
  the field's exact integer type (``ts_event`` int64 ... ``reserved`` uint8). This is what the catalog
  stores in Parquet, so filters and statistics work per field. Arrow is column-major and the record is
  row-major, so each direction costs one copy of the data: reading takes every column *zero-copy* from
  the Arrow buffers (``to_numpy(zero_copy_only=True)``) and interleaves them once into the record array.
* **records** (:func:`events_to_records`, :func:`records_to_events`): one ``fixed_size_binary(64)``
  column whose data buffer *is* the record array: zero-copy both ways (for IPC / memory maps).

Every field is stored, ``reserved`` included, so a round trip is byte-identical (the record has no
padding bytes: the fields cover all 64 bytes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from shrivenquant.core.events import EVENT_DTYPE, EVENT_FIELDS
from shrivenquant.errors import ValidationError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FIELD_NAMES",
    "batch_to_events",
    "check_events",
    "event_schema",
    "events_to_records",
    "events_to_table",
    "records_to_events",
    "table_to_events",
]

FIELD_NAMES: tuple[str, ...] = tuple(f[0] for f in EVENT_FIELDS)
_ARROW_TYPE = {"<i8": "int64", "<u8": "uint64", "<u4": "uint32", "u1": "uint8"}
#: Schema metadata key marking a table as event records (value: the record layout version).
SCHEMA_KEY = b"shrivenquant.event_record"
SCHEMA_VERSION = b"1"
_cache: dict[str, Any] = {}


def event_schema() -> pa.Schema:
    """The Arrow schema of the columnar form: one non-nullable column per record field, in struct order."""
    schema = _cache.get("schema")
    if schema is None:
        import pyarrow as pa

        schema = _cache["schema"] = pa.schema(
            [pa.field(name, getattr(pa, _ARROW_TYPE[t])(), nullable=False) for name, t, _ in EVENT_FIELDS],
            metadata={SCHEMA_KEY: SCHEMA_VERSION},
        )
    return schema


def check_events(events: Any, what: str = "events") -> np.ndarray:
    """``events`` as a 1-D EVENT_DTYPE array, or :class:`ValidationError`."""
    if not isinstance(events, np.ndarray):
        raise ValidationError(f"{what} must be a NumPy array of EVENT_DTYPE records, got {type(events).__name__}")
    if events.dtype != EVENT_DTYPE:
        raise ValidationError(f"{what} must have dtype EVENT_DTYPE, got {events.dtype}")
    if events.ndim != 1:
        raise ValidationError(f"{what} must be 1-D, got shape {events.shape}")
    return events


def events_to_table(events: np.ndarray) -> pa.Table:
    """An EVENT_DTYPE array as an Arrow table of :func:`event_schema` (one copy per field)."""
    import pyarrow as pa

    ev = check_events(events)
    schema = event_schema()
    words = np.ascontiguousarray(ev).view(np.int64).reshape(-1, 8) if ev.shape[0] else None
    cols = []
    for i, (name, t, _) in enumerate(EVENT_FIELDS):
        if words is not None and i < 7:  # the wide fields: one word column each, reinterpreted
            arr = np.ascontiguousarray(words[:, i]).view(t)
        else:
            arr = np.ascontiguousarray(ev[name])
        cols.append(pa.array(arr, type=schema.field(name).type))
    return pa.Table.from_arrays(cols, schema=schema)


def _check_schema(schema: pa.Schema, what: str) -> None:
    names = tuple(schema.names)
    if names != FIELD_NAMES:
        raise ValidationError(f"{what}: columns {list(names)} are not the event-record fields {list(FIELD_NAMES)}")
    ref = event_schema()
    for name in FIELD_NAMES:
        if schema.field(name).type != ref.field(name).type:
            raise ValidationError(
                f"{what}: column {name!r} has type {schema.field(name).type}, expected {ref.field(name).type}")


def batch_to_events(batch: pa.RecordBatch | pa.Table, *, out: np.ndarray | None = None) -> np.ndarray:
    """A record batch (or table) of :func:`event_schema` as an EVENT_DTYPE array.

    Every column is read zero-copy from its Arrow buffer and written once into the record array
    (``out[:n]`` if given: it must be a C-contiguous EVENT_DTYPE array of at least ``num_rows`` records).
    The record is eight 8-byte words; the seven wide fields are copied word-column by word-column and
    the four narrow fields packed into the eighth word (faster than field-by-field structured assignment).
    Raises :class:`ValidationError` on other columns or types, or a null value.
    """
    _check_schema(batch.schema, "record batch")
    n = batch.num_rows
    if out is None:
        res = np.empty(n, dtype=EVENT_DTYPE)
    else:
        check_events(out, "out")
        if out.shape[0] < n:
            raise ValidationError(f"out holds {out.shape[0]} records, the batch has {n}")
        if not out.flags.c_contiguous:
            raise ValidationError("out must be C-contiguous")
        res = out[:n]
    if hasattr(batch, "to_batches"):  # a Table: its record batches one after the other
        pos = 0
        for b in batch.to_batches():
            batch_to_events(b, out=res[pos:pos + b.num_rows])
            pos += b.num_rows
        return res
    cols = []
    for i, name in enumerate(FIELD_NAMES):
        col = batch.column(i)
        if col.null_count:
            raise ValidationError(f"column {name!r} has {col.null_count} null values")
        cols.append(col.to_numpy(zero_copy_only=True))
    words = res.view(np.int64).reshape(n, 8)
    for i in range(7):
        words[:, i] = cols[i].view(np.int64)
    last = cols[7].astype(np.int64)
    for i, shift in ((8, 32), (9, 40), (10, 48)):
        last |= cols[i].astype(np.int64) << shift
    last |= cols[11].astype(np.int64) << 56  # wraps into the sign bit as the C struct's byte does
    words[:, 7] = last
    return res


def table_to_events(table: pa.Table) -> np.ndarray:
    """An Arrow table of :func:`event_schema` as one EVENT_DTYPE array (see :func:`batch_to_events`)."""
    return batch_to_events(table)


def events_to_records(events: np.ndarray) -> pa.FixedSizeBinaryArray:
    """The records as one ``fixed_size_binary(64)`` Arrow array over the same memory (zero-copy).

    The array keeps ``events`` alive; ``events`` must be C-contiguous.
    """
    import pyarrow as pa

    ev = check_events(events)
    if not ev.flags.c_contiguous:
        raise ValidationError("events must be C-contiguous for a zero-copy records array")
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(64), ev.shape[0], [None, pa.py_buffer(ev)])


def records_to_events(records: pa.Array) -> np.ndarray:
    """A ``fixed_size_binary(64)`` Arrow array without nulls as an EVENT_DTYPE array over its buffer (zero-copy,
    read-only)."""
    import pyarrow as pa

    if not isinstance(records, pa.FixedSizeBinaryArray) or records.type.byte_width != 64:
        raise ValidationError(f"expected a fixed_size_binary(64) array, got {getattr(records, 'type', records)!r}")
    if records.null_count:
        raise ValidationError(f"records array has {records.null_count} nulls")
    buf = records.buffers()[1]
    n = len(records)
    if n == 0:
        return np.empty(0, dtype=EVENT_DTYPE)
    start = records.offset * 64
    return np.frombuffer(buf, dtype=EVENT_DTYPE, count=n, offset=start)
