"""Binance local order book synchronisation, exactly as Binance documents it.

Input is event records (:data:`~shrivenquant.core.events.EVENT_DTYPE`) as the Binance decoders write
them, one venue message per slice: a ``depthUpdate`` is ``LEVEL`` records (or one ``NONE`` record for a
message without levels) with ``seq`` = ``u`` (last update id), ``aux`` = ``U`` (first update id),
``order_id`` = ``pu`` (futures: the previous message's ``u``), ``LAST`` on the final record; a REST
snapshot is a ``CLEAR`` then ``LEVEL`` records flagged ``SNAPSHOT`` with ``seq`` = ``lastUpdateId``.

**Spot** (``U``/``u``; Binance "How to manage a local order book correctly"):

1. buffer depth events until a snapshot arrives;
2. a snapshot older than the first buffered event (``lastUpdateId < U``) cannot be used: a new
   snapshot is needed (:class:`SequenceGapError`);
3. drop buffered events with ``u <= lastUpdateId``; the first one applied must have
   ``U <= lastUpdateId + 1 <= u``;
4. then for each event: ignore it if ``u < book id``; if ``U > book id + 1`` events were missed
   (:class:`SequenceGapError`); otherwise apply it and set book id = ``u``.

**USD-M and COIN-M futures** (``U``/``u``/``pu``):

1. buffer; 2. drop events with ``u < lastUpdateId``; 3. the first processed event must have
   ``U <= lastUpdateId <= u``; 4. every later event's ``pu`` must equal the previous event's ``u``,
   else the book is stale (:class:`SequenceGapError`).

After a :class:`SequenceGapError` the book is not trusted: :meth:`BinanceBookSync.resync` clears it and
goes back to buffering, and the next snapshot rebuilds it (rule 1 again). Quantities are absolute; 0
removes a level, and removing an unknown level is normal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from shrivenquant.core.events import EVENT_DTYPE, EventFlag, EventKind
from shrivenquant.errors import SequenceGapError, ValidationError

__all__ = ["BinanceBookSync", "BookTarget", "ReplayStats", "iter_messages", "replay_binance"]

Market = Literal["spot", "futures"]

_LAST = int(EventFlag.LAST)
_SNAPSHOT = int(EventFlag.SNAPSHOT)
_MBP = int(EventFlag.MBP)
_LEVEL = int(EventKind.LEVEL)
_CLEAR = int(EventKind.CLEAR)
_NONE = int(EventKind.NONE)
_BBO = int(EventKind.BBO)


class BookTarget(Protocol):
    """What the synchroniser needs from a book: batch apply and clear."""

    def apply_events(self, records: np.ndarray) -> int: ...

    def clear(self) -> None: ...


def _message_bounds(events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, stops) of the venue messages in ``events``: each message ends with a ``LAST`` record."""
    if events.dtype != EVENT_DTYPE:
        raise ValidationError(f"expected an EVENT_DTYPE array, got dtype {events.dtype}")
    stops = np.flatnonzero(events["flags"] & _LAST) + 1
    last = int(stops[-1]) if stops.size else 0
    if last != events.size:
        raise ValidationError(
            f"records {last}..{events.size - 1} do not end with a LAST record: a truncated message")
    starts = np.concatenate(([0], stops[:-1])).astype(np.int64) if stops.size else stops
    return starts, stops


def iter_messages(events: np.ndarray) -> Iterator[tuple[int, int]]:
    """(start, stop) index ranges of the venue messages in ``events`` (each ends with a ``LAST`` record)."""
    starts, stops = _message_bounds(events)
    yield from zip(starts.tolist(), stops.tolist(), strict=True)


@dataclass(slots=True)
class _Pending:
    first_id: int  # U
    last_id: int  # u
    prev_id: int  # pu (futures) or 0
    records: np.ndarray


class BinanceBookSync:
    """Keeps ``book`` in sync with one symbol's Binance depth stream.

    Feed it one message at a time with :meth:`on_depth` and :meth:`on_snapshot` (or :meth:`on_message`,
    which dispatches on the records); it buffers, drops and applies per Binance's rules and raises
    :class:`SequenceGapError` when updates were missed. ``book_id`` is the last applied update id.
    """

    def __init__(self, book: BookTarget, market: Market) -> None:
        if market not in ("spot", "futures"):
            raise ValidationError(f"market must be 'spot' or 'futures' (USD-M and COIN-M), got {market!r}")
        self.book = book
        self.market: Market = market
        self.synced = False
        self.book_id = 0
        self._buffer: list[_Pending] = []
        self._awaiting_first = False  # synced from a snapshot, first event not yet applied
        self.applied_messages = 0
        self.dropped_messages = 0
        self.snapshots = 0

    # ------------------------------------------------------------------ feeding
    def on_message(self, records: np.ndarray) -> bool:
        """Dispatch one message's records: a snapshot or a depth update (others are ignored).

        Returns True if depth records were applied to the book by this call.
        """
        first = records[0]
        kind, flags = int(first["kind"]), int(first["flags"])
        if flags & _SNAPSHOT:
            self.on_snapshot(records)
            return True
        if flags & _MBP and kind in (_LEVEL, _NONE):
            return self.on_depth(records)
        return False

    def on_snapshot(self, records: np.ndarray) -> None:
        """A REST depth snapshot (CLEAR + SNAPSHOT LEVEL records, ``seq`` = lastUpdateId)."""
        self._snapshot(int(records[0]["seq"]), records)

    def _snapshot(self, last_update_id: int, records: np.ndarray) -> None:
        buffered = self._buffer
        if buffered and last_update_id < buffered[0].first_id and self.market == "spot":
            raise SequenceGapError(
                f"snapshot lastUpdateId {last_update_id} is older than the first buffered event "
                f"(U={buffered[0].first_id}): fetch a new snapshot",
                expected=buffered[0].first_id, received=last_update_id)
        self.book.clear()
        self.book.apply_events(records)
        self.book_id = last_update_id
        self.synced = True
        self.snapshots += 1
        self._buffer = []
        first_applied = True
        for msg in buffered:
            if self._stale(msg.last_id, last_update_id):
                self.dropped_messages += 1
                continue
            if first_applied:
                self._check_first(msg, last_update_id)
                first_applied = False
                self._apply(msg)
            else:
                self._apply_live(msg)
        self._awaiting_first = first_applied

    def on_depth(self, records: np.ndarray) -> bool:
        """One ``depthUpdate`` message; returns True if it was applied (False: buffered or ignored)."""
        first = records[0]
        return self._depth(_Pending(int(first["aux"]), int(first["seq"]), int(first["order_id"]), records))

    def _depth(self, msg: _Pending) -> bool:
        if not self.synced:
            self._buffer.append(msg)
            return False
        if self._awaiting_first:
            if self._stale(msg.last_id, self.book_id):
                self.dropped_messages += 1
                return False
            self._check_first(msg, self.book_id)
            self._awaiting_first = False
            self._apply(msg)
            return True
        return self._apply_live(msg)

    def resync(self) -> None:
        """Forget the book after a gap: clear it and buffer until the next snapshot."""
        self.book.clear()
        self.synced = False
        self.book_id = 0
        self._buffer = []
        self._awaiting_first = False

    # ------------------------------------------------------------------ rules
    def _stale(self, last_id: int, snapshot_id: int) -> bool:
        # spot: drop u <= lastUpdateId; futures: drop u < lastUpdateId
        return last_id <= snapshot_id if self.market == "spot" else last_id < snapshot_id

    def _check_first(self, msg: _Pending, snapshot_id: int) -> None:
        if self.market == "spot":
            ok = msg.first_id <= snapshot_id + 1 <= msg.last_id
            rule = "U <= lastUpdateId + 1 <= u"
        else:
            ok = msg.first_id <= snapshot_id <= msg.last_id
            rule = "U <= lastUpdateId <= u"
        if not ok:
            self.synced = False
            raise SequenceGapError(
                f"first event after the snapshot (U={msg.first_id}, u={msg.last_id}) does not contain "
                f"lastUpdateId {snapshot_id} ({rule}): events were missed, resync",
                expected=snapshot_id + (1 if self.market == "spot" else 0), received=msg.first_id)

    def _apply_live(self, msg: _Pending) -> bool:
        if self.market == "spot":
            if msg.last_id < self.book_id:
                self.dropped_messages += 1
                return False
            if msg.first_id > self.book_id + 1:
                self.synced = False
                raise SequenceGapError(
                    f"depth event U={msg.first_id} skips ahead of the book (id {self.book_id}): "
                    f"updates {self.book_id + 1}..{msg.first_id - 1} were missed, resync",
                    expected=self.book_id + 1, received=msg.first_id)
        elif msg.prev_id != self.book_id:
            self.synced = False
            raise SequenceGapError(
                f"depth event pu={msg.prev_id} does not chain to the previous u={self.book_id}: "
                f"updates were missed, resync", expected=self.book_id, received=msg.prev_id)
        self._apply(msg)
        return True

    def _apply(self, msg: _Pending) -> None:
        self.book.apply_events(msg.records)
        self.book_id = msg.last_id
        self.applied_messages += 1


@dataclass
class ReplayStats:
    """What a replay did: messages applied and dropped, and the bookTicker checks.

    ``mismatches`` lists (bookTicker u, expected (bid, bid qty, ask, ask qty), got) for the first few.
    """

    applied_messages: int = 0
    dropped_messages: int = 0
    buffered_before_snapshot: int = 0
    level_updates: int = 0
    bbo_checks: int = 0
    bbo_mismatches: int = 0
    mismatches: list[tuple[int, tuple[int, int, int, int], tuple[int, int, int, int]]] = field(default_factory=list)


def _top(book: object) -> tuple[int, int, int, int]:
    return (book.best_bid_price_raw, book.best_bid_qty_raw,  # type: ignore[attr-defined]
            book.best_ask_price_raw, book.best_ask_qty_raw)  # type: ignore[attr-defined]


def replay_binance(events: np.ndarray, book: BookTarget, market: Market, *, instrument_id: int | None = None,
                   check_bbo: bool = True,
                   on_update: Callable[[BookTarget, np.ndarray], None] | None = None) -> ReplayStats:
    """Replay a decoded Binance recording through :class:`BinanceBookSync` into ``book``.

    ``events`` holds one symbol's messages in file order (or pass ``instrument_id`` to select one).
    With ``check_bbo``, whenever a ``bookTicker`` and the last applied depth message carry the same
    update id, the book's best bid/ask price and quantity must equal the ticker's; every comparison
    is counted in the stats (mismatches are reported, not raised). A sequence gap raises.
    ``on_update(book, records)`` is called after every depth message applied to the synced book.
    """
    if instrument_id is not None:
        events = events[events["instrument_id"] == instrument_id]
    starts, ends = _message_bounds(events)  # each message's head fields are read once, vectorised
    sync = BinanceBookSync(book, market)
    stats = ReplayStats()
    tickers: dict[int, tuple[int, int, int, int]] = {}
    heads = events[starts]
    if not check_bbo:  # only depth messages and snapshots matter
        keep = (heads["flags"] & _MBP) != 0
        starts, ends, heads = starts[keep], ends[keep], heads[keep]
    columns = (starts.tolist(), ends.tolist(), heads["kind"].tolist(), heads["flags"].tolist(),
               heads["seq"].tolist(), heads["aux"].tolist(), heads["order_id"].tolist())
    for start, stop, kind, flags, seq, aux, prev in zip(*columns, strict=True):
        if kind == _BBO:
            if stop - start != 2:
                continue
            msg = events[start:stop]
            expected = (int(msg[0]["price"]), int(msg[0]["qty"]), int(msg[1]["price"]), int(msg[1]["qty"]))
            if sync.synced and seq == sync.book_id:
                _check(stats, seq, expected, _top(book))
            elif not sync.synced or seq > sync.book_id:
                tickers[seq] = expected  # compared when the depth message with this u is applied
            continue
        if not flags & _MBP:
            continue
        was_synced = sync.synced
        if flags & _SNAPSHOT:
            sync._snapshot(seq, events[start:stop])
            applied = True
        elif kind in (_LEVEL, _NONE):
            applied = sync._depth(_Pending(aux, seq, prev, events[start:stop]))
        else:
            continue
        if not was_synced and not sync.synced:
            stats.buffered_before_snapshot += 1
        if applied and on_update is not None:
            on_update(book, events[start:stop])
        if applied and tickers:
            exp = tickers.pop(sync.book_id, None)
            if exp is not None:
                _check(stats, sync.book_id, exp, _top(book))
            if len(tickers) > 4096:  # tickers whose u never matched a depth u
                for k in [k for k in tickers if k < sync.book_id]:
                    del tickers[k]
    stats.applied_messages = sync.applied_messages
    stats.dropped_messages = sync.dropped_messages
    return stats


def _check(stats: ReplayStats, u: int, expected: tuple[int, int, int, int], got: tuple[int, int, int, int]) -> None:
    stats.bbo_checks += 1
    if expected != got:
        stats.bbo_mismatches += 1
        if len(stats.mismatches) < 10:
            stats.mismatches.append((u, expected, got))
