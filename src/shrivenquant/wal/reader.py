"""Read-only access to a WAL directory: replay, event batches, tailing, verification."""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Iterator

import msgspec
import numpy as np

from shrivenquant._native import wal as _nw
from shrivenquant.errors import ValidationError, WalError
from shrivenquant.wal._format import Manifest, list_segments
from shrivenquant.wal._layout import live_segments, snapshot
from shrivenquant.wal._scan import FrameRef, SegmentScan, corruption
from shrivenquant.wal._walk import SegmentWalk

__all__ = ["SegmentInfo", "VerifyReport", "WalReader", "WalRecord", "verify"]


class WalRecord(msgspec.Struct, frozen=True, gc=False):
    """One record: its sequence number, payload bytes, and where it lies (segment file, byte offset of
    the payload in that file)."""

    seq: int
    payload: bytes
    segment: str
    offset: int

    def decode(self, type: type[msgspec.Struct]) -> msgspec.Struct:
        """The payload decoded as MessagePack into ``type`` (records appended as msgspec Structs)."""
        return msgspec.msgpack.decode(self.payload, type=type)


class SegmentInfo(msgspec.Struct, frozen=True):
    """One segment as :func:`verify` found it."""

    name: str
    first_seq: int
    last_seq: int  # first_seq - 1 when empty
    frames: int
    end_offset: int  # one past the last valid frame
    size: int  # file size (a preallocated segment is zero after end_offset)
    torn_offset: int | None = None
    torn_reason: str | None = None


class VerifyReport(msgspec.Struct, frozen=True):
    """The outcome of :func:`verify`: every live segment, the sequence range, and any torn tail (which a
    writer's recovery would cut)."""

    directory: str
    manifest: Manifest | None
    segments: list[SegmentInfo]
    first_seq: int
    last_seq: int
    records: int
    torn: bool
    beyond_torn: list[str] = []  # segments after a torn tail (closed unsynced): a writer's recovery deletes them


def _records_of(ref: FrameRef, name: str, from_seq: int) -> Iterator[WalRecord]:
    buf, pos, off, _total, fseq, count, flags, _synced = ref
    payloads = _nw.split_records(buf, pos + _nw.FRAME_HDR, count, flags)
    if flags & _nw.F_FIXED64:
        base = off + _nw.FRAME_HDR
        for j, p in enumerate(payloads):
            if fseq + j >= from_seq:
                yield WalRecord(fseq + j, p, name, base + 64 * j)
        return
    poff = off + _nw.FRAME_HDR + 4 * count
    for j, p in enumerate(payloads):
        if fseq + j >= from_seq:
            yield WalRecord(fseq + j, p, name, poff)
        poff += len(p)


class WalReader:
    """Read-only view of a WAL directory (it never writes, truncates or deletes anything).

    Reading applies the same rules as recovery: a torn tail of the last segment ends the log; damage
    anywhere else raises :class:`~shrivenquant.errors.WalCorruptionError` with the segment and offset.
    Two replays of the same directory yield identical records.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._directory = os.fspath(directory)
        if not os.path.isdir(self._directory):
            raise WalError(f"WAL directory {self._directory!r} does not exist")

    @property
    def directory(self) -> str:
        """The log directory."""
        return self._directory

    def _live(self) -> list[tuple[int, str]]:
        manifest, segs = snapshot(self._directory)
        self._named = _named_upto(manifest)
        return live_segments(manifest, segs)

    @property
    def first_seq(self) -> int:
        """The first sequence number in the log (1 unless retention dropped segments)."""
        live = self._live()
        return live[0][0] if live else 1

    @property
    def last_seq(self) -> int:
        """The last sequence number of the valid prefix (first_seq - 1 when empty)."""
        return verify(self._directory).last_seq

    def verify(self) -> VerifyReport:
        """:func:`verify` of this directory (read-only)."""
        return verify(self._directory)

    def _frames(self, from_seq: int | None) -> Iterator[tuple[FrameRef, str, int]]:
        live = self._live()
        if not live:
            return
        first = live[0][0]
        if from_seq is None:
            from_seq = first
        if from_seq < first:
            raise ValidationError(f"seq {from_seq} is below the log's first seq {first} (dropped by retention)")
        i0 = max(0, bisect.bisect_right([s[0] for s in live], from_seq) - 1)
        for ref, name in SegmentWalk(self._directory, live, i0, named_upto=self._named).frames():
            if ref[4] + ref[5] > from_seq:
                yield ref, name, from_seq

    def records(self, from_seq: int | None = None) -> Iterator[WalRecord]:
        """Every record from ``from_seq`` (default: the first in the log) to the end of the valid prefix."""
        for ref, name, start in self._frames(from_seq):
            yield from _records_of(ref, name, start)

    def event_batches(self, from_seq: int | None = None, max_records: int = 65536, *,
                      skip_other: bool = False) -> Iterator[np.ndarray]:
        """The 64-byte event records from ``from_seq`` as NumPy ``EVENT_DTYPE`` arrays of at most
        ``max_records`` each. A variable-length record raises ValidationError, unless ``skip_other``."""
        from shrivenquant.core.events import EVENT_DTYPE

        if max_records < 1:
            raise ValidationError(f"max_records must be >= 1, got {max_records}")
        out = np.empty(max_records, dtype=EVENT_DTYPE)
        k = 0
        for ref, name, start in self._frames(from_seq):
            buf, pos, off, _t, fseq, count, flags, _s = ref
            if not flags & _nw.F_FIXED64:
                if skip_other:
                    continue
                raise ValidationError(f"record {max(fseq, start)} in {name} at byte {off} is not a 64-byte "
                                      "event record (pass skip_other=True to skip such records)")
            arr = np.frombuffer(buf, dtype=EVENT_DTYPE, count=count, offset=pos + _nw.FRAME_HDR)
            if fseq < start:
                arr = arr[start - fseq:]
            while len(arr):
                m = min(len(arr), max_records - k)
                out[k: k + m] = arr[:m]
                k += m
                arr = arr[m:]
                if k == max_records:
                    yield out
                    out = np.empty(max_records, dtype=EVENT_DTYPE)
                    k = 0
        if k:
            yield out[:k]

    def follow(self, from_seq: int | None = None, poll_s: float = 0.001, stop: threading.Event | None = None,
               timeout: float | None = None) -> Iterator[WalRecord]:
        """Tail the directory while a writer appends: yields records as they reach the file, in order,
        always a valid prefix of the log; follows segment rotation. Ends when ``stop`` is set or after
        ``timeout`` seconds without a new record."""
        d = self._directory
        stop = stop if stop is not None else threading.Event()
        idle_since = time.monotonic()
        cur: tuple[int, str] | None = None
        fd = -1
        offset, exp = 0, 0
        buf = bytearray(1 << 20)
        try:
            while not stop.is_set():
                if cur is None:
                    live = self._live() if os.path.exists(os.path.join(d, "MANIFEST")) else []
                    if live:
                        first = live[0][0]
                        if from_seq is None:
                            from_seq = first
                        if from_seq < first:
                            raise ValidationError(f"seq {from_seq} is below the log's first seq {first}")
                        i0 = max(0, bisect.bisect_right([s[0] for s in live], from_seq) - 1)
                        cur = live[i0]
                        fd = os.open(os.path.join(d, cur[1]), os.O_RDONLY)
                        offset, exp = 0, cur[0]
                got = False
                stalled = False
                if cur is not None:
                    assert from_seq is not None
                    scan = SegmentScan(fd, cur[1], cur[0], last=True, live=True, start=offset, start_seq=exp,
                                       buf=buf)
                    for ref in scan.frames():
                        got = True
                        yield from _records_of(ref, cur[1], from_seq)
                    buf = scan.buf
                    if scan.end_offset:
                        offset, exp = scan.end_offset, scan.next_seq
                    newer = [] if got else [x for x in list_segments(d) if x[0] > cur[0]]
                    if newer:
                        # the writer completes a segment before it creates the next: finish this one with the
                        # recovery rules (strict if the next header says this one was synced)
                        nflags = _segment_flags(d, newer[0][1])
                        if nflags is None:  # a creation that never became durable (power cut): wait for recovery
                            newer = []
                            stalled = True
                    if newer:
                        strict = bool(nflags & _nw.SEG_PREV_SYNCED)
                        fin = SegmentScan(fd, cur[1], cur[0], last=not strict, start=offset, start_seq=exp, buf=buf)
                        for ref in fin.frames():
                            got = True
                            yield from _records_of(ref, cur[1], from_seq)
                        buf = fin.buf
                        if fin.end_offset:
                            offset, exp = fin.end_offset, fin.next_seq
                        if fin.torn is None and newer[0][0] == exp:
                            os.close(fd)
                            fd = -1
                            fd = os.open(os.path.join(d, newer[0][1]), os.O_RDONLY)
                            cur = newer[0]
                            offset = 0
                            got = True
                        elif strict:
                            raise corruption(newer[0][1], 0, f"segment {cur[1]} ends at seq {exp - 1} but the next "
                                             f"segment starts at seq {newer[0][0]}: a segment is missing")
                        else:
                            # a torn tail in a segment closed unsynced (policy none, after a power cut): the log
                            # ends here until a writer recovers the directory
                            stalled = True
                now = time.monotonic()
                if got:
                    idle_since = now
                    continue
                if timeout is not None and now - idle_since >= timeout:
                    return
                stop.wait(max(poll_s, 0.05) if stalled else poll_s)
        finally:
            if fd >= 0:
                os.close(fd)


def _named_upto(manifest: Manifest | None) -> int | None:
    """first_seq of the newest segment the manifest names (later ones may be unsynced creations)."""
    return (manifest.closed_next or manifest.first_segment) if manifest is not None else None


def _segment_flags(directory: str, name: str) -> int | None:
    with open(os.path.join(directory, name), "rb") as f:
        hdr = f.read(_nw.SEG_HDR)
    code, _first, flags = _nw.parse_segment_header(hdr)
    return None if code else flags


def verify(directory: str | os.PathLike[str]) -> VerifyReport:
    """Check every live segment of a WAL directory without modifying it. Returns a report (a torn tail of
    the last segment is reported, not an error); raises WalCorruptionError(segment, offset, reason) on any
    other damage, including a segment missing at the start, middle or end."""
    d = os.fspath(directory)
    manifest, segs = snapshot(d)
    live = live_segments(manifest, segs)
    walk = SegmentWalk(d, live, named_upto=_named_upto(manifest))
    for _ in walk.frames():
        pass
    infos = [SegmentInfo(name=sc.name, first_seq=sc.first_seq, last_seq=sc.next_seq - 1, frames=sc.frames_seen,
                         end_offset=sc.end_offset, size=sc.size, torn_offset=sc.torn[0] if sc.torn else None,
                         torn_reason=sc.torn[1] if sc.torn else None) for sc in walk.scans]
    first_seq = live[0][0] if live else (manifest.first_segment if manifest else 1)
    last_seq = walk.scans[-1].next_seq - 1 if walk.scans else first_seq - 1
    return VerifyReport(directory=d, manifest=manifest, segments=infos, first_seq=first_seq, last_seq=last_seq,
                        records=last_seq - first_seq + 1, torn=walk.torn is not None,
                        beyond_torn=[name for _f, name in live[walk.end_index + 1:]] if walk.torn else [])
