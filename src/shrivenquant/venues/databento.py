"""Databento MBO (market-by-order, L3) CSV files -> event records, exactly.

Reads the CSV form of Databento's ``mbo`` schema (plain or gzip; header ``ts_recv, ts_event, rtype,
publisher_id, instrument_id, action, side, price, size, channel_id, order_id, flags, ts_in_delta,
sequence``; every field an integer or one character), as written by ``databento-dbn``'s CSV encoder.

Record mapping, one :data:`~shrivenquant.core.events.EVENT_DTYPE` record per CSV row, in file order:

========  ==========================================================================================
action    record
========  ==========================================================================================
``A``     ``ADD``: order ``order_id`` on ``side`` at ``price`` for ``size``
``C``     ``CANCEL``: ``qty`` = the size cancelled (may be partial: the order keeps its priority)
``M``     ``MODIFY``: new ``price`` / ``size`` (a price change or size increase loses priority)
``R``     ``CLEAR`` (side 0): clear the book
``T``     ``TRADE``: a trade print, ``side`` = the aggressor (0 if ``N``); the book ignores it
``F``     ``NONE``: the fill of a resting order. In MBO it is informational: the resting order's change
          follows as its own ``C``/``M`` record, so applying it would count the fill twice. Its
          order_id / price / size / side are kept in the record.
``N``     ``NONE``: no book action (it may still carry flags such as ``LAST``)
========  ==========================================================================================

Fields: ``ts_event`` = ``ts_event`` (CME match-engine time, ns UTC), ``ts_local`` = ``ts_recv``
(Databento's capture time), ``price`` = Databento's 1e-9 units rescaled exactly to ``price_precision``
(undefined ``INT64_MAX`` -> ``RAW_NULL``), ``qty`` = ``size`` (contracts, precision 0; ``RAW_NULL`` for
``R``), ``order_id``, ``seq`` = ``sequence``, ``aux`` = ``ord(action) * 256 + flags`` (the original
action character and Databento flags byte, so nothing is lost), ``instrument_id`` = index into
:attr:`MboInfo.instrument_ids`. Flags: Databento ``LAST`` (128) -> ``LAST``, ``SNAPSHOT`` (32) ->
``SNAPSHOT``, ``TOB`` (64) -> ``TOB``, ``MBP`` (16) -> ``MBP``; ``BAD_TS_RECV`` (8, about ``ts_recv``) and
``MAYBE_BAD_BOOK`` (4) stay in ``aux`` only. ``ts_in_delta``, ``channel_id`` and ``rtype`` (always 160)
are dropped.

Book semantics (Databento's): apply A/C/M/R, ignore T/F/N, and read the book only after a ``LAST``
record. ``OrderBookL3.apply_events`` does exactly that with these records. A CME book can be crossed
during pre-open and reopen auctions, so do not assert ``bid < ask`` unconditionally.
"""

from __future__ import annotations

import gzip
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shrivenquant._native.fixed import RAW_NULL
from shrivenquant.core.events import EVENT_DTYPE, EventFlag, EventKind
from shrivenquant.errors import DecodeError, ValidationError

__all__ = ["MBO_COLUMNS", "PRICE_DECIMALS", "PRICE_SCALE", "MboInfo", "load_mbo_csv"]

#: The CSV header of Databento's ``mbo`` schema.
MBO_COLUMNS: tuple[str, ...] = (
    "ts_recv", "ts_event", "rtype", "publisher_id", "instrument_id", "action", "side", "price", "size",
    "channel_id", "order_id", "flags", "ts_in_delta", "sequence",
)
#: Databento prices are integers in units of 1e-9.
PRICE_DECIMALS = 9
PRICE_SCALE = 10**PRICE_DECIMALS
_UNDEF_PRICE = 2**63 - 1

_ACTION_KIND = {
    b"A": int(EventKind.ADD),
    b"C": int(EventKind.CANCEL),
    b"M": int(EventKind.MODIFY),
    b"R": int(EventKind.CLEAR),
    b"T": int(EventKind.TRADE),
    b"F": int(EventKind.NONE),
    b"N": int(EventKind.NONE),
}
_SIDE = {b"B": 1, b"A": 2, b"N": 0}
_FLAG_MAP = ((128, int(EventFlag.LAST)), (32, int(EventFlag.SNAPSHOT)), (64, int(EventFlag.TOB)),
             (16, int(EventFlag.MBP)))


@dataclass(frozen=True)
class MboInfo:
    """What :func:`load_mbo_csv` read.

    Attributes:
        path: the file.
        records: number of rows (= records).
        instrument_ids: Databento instrument id of each ``instrument_id`` index used in the records.
        publisher_ids: Databento publisher ids seen (1 = CME Globex MDP 3.0).
        price_precision: decimals of the raw prices in the records.
        size_precision: decimals of the raw quantities (0: contracts).
        actions: rows per Databento action character.
    """

    path: str
    records: int
    instrument_ids: tuple[int, ...]
    publisher_ids: tuple[int, ...]
    price_precision: int
    size_precision: int = 0
    actions: dict[str, int] = field(default_factory=dict)


def _read_table(path: Path) -> dict[str, np.ndarray]:
    """The CSV columns as NumPy arrays (exact integers via pyarrow with explicit column types)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    types = {name: pa.int64() for name in MBO_COLUMNS}
    types.update({"order_id": pa.uint64(), "sequence": pa.uint64(), "size": pa.int64(),
                  "action": pa.string(), "side": pa.string()})
    try:
        table = pacsv.read_csv(io.BytesIO(raw), convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DecodeError(f"{path}: not a Databento MBO CSV: {exc}") from exc
    missing = [c for c in MBO_COLUMNS if c not in table.column_names]
    if missing:
        raise DecodeError(f"{path}: missing MBO columns {missing}; expected header {','.join(MBO_COLUMNS)}")
    out: dict[str, np.ndarray] = {}
    for name in MBO_COLUMNS:
        col = table.column(name)
        if col.null_count:
            raise DecodeError(f"{path}: column {name!r} has {col.null_count} empty values")
        if name in ("action", "side"):
            out[name] = np.asarray(col.to_numpy(zero_copy_only=False), dtype="S1")
        else:
            out[name] = col.to_numpy()
    return out


def _infer_precision(prices: np.ndarray) -> int:
    """Fewest decimals (0..9) that represent every defined 1e-9 price exactly (trailing zeros dropped)."""
    if prices.size == 0:
        return 0
    for p in range(PRICE_DECIMALS + 1):
        if not np.any(prices % 10 ** (PRICE_DECIMALS - p)):
            return p
    return PRICE_DECIMALS  # unreachable: every integer is exact at 9 decimals


def load_mbo_csv(path: str | Path, *, price_precision: int | None = None) -> tuple[np.ndarray, MboInfo]:
    """Decode a Databento MBO CSV (plain or ``.gz``) into event records (mapping in the module docstring).

    Args:
        path: the CSV file.
        price_precision: decimals of the raw prices (0..9). None: the fewest that represent every price
            exactly (ES, tick 0.25: 2). A price that is not exact at the given precision raises.

    Returns:
        ``(records, info)``: an EVENT_DTYPE array with one record per row, and :class:`MboInfo`.

    Raises:
        DecodeError: a malformed file: unknown action or side, an add/modify without a side or a price,
            a negative size, a price not exact at ``price_precision``.
    """
    p = Path(path)
    cols = _read_table(p)
    n = cols["action"].shape[0]
    action, side_ch = cols["action"], cols["side"]

    kind = np.zeros(n, dtype=np.uint8)
    known = np.zeros(n, dtype=bool)
    for ch, k in _ACTION_KIND.items():
        m = action == ch
        kind[m] = k
        known |= m
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise DecodeError(f"{p}: row {i + 2}: unknown action {action[i]!r} (expected one of A C M R T F N)")
    side = np.zeros(n, dtype=np.uint8)
    known[:] = False
    for ch, s in _SIDE.items():
        m = side_ch == ch
        side[m] = s
        known |= m
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise DecodeError(f"{p}: row {i + 2}: unknown side {side_ch[i]!r} (expected B, A or N)")

    price9 = cols["price"]
    undefined = price9 == _UNDEF_PRICE
    book_order = (action == b"A") | (action == b"M")
    bad = book_order & (undefined | (side == 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DecodeError(f"{p}: row {i + 2}: action {action[i].decode()} needs a side and a price, got side "
                          f"{side_ch[i].decode()} price {int(price9[i])}")
    size = cols["size"]
    if (size < 0).any():
        i = int(np.flatnonzero(size < 0)[0])
        raise DecodeError(f"{p}: row {i + 2}: negative size {int(size[i])}")

    defined = price9[~undefined]
    if price_precision is None:
        prec = _infer_precision(defined)
    else:
        if isinstance(price_precision, bool) or not isinstance(price_precision, int) \
                or not 0 <= price_precision <= PRICE_DECIMALS:
            raise ValidationError(f"price_precision must be an int from 0 to {PRICE_DECIMALS}, got {price_precision!r}")
        prec = price_precision
    div = 10 ** (PRICE_DECIMALS - prec)
    inexact = ~undefined & (price9 % div != 0)
    if inexact.any():
        i = int(np.flatnonzero(inexact)[0])
        raise DecodeError(f"{p}: row {i + 2}: price {int(price9[i])}e-9 is not exact at {prec} decimals")

    inst_raw = cols["instrument_id"]
    inst_ids, first = np.unique(inst_raw, return_index=True)
    order = np.argsort(first)  # instrument indices in order of first appearance
    inst_table = inst_ids[order]
    index_of = np.empty(order.size, dtype=np.uint32)
    index_of[order] = np.arange(order.size, dtype=np.uint32)

    flags_in = cols["flags"]
    if ((flags_in < 0) | (flags_in > 255)).any():
        raise DecodeError(f"{p}: flags outside 0..255")
    flags = np.zeros(n, dtype=np.uint8)
    for theirs, ours in _FLAG_MAP:
        flags[(flags_in & theirs) != 0] |= ours

    out = np.zeros(n, dtype=EVENT_DTYPE)
    out["ts_event"] = cols["ts_event"]
    out["ts_local"] = cols["ts_recv"]
    out["price"] = np.where(undefined, RAW_NULL, price9 // div)
    out["qty"] = np.where(kind == int(EventKind.CLEAR), RAW_NULL, size)
    out["order_id"] = cols["order_id"]
    out["seq"] = cols["sequence"]
    out["aux"] = action.view(np.uint8).astype(np.int64) * 256 + flags_in
    out["instrument_id"] = index_of[np.searchsorted(inst_ids, inst_raw)]
    out["kind"] = kind
    out["side"] = side
    out["flags"] = flags

    counts = Counter(action.tobytes().decode("ascii"))
    info = MboInfo(
        path=str(p),
        records=n,
        instrument_ids=tuple(int(x) for x in inst_table),
        publisher_ids=tuple(int(x) for x in np.unique(cols["publisher_id"])),
        price_precision=prec,
        size_precision=0,
        actions=dict(sorted(counts.items())),
    )
    return out, info
