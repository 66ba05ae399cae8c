"""Decode recorded Binance market-data streams into event-record arrays, exactly (no float on the path).

Two recording formats are read, gzip or plain text (detected from the gzip magic bytes):

* **hftbacktest** (``<local_ts> <json>`` per line): ``local_ts`` is ns since the epoch (19 digits) or
  µs (16 digits, the 2023 ``.dat.gz`` files; multiplied by 1000) or ms (13 digits). The JSON is a
  combined-stream envelope ``{"stream": "btcusdt@depth@0ms", "data": {...}}`` or a bare REST depth
  snapshot ``{"lastUpdateId": .., "bids": [[p, q], ..], "asks": [..]}``.
* **cryptofeed** raw-data files: a ``<wss url> <-> <ts>`` connect line, then ``<ts>: <json>`` per
  websocket message; REST files hold ``<url> -> <ts>: <body>`` lines. ``ts`` is seconds since the
  epoch as a decimal string, converted to ns exactly (digits beyond the ns are truncated). Depth
  snapshots from ``.../depth?symbol=XYZ`` take their symbol from the URL; other REST responses
  (``exchangeInfo``) and the ``configuration:`` line are not market data and are skipped.

A line reader yields ``(line_number, ts_local_ns, json_bytes, symbol_or_None)`` tuples
(:data:`RecordedLine`); :class:`BinanceRecordingDecoder` turns them into records of
:data:`~shrivenquant.core.events.EVENT_DTYPE`, written into a growing preallocated NumPy buffer
(scalar messages with one ``struct.pack_into``, depth levels as vectorised column writes).
JSON is decoded with typed ``msgspec`` structs; decimal strings go to raw int64 with
:func:`~shrivenquant._native.fixed.parse_decimals` / ``parse_decimal``.

Record mapping (all timestamps ns UTC; ``ms -> ns`` is ``* 1_000_000``; ``ts_local`` is the line's
local receive time; prices / quantities raw at the symbol's price / size precision; fields not named
are 0):

* ``depthUpdate`` -> one ``LEVEL`` per entry, bids (side 1) then asks (side 2), in message order:
  ``price``/``qty`` = level price / new size (0 deletes), ``seq`` = ``u`` (last update id), ``aux`` =
  ``U`` (first update id), ``order_id`` = ``pu`` (previous message's ``u``; futures only, 0 on spot),
  ``ts_event`` = ``T`` (matching-engine time, futures) else ``E`` (event time, spot). Flags ``MBP``,
  plus ``LAST`` on the final record. A message with no levels gives one ``NONE`` record (side 0,
  price/qty null) with the same ids and ``MBP|LAST``, so that ``U``/``u``/``pu`` chains stay whole.
* REST snapshot -> one ``CLEAR`` (side 0, price/qty null) then one ``LEVEL`` per bid then per ask, all
  with ``seq`` = ``lastUpdateId``, flags ``SNAPSHOT|MBP``, ``LAST`` on the final record; ``ts_event``
  = ``T`` (futures) else ``E``; spot snapshots have neither: ``ts_event`` = ``ts_local`` and ``BAD_TS``.
* ``trade`` -> one ``TRADE``: ``price`` = ``p``, ``qty`` = ``q``, ``seq`` = ``t`` (trade id), ``side`` =
  aggressor (``m`` true, i.e. the buyer is the maker -> 2, the seller hit the bid; else 1),
  ``ts_event`` = ``T`` (trade time), flags ``LAST``.
* ``aggTrade`` -> as ``trade`` with ``seq`` = ``a`` (aggregate trade id), ``aux`` = ``f`` (first trade id).
* ``bookTicker`` -> two ``BBO`` records, bid (side 1, ``b``/``B``) then ask (side 2, ``a``/``A``), both
  with ``seq`` = ``u``, flags ``TOB`` and ``LAST`` on the ask; ``ts_event`` = ``T`` (futures) else
  ``E``; spot bookTicker has neither: ``ts_event`` = ``ts_local`` and ``BAD_TS``.
* ``markPriceUpdate`` -> one ``MARK``: ``price`` = mark price ``p``, ``aux`` = index price ``i``
  (RAW_NULL if absent), ``qty`` null, ``ts_event`` = ``E`` (its ``T`` is the next funding time).
  Binance sends mark/index prices with 8 decimals whatever the tick, so they are rounded to the price
  precision with ``mark_rounding`` (default HALF_EVEN; ``None``: exact or raise) -- the only rounding
  on the path. ``P`` (estimated settle price) and ``r`` (funding rate) are dropped.

Bare stream payloads (``/ws/<stream>`` recordings) are dispatched on their ``e``; ``{"result": ..}``
subscription answers are counted as skipped ``response``.

``instrument_id`` is the index of the symbol's instrument in the ``instruments`` given (a sequence, or
a mapping ``symbol -> Instrument`` in its iteration order). Symbols not given get the next ids in
order of first appearance and, by default, *inferred* precisions: Binance formats every price and
quantity of a symbol with a fixed number of decimals (spot ``"61737.63000000"`` -> 8), so the price
precision is the decimal count of the first price string of that symbol and the size precision that of
its first quantity string (a mark price seen first fixes the price precision at its 8 decimals; every
later price still parses exactly). The precisions used are in :attr:`DecodeStats.symbols`. A value
with more non-zero decimals than the precision raises :class:`~shrivenquant.errors.DecodeError`
naming the line, from the :class:`~shrivenquant.errors.PrecisionError`.

The symbol of a message is its ``s`` (or the stream name's prefix). A REST snapshot line names no
symbol on spot and USD-M; it gets, in order: the reader's symbol (cryptofeed URL), its ``symbol``
field (COIN-M), ``default_symbol``, the only instrument given, or the only symbol seen so far.

Records come out in file order; Binance's sync rule (drop diffs older than the snapshot) is the
book's job. Partial-depth (``depth5``...), kline and other unknown streams are counted in
:attr:`DecodeStats.skipped` by stream type and produce no records.

**Native path.** When the compiled :mod:`shrivenquant._native.binance_wire` scanner is available (and
``native`` is not False), messages go through it: ``depthUpdate``, ``trade``, ``aggTrade``,
``bookTicker``, ``markPriceUpdate`` and REST snapshots of symbols whose precisions are already fixed are
decoded straight from the bytes into the same records, in batches (:meth:`BinanceRecordingDecoder.decode_lines`)
or over a whole hftbacktest file's content (:meth:`BinanceRecordingDecoder.decode_hftbacktest_buffer`,
used by :func:`decode_file`). Every other line -- a symbol's first message (which registers it and
fixes inferred precisions), skipped streams and responses, cryptofeed REST lines, and any line the strict
scanner rejects -- goes through the msgspec path above, so records, statistics and error messages are
the same with or without the native path.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import numpy as np

from shrivenquant._native.fixed import RAW_NULL, Rounding, parse_decimal, parse_decimals
from shrivenquant.core.events import EVENT_DTYPE, EventFlag, EventKind
from shrivenquant.core.instrument import Instrument
from shrivenquant.errors import DecodeError, FixedPointOverflowError, ValidationError

try:  # the compiled wire scanner; without it every message takes the msgspec path
    from shrivenquant._native import binance_wire as _wire
except ImportError:  # pragma: no cover - only when the extension was not built
    _wire = None  # type: ignore[assignment]

__all__ = [
    "BinanceRecordingDecoder",
    "DecodeStats",
    "RecordedLine",
    "SymbolInfo",
    "decode_file",
    "detect_format",
    "read_cryptofeed",
    "read_hftbacktest",
    "read_recording",
]

#: One recorded message: (1-based line number, local receive time in ns UTC, JSON bytes,
#: symbol known from the line itself such as a cryptofeed REST URL, else None).
RecordedLine = tuple[int, int, bytes, str | None]

#: handler(decoded payload struct, ts_local_ns, symbol from the stream name, line number)
_Handler = Callable[[Any, int, "str | None", int], None]
#: (message type or skip key, symbol from the stream name, payload decoder, envelope decoder, handler)
_StreamEntry = tuple[str, "str | None", Any, Any, "_Handler | None"]

RecordingFormat = Literal["auto", "hftbacktest", "cryptofeed"]

# ---------------------------------------------------------------------------------------------- constants
_NONE = int(EventKind.NONE)
_LEVEL = int(EventKind.LEVEL)
_CLEAR = int(EventKind.CLEAR)
_TRADE = int(EventKind.TRADE)
_BBO = int(EventKind.BBO)
_MARK = int(EventKind.MARK)
_BID, _ASK = 1, 2
_F_LAST = int(EventFlag.LAST)
_F_SNAPSHOT = int(EventFlag.SNAPSHOT)
_F_TOB = int(EventFlag.TOB)
_F_MBP = int(EventFlag.MBP)
_F_BAD_TS = int(EventFlag.BAD_TS)
_MS = 1_000_000  # ms -> ns
_SMALL_MESSAGE = 12  # depth messages with at most this many levels are packed record by record

#: One record: ts_event, ts_local, price, qty, order_id, seq, aux, instrument_id, kind, side, flags, reserved.
_REC = struct.Struct("<qqqqQQqIBBBB")
_REC2 = struct.Struct("<" + "qqqqQQqIBBBB" * 2)
assert _REC.size == EVENT_DTYPE.itemsize == 64

#: local-timestamp digit count -> factor to ns
_TS_SCALE = {19: 1, 16: 1_000, 13: 1_000_000}
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_NATIVE_CHUNK = 4096  # lines per native batch in decode_lines

_INT64_MAX = 2**63 - 1
_Id = Annotated[int, msgspec.Meta(ge=0, le=_INT64_MAX)]  # update / trade ids (stored in u64 fields)
_Ms = Annotated[int, msgspec.Meta(ge=0, le=_INT64_MAX // _MS)]  # venue times, ms since the epoch
_Levels = list[tuple[str, str]]
_NO_RAW = msgspec.Raw()


# ---------------------------------------------------------------------------------------------- wire structs
class _Top(msgspec.Struct, gc=False):
    """Top level of a line: a combined-stream envelope, a REST depth snapshot, or a bare event."""

    stream: str | None = None
    data: msgspec.Raw = _NO_RAW
    last_update_id: _Id | None = msgspec.field(name="lastUpdateId", default=None)
    bids: _Levels | None = None
    asks: _Levels | None = None
    event_time: _Ms | None = msgspec.field(name="E", default=None)
    txn_time: _Ms | None = msgspec.field(name="T", default=None)
    symbol: str | None = None
    event: str | None = msgspec.field(name="e", default=None)
    result: msgspec.Raw = _NO_RAW


class _Depth(msgspec.Struct, gc=False):
    first_id: _Id = msgspec.field(name="U")
    last_id: _Id = msgspec.field(name="u")
    bids: _Levels = msgspec.field(name="b")
    asks: _Levels = msgspec.field(name="a")
    prev_id: _Id | None = msgspec.field(name="pu", default=None)
    symbol: str | None = msgspec.field(name="s", default=None)
    event_time: _Ms | None = msgspec.field(name="E", default=None)
    txn_time: _Ms | None = msgspec.field(name="T", default=None)


class _Trade(msgspec.Struct, gc=False):
    trade_id: _Id = msgspec.field(name="t")
    price: str = msgspec.field(name="p")
    qty: str = msgspec.field(name="q")
    txn_time: _Ms = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(name="m")
    symbol: str | None = msgspec.field(name="s", default=None)


class _AggTrade(msgspec.Struct, gc=False):
    agg_id: _Id = msgspec.field(name="a")
    price: str = msgspec.field(name="p")
    qty: str = msgspec.field(name="q")
    first_trade_id: _Id = msgspec.field(name="f")
    txn_time: _Ms = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(name="m")
    symbol: str | None = msgspec.field(name="s", default=None)


class _BookTicker(msgspec.Struct, gc=False):
    update_id: _Id = msgspec.field(name="u")
    bid: str = msgspec.field(name="b")
    bid_qty: str = msgspec.field(name="B")
    ask: str = msgspec.field(name="a")
    ask_qty: str = msgspec.field(name="A")
    symbol: str | None = msgspec.field(name="s", default=None)
    event_time: _Ms | None = msgspec.field(name="E", default=None)
    txn_time: _Ms | None = msgspec.field(name="T", default=None)


class _MarkPrice(msgspec.Struct, gc=False):
    event_time: _Ms = msgspec.field(name="E")
    mark: str = msgspec.field(name="p")
    index: str | None = msgspec.field(name="i", default=None)
    symbol: str | None = msgspec.field(name="s", default=None)


class _Skipped(msgspec.Struct, gc=False):
    """Any JSON object (fields ignored): validates a line of a skipped stream."""


# Envelopes typed by stream: one decode validates the whole line and yields the typed payload.
class _DepthEnvelope(msgspec.Struct, gc=False):
    data: _Depth


class _TradeEnvelope(msgspec.Struct, gc=False):
    data: _Trade


class _AggTradeEnvelope(msgspec.Struct, gc=False):
    data: _AggTrade


class _BookTickerEnvelope(msgspec.Struct, gc=False):
    data: _BookTicker


class _MarkPriceEnvelope(msgspec.Struct, gc=False):
    data: _MarkPrice


_EXPECTED = {
    "depthUpdate": '{"e":"depthUpdate","E":ms,"s":str,"U":int,"u":int,["pu":int,]'
    '"b":[[price,qty],..],"a":[[price,qty],..]}',
    "trade": '{"e":"trade","s":str,"t":int,"p":price,"q":qty,"T":ms,"m":bool}',
    "aggTrade": '{"e":"aggTrade","s":str,"a":int,"p":price,"q":qty,"f":int,"T":ms,"m":bool}',
    "bookTicker": '{"u":int,"s":str,"b":price,"B":qty,"a":price,"A":qty[,"T":ms,"E":ms]}',
    "markPriceUpdate": '{"e":"markPriceUpdate","E":ms,"s":str,"p":price,"i":price}',
    "snapshot": '{"lastUpdateId":int,"bids":[[price,qty],..],"asks":[[price,qty],..]}',
    "line": 'a combined-stream envelope {"stream":str,"data":{..}}, a REST depth snapshot '
    '{"lastUpdateId":int,"bids":[..],"asks":[..]} or a bare stream event {"e":str,..}',
}

_DECODE_ERRORS = (
    msgspec.DecodeError,
    msgspec.ValidationError,
    ValidationError,
    FixedPointOverflowError,
    struct.error,
    OverflowError,
    TypeError,
    ValueError,
)


# ---------------------------------------------------------------------------------------------- public types
@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """How a symbol's records were written: its ``instrument_id`` and raw precisions (decimal places)."""

    symbol: str
    instrument_id: int
    price_precision: int | None
    size_precision: int | None
    inferred: bool


@dataclass(slots=True)
class DecodeStats:
    """Counts of one decoding run.

    Attributes:
        lines: non-blank lines decoded.
        messages: decoded messages by type (``depthUpdate``, ``snapshot``, ``trade``, ``aggTrade``,
            ``bookTicker``, ``markPriceUpdate``), those of skipped symbols included.
        skipped: messages without records by reason: unknown stream type (``kline_1m``,
            ``depth20@100ms``, ..), ``response`` (``{"result":..,"id":..}``), ``symbol <S>``
            (``unknown_symbols="skip"``).
        records: event records written.
        level_updates: ``LEVEL`` records from ``depthUpdate`` messages.
        snapshot_levels: ``LEVEL`` records from REST snapshots.
        symbols: instrument id and precisions used per symbol (refreshed by ``decode_lines`` and
            ``flush``; :attr:`BinanceRecordingDecoder.symbols` is always current).
        first_ts_local, last_ts_local: local receive time of the first / last decoded line, ns UTC.
    """

    lines: int = 0
    messages: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    records: int = 0
    level_updates: int = 0
    snapshot_levels: int = 0
    symbols: dict[str, SymbolInfo] = field(default_factory=dict)
    first_ts_local: int | None = None
    last_ts_local: int | None = None


class _Sym:
    __slots__ = ("iid", "inferred", "pp", "seen", "sp", "symbol")

    def __init__(self, symbol: str, iid: int, pp: int, sp: int, inferred: bool) -> None:
        self.symbol = symbol
        self.iid = iid
        self.pp = pp  # price precision, -1 until inferred
        self.sp = sp  # size precision, -1 until inferred
        self.inferred = inferred
        self.seen = False  # met in a message yet


def _decimals(text: str) -> int:
    """Decimal places written in ``text`` (``"61737.63000000"`` -> 8)."""
    i = text.find(".")
    return 0 if i < 0 else len(text) - i - 1


def _meta(iid: int, kind: int, side: int, flags: int) -> int:
    """The last 8 bytes of a record (instrument_id, kind, side, flags, reserved) as one int64 word."""
    return iid | (kind << 32) | (side << 40) | (flags << 48)


# ---------------------------------------------------------------------------------------------- decoder
class BinanceRecordingDecoder:
    """Turns recorded Binance messages into :data:`~shrivenquant.core.events.EVENT_DTYPE` records.

    Args:
        instruments: the instruments to decode at, as a sequence (``instrument_id`` = index) or a
            mapping ``symbol -> Instrument`` (id = position in iteration order); None: infer all.
        default_symbol: symbol of REST snapshot lines that do not name one.
        unknown_symbols: what to do with a symbol not in ``instruments``: ``"infer"`` its precisions
            (see the module docstring), ``"skip"`` its messages (counted), or raise (``"error"``).
        mark_rounding: rounding of mark/index prices to the price precision; None: exact or raise.
        capacity: initial record capacity of the output buffer (it doubles when full).
        native: use the compiled wire scanner for the messages it handles (same records, statistics and
            errors; see the module docstring): None (default) when it is built, True to require it,
            False for the msgspec path only.

    Feed messages with :meth:`decode`, :meth:`decode_lines` or :meth:`decode_hftbacktest_buffer`; take
    the records with :meth:`flush`. A message that fails to decode raises :class:`DecodeError` and adds
    nothing. Not thread-safe.
    """

    def __init__(
        self,
        instruments: Mapping[str, Instrument] | Sequence[Instrument] | None = None,
        *,
        default_symbol: str | None = None,
        unknown_symbols: Literal["infer", "skip", "error"] = "infer",
        mark_rounding: Rounding | None = Rounding.HALF_EVEN,
        capacity: int = 1 << 16,
        native: bool | None = None,
    ) -> None:
        if unknown_symbols not in ("infer", "skip", "error"):
            raise ValidationError(
                f"unknown_symbols must be 'infer', 'skip' or 'error', got {unknown_symbols!r}")
        if capacity < 1:
            raise ValidationError(f"capacity must be >= 1, got {capacity}")
        self._syms: dict[str, _Sym] = {}
        self._given: list[str] = []
        if instruments is not None:
            pairs = (
                list(instruments.items())
                if isinstance(instruments, Mapping)
                else [(inst.symbol, inst) for inst in instruments]
            )
            for sym, inst in pairs:
                if not isinstance(inst, Instrument):
                    raise ValidationError(
                        f"instruments must be Instrument objects, got {type(inst).__name__}")
                if sym in self._syms:
                    raise ValidationError(f"symbol {sym!r} is given twice in instruments")
                self._syms[sym] = _Sym(sym, len(self._syms), inst.price_precision, inst.size_precision, False)
                self._given.append(sym)
        self._default_symbol = default_symbol
        self._unknown = unknown_symbols
        self._mark_mode = Rounding.EXACT if mark_rounding is None else Rounding(mark_rounding)
        self._seen: list[str] = []  # symbols met in messages, in order
        self._capacity0 = capacity
        self._buf = np.empty(capacity, dtype=EVENT_DTYPE)
        self._w = self._buf.view(np.int64).reshape(-1, 8)  # the same bytes as 8 int64 words per record
        self._mv = self._buf.view(np.uint8).data  # the same bytes for struct.pack_into
        self._cap = capacity
        self._n = 0
        self.stats = DecodeStats()
        self._counts = self.stats.messages
        self._skipped = self.stats.skipped
        self._dec_top = msgspec.json.Decoder(_Top)
        self._dec_skip = msgspec.json.Decoder(_Skipped)
        # message type -> (payload decoder, envelope decoder, handler)
        self._kinds: dict[str, tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any], _Handler]] = {
            "depthUpdate": (msgspec.json.Decoder(_Depth), msgspec.json.Decoder(_DepthEnvelope), self._depth),
            "trade": (msgspec.json.Decoder(_Trade), msgspec.json.Decoder(_TradeEnvelope), self._trade),
            "aggTrade": (msgspec.json.Decoder(_AggTrade), msgspec.json.Decoder(_AggTradeEnvelope), self._trade),
            "bookTicker": (msgspec.json.Decoder(_BookTicker), msgspec.json.Decoder(_BookTickerEnvelope),
                           self._book_ticker),
            "markPriceUpdate": (msgspec.json.Decoder(_MarkPrice), msgspec.json.Decoder(_MarkPriceEnvelope),
                                self._mark),
        }
        # stream name (str, and bytes for the fast path) -> (message type or skip key, symbol from the
        # name, payload decoder, envelope decoder, handler); decoders/handler None for skipped streams
        self._streams: dict[str | bytes, _StreamEntry] = {}
        if native and _wire is None:
            raise ValidationError("native=True but shrivenquant._native.binance_wire is not built")
        # the native scanner knows a symbol once it is seen and both its precisions are fixed
        self._wire = _wire.BinanceWireDecoder(mark_rounding=self._mark_mode) if (
            _wire is not None and native is not False) else None
        self._wire_synced: set[str] = set()

    @property
    def native(self) -> bool:
        """Whether messages go through the compiled wire scanner (see the module docstring)."""
        return self._wire is not None

    # ------------------------------------------------------------------ output buffer
    def __len__(self) -> int:
        """Records decoded and not yet flushed."""
        return self._n

    def _grow(self, k: int) -> None:
        n = self._n
        new = np.empty(max(2 * self._cap, n + k), dtype=EVENT_DTYPE)
        new[:n] = self._buf[:n]
        self._buf = new
        self._w = new.view(np.int64).reshape(-1, 8)
        self._mv = new.view(np.uint8).data
        self._cap = new.shape[0]

    def flush(self) -> np.ndarray:
        """The records decoded since the last flush (an EVENT_DTYPE array); the buffer starts over."""
        n = self._n
        out = self._buf if n == self._cap else self._buf[:n].copy()
        self._buf = np.empty(self._capacity0, dtype=EVENT_DTYPE)
        self._w = self._buf.view(np.int64).reshape(-1, 8)
        self._mv = self._buf.view(np.uint8).data
        self._cap = self._capacity0
        self._n = 0
        self.stats.symbols = self.symbols
        return out

    # ------------------------------------------------------------------ symbols
    def _symbol(self, symbol: str | None, line: int) -> _Sym | None:
        """State of ``symbol`` on its first message (registers it); None: skip its messages."""
        if not symbol:
            raise DecodeError(f"line {line}: message has no symbol (no 's' field and no stream name)")
        st = self._syms.get(symbol)
        if st is None:
            if self._given and self._unknown != "infer":
                if self._unknown == "error":
                    raise DecodeError(f"line {line}: symbol {symbol!r} is not among the instruments given "
                                      f"({', '.join(self._given)})")
                key = f"symbol {symbol}"
                self._skipped[key] = self._skipped.get(key, 0) + 1
                return None
            st = self._syms[symbol] = _Sym(symbol, len(self._syms), -1, -1, True)
        if not st.seen:
            st.seen = True
            self._seen.append(symbol)
        return st

    def _snapshot_symbol(self, *candidates: str | None) -> str | None:
        for c in candidates:
            if c:
                return c
        if len(self._given) == 1:
            return self._given[0]
        if len(self._seen) == 1:
            return self._seen[0]
        return None

    @property
    def symbols(self) -> dict[str, SymbolInfo]:
        """Instrument id and precisions (None: not met yet) of every symbol given or met."""
        return {
            s.symbol: SymbolInfo(
                s.symbol, s.iid, s.pp if s.pp >= 0 else None, s.sp if s.sp >= 0 else None, s.inferred)
            for s in self._syms.values()
        }

    # ------------------------------------------------------------------ entry points
    def decode(self, payload: bytes, ts_local: int, *, line: int = 0, symbol: str | None = None) -> int:
        """Decode one message (JSON bytes received at ``ts_local`` ns UTC); returns the records added.

        ``line`` is used in error messages; ``symbol`` names the symbol of a REST snapshot. Raises
        :class:`DecodeError` (with the line number and what was expected) and adds nothing on failure.
        """
        n0 = self._n
        wire = self._wire
        if wire is not None and symbol is None and type(payload) is bytes and type(ts_local) is int and (
                _I64_MIN <= ts_local <= _I64_MAX):
            need = len(payload) // 9 + 2  # a level takes >= 9 bytes: enough room for any message
            if n0 + need > self._cap:
                self._grow(need)
            try:
                k = wire.decode_into(payload, ts_local, self._buf, n0)
            except DecodeError:
                k = -1  # the msgspec path gives the canonical error (or decodes what the scanner refused)
            if k >= 0:
                self._n = n0 + k
                self._merge_wire()
                self.stats.records += k
                return k
        self._decode_one(payload, ts_local, line, symbol)
        st = self.stats
        st.lines += 1
        if st.first_ts_local is None:
            st.first_ts_local = ts_local
        st.last_ts_local = ts_local
        k = self._n - n0
        st.records += k
        if wire is not None:
            self._wire_sync()
        return k

    def decode_lines(self, lines: Iterable[RecordedLine]) -> int:
        """Decode every ``(line, ts_local_ns, json, symbol)`` of ``lines``; returns the records added.

        On a :class:`DecodeError` the lines before the bad one stay decoded.
        """
        if self._wire is not None:
            return self._decode_lines_native(lines)
        n0 = self._n
        one = self._decode_one
        count = 0
        first = last = None
        try:
            for line, ts_local, payload, symbol in lines:
                one(payload, ts_local, line, symbol)
                if first is None:
                    first = ts_local
                last = ts_local
                count += 1
        finally:
            st = self.stats
            if count:
                st.lines += count
                if st.first_ts_local is None:
                    st.first_ts_local = first
                st.last_ts_local = last
            st.records += self._n - n0
            st.symbols = self.symbols
        return self._n - n0

    def decode_hftbacktest_buffer(self, data: bytes) -> int:
        """Decode the whole (un-gzipped) content of an hftbacktest recording; returns the records added.

        The same as ``decode_lines(read_hftbacktest(io.BytesIO(data)))``, with the line splitting and
        timestamps done natively too when the wire scanner is available.
        """
        wire = self._wire
        if wire is None:
            return self.decode_lines(read_hftbacktest(io.BytesIO(data)))
        n0 = self._n
        off = line = 0
        size = len(data)
        try:
            while True:
                status, off, line, self._n = wire.scan_hftbacktest(data, off, line, self._buf, self._n)
                self._merge_wire()
                if status == _wire.DONE:
                    break
                if status == _wire.FULL:
                    self._grow(wire.records_needed)
                    continue
                # a line for the msgspec path: the first of a symbol, a skipped stream, or one the scanner refused
                end = data.find(b"\n", off)
                end = size if end < 0 else end + 1
                line += 1
                rec = _hftbacktest_line(line, data[off:end])
                if rec is not None:
                    self._decode_one(rec[2], rec[1], line, None)
                    self._count_line(rec[1])
                    self._wire_sync()
                off = end
        finally:
            self.stats.records += self._n - n0
            self.stats.symbols = self.symbols
        return self._n - n0

    # ------------------------------------------------------------------ native path
    def _decode_lines_native(self, lines: Iterable[RecordedLine]) -> int:
        wire = self._wire
        assert wire is not None
        n0 = self._n
        one = self._decode_one
        it = iter(lines)
        try:
            while chunk := list(islice(it, _NATIVE_CHUNK)):
                payloads: list[bytes | None] = []
                stamps: list[int] = []
                for _, t, p, s in chunk:  # lines the scanner must not take are None: reported unhandled
                    ok = s is None and type(t) is int and _I64_MIN <= t <= _I64_MAX
                    payloads.append(p if ok else None)
                    stamps.append(t if ok else 0)
                ts = np.array(stamps, dtype=np.int64)
                i, k = 0, len(chunk)
                while i < k:
                    status, i, self._n = wire.decode_batch(payloads, ts, i, self._buf, self._n)
                    self._merge_wire()
                    if status == _wire.DONE:
                        break
                    if status == _wire.FULL:
                        self._grow(wire.records_needed)
                        continue
                    line, ts_local, payload, symbol = chunk[i]
                    one(payload, ts_local, line, symbol)
                    self._count_line(ts_local)
                    self._wire_sync()
                    i += 1
        finally:
            self.stats.records += self._n - n0
            self.stats.symbols = self.symbols
        return self._n - n0

    def _count_line(self, ts_local: int) -> None:
        st = self.stats
        st.lines += 1
        if st.first_ts_local is None:
            st.first_ts_local = ts_local
        st.last_ts_local = ts_local

    def _merge_wire(self) -> None:
        """Add the native scanner's counters (lines, messages, levels, times) to :attr:`stats`."""
        assert self._wire is not None
        got = self._wire.take_stats()
        if not got["lines"]:
            return
        st = self.stats
        st.lines += got["lines"]
        if st.first_ts_local is None:
            st.first_ts_local = got["first_ts_local"]
        st.last_ts_local = got["last_ts_local"]
        counts = self._counts
        for what, n in got["messages"].items():
            counts[what] = counts.get(what, 0) + n
        st.level_updates += got["level_updates"]
        st.snapshot_levels += got["snapshot_levels"]

    def _wire_sync(self) -> None:
        """Give the scanner the symbols seen with fixed precisions, and the snapshot symbol fallback."""
        wire = self._wire
        assert wire is not None
        synced = self._wire_synced
        if len(synced) < len(self._syms):
            for st in self._syms.values():
                if st.seen and st.pp >= 0 and st.sp >= 0 and st.symbol not in synced:
                    synced.add(st.symbol)
                    with contextlib.suppress(ValidationError):  # e.g. a name too long for the scanner
                        wire.add_symbol(st.symbol, st.iid, st.pp, st.sp)
        wire.default_symbol = self._snapshot_symbol(self._default_symbol)

    def _decode_one(self, payload: bytes, ts_local: int, line: int, symbol: str | None) -> None:
        what = "line"
        try:
            # Fast path: a line starting {"stream":"<name>" goes straight to the envelope decoder of
            # that stream type, which validates the whole line in one pass.
            j = payload.find(b'"', 11) if payload[:11] == b'{"stream":"' else -1
            if j > 11:
                name = payload[11:j]
                entry = self._streams.get(name) or self._classify_bytes(name)
                if entry is not None:
                    what, sym, _, env_dec, handler = entry
                    if handler is None:
                        self._dec_skip.decode(payload)  # still a whole, valid JSON object
                        self._skipped[what] = self._skipped.get(what, 0) + 1
                    else:
                        handler(env_dec.decode(payload).data, ts_local, sym, line)  # type: ignore[union-attr]
                    return
            top = self._dec_top.decode(payload)
            stream = top.stream
            if stream is not None:
                what, sym, dec, _, handler = self._streams.get(stream) or self._classify(stream)
                if handler is None:
                    self._skipped[what] = self._skipped.get(what, 0) + 1
                elif not top.data:
                    raise DecodeError(f"line {line}: stream {stream!r} without a 'data' object")
                else:
                    handler(dec.decode(top.data), ts_local, sym, line)  # type: ignore[union-attr]
            elif top.last_update_id is not None:
                what = "snapshot"
                self._snapshot(top, top.last_update_id, ts_local, symbol, line)
            elif top.event is not None:
                what = top.event
                kind = self._kinds.get(what)
                if kind is None:
                    self._skipped[what] = self._skipped.get(what, 0) + 1
                else:
                    kind[2](kind[0].decode(payload), ts_local, None, line)
            elif top.result:
                self._skipped["response"] = self._skipped.get("response", 0) + 1
            else:
                raise DecodeError(f"line {line}: unrecognised message: expected {_EXPECTED['line']}")
        except DecodeError:
            raise
        except _DECODE_ERRORS as exc:
            expected = _EXPECTED.get(what)
            hint = f" (expected {expected})" if expected else ""
            raise DecodeError(f"line {line}: cannot decode {what} message: {exc}{hint}") from exc

    def _classify_bytes(self, name: bytes) -> _StreamEntry | None:
        """Classify a stream name read from raw bytes; None if it is not plain ASCII (use the full decode)."""
        if not name or not name.isascii() or b"\\" in name:
            return None
        entry = self._classify(name.decode("ascii"))
        self._streams[name] = entry
        return entry

    def _classify(self, stream: str) -> _StreamEntry:
        if stream.startswith("!"):
            sym, kind = None, stream[1:]
        else:
            at = stream.find("@")
            sym, kind = (stream[:at].upper() or None, stream[at + 1:]) if at >= 0 else (None, stream)
        if kind == "depth" or kind.startswith("depth@"):
            what = "depthUpdate"
        elif kind in ("trade", "aggTrade", "bookTicker"):
            what = kind
        elif kind == "markPrice" or (kind.startswith("markPrice@") and "arr" not in kind):
            what = "markPriceUpdate"
        else:
            what = kind
        k = self._kinds.get(what)
        entry: _StreamEntry = (what, sym, None, None, None) if k is None else (what, sym, *k)
        self._streams[stream] = entry
        return entry

    # ------------------------------------------------------------------ handlers
    # Each handler parses everything first and commits last (advances self._n, fixes inferred
    # precisions, counts), so a message that fails leaves no records and no state behind.
    def _sym_state(self, symbol: str | None, line: int, what: str) -> _Sym | None:
        st = self._syms.get(symbol) if symbol else None  # type: ignore[arg-type]
        if st is None or not st.seen:
            st = self._symbol(symbol, line)
            if st is None:
                self._counts[what] = self._counts.get(what, 0) + 1
        return st

    def _write_levels(self, n: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]], st: _Sym, *,
                      t: int, ts_local: int, ids: tuple[int, int, int], flags: int) -> int:
        """Write LEVEL records (bids then asks) from index ``n``; returns the count."""
        kb = len(bids)
        k = kb + len(asks)
        if n + k > self._cap:
            self._grow(k)
        first = bids[0] if kb else asks[0]
        pp = st.pp if st.pp >= 0 else _decimals(first[0])
        sp = st.sp if st.sp >= 0 else _decimals(first[1])
        if k <= _SMALL_MESSAGE:  # per-record packing beats NumPy column writes for a few levels
            pack, mv, off, iid = _REC.pack_into, self._mv, n * 64, st.iid
            pu, last_id, first_id = ids
            for i, (p, q) in enumerate(chain(bids, asks)):
                rq = parse_decimal(q, sp)
                if rq < 0:
                    raise ValidationError(f"{st.symbol}: negative quantity at level {i}")
                pack(mv, off, t, ts_local, parse_decimal(p, pp), rq, pu, last_id, first_id, iid, _LEVEL,
                     _BID if i < kb else _ASK, flags | _F_LAST if i == k - 1 else flags, 0)
                off += 64
            st.pp, st.sp = pp, sp
            return k
        raw_p = parse_decimals([lv[0] for lv in chain(bids, asks)], pp)
        qtys = [lv[1] for lv in chain(bids, asks)]
        raw_q = parse_decimals(qtys, sp)
        if "-" in "".join(qtys) and raw_q.min() < 0:  # the join is cheaper than a NumPy reduction
            raise ValidationError(f"{st.symbol}: negative quantity at level {int(np.argmin(raw_q))}")
        w = self._w[n:n + k]
        w[:, 0:2] = (t, ts_local)
        w[:, 2] = raw_p
        w[:, 3] = raw_q
        w[:, 4:7] = ids
        mb = _meta(st.iid, _LEVEL, _BID, flags)
        ma = _meta(st.iid, _LEVEL, _ASK, flags)
        w[:kb, 7] = mb
        w[kb:, 7] = ma
        w[k - 1, 7] = (ma if k > kb else mb) | (_F_LAST << 48)
        st.pp, st.sp = pp, sp
        return k

    def _depth(self, m: _Depth, ts_local: int, sym: str | None, line: int) -> None:
        st = self._sym_state(m.symbol or sym, line, "depthUpdate")
        if st is None:
            return
        t = m.txn_time if m.txn_time is not None else m.event_time
        flags = _F_MBP
        if t is None:
            t, flags = ts_local, flags | _F_BAD_TS
        else:
            t *= _MS
        pu = m.prev_id or 0
        n = self._n
        if m.bids or m.asks:
            k = self._write_levels(n, m.bids, m.asks, st, t=t, ts_local=ts_local,
                                   ids=(pu, m.last_id, m.first_id), flags=flags)
            self.stats.level_updates += k
        else:  # no levels: one NONE record keeps the U/u/pu chain
            if n + 1 > self._cap:
                self._grow(1)
            _REC.pack_into(self._mv, n * 64, t, ts_local, RAW_NULL, RAW_NULL, pu, m.last_id, m.first_id,
                           st.iid, _NONE, 0, flags | _F_LAST, 0)
            k = 1
        self._n = n + k
        self._counts["depthUpdate"] = self._counts.get("depthUpdate", 0) + 1

    def _snapshot(self, top: _Top, last_update_id: int, ts_local: int, line_symbol: str | None,
                  line: int) -> None:
        if top.bids is None or top.asks is None:
            raise DecodeError(f"line {line}: REST depth snapshot without 'bids' and 'asks' "
                              f"(expected {_EXPECTED['snapshot']})")
        symbol = self._snapshot_symbol(line_symbol, top.symbol, self._default_symbol)
        if symbol is None:
            raise DecodeError(
                f"line {line}: REST depth snapshot names no symbol and none can be inferred "
                f"(symbols met: {self._seen or 'none'}); pass default_symbol=")
        st = self._sym_state(symbol, line, "snapshot")
        if st is None:
            return
        t = top.txn_time if top.txn_time is not None else top.event_time
        flags = _F_SNAPSHOT | _F_MBP
        if t is None:
            t, flags = ts_local, flags | _F_BAD_TS
        else:
            t *= _MS
        n = self._n
        k = 0
        if top.bids or top.asks:
            k = self._write_levels(n + 1, top.bids, top.asks, st, t=t, ts_local=ts_local,
                                   ids=(0, last_update_id, 0), flags=flags)
        elif n + 1 > self._cap:
            self._grow(1)
        _REC.pack_into(self._mv, n * 64, t, ts_local, RAW_NULL, RAW_NULL, 0, last_update_id, 0, st.iid,
                       _CLEAR, 0, flags | (_F_LAST if k == 0 else 0), 0)
        self._n = n + 1 + k
        self.stats.snapshot_levels += k
        self._counts["snapshot"] = self._counts.get("snapshot", 0) + 1

    def _trade(self, m: _Trade | _AggTrade, ts_local: int, sym: str | None, line: int) -> None:
        agg = type(m) is _AggTrade
        what = "aggTrade" if agg else "trade"
        st = self._sym_state(m.symbol or sym, line, what)
        if st is None:
            return
        pp = st.pp if st.pp >= 0 else _decimals(m.price)
        sp = st.sp if st.sp >= 0 else _decimals(m.qty)
        price = parse_decimal(m.price, pp)
        qty = parse_decimal(m.qty, sp)
        if qty < 0:
            raise ValidationError(f"{st.symbol}: negative trade quantity {m.qty!r}")
        if agg:
            seq, aux = m.agg_id, m.first_trade_id  # type: ignore[union-attr]
        else:
            seq, aux = m.trade_id, 0  # type: ignore[union-attr]
        n = self._n
        if n + 1 > self._cap:
            self._grow(1)
        _REC.pack_into(self._mv, n * 64, m.txn_time * _MS, ts_local, price, qty, 0, seq, aux, st.iid, _TRADE,
                       _ASK if m.buyer_is_maker else _BID, _F_LAST, 0)
        self._n = n + 1
        st.pp, st.sp = pp, sp
        self._counts[what] = self._counts.get(what, 0) + 1

    def _book_ticker(self, m: _BookTicker, ts_local: int, sym: str | None, line: int) -> None:
        st = self._sym_state(m.symbol or sym, line, "bookTicker")
        if st is None:
            return
        t = m.txn_time if m.txn_time is not None else m.event_time
        flags = _F_TOB
        if t is None:
            t, flags = ts_local, flags | _F_BAD_TS
        else:
            t *= _MS
        pp = st.pp if st.pp >= 0 else _decimals(m.bid)
        sp = st.sp if st.sp >= 0 else _decimals(m.bid_qty)
        bid_qty = parse_decimal(m.bid_qty, sp)
        ask_qty = parse_decimal(m.ask_qty, sp)
        if bid_qty < 0 or ask_qty < 0:
            raise ValidationError(f"{st.symbol}: negative bookTicker quantity")
        u, iid = m.update_id, st.iid
        n = self._n
        if n + 2 > self._cap:
            self._grow(2)
        _REC2.pack_into(
            self._mv, n * 64,
            t, ts_local, parse_decimal(m.bid, pp), bid_qty, 0, u, 0, iid, _BBO, _BID, flags, 0,
            t, ts_local, parse_decimal(m.ask, pp), ask_qty, 0, u, 0, iid, _BBO, _ASK, flags | _F_LAST, 0)
        self._n = n + 2
        st.pp, st.sp = pp, sp
        self._counts["bookTicker"] = self._counts.get("bookTicker", 0) + 1

    def _mark(self, m: _MarkPrice, ts_local: int, sym: str | None, line: int) -> None:
        st = self._sym_state(m.symbol or sym, line, "markPriceUpdate")
        if st is None:
            return
        pp = st.pp if st.pp >= 0 else _decimals(m.mark)
        price = parse_decimal(m.mark, pp, self._mark_mode)
        index = RAW_NULL if m.index is None else parse_decimal(m.index, pp, self._mark_mode)
        n = self._n
        if n + 1 > self._cap:
            self._grow(1)
        _REC.pack_into(self._mv, n * 64, m.event_time * _MS, ts_local, price, RAW_NULL, 0, 0, index,
                       st.iid, _MARK, 0, _F_LAST, 0)
        self._n = n + 1
        st.pp = pp
        self._counts["markPriceUpdate"] = self._counts.get("markPriceUpdate", 0) + 1


# ---------------------------------------------------------------------------------------------- readers
def _open(source: str | os.PathLike[str]) -> Iterator[bytes]:
    path = Path(source)
    with path.open("rb") as raw:
        magic = raw.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        yield from f


def _source_lines(source: str | os.PathLike[str] | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(source, (str, os.PathLike)):
        return _open(source)
    return iter(source)


def _bad_hftbacktest_line(lineno: int, raw: bytes) -> DecodeError:
    return DecodeError(
        f"line {lineno}: expected '<local_ts> <json>' with a 19-digit ns, 16-digit µs or "
        f"13-digit ms timestamp, got {bytes(raw[:48])!r}")


def _hftbacktest_line(lineno: int, raw: bytes) -> RecordedLine | None:
    """One hftbacktest line as :func:`read_hftbacktest` yields it (None: blank)."""
    ts, sep, payload = raw.partition(b" ")
    scale = _TS_SCALE.get(len(ts))
    if scale is not None and sep and ts.isdigit():
        return lineno, int(ts) * scale, payload, None
    if not raw or raw.isspace():
        return None
    raise _bad_hftbacktest_line(lineno, raw)


def read_hftbacktest(source: str | os.PathLike[str] | Iterable[bytes]) -> Iterator[RecordedLine]:
    """Lines of an hftbacktest recording (path, gzip or plain, or an iterable of byte lines).

    Each ``<local_ts> <json>`` line gives ``(line_number, ts_local_ns, json, None)``; a 19-digit stamp
    is ns, 16 digits µs and 13 digits ms (scaled to ns). Blank lines are skipped; anything else raises
    :class:`DecodeError` with the line number.
    """
    scales = _TS_SCALE
    for lineno, raw in enumerate(_source_lines(source), 1):
        ts, sep, payload = raw.partition(b" ")
        scale = scales.get(len(ts))
        if scale is not None and sep and ts.isdigit():
            yield lineno, int(ts) * scale, payload, None  # a trailing newline is JSON whitespace
            continue
        if not raw or raw.isspace():
            continue
        raise _bad_hftbacktest_line(lineno, raw)


def _seconds_to_ns(text: bytes, lineno: int) -> int:
    try:
        ns = parse_decimal(text, 9, Rounding.DOWN)
    except (ValidationError, FixedPointOverflowError) as exc:
        raise DecodeError(f"line {lineno}: expected a timestamp in seconds such as 1626992741.06217: {exc}") from exc
    if ns < 0:
        raise DecodeError(f"line {lineno}: negative timestamp {text!r}")
    return ns


def read_cryptofeed(source: str | os.PathLike[str] | Iterable[bytes]) -> Iterator[RecordedLine]:
    """Lines of a cryptofeed raw-data file (``X.ws.*``, ``X.http.*`` or ``X.0``; gzip or plain).

    ``<ts>: <json>`` websocket lines give ``(line_number, ts_local_ns, json, None)``; REST lines
    ``<url> -> <ts>: <body>`` of a depth endpoint give the snapshot with the URL's ``symbol``; other
    REST lines, ``<url> <-> <ts>`` connect lines and the ``configuration:`` line are skipped.
    """
    for lineno, raw in enumerate(_source_lines(source), 1):
        line = raw.rstrip(b"\r\n")
        if not line or line.isspace():
            continue
        head, sep, body = line.partition(b": ")
        if head == b"configuration" or (not sep and b" <-> " in line):
            continue
        if not sep:
            raise DecodeError(f"line {lineno}: expected '<ts>: <json>' or '<url> -> <ts>: <json>', "
                              f"got {bytes(line[:48])!r}")
        url, arrow, ts = head.rpartition(b" -> ")
        symbol = None
        if arrow:
            path, _, query = url.partition(b"?")
            if not path.endswith(b"/depth"):
                continue
            for kv in query.split(b"&"):
                if kv.startswith(b"symbol="):
                    symbol = kv[7:].decode("ascii", "replace").upper()
        yield lineno, _seconds_to_ns(ts, lineno), body, symbol


def detect_format(source: str | os.PathLike[str]) -> Literal["hftbacktest", "cryptofeed"]:
    """The recording format of a file, from its first non-blank line."""
    for raw in _open(source):
        line = raw.strip()
        if not line:
            continue
        head = line.split(b" ", 1)[0]
        if head.isdigit():
            return "hftbacktest"
        if b"://" in head or head == b"configuration:" or head.rstrip(b":").replace(b".", b"", 1).isdigit():
            return "cryptofeed"
        raise DecodeError(f"{source}: the first line is neither '<ns_ts> <json>' (hftbacktest) nor a "
                          f"cryptofeed raw-data line: {bytes(line[:48])!r}")
    raise DecodeError(f"{source}: empty recording")


def read_recording(source: str | os.PathLike[str], fmt: RecordingFormat = "auto") -> Iterator[RecordedLine]:
    """Lines of a recording file in either format (``fmt="auto"`` detects it)."""
    if fmt == "auto":
        fmt = detect_format(source)
    if fmt == "hftbacktest":
        return read_hftbacktest(source)
    if fmt == "cryptofeed":
        return read_cryptofeed(source)
    raise ValidationError(f"fmt must be 'auto', 'hftbacktest' or 'cryptofeed', got {fmt!r}")


def decode_file(
    path: str | os.PathLike[str],
    instruments: Mapping[str, Instrument] | Sequence[Instrument] | None = None,
    *,
    fmt: RecordingFormat = "auto",
    default_symbol: str | None = None,
    unknown_symbols: Literal["infer", "skip", "error"] = "infer",
    mark_rounding: Rounding | None = Rounding.HALF_EVEN,
    native: bool | None = None,
) -> tuple[np.ndarray, DecodeStats]:
    """Decode a whole recording file into one EVENT_DTYPE array and its :class:`DecodeStats`.

    Options as for :class:`BinanceRecordingDecoder` (``native``: the compiled scanner, by default when
    built; an hftbacktest file is then read whole and scanned natively). Day files that continue each
    other can go through one decoder (``decode_lines`` per file, one ``flush``) to keep instrument ids
    and precisions.
    """
    dec = BinanceRecordingDecoder(instruments, default_symbol=default_symbol, unknown_symbols=unknown_symbols,
                                  mark_rounding=mark_rounding, capacity=1 << 18, native=native)
    if fmt == "auto":
        fmt = detect_format(path)
    if dec.native and fmt == "hftbacktest":
        dec.decode_hftbacktest_buffer(_read_all(path))
    else:
        dec.decode_lines(read_recording(path, fmt))
    return dec.flush(), dec.stats


def _read_all(source: str | os.PathLike[str]) -> bytes:
    """A recording file's whole content (gunzipped if it is gzip)."""
    data = Path(source).read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
