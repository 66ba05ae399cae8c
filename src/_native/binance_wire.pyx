# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=True, embedsignature=True, autotestdict=False, auto_pickle=False
"""Native decoder: raw Binance websocket / REST JSON bytes straight into event records.

A strict, allocation-free scanner (``sq_json_binance.h``) specialised for ``depthUpdate`` (spot and
futures), ``trade``, ``aggTrade``, ``bookTicker``, ``markPriceUpdate`` (bare or in a combined-stream
envelope ``{"stream":..,"data":..}``) and the REST depth snapshot. Records are byte-identical to
:mod:`shrivenquant.venues.binance.recording`'s mapping for the same symbol precisions. Decimal strings go
to raw int64 with ``sq_parse_decimal`` (exact; mark / index prices rounded with ``mark_rounding``); no
float is involved. Malformed JSON, truncation, wrong types, missing keys and off-precision values raise
:class:`~shrivenquant.errors.DecodeError` naming what, where (byte offset, line) and what was expected.
Messages it does not handle (other streams, symbols not in its table, unusual shapes) are reported as
*unhandled* so that the caller can use the general decoder.

Symbols must be registered with their instrument id and precisions (:meth:`BinanceWireDecoder.add_symbol`);
this decoder infers nothing.
"""

from cpython.buffer cimport PyBUF_C_CONTIGUOUS, PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_Check, PyBytes_GET_SIZE
from cpython.object cimport PyObject
from cpython.sequence cimport PySequence_Fast, PySequence_Fast_GET_SIZE, PySequence_Fast_ITEMS
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

import numpy as np

from shrivenquant._native.fixed import Rounding
from shrivenquant.core.events import EVENT_DTYPE as _EVENT_DTYPE
from shrivenquant.errors import DecodeError, InstrumentError, ShrivenQuantTypeError, ValidationError

from sq_common cimport sq_event

cdef extern from "sq_json_binance.h" nogil:
    const int SQ_BW_OK, SQ_BW_UNHANDLED, SQ_BW_ERROR, SQ_BW_FULL
    const int SQ_BW_NTYPES, SQ_BW_SYM_MAX, SQ_BW_R_INPUT
    ctypedef struct sq_bw_sym:
        uint64_t hash
        uint32_t iid
        int32_t pp
        int32_t sp
        int32_t len
        char name[64]
    ctypedef struct sq_bw_decoder:
        sq_bw_sym *syms
        int32_t nsyms
        int32_t *index
        uint32_t index_mask
        int32_t default_sym
        int mark_mode
        uint64_t messages[6]
        int32_t order[6]
        int32_t norder
        uint64_t lines
        uint64_t records
        uint64_t level_updates
        uint64_t snapshot_levels
        int64_t first_ts
        int64_t last_ts
        int reason
        int64_t needed
        int64_t err_offset
        char err[400]
    uint64_t sq_bw_hash(const char *s, Py_ssize_t n)
    int32_t sq_bw_find(const sq_bw_decoder *d, const char *s, Py_ssize_t n)
    void sq_bw_reindex(sq_bw_decoder *d)
    void sq_bw_reset_counts(sq_bw_decoder *d)
    int sq_bw_decode(sq_bw_decoder *d, const char *buf, int64_t length, int64_t ts_local, sq_event *out,
                     int64_t pos, int64_t cap, int64_t *nrec)
    int sq_bw_scan_hft(sq_bw_decoder *d, const char *buf, int64_t length, int64_t *offset, int64_t *lineno,
                       sq_event *out, int64_t *pos, int64_t cap)

#: Status codes of :meth:`BinanceWireDecoder.decode_batch` and :meth:`BinanceWireDecoder.scan_hftbacktest`.
DONE = SQ_BW_OK
UNHANDLED = SQ_BW_UNHANDLED
ERROR = SQ_BW_ERROR
FULL = SQ_BW_FULL

#: Message-type names of the counters, by type index.
MESSAGE_TYPES = ("depthUpdate", "snapshot", "trade", "aggTrade", "bookTicker", "markPriceUpdate")

_REASONS = ("", "stream or event type not handled", "symbol not in the decoder's table",
            "message shape left to the general decoder", "not a bytes payload")

cdef object _DT = _EVENT_DTYPE
cdef int64_t _I64_MAX = 9223372036854775807


cdef int64_t _as_i64(object value, str what) except? -1:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ShrivenQuantTypeError(f"{what} must be an int, got {type(value).__name__}")
    if value < -_I64_MAX - 1 or value > _I64_MAX:
        raise ValidationError(f"{what} {value} does not fit in int64")
    return <int64_t>value


cdef int _acquire_out(object out, Py_buffer *view) except -1:
    """Writable C-contiguous buffer of a 1-d EVENT_DTYPE array."""
    if not isinstance(out, np.ndarray):
        raise ShrivenQuantTypeError(f"out must be a NumPy array of EVENT_DTYPE, got {type(out).__name__}")
    dt = out.dtype
    if dt is not _DT and dt != _DT:
        raise ShrivenQuantTypeError(f"out must have dtype EVENT_DTYPE, got {dt}")
    if out.ndim != 1:
        raise ValidationError(f"out must be 1-dimensional, got {out.ndim} dimensions")
    try:
        PyObject_GetBuffer(out, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS)
    except (BufferError, ValueError) as exc:
        raise ValidationError(f"out must be a writable, C-contiguous array: {exc}") from None
    return 0


cdef inline object _grown(object out, int64_t pos, int64_t need):
    """A larger EVENT_DTYPE array holding out[:pos]."""
    cdef int64_t cap = out.shape[0]
    new = np.empty(max(2 * cap, pos + need, 64), dtype=_DT)
    new[:pos] = out[:pos]
    return new


cdef inline object _trimmed(object out, int64_t pos):
    if pos == out.shape[0]:
        return out
    try:
        out.resize(pos, refcheck=False)  # shrinks in place; the array is ours alone
        return out
    except ValueError:
        return out[:pos].copy()


cdef class BinanceWireDecoder:
    """Decodes raw Binance JSON bytes into :data:`~shrivenquant.core.events.EVENT_DTYPE` records.

    Args:
        symbols: ``{symbol: (instrument_id, price_precision, size_precision)}`` to start with.
        default_symbol: symbol of REST depth snapshots that do not name one (spot, USD-M).
        mark_rounding: rounding of mark / index prices to the price precision (a
            :class:`~shrivenquant._native.fixed.Rounding`); None: exact or raise.

    Records are written into caller-provided arrays (:meth:`decode_into`, :meth:`decode_batch`,
    :meth:`scan_hftbacktest`) or grown internally (:meth:`decode_lines`, :meth:`decode_hftbacktest_buffer`).
    Running counters are read and reset with :meth:`take_stats`. Not thread-safe.
    """

    cdef sq_bw_decoder d
    cdef dict _symbols
    cdef object _default_symbol

    def __cinit__(self):
        memset(&self.d, 0, sizeof(sq_bw_decoder))
        self.d.default_sym = -2
        self.d.index = <int32_t *>malloc(16 * sizeof(int32_t))
        if self.d.index == NULL:
            raise MemoryError()
        self.d.index_mask = 15
        sq_bw_reindex(&self.d)
        self._symbols = {}
        self._default_symbol = None

    def __dealloc__(self):
        free(self.d.syms)
        free(self.d.index)

    def __init__(self, symbols=None, *, default_symbol=None, mark_rounding=Rounding.HALF_EVEN):
        cdef int mode
        if mark_rounding is None:
            mode = int(Rounding.EXACT)
        else:
            try:
                mode = int(Rounding(mark_rounding))
            except (ValueError, TypeError):
                raise ValidationError(f"mark_rounding must be a Rounding member or None, got {mark_rounding!r}") from None
        self.d.mark_mode = mode
        if symbols is not None:
            for name, spec in dict(symbols).items():
                try:
                    iid, pp, sp = spec
                except (TypeError, ValueError):
                    raise ValidationError(
                        f"symbols[{name!r}] must be (instrument_id, price_precision, size_precision), "
                        f"got {spec!r}") from None
                self.add_symbol(name, iid, pp, sp)
        self.default_symbol = default_symbol

    # ------------------------------------------------------------------ symbols
    def add_symbol(self, symbol: str, instrument_id: int, price_precision: int, size_precision: int) -> None:
        """Register ``symbol`` (as it appears in ``"s"``, e.g. ``"BTCUSDT"``) with its id and precisions."""
        cdef bytes raw
        cdef int32_t n, k, cap
        cdef sq_bw_sym *e
        cdef uint32_t i, size
        if not isinstance(symbol, str) or not symbol:
            raise ValidationError(f"symbol must be a non-empty str, got {symbol!r}")
        raw = symbol.encode("utf-8")
        if len(raw) >= SQ_BW_SYM_MAX:
            raise ValidationError(f"symbol {symbol!r} is longer than {SQ_BW_SYM_MAX - 1} bytes")
        for what, value, hi in (("instrument_id", instrument_id, 0xFFFFFFFF), ("price_precision", price_precision, 18),
                                ("size_precision", size_precision, 18)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= hi:
                raise ValidationError(f"{what} of {symbol!r} must be an int from 0 to {hi}, got {value!r}")
        if symbol in self._symbols:
            raise InstrumentError(f"symbol {symbol!r} is already in the decoder's table")
        n = self.d.nsyms
        if n % 16 == 0:
            e = <sq_bw_sym *>realloc(self.d.syms, (n + 16) * sizeof(sq_bw_sym))
            if e == NULL:
                raise MemoryError()
            self.d.syms = e
        e = &self.d.syms[n]
        memset(e, 0, sizeof(sq_bw_sym))
        memcpy(e.name, <const char *>raw, len(raw))
        e.len = len(raw)
        e.hash = sq_bw_hash(e.name, e.len)
        e.iid = instrument_id
        e.pp = price_precision
        e.sp = size_precision
        self.d.nsyms = n + 1
        if 2 * (n + 1) > <int32_t>(self.d.index_mask + 1):
            size = (self.d.index_mask + 1) * 2
            newidx = <int32_t *>realloc(self.d.index, size * sizeof(int32_t))
            if newidx == NULL:
                raise MemoryError()
            self.d.index = newidx
            self.d.index_mask = size - 1
        sq_bw_reindex(&self.d)
        self._symbols[symbol] = (int(instrument_id), int(price_precision), int(size_precision))
        self._resolve_default()

    @property
    def symbols(self) -> dict:
        """``{symbol: (instrument_id, price_precision, size_precision)}`` in registration order."""
        return dict(self._symbols)

    @property
    def default_symbol(self):
        """Symbol of REST snapshots that name none (None: such snapshots raise DecodeError)."""
        return self._default_symbol

    @default_symbol.setter
    def default_symbol(self, value) -> None:
        if value is not None and (not isinstance(value, str) or not value):
            raise ValidationError(f"default_symbol must be a non-empty str or None, got {value!r}")
        self._default_symbol = value
        self._resolve_default()

    cdef _resolve_default(self):
        cdef bytes raw
        if self._default_symbol is None:
            self.d.default_sym = -2
        else:
            raw = self._default_symbol.encode("utf-8")
            self.d.default_sym = sq_bw_find(&self.d, raw, len(raw))

    # ------------------------------------------------------------------ status details
    @property
    def last_error(self) -> str:
        """Message of the last ERROR status (what, byte offset within the JSON, what was expected)."""
        return (<bytes>self.d.err).decode("utf-8", "replace")

    @property
    def last_unhandled(self) -> str:
        """Why the last UNHANDLED message was left to the general decoder."""
        return _REASONS[self.d.reason] if 0 <= self.d.reason < len(_REASONS) else ""

    @property
    def records_needed(self) -> int:
        """Records the message of the last FULL status needs."""
        return self.d.needed

    def take_stats(self) -> dict:
        """Counters since the last call (then reset): lines, records, messages by type (in order of first
        appearance), level_updates, snapshot_levels, first_ts_local, last_ts_local."""
        cdef int i
        out = {
            "lines": self.d.lines,
            "records": self.d.records,
            "messages": {MESSAGE_TYPES[self.d.order[i]]: self.d.messages[self.d.order[i]] for i in range(self.d.norder)},
            "level_updates": self.d.level_updates,
            "snapshot_levels": self.d.snapshot_levels,
            "first_ts_local": self.d.first_ts if self.d.lines else None,
            "last_ts_local": self.d.last_ts if self.d.lines else None,
        }
        sq_bw_reset_counts(&self.d)
        return out

    # ------------------------------------------------------------------ one message
    def decode_into(self, payload, ts_local, out, pos=0) -> int:
        """Decode one message (JSON bytes received at ``ts_local`` ns UTC) into ``out[pos:]``.

        Returns the records written, or -1 if the message is not handled here (see :attr:`last_unhandled`).
        Raises :class:`DecodeError` for a bad message and :class:`ValidationError` if ``out`` lacks room
        (``len(payload) // 9 + 2`` records always suffice). Records past the count are unspecified.
        """
        cdef Py_buffer ov, pv
        cdef int64_t ts = _as_i64(ts_local, "ts_local")
        cdef int64_t p = _as_i64(pos, "pos")
        cdef int64_t cap, nrec = 0
        cdef int st
        cdef const char *buf
        cdef Py_ssize_t n
        _acquire_out(out, &ov)
        try:
            cap = ov.len // 64
            if p < 0 or p > cap:
                raise ValidationError(f"pos {p} is outside the array (0..{cap})")
            if PyBytes_Check(payload):
                buf = PyBytes_AS_STRING(payload)
                n = PyBytes_GET_SIZE(payload)
                st = sq_bw_decode(&self.d, buf, n, ts, <sq_event *>ov.buf, p, cap, &nrec)
            else:
                try:
                    PyObject_GetBuffer(payload, &pv, PyBUF_SIMPLE)
                except TypeError:
                    raise ShrivenQuantTypeError(
                        f"payload must be bytes-like, got {type(payload).__name__}") from None
                try:
                    st = sq_bw_decode(&self.d, <const char *>pv.buf, pv.len, ts, <sq_event *>ov.buf, p, cap, &nrec)
                finally:
                    PyBuffer_Release(&pv)
        finally:
            PyBuffer_Release(&ov)
        if st == SQ_BW_OK:
            return nrec
        if st == SQ_BW_UNHANDLED:
            return -1
        if st == SQ_BW_ERROR:
            raise DecodeError(self.last_error)
        raise ValidationError(f"out has room for {cap - p} records from pos {p}; the message needs {self.d.needed}")

    # ------------------------------------------------------------------ many messages
    def decode_batch(self, lines, ts_locals, start, out, pos) -> tuple:
        """Decode ``lines[start:]`` (JSON bytes; ``ts_locals[i]`` ns UTC) into ``out[pos:]`` in one call.

        Stops at the end or at the first line it cannot decode; returns ``(status, index, pos)``:
        :data:`DONE` (index = len(lines)), :data:`UNHANDLED` (line ``index`` is for the general decoder;
        entries that are not bytes, e.g. None, are reported so), :data:`ERROR` (line ``index`` is bad:
        :attr:`last_error`) or :data:`FULL` (``out`` needs room for :attr:`records_needed` more records
        from ``pos``: grow it and call again from ``index``). ``pos`` is past the last record written.
        """
        cdef Py_buffer ov
        cdef int64_t p = _as_i64(pos, "pos")
        cdef Py_ssize_t i = _as_i64(start, "start")
        cdef int64_t cap, nrec = 0
        cdef int st = SQ_BW_OK
        cdef const int64_t[::1] ts
        seq = PySequence_Fast(lines, "lines must be a sequence of bytes")
        cdef Py_ssize_t n = PySequence_Fast_GET_SIZE(seq)
        cdef PyObject **items = PySequence_Fast_ITEMS(seq)
        cdef object item
        try:
            ts = np.ascontiguousarray(ts_locals, dtype=np.int64)
        except (OverflowError, TypeError, ValueError) as exc:
            raise ValidationError(f"ts_locals must be int64 ns timestamps: {exc}") from None
        if ts.shape[0] < n:
            raise ValidationError(f"ts_locals has {ts.shape[0]} entries for {n} lines")
        if i < 0 or i > n:
            raise ValidationError(f"start {i} is outside 0..{n}")
        _acquire_out(out, &ov)
        try:
            cap = ov.len // 64
            if p < 0 or p > cap:
                raise ValidationError(f"pos {p} is outside the array (0..{cap})")
            while i < n:
                item = <object>items[i]
                if not PyBytes_Check(item):
                    self.d.reason = SQ_BW_R_INPUT
                    st = SQ_BW_UNHANDLED
                    break
                st = sq_bw_decode(&self.d, PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item), ts[i],
                                  <sq_event *>ov.buf, p, cap, &nrec)
                if st != SQ_BW_OK:
                    break
                p += nrec
                i += 1
        finally:
            PyBuffer_Release(&ov)
        return st, i, p

    def decode_lines(self, lines, ts_locals) -> np.ndarray:
        """All of ``lines`` (JSON bytes, received at ``ts_locals[i]`` ns UTC) as one EVENT_DTYPE array.

        One native call over the messages; raises :class:`DecodeError` naming the (0-based) line for a
        bad message or one this decoder does not handle.
        """
        cdef Py_ssize_t total = 0
        seq = PySequence_Fast(lines, "lines must be a sequence of bytes")
        for item in seq:
            total += len(item) if PyBytes_Check(item) else 0
        out = np.empty(total // 24 + 64, dtype=_DT)
        i, p = 0, 0
        while True:
            st, i, p = self.decode_batch(seq, ts_locals, i, out, p)
            if st == SQ_BW_OK:
                return _trimmed(out, p)
            if st == SQ_BW_FULL:
                out = _grown(out, p, self.d.needed)
            elif st == SQ_BW_UNHANDLED:
                raise DecodeError(f"lines[{i}]: message not handled by the native decoder ({self.last_unhandled}); "
                                  f"decode it with shrivenquant.venues.binance.recording.BinanceRecordingDecoder")
            else:
                raise DecodeError(f"lines[{i}]: {self.last_error}")

    # ------------------------------------------------------------------ hftbacktest files
    def scan_hftbacktest(self, data, offset, line, out, pos) -> tuple:
        """Decode hftbacktest lines (``<local_ts> <json>``) of ``data[offset:]`` into ``out[pos:]``, GIL released.

        ``line`` is the number of the line before ``offset`` (0 at the start). Local stamps of 19 / 16 / 13
        digits are ns / µs / ms; blank lines are skipped. Returns ``(status, offset, line, pos)``: on
        :data:`DONE` everything was decoded; otherwise ``offset`` is the start of the line that stopped the
        scan (number ``line + 1``), with the status meaning as in :meth:`decode_batch`.
        """
        cdef Py_buffer ov, dv
        cdef int64_t off = _as_i64(offset, "offset")
        cdef int64_t ln = _as_i64(line, "line")
        cdef int64_t p = _as_i64(pos, "pos")
        cdef int64_t cap
        cdef int st
        try:
            PyObject_GetBuffer(data, &dv, PyBUF_SIMPLE)
        except TypeError:
            raise ShrivenQuantTypeError(f"data must be bytes-like, got {type(data).__name__}") from None
        try:
            if off < 0 or off > dv.len:
                raise ValidationError(f"offset {off} is outside the data (0..{dv.len})")
            _acquire_out(out, &ov)
            try:
                cap = ov.len // 64
                if p < 0 or p > cap:
                    raise ValidationError(f"pos {p} is outside the array (0..{cap})")
                with nogil:
                    st = sq_bw_scan_hft(&self.d, <const char *>dv.buf, dv.len, &off, &ln, <sq_event *>ov.buf,
                                        &p, cap)
            finally:
                PyBuffer_Release(&ov)
        finally:
            PyBuffer_Release(&dv)
        return st, off, ln, p

    def decode_hftbacktest_buffer(self, data) -> tuple:
        """A whole (un-gzipped) hftbacktest file's content as ``(records, stats)``.

        ``stats`` are the counters of this call (as :meth:`take_stats` gives them; the running counters
        start over). Raises :class:`DecodeError` naming the line for a bad line or one this decoder does
        not handle.
        """
        sq_bw_reset_counts(&self.d)
        out = np.empty(len(data) // 24 + 64, dtype=_DT)
        off, ln, p = 0, 0, 0
        while True:
            st, off, ln, p = self.scan_hftbacktest(data, off, ln, out, p)
            if st == SQ_BW_OK:
                return _trimmed(out, p), self.take_stats()
            if st == SQ_BW_FULL:
                out = _grown(out, p, self.d.needed)
            elif st == SQ_BW_UNHANDLED:
                raise DecodeError(f"line {ln + 1}: message not handled by the native decoder "
                                  f"({self.last_unhandled}); decode the file with "
                                  f"shrivenquant.venues.binance.recording.decode_file")
            else:
                raise DecodeError(f"line {ln + 1}: {self.last_error}")
