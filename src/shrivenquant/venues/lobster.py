"""LOBSTER (NASDAQ TotalView-ITCH reconstructions) message and orderbook files -> event records.

A LOBSTER *message* file lists order-level events ``time, type, order_id, size, price, direction`` (a 7th
market-participant-id column in some exports), one per row; its *orderbook* file row *i* is the book's
top N levels after message *i*: ``ask_price_1, ask_size_1, bid_price_1, bid_size_1, ask_price_2, ...``.
Files may be gzip-compressed and may start with a header row (both are detected).

Record mapping (:func:`load_messages`), one :data:`~shrivenquant.core.events.EVENT_DTYPE` record per row:

====  ===========================  ================================================================
type  LOBSTER meaning              record
====  ===========================  ================================================================
1     submission of a limit order  ``ADD`` order_id, side, price, qty
2     cancellation (partial)       ``CANCEL``, ``qty`` = the size cancelled (the order keeps priority)
3     deletion (total)             ``CANCEL``, ``qty`` = the size deleted (the order's whole remainder)
4     execution of a visible order ``FILL``, ``qty`` = the size executed
5     execution of a hidden order  ``TRADE`` (not in the visible book), ``side`` = the aggressor
6     cross trade (auction)        ``TRADE``, ``side`` 0 (its order id may be -1: stored as 0)
7     trading halt indicator       ``NONE``, ``price`` = LOBSTER's code as given (-1 halt, 0 quoting,
                                   1 trading resumes)
====  ===========================  ================================================================

Fields: ``side`` = 1 for direction 1 (buy limit order), 2 for -1 (sell); the aggressor of an execution
is the other side. ``price`` is LOBSTER's own fixed point, USD x 10,000, so ``price_precision`` is 4.
``qty`` = shares (precision 0). ``ts_event`` = the file's date at midnight in New York (NASDAQ's
clock), converted to UTC, plus the message time (seconds after midnight, parsed exactly to the ns);
LOBSTER has no receive time, so ``ts_local`` = ``ts_event``. ``seq`` = the row index (0-based, header
excluded: the matching orderbook row), ``aux`` = the LOBSTER type (1..7), flags ``LAST`` on every
record (each row is one venue event), ``instrument_id`` 0. The market-participant id is dropped.

Caveats the data imposes (read before replaying):

* Orders resting before the file starts are unknown: deletions and executions refer to ids never
  submitted in the file. A book replaying messages alone must be lenient
  (``OrderBookL3(4, 0, strict=False)`` counts and skips them).
* A level-N file holds only the messages that touch the top N levels: orders submitted, changed or
  deleted deeper are not in it, so a level re-entering the top N can hold orders the messages never
  showed. :func:`replay_with_orderbook` handles this as the shared data's README advises for the level-1
  sample (a message-driven book seeded from the orderbook file: at the first row, and wherever a level
  comes into view from below) and checks everything else exactly against the file. On AMZN 2012-06-21
  level 1: 101,075 of 115,030 (row, side) pairs match from the messages alone, the other 13,955 are
  levels coming into view, and none differ.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shrivenquant._native.fixed import RAW_NULL, parse_decimals
from shrivenquant.core.events import EVENT_DTYPE, EventFlag, EventKind
from shrivenquant.errors import DecodeError, ValidationError

__all__ = [
    "DUMMY_ASK",
    "DUMMY_BID",
    "PRICE_PRECISION",
    "SYNTHETIC_ID_BASE",
    "LobsterBook",
    "LobsterReplay",
    "load_messages",
    "load_orderbook",
    "replay_with_orderbook",
]

#: LOBSTER prices are USD x 10,000.
PRICE_PRECISION = 4
#: Orderbook-file placeholders for levels that do not exist (their sizes are 0).
DUMMY_ASK = 9_999_999_999
DUMMY_BID = -9_999_999_999
#: Ids of the synthetic orders :func:`replay_with_orderbook` uses for liquidity the messages never showed.
SYNTHETIC_ID_BASE = 1 << 63

_NY = "America/New_York"
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_ADD, _CANCEL, _FILL = int(EventKind.ADD), int(EventKind.CANCEL), int(EventKind.FILL)
_TRADE, _NONE = int(EventKind.TRADE), int(EventKind.NONE)


def _read_text(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _has_header(raw: bytes) -> bool:
    first = raw.split(b"\n", 1)[0].split(b",", 1)[0].strip()
    try:
        float(first)
    except ValueError:
        return True
    return False


def _read_columns(path: Path, names: list[str], types: dict[str, Any]) -> dict[str, np.ndarray]:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    raw = _read_text(path)
    if not raw.strip():
        raise DecodeError(f"{path}: empty file")
    ncols = len(raw.split(b"\n", 1)[0].split(b","))
    if ncols < len(names):
        raise DecodeError(f"{path}: {ncols} columns, expected at least {len(names)} ({','.join(names)})")
    all_names = names + [f"extra{i}" for i in range(ncols - len(names))]
    read = pacsv.ReadOptions(column_names=all_names, skip_rows=1 if _has_header(raw) else 0)
    conv = pacsv.ConvertOptions(column_types={**{n: pa.string() for n in all_names}, **types},
                                include_columns=names)
    try:
        table = pacsv.read_csv(io.BytesIO(raw), read_options=read, convert_options=conv)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DecodeError(f"{path}: not a LOBSTER file: {exc}") from exc
    out = {}
    for name in names:
        col = table.column(name)
        if col.null_count:
            raise DecodeError(f"{path}: column {name!r} has {col.null_count} empty values")
        out[name] = col.to_numpy(zero_copy_only=False)
    return out


def _midnight_utc_ns(date: str | _dt.date, tz: str) -> int:
    from zoneinfo import ZoneInfo

    day = _dt.date.fromisoformat(date) if isinstance(date, str) else date
    midnight = _dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    return int(midnight.timestamp()) * 1_000_000_000


def load_messages(path: str | Path, *, date: str | _dt.date | None = None, tz: str = _NY) -> np.ndarray:
    """Decode a LOBSTER message file into event records (mapping in the module docstring).

    Args:
        path: the message file (``.csv`` or ``.csv.gz``, with or without a header row).
        date: the trading day; None takes it from the file name (``TICKER_YYYY-MM-DD_...``).
        tz: the exchange's time zone (message times are seconds after its midnight).

    Raises:
        DecodeError: a malformed row (unknown type or direction, a time that is not a decimal number,
            a negative size), or no date in the file name when ``date`` is None.
    """
    import pyarrow as pa

    p = Path(path)
    if date is None:
        m = _DATE.search(p.name)
        if m is None:
            raise DecodeError(f"{p}: no YYYY-MM-DD date in the file name: pass date=")
        date = m.group(1)
    cols = _read_columns(p, ["time", "type", "order_id", "size", "price", "direction"],
                         {"time": pa.string(), "type": pa.int64(), "order_id": pa.int64(), "size": pa.int64(),
                          "price": pa.int64(), "direction": pa.int64()})
    n = cols["type"].shape[0]
    try:
        seconds_ns = parse_decimals([t.strip() for t in cols["time"]], 9)
    except ValidationError as exc:
        raise DecodeError(f"{p}: bad time: {exc}") from exc
    typ, direction, size, price, oid = cols["type"], cols["direction"], cols["size"], cols["price"], cols["order_id"]
    for bad, what in (((typ < 1) | (typ > 7), "type (expected 1..7)"),
                      ((direction != 1) & (direction != -1), "direction (expected 1 or -1)"),
                      (size < 0, "size (expected >= 0)"),
                      ((oid < 0) & (typ <= 5), "order id (expected >= 0)")):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DecodeError(f"{p}: message {i}: bad {what}: type {int(typ[i])}, direction {int(direction[i])}, "
                              f"size {int(size[i])}, order id {int(oid[i])}")
    side = np.where(direction == 1, 1, 2).astype(np.uint8)
    kind = np.full(n, _NONE, dtype=np.uint8)
    kind[typ == 1] = _ADD
    kind[(typ == 2) | (typ == 3)] = _CANCEL
    kind[typ == 4] = _FILL
    kind[(typ == 5) | (typ == 6)] = _TRADE
    out = np.zeros(n, dtype=EVENT_DTYPE)
    ts = _midnight_utc_ns(date, tz) + seconds_ns
    out["ts_event"] = ts
    out["ts_local"] = ts
    out["price"] = price
    out["qty"] = np.where(typ == 7, RAW_NULL, size)
    out["order_id"] = np.where(oid < 0, 0, oid).astype(np.uint64)  # a cross (6) may carry id -1
    out["seq"] = np.arange(n, dtype=np.uint64)
    out["aux"] = typ
    out["kind"] = kind
    out["side"] = np.where(typ == 5, 3 - side, np.where((typ == 6) | (typ == 7), 0, side))
    out["flags"] = int(EventFlag.LAST)
    return out


@dataclass(frozen=True)
class LobsterBook:
    """A LOBSTER orderbook file: row *i* = top ``levels`` levels after message *i*, best first.

    Prices raw at precision 4 (``RAW_NULL`` where the level does not exist), sizes in shares (0 there).
    Every array has shape ``(rows, levels)``.
    """

    ask_prices: np.ndarray
    ask_qtys: np.ndarray
    bid_prices: np.ndarray
    bid_qtys: np.ndarray

    @property
    def rows(self) -> int:
        """Number of rows (= messages)."""
        return int(self.ask_prices.shape[0])

    @property
    def levels(self) -> int:
        """Levels per side."""
        return int(self.ask_prices.shape[1])


def load_orderbook(path: str | Path) -> LobsterBook:
    """Read a LOBSTER orderbook file (``ask_px, ask_sz, bid_px, bid_sz`` per level; header optional).

    Dummy levels (prices 9999999999 / -9999999999, size 0) become ``RAW_NULL`` prices with size 0.
    """
    import pyarrow as pa

    p = Path(path)
    raw = _read_text(p)
    ncols = len(raw.split(b"\n", 1)[0].split(b","))
    if ncols % 4:
        raise DecodeError(f"{p}: {ncols} columns: expected 4 per level (ask price/size, bid price/size)")
    names = [f"c{i}" for i in range(ncols)]
    cols = _read_columns(p, names, {n: pa.int64() for n in names})
    table = np.column_stack([cols[n] for n in names]).astype(np.int64) if ncols else np.zeros((0, 0), np.int64)
    ask_p, ask_q, bid_p, bid_q = (table[:, k::4].copy() for k in range(4))
    ask_missing = ask_p == DUMMY_ASK
    bid_missing = bid_p == DUMMY_BID
    if (ask_q[ask_missing] != 0).any() or (bid_q[bid_missing] != 0).any():
        raise DecodeError(f"{p}: a dummy level with a non-zero size")
    ask_p[ask_missing] = RAW_NULL
    bid_p[bid_missing] = RAW_NULL
    return LobsterBook(ask_p, ask_q, bid_p, bid_q)


@dataclass
class LobsterReplay:
    """What :func:`replay_with_orderbook` found.

    Attributes:
        messages: messages applied.
        compared: (row, side) pairs compared with the orderbook file.
        matched: of those, equal to the file from the messages alone (no level newly visible).
        mismatches: pairs that differed from the file after the newly visible levels were seeded (must
            be 0; the side is then re-seeded from the file so that the replay goes on).
        first_mismatch: message index of the first mismatch, or None.
        newly_visible: levels that entered the file's top N from below, re-seeded from the file.
        seeded_rows: (row, side) pairs with at least one re-seeded level.
        seeded_already_equal: of the re-seeded levels, those the messages had already got right.
        unknown_ids: deletions / executions of ids never seen (orders older than the file or placed
            outside the top N), taken from the synthetic order at their price.
        unmatched_unknown: unknown-id messages with no synthetic order at their price (skipped).
        overdrawn: unknown-id messages larger than the synthetic order at their price (it is removed).
        hidden_trades: type 5/6 messages (no visible change). halts: type 7 messages.
    """

    messages: int = 0
    compared: int = 0
    matched: int = 0
    mismatches: int = 0
    first_mismatch: int | None = None
    newly_visible: int = 0
    seeded_rows: int = 0
    seeded_already_equal: int = 0
    unknown_ids: int = 0
    unmatched_unknown: int = 0
    overdrawn: int = 0
    hidden_trades: int = 0
    halts: int = 0
    notes: list[str] = field(default_factory=list)


def _better(side: int, a: int, b: int) -> bool:
    """True if price a is better than b on side (bids: higher, asks: lower)."""
    return a > b if side == 1 else a < b


def _side_levels(l2: tuple[np.ndarray, ...], side: int) -> list[tuple[int, int]]:
    px, qty = (l2[0], l2[1]) if side == 1 else (l2[2], l2[3])
    return list(zip(px.tolist(), qty.tolist(), strict=True))


def replay_with_orderbook(book: Any, events: np.ndarray, orderbook: LobsterBook) -> LobsterReplay:
    """Replay LOBSTER message records on an L3 ``book``, checking its top N levels against the orderbook
    file after every message.

    The messages hold every event in the top N levels and nothing below. So, per side: after message
    *i*, a level is *newly visible* if it is worse than the previous row's N-th level (when that row had
    N levels; the first row counts as all new). Its content was hidden, so the book's orders at that
    price are replaced by one synthetic order (id ``SYNTHETIC_ID_BASE + k``) with the file's size, and
    hidden-zone levels the file no longer shows are removed. Deletions and executions of unknown ids
    (older or hidden orders) are taken from the synthetic order at their price. Every other level must
    equal the file from the messages alone: a difference counts as a mismatch (then the side is
    re-seeded so the replay can go on).

    Args:
        book: an empty :class:`~shrivenquant.book.OrderBookL3` (price precision 4, size precision 0;
            strict or not: unknown ids are handled here).
        events: :func:`load_messages` records.
        orderbook: :func:`load_orderbook` of the matching orderbook file (same number of rows).
    """
    if len(book):
        raise ValidationError("replay_with_orderbook needs an empty book")
    if events.shape[0] != orderbook.rows:
        raise ValidationError(f"{events.shape[0]} messages but {orderbook.rows} orderbook rows: not a matching pair")
    nlev = orderbook.levels
    rep = LobsterReplay()
    synth: dict[tuple[int, int], int] = {}  # (side, price) -> synthetic order id
    next_synth = SYNTHETIC_ID_BASE
    file_px = {1: orderbook.bid_prices.tolist(), 2: orderbook.ask_prices.tolist()}
    file_qty = {1: orderbook.bid_qtys.tolist(), 2: orderbook.ask_qtys.tolist()}
    prev_worst: dict[int, int | None] = {1: None, 2: None}  # previous row's N-th level (None: all visible)
    first = True

    def take_from_synthetic(side: int, price: int, qty: int) -> None:
        sid = synth.get((side, price))
        if sid is None or sid not in book:
            rep.unmatched_unknown += 1
            return
        rest = book.order(sid)[2]
        if qty > rest:
            rep.overdrawn += 1
            book.cancel(sid)
        else:
            book.cancel(sid, qty)

    def reseed(side: int, levels: list[tuple[int, int]], zone_from: int | None, zone_to: int | None) -> int:
        """Replace the book's levels in (zone_from, zone_to] (worse than zone_from; None: unbounded) by
        the file's; returns how many file levels were seeded."""
        nonlocal next_synth
        for p, _ in _side_levels(book.to_l2(), side):
            if zone_from is not None and not _better(side, zone_from, p):
                continue  # at or better than the previous visible edge: not hidden before
            if zone_to is not None and _better(side, zone_to, p):
                break  # beyond the file's visible edge (still hidden)
            book.clear_level(side, p)
            synth.pop((side, p), None)
        seeded = 0
        for p, q in levels:
            if zone_from is not None and not _better(side, zone_from, p):
                continue
            book.add(next_synth, side, p, q)
            synth[(side, p)] = next_synth
            next_synth += 1
            seeded += 1
        return seeded

    for i, rec in enumerate(events.tolist()):
        kind, oid, side, price, qty = rec[8], rec[4], rec[9], rec[2], rec[3]
        rep.messages += 1
        if kind == _ADD:
            book.add(oid, side, price, qty)
        elif kind in (_CANCEL, _FILL):
            if oid in book:
                if kind == _CANCEL:
                    book.cancel(oid, qty)
                else:
                    book.execute(oid, qty)
            else:
                rep.unknown_ids += 1
                take_from_synthetic(side, price, qty)
        elif kind == _TRADE:
            rep.hidden_trades += 1
        elif rec[6] == 7:
            rep.halts += 1
        ours = book.to_l2(nlev)
        for s in (1, 2):
            levels = [(p, q) for p, q in zip(file_px[s][i], file_qty[s][i], strict=True) if p != RAW_NULL]
            edge = levels[-1][0] if len(levels) == nlev else None  # the file's visible edge at this row
            zone_from = None if first else prev_worst[s]
            ours_levels = _side_levels(ours, s)
            rep.compared += 1
            if first or (zone_from is not None and any(_better(s, zone_from, p) for p, _ in levels)):
                # some levels are newly visible: their content comes from the file
                new = [(p, q) for p, q in levels if zone_from is None or _better(s, zone_from, p)]
                rep.seeded_already_equal += sum(1 for lv in new if lv in ours_levels)
                rep.newly_visible += reseed(s, new, zone_from, edge)
                rep.seeded_rows += 1
                ours = book.to_l2(nlev)
                ours_levels = _side_levels(ours, s)
            elif ours_levels == levels:
                rep.matched += 1
            if ours_levels != levels:
                rep.mismatches += 1
                if rep.first_mismatch is None:
                    rep.first_mismatch = i
                    rep.notes.append(f"message {i} side {s}: book {ours_levels} file {levels}")
                reseed(s, levels, None, edge)
                ours = book.to_l2(nlev)
            prev_worst[s] = edge
        first = False
    return rep
