"""Market data for the event loop: sources of event-record chunks, Binance book synchronisation, merging.

Every source is an iterable of ``EVENT_DTYPE`` arrays (chunks) in ``ts_local`` order; a plain array is one
chunk. Catalog readers, recording decoders and generators all plug in this way.

:func:`binance_book_events` turns a decoded Binance recording (depth diffs, a REST snapshot, trades and
tickers in arrival order) into what a synchronised book consumer sees, using the book issue's
:class:`~shrivenquant.book.BinanceBookSync` rules: depth messages before the snapshot are buffered and
applied (or dropped as stale) when it arrives, stamped with the snapshot's arrival time; after a
sequence gap a ``CLEAR`` record is emitted and the book waits for the next snapshot. Trades, tickers and
mark prices stay in place. The output can be applied to a book record by record.

:func:`merge_sources` merges several sources by ``ts_local`` (stable: on equal times, the earlier source
first; a venue message is never split), chunk by chunk, so memory stays bounded by the chunk sizes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from shrivenquant.core.events import EVENT_DTYPE, EventFlag, EventKind
from shrivenquant.errors import SequenceGapError, ValidationError

__all__ = ["as_chunks", "binance_book_events", "generated_events", "merge_sources", "recording_events"]

_LAST = int(EventFlag.LAST)
_MBP = int(EventFlag.MBP)
_SNAPSHOT = int(EventFlag.SNAPSHOT)


def as_chunks(source: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Chunks of a source: an array is one chunk; an iterable yields its arrays (dtype checked)."""
    if isinstance(source, np.ndarray):
        it: Iterable[np.ndarray] = (source,)
    else:
        it = source
    for chunk in it:
        if not isinstance(chunk, np.ndarray) or chunk.dtype != EVENT_DTYPE:
            raise ValidationError(f"a data source must yield EVENT_DTYPE arrays, got {type(chunk).__name__} "
                                  f"{getattr(chunk, 'dtype', '')}")
        if chunk.size:
            yield chunk


class _Recorder:
    """A BookTarget that records which records the synchroniser applied, in order."""

    def __init__(self, base: np.ndarray) -> None:
        self.base = base.__array_interface__["data"][0]
        self.applied: list[tuple[int, int]] = []

    def apply_events(self, records: np.ndarray) -> int:
        start = (records.__array_interface__["data"][0] - self.base) // EVENT_DTYPE.itemsize
        self.applied.append((start, start + records.size))
        return records.size

    def clear(self) -> None:
        pass  # a snapshot message starts with its own CLEAR record


def binance_book_events(events: np.ndarray, *, market: str | None = None) -> np.ndarray:
    """The records of a decoded Binance recording in the order a synchronised book applies them.

    ``market`` is ``"spot"`` or ``"futures"`` (default: per instrument, futures if the depth records carry
    ``pu`` in ``order_id``). Returns a new array (the input is not modified).
    """
    from shrivenquant.book.sync import BinanceBookSync

    if events.dtype != EVENT_DTYPE:
        raise ValidationError(f"expected an EVENT_DTYPE array, got dtype {events.dtype}")
    if not events.size:
        return events.copy()
    events = np.ascontiguousarray(events)
    stops = np.flatnonzero(events["flags"] & _LAST) + 1
    if not stops.size or stops[-1] != events.size:
        raise ValidationError("the recording does not end with a complete message (LAST flag)")
    starts = np.concatenate(([0], stops[:-1]))
    heads = events[starts]
    syncs: dict[int, tuple[BinanceBookSync, _Recorder]] = {}
    out_idx: list[np.ndarray] = []
    out_ts: list[tuple[int, int]] = []  # (position in out_idx, ts to stamp) for buffered messages
    clear_rows: list[int] = []
    pieces = 0
    for start, stop, _kind, flags, iid in zip(starts.tolist(), stops.tolist(), heads["kind"].tolist(),
                                              heads["flags"].tolist(), heads["instrument_id"].tolist(),
                                              strict=True):
        if not flags & _MBP:
            out_idx.append(np.arange(start, stop))
            pieces += 1
            continue
        pair = syncs.get(iid)
        if pair is None:
            sel = events[(events["instrument_id"] == iid) & (events["kind"] == EventKind.LEVEL)
                         & ((events["flags"] & _SNAPSHOT) == 0)]
            mk = market or ("futures" if (sel["order_id"] != 0).any() else "spot")
            rec = _Recorder(events)
            pair = (BinanceBookSync(rec, mk), rec)  # type: ignore[arg-type]
            syncs[iid] = pair
        sync, rec = pair
        ts_now = int(events["ts_local"][start])
        try:
            sync.on_message(events[start:stop])
        except SequenceGapError:
            sync.resync()
            rec.applied.clear()
            clear_rows.append(start)  # a CLEAR for this instrument at this time (built below)
            out_idx.append(np.array([-1 - start]))
            pieces += 1
            continue
        for a, b in rec.applied:
            out_idx.append(np.arange(a, b))
            if int(events["ts_local"][a]) != ts_now:
                out_ts.append((pieces, ts_now))
            pieces += 1
        rec.applied.clear()
    idx = np.concatenate(out_idx) if out_idx else np.zeros(0, np.int64)
    out = events[np.where(idx >= 0, idx, 0)]
    if clear_rows:
        neg = np.flatnonzero(idx < 0)
        for j in neg.tolist():
            src = -1 - int(idx[j])
            r = out[j]
            r["kind"], r["side"], r["flags"] = EventKind.CLEAR, 0, _LAST | _MBP
            r["instrument_id"] = events["instrument_id"][src]
            r["ts_local"], r["ts_event"] = events["ts_local"][src], events["ts_event"][src]
    if out_ts:
        lens = np.array([a.size for a in out_idx])
        offs = np.concatenate(([0], np.cumsum(lens)))
        for piece, ts in out_ts:
            out["ts_local"][offs[piece]:offs[piece + 1]] = ts
    return out


def recording_events(paths: Iterable[str], instruments: Iterable[object] = ()) -> tuple[np.ndarray, list[object]]:
    """Decode Binance recordings (hftbacktest lines or cryptofeed captures) and synchronise the books.

    Returns ``(events, instruments)``: the records as :func:`binance_book_events` orders them and the
    instrument table (index = ``instrument_id``), from ``instruments`` (exchangeInfo) or read off the
    stream's decimals.
    """
    from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, read_recording

    by_symbol = {i.symbol: i for i in instruments}  # type: ignore[attr-defined]
    decoder = BinanceRecordingDecoder(by_symbol)  # type: ignore[arg-type]
    for p in paths:
        decoder.decode_lines(read_recording(p))
    events = decoder.flush()
    table = _instrument_table(decoder, by_symbol)
    return binance_book_events(events), table


def generated_events(messages: int, seed: int = 7) -> tuple[np.ndarray, list[object], object]:
    """The project's generated Binance USD-M stream, decoded and synchronised.

    Returns ``(events, instruments, decoder stats)``.
    """
    from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, read_hftbacktest
    from shrivenquant.venues.binance.synthetic import generate_stream

    if messages < 1:
        raise ValidationError(f"messages must be >= 1, got {messages}")
    inst, lines = generate_stream(messages, seed=seed)
    decoder = BinanceRecordingDecoder({inst.symbol: inst})
    decoder.decode_lines(read_hftbacktest(lines))
    events = decoder.flush()
    return binance_book_events(events), [inst], decoder.stats


def _instrument_table(decoder: object, by_symbol: dict[str, object]) -> list[object]:
    from shrivenquant._native.fixed import Price, Quantity
    from shrivenquant.core.enums import InstrumentKind
    from shrivenquant.core.instrument import Instrument

    table: list[object] = []
    for sym, info in sorted(decoder.symbols.items(), key=lambda kv: kv[1].instrument_id):  # type: ignore[attr-defined]
        inst = by_symbol.get(sym)
        if inst is None:
            pp = info.price_precision or 0
            sp = info.size_precision or 0
            quote = "USDT" if sym.endswith("USDT") else "USD"
            inst = Instrument(venue="BINANCE", symbol=sym, kind=InstrumentKind.SPOT, quote=quote,
                              base=sym[: -len(quote)] or sym, price_tick=Price.from_raw(1, pp),
                              size_step=Quantity.from_raw(1, sp))
        while len(table) < info.instrument_id:
            table.append(None)
        table.append(inst)
    return table


def merge_sources(sources: list[Iterable[np.ndarray]]) -> Iterator[np.ndarray]:
    """Merge chunked sources by ``ts_local`` (stable; earlier source first on ties)."""
    its = [as_chunks(s) for s in sources]
    if len(its) == 1:
        yield from its[0]
        return
    bufs: list[np.ndarray | None] = [None] * len(its)
    done = [False] * len(its)
    while True:
        for k, it in enumerate(its):
            if not done[k] and (bufs[k] is None or not bufs[k].size):  # type: ignore[union-attr]
                nxt = next(it, None)
                if nxt is None:
                    done[k] = True
                    bufs[k] = None
                else:
                    bufs[k] = nxt
        live = [b for b in bufs if b is not None and b.size]
        if not live:
            return
        # every buffer can be emitted up to the smallest "last ts" of a source that may still send more
        lasts = [int(b["ts_local"][-1]) for k, b in enumerate(bufs) if b is not None and b.size and not done[k]]
        bound = min(lasts) if lasts else 9_223_372_036_854_775_807
        parts = []
        for k, b in enumerate(bufs):
            if b is None or not b.size:
                continue
            n = int(np.searchsorted(b["ts_local"], bound, side="right"))
            parts.append(b[:n])
            bufs[k] = b[n:]
        merged = np.concatenate(parts)
        order = np.argsort(merged["ts_local"], kind="stable")
        yield merged[order]
