"""Segment scanning shared by recovery, the reader and ``verify``.

A segment is read in chunks with ``preadv`` into one reusable buffer; the native scanner validates
consecutive frames (CRC, caps, sequence continuity). Lengths are capped before anything is read, and no
read goes past the file's size. Where the scan stops, the rule for deciding torn tail vs corruption is:

* in any segment but the last, anything other than a clean end (EOF, or an all-zero remainder) is
  corruption (a segment is fdatasynced before the next one is created);
* in the last segment, a bad frame is a torn tail unless some valid frame after it carries a
  ``synced_seq`` at or past the bad frame's first sequence number: that frame proves the writer had
  synced the bad one (the writer never has frames it has not synced before it writes a frame claiming
  so), so the damage hit durable data and is corruption.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np

from shrivenquant._native import wal as _nw
from shrivenquant.errors import WalCorruptionError

__all__ = ["FrameRef", "SegmentScan", "corruption"]

CHUNK = 4 << 20
_REASONS = {
    _nw.ST_BAD_TAG: "bad frame header (tag or flags)",
    _nw.ST_BAD_LEN: "frame length over the cap or inconsistent with its record count",
    _nw.ST_BAD_CRC: "frame checksum mismatch",
    _nw.ST_BAD_PAD: "non-zero frame padding",
    _nw.ST_BAD_RECORDS: "record lengths inconsistent with the frame body",
}

# (buffer, index of the frame in the buffer, file offset, total size, first_seq, count, flags, synced_seq)
FrameRef = tuple[bytearray, int, int, int, int, int, int, int]


def corruption(segment: str, offset: int, reason: str) -> WalCorruptionError:
    return WalCorruptionError(f"WAL corruption in {segment} at byte {offset}: {reason}", segment=segment,
                              offset=offset, reason=reason)


class SegmentScan:
    """Validate one segment and yield its frames (:meth:`frames`); the outcome is in the attributes after
    the iteration ends.

    Args:
        fd: open file descriptor (read access) of the segment.
        name: its file name (for error messages).
        first_seq: the first sequence number its name declares.
        last: True where a torn tail is allowed: the newest segment, or a segment the writer closed without
            syncing it (policy ``none``); ``more_evidence(seq)`` then searches the later segments for a
            valid frame proving ``seq`` durable.
        live: True when following a live writer: stop quietly at the first incomplete or unreadable frame
            instead of deciding torn vs corruption (that is decided once the segment is closed).
        start: resume at this file offset (a frame boundary) expecting ``start_seq`` (live following).

    Attributes set by the scan: ``end_offset`` (one past the last valid frame), ``next_seq`` (the seq the
    next frame must carry), ``torn`` (``(offset, reason)`` of a torn tail, else None), ``garbage_end``
    (one past the last non-zero byte after a torn tail), ``size``, ``frames``, ``clean`` (True once the
    scan reached a clean end).
    """

    def __init__(self, fd: int, name: str, first_seq: int, *, last: bool, live: bool = False,
                 max_body: int = _nw.MAX_BODY, max_record: int = _nw.MAX_BODY, start: int = 0,
                 start_seq: int = 0, buf: bytearray | None = None,
                 more_evidence: Callable[[int], tuple[str, int, int] | None] | None = None) -> None:
        self.fd = fd
        self.name = name
        self.first_seq = first_seq
        self.last = last
        self.live = live
        self.max_body = max_body
        self.max_record = max_record
        self.start = start
        self.start_seq = start_seq
        self.buf = buf if buf is not None else bytearray(CHUNK)
        self.more_evidence = more_evidence
        self.header_flags = 0
        self.end_offset = 0
        self.next_seq = first_seq
        self.torn: tuple[int, str] | None = None
        self.garbage_end = 0
        self.size = 0
        self.frames_seen = 0
        self.clean = False
        self._reread = False

    def _corrupt(self, offset: int, reason: str) -> WalCorruptionError:
        return corruption(self.name, offset, reason)

    def _read(self, off: int, want: int) -> int:
        if want > len(self.buf):
            self.buf = bytearray(want)
        return os.preadv(self.fd, [memoryview(self.buf)[:want]], off)

    def check_header(self) -> None:
        hdr = os.pread(self.fd, _nw.SEG_HDR, 0)
        if len(hdr) < _nw.SEG_HDR:
            raise self._corrupt(0, f"segment header truncated ({len(hdr)} of {_nw.SEG_HDR} bytes)")
        code, first, self.header_flags = _nw.parse_segment_header(hdr)
        if code:
            what = {1: "bad magic", 2: "bad version, header length or flags", 3: "header checksum mismatch"}[code]
            raise self._corrupt(0, f"segment header: {what}")
        if first != self.first_seq:
            raise self._corrupt(16, f"segment header says first seq {first}, the file name {self.first_seq}")

    def frames(self) -> Iterator[FrameRef]:
        """Yield every valid frame; the buffer in each item is valid until the next item."""
        self.size = os.fstat(self.fd).st_size
        if self.start:
            off, exp = self.start, self.start_seq
        else:
            if self.live and self.size < _nw.SEG_HDR:
                self.end_offset, self.next_seq = 0, self.first_seq
                return
            self.check_header()
            off, exp = _nw.SEG_HDR, self.first_seq
        out = np.empty((256, 7), dtype=np.int64)
        max_body, max_record = self.max_body, self.max_record
        while True:
            self.end_offset, self.next_seq = off, exp
            if off >= self.size:
                self.clean = True
                return
            want = min(len(self.buf), self.size - off)
            n = self._read(off, want)
            if n < want:  # the file shrank since fstat (another process cut it): never loop on a stale size
                self.size = off + max(n, 0)
            if n <= 0:
                continue
            buf = self.buf
            pos = 0
            while True:
                k, st, stop, need, nexp = _nw.scan(buf, n, pos, off, exp, max_body, max_record, out)
                for i in range(k):
                    row = out[i]
                    fo = int(row[0])
                    yield (buf, fo - off, fo, int(row[1]), int(row[2]), int(row[3]), int(row[4]), int(row[5]))
                self.frames_seen += k
                exp = nexp
                pos = stop
                if st != _nw.ST_OK:
                    break
            at = off + pos
            self.end_offset, self.next_seq = at, exp
            if st == _nw.ST_NEED:
                if at >= self.size:
                    self.clean = True
                    return
                if at + need <= self.size:
                    if need > len(self.buf):
                        self.buf = bytearray(need)
                    off = at
                    continue
                if self._nonzero_end(at, min(self.size, at + _nw.FRAME_HDR)) <= at:
                    nxt = self._zero(at, exp)  # zeros (a preallocated tail) too short for a header
                    if nxt is None:
                        return
                    off = nxt
                    continue
                reason = (f"frame header truncated ({self.size - at} bytes left)" if need == _nw.FRAME_HDR
                          else f"frame of {need} bytes runs past the end of the file ({self.size - at} left)")
                nxt = self._bad(at, exp, reason, st)
            elif st == _nw.ST_ZERO:
                nxt = self._zero(at, exp)
            elif st == _nw.ST_BAD_SEQ:
                nxt = self._bad(at, exp, f"frame sequence number is not the expected {exp}", st)
            else:
                nxt = self._bad(at, exp, _REASONS.get(st, f"bad frame (status {st})"), st)
            if nxt is None:
                return
            off = nxt

    def _zero(self, at: int, exp: int) -> int | None:
        if self.live:
            return None
        end = self._nonzero_end(at, self.size)
        if end <= at:
            self.clean = True
            return None
        return self._bad(at, exp, f"all-zero frame header followed by non-zero bytes up to {end}", _nw.ST_ZERO)

    def _nonzero_end(self, start: int, stop: int) -> int:
        last = start
        off = start
        while off < stop:
            n = self._read(off, min(len(self.buf), stop - off))
            if n <= 0:
                break
            e = _nw.nonzero_end(self.buf, 0, n)
            if e:
                last = off + e
            off += n
        return last

    def _bad(self, at: int, exp: int, reason: str, status: int) -> int | None:
        if self.live:
            return None
        if not self.last:
            raise self._corrupt(at, reason)
        found, garbage_end = self._search_evidence(at if status == _nw.ST_BAD_SEQ else at + 8, exp)
        evidence = (self.name, *found) if found is not None else None
        if evidence is None and self.more_evidence is not None:
            evidence = self.more_evidence(exp)
        if evidence is not None:
            if not self._reread:
                # a concurrent writer may have been mid-write when the chunk was read: read it once more
                self._reread = True
                return at
            ev_name, ev_off, ev_synced = evidence
            raise self._corrupt(at, f"{reason}; the valid frame in {ev_name} at byte {ev_off} was written after "
                                    f"seq {ev_synced} was durable, so this frame (seq {exp}) had been synced")
        self.torn = (at, reason)
        self.garbage_end = max(garbage_end, at)
        self.end_offset = at
        return None

    def _search_evidence(self, start: int, exp: int) -> tuple[tuple[int, int] | None, int]:
        """First valid frame at or after ``start`` whose synced_seq >= exp, and the end of non-zero bytes."""
        size = self.size
        pos_file = start - (start % 8)
        garbage_end = start
        stuck_at = -1
        while pos_file + _nw.FRAME_HDR <= size:
            n = self._read(pos_file, min(len(self.buf), size - pos_file))
            if n <= 0:
                break
            e = _nw.nonzero_end(self.buf, 0, n)
            if e:
                garbage_end = max(garbage_end, pos_file + e)
            idx = 0
            while True:
                st, a, total, _first, _count, synced = _nw.find_frame(self.buf, n, idx, self.max_body,
                                                                      self.max_record)
                if st == _nw.ST_OK:
                    if synced >= exp:
                        return (pos_file + a, synced), max(garbage_end, self._nonzero_end(pos_file + n, size))
                    idx = a + total
                    continue
                if st == _nw.ST_NEED:
                    if pos_file + a + total > size or (a == 0 and stuck_at == pos_file):
                        idx = a + 8
                        continue
                    if total > len(self.buf):
                        self.buf = bytearray(total)
                    stuck_at = pos_file + a
                    nxt = pos_file + a
                    break
                # ST_ZERO: nothing more here; go on where a header no longer fitted in the chunk
                nxt = pos_file + a if pos_file + n < size else size
                break
            pos_file = nxt
        return None, garbage_end
