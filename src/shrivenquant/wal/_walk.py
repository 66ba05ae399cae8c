"""Walk the live segments of a directory in order: the one place that applies the torn-vs-corrupt rules
across segments (used by recovery, the reader, ``verify`` and ``repair``).

A segment is *strict* when the next segment's header has SEG_PREV_SYNCED (the writer synced it before
creating the next one: policies ``always`` and ``batch``): any damage in it is corruption, and it must end
exactly where the next segment starts. Otherwise (the newest segment, or one closed unsynced under policy
``none``) damage, or an early end, is a torn tail unless a valid frame after it (in the same or a later
segment) carries a ``synced_seq`` proving the damaged records had been synced. A torn tail ends the log:
the later segments hold only records that were never durable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from shrivenquant._native import wal as _nw
from shrivenquant.wal._scan import FrameRef, SegmentScan, corruption

__all__ = ["SegmentWalk"]


class SegmentWalk:
    """Iterate the frames of ``live[start:]`` (``(first_seq, name)`` pairs, sorted).

    After the iteration: ``scans`` (one finished SegmentScan per segment read), ``torn`` (``(index, offset,
    reason)`` of a torn tail, else None), ``end_index`` (index of the segment where the log ends),
    ``next_seq``.
    """

    def __init__(self, directory: str, live: list[tuple[int, str]], start: int = 0,
                 named_upto: int | None = None) -> None:
        self.directory = directory
        self.named_upto = named_upto
        self.live = live
        self.start = start
        self.scans: list[SegmentScan] = []
        self.torn: tuple[int, int, str] | None = None
        self.end_index = len(live) - 1
        self.next_seq = live[start][0] if live else 1
        self.buf = bytearray(1 << 20)

    def _path(self, i: int) -> str:
        return os.path.join(self.directory, self.live[i][1])

    def _header_flags(self, i: int) -> int | None:
        """The header flags of segment i; None if the header is bad in a segment the manifest does not name
        yet (policy ``none`` creates segments without syncing them: after a power cut the file may be
        empty); WalCorruptionError for a bad header anywhere else."""
        with open(self._path(i), "rb") as f:
            hdr = f.read(_nw.SEG_HDR)
        code, first, flags = _nw.parse_segment_header(hdr)
        if code or first != self.live[i][0]:
            if self.named_upto is not None and self.live[i][0] > self.named_upto:
                return None
            raise corruption(self.live[i][1], 0, "bad segment header")
        return flags

    def _later_evidence(self, i: int, exp: int) -> tuple[str, int, int] | None:
        for j in range(i + 1, len(self.live)):
            first, name = self.live[j]
            fd = os.open(self._path(j), os.O_RDONLY)
            try:
                scan = SegmentScan(fd, name, first, last=True, buf=self.buf)
                scan.size = os.fstat(fd).st_size
                found, _ = scan._search_evidence(_nw.SEG_HDR, exp)
            finally:
                os.close(fd)
            if found is not None:
                return (name, *found)
        return None

    def frames(self) -> Iterator[tuple[FrameRef, str]]:
        live = self.live
        prev_next: int | None = None
        for i in range(self.start, len(live)):
            first, name = live[i]
            if prev_next is not None and first != prev_next:
                raise corruption(name, 0, f"segment starts at seq {first} but the previous one ends at seq "
                                          f"{prev_next - 1}: a segment is missing")
            last = i == len(live) - 1
            nflags = None if last else self._header_flags(i + 1)
            cut_after = not last and nflags is None  # the next segment's creation never became durable
            strict = nflags is not None and bool(nflags & _nw.SEG_PREV_SYNCED)
            try:
                fd = os.open(self._path(i), os.O_RDONLY)
            except FileNotFoundError:
                raise corruption(name, 0, "segment disappeared while reading (retention?)") from None
            try:
                more = None if last or strict else (lambda e, i=i: self._later_evidence(i, e))
                scan = SegmentScan(fd, name, first, last=not strict, buf=self.buf, more_evidence=more)
                for ref in scan.frames():
                    yield ref, name
                self.buf = scan.buf
            finally:
                os.close(fd)
            self.scans.append(scan)
            self.next_seq = scan.next_seq
            if scan.torn is not None:
                self.torn = (i, scan.torn[0], scan.torn[1])
                self.end_index = i
                return
            if cut_after:
                ev = self._later_evidence(i, scan.next_seq)
                if ev is not None:
                    raise corruption(live[i + 1][1], 0, f"bad segment header, and the frame in {ev[0]} at byte "
                                     f"{ev[1]} says seq {ev[2]} was durable")
                self.torn = (i, scan.end_offset, f"the next segment {live[i + 1][1]} has no valid header (its "
                             "creation was not synced)")
                scan.torn = (scan.end_offset, self.torn[2])
                scan.garbage_end = scan.end_offset
                self.end_index = i
                return
            if not last and scan.next_seq != live[i + 1][0] and not strict:
                # an unsynced closed segment that ends early: torn unless a later frame proves it was synced
                ev = self._later_evidence(i, scan.next_seq)
                if ev is not None:
                    raise corruption(name, scan.end_offset, f"segment ends at seq {scan.next_seq - 1} but the next "
                                     f"starts at {live[i + 1][0]}, and the frame in {ev[0]} at byte {ev[1]} says "
                                     f"seq {ev[2]} was durable")
                self.torn = (i, scan.end_offset, f"segment ends at seq {scan.next_seq - 1} before the next "
                             f"segment's first seq {live[i + 1][0]} (unsynced tail)")
                scan.torn = (scan.end_offset, self.torn[2])
                scan.garbage_end = scan.end_offset
                self.end_index = i
                return
            prev_next = scan.next_seq
