"""``repair``: make a damaged WAL directory openable again, keeping a copy of everything it cuts."""

from __future__ import annotations

import fcntl
import os

import msgspec

from shrivenquant._native import wal as _nw
from shrivenquant.errors import WalCorruptionError, WalError
from shrivenquant.wal._format import (
    LOCK,
    MAN_SEGMENTS_CREATED,
    MANIFEST,
    TMP_SUFFIX,
    Manifest,
    fsync_dir,
    list_segments,
    read_manifest,
    write_manifest,
)
from shrivenquant.wal._io import DEFAULT_IO, OsIo, write_all
from shrivenquant.wal._scan import SegmentScan

__all__ = ["RepairReport", "repair"]


class RepairReport(msgspec.Struct, frozen=True):
    """What :func:`repair` did.

    Attributes:
        directory: the log directory.
        actions: one line per change, in order.
        copies: files written with the bytes that were cut (``<segment>.broken-<offset>``) or segments moved
            aside whole (``<segment>.broken``).
        last_seq: the last sequence number left in the log.
        changed: False if the log was intact.
    """

    directory: str
    actions: list[str]
    copies: list[str]
    last_seq: int
    changed: bool


def _copy_range(io: OsIo, src_fd: int, start: int, stop: int, dst: str) -> None:
    fd = io.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        off = start
        while off < stop:
            chunk = os.pread(src_fd, min(4 << 20, stop - off), off)
            if not chunk:
                break
            write_all(io, fd, [chunk], off - start)
            off += len(chunk)
        io.fsync(fd)
    finally:
        os.close(fd)


def repair(directory: str | os.PathLike[str], *, io: OsIo | None = None) -> RepairReport:
    """Cut the log at its first damage so that a writer can open it again.

    A torn tail, or damage inside a segment, is cut at the last valid frame after copying the cut bytes
    to ``<segment>.broken-<offset>``; segments after the damage (or with a bad header, or after a missing
    segment) are renamed ``<segment>.broken``; the manifest is rewritten to match. Records after the
    damage are no longer in the log (they remain in the copies). The directory must not be open in a
    writer.
    """
    io = io if io is not None else DEFAULT_IO
    d = os.fspath(directory)
    if not os.path.isdir(d):
        raise WalError(f"WAL directory {d!r} does not exist")
    actions: list[str] = []
    copies: list[str] = []
    lockfd = os.open(os.path.join(d, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    dirfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(lockfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WalError(f"WAL directory {d!r} is open in a writer") from None
        for name in os.listdir(d):
            if name.endswith(TMP_SUFFIX):
                io.unlink(os.path.join(d, name))
                actions.append(f"removed leftover {name}")
        try:
            manifest = read_manifest(d)
        except WalCorruptionError as exc:
            os.replace(os.path.join(d, MANIFEST), os.path.join(d, MANIFEST + ".broken"))
            copies.append(MANIFEST + ".broken")
            actions.append(f"damaged manifest moved aside ({exc.reason})")
            manifest = None
        segs = list_segments(d)
        if manifest is None:
            first_segment = segs[0][0] if segs else 1
            if segs:
                actions.append(f"manifest rebuilt with first segment {segs[0][1]}")
        else:
            first_segment = manifest.first_segment
        live = [s for s in segs if s[0] >= first_segment]
        if live and live[0][0] != first_segment:
            actions.append(f"first segment (seq {first_segment}) is missing: the log now starts at seq {live[0][0]}")
            first_segment = live[0][0]
        kept: list[tuple[int, str]] = []
        prev_next = None
        last_seq = first_segment - 1
        for i, (first, name) in enumerate(live):
            path = os.path.join(d, name)
            if prev_next is not None and first != prev_next:
                actions.append(f"segment starting at seq {prev_next} is missing: later segments moved aside")
                break
            fd = os.open(path, os.O_RDWR)
            cut_at: int | None = None
            whole = False
            try:
                scan = SegmentScan(fd, name, first, last=i == len(live) - 1)
                try:
                    for _ in scan.frames():
                        pass
                    if scan.torn is not None:
                        cut_at = scan.torn[0]
                        stop = max(scan.garbage_end, cut_at)
                        actions.append(f"{name}: torn tail at byte {cut_at} ({scan.torn[1]}) cut")
                    else:
                        stop = cut_at = None
                except WalCorruptionError as exc:
                    off = exc.offset or 0
                    if off < _nw.SEG_HDR:
                        whole = True
                        actions.append(f"{name}: {exc.reason}: segment moved aside")
                    else:
                        cut_at = off
                        stop = os.fstat(fd).st_size
                        actions.append(f"{name}: {exc.reason} at byte {off}: cut there")
                if cut_at is not None and stop is not None:
                    if stop > cut_at:
                        copy = f"{name}.broken-{cut_at}"
                        _copy_range(io, fd, cut_at, stop, os.path.join(d, copy))
                        copies.append(copy)
                    io.ftruncate(fd, cut_at)
                    io.fsync(fd)
            finally:
                os.close(fd)
            if whole:
                break
            kept.append((first, name))
            prev_next = scan.end_offset and scan.next_seq
            last_seq = scan.next_seq - 1
            if cut_at is not None and i < len(live) - 1:
                break
        for _first, name in live[len(kept):]:
            io.rename(os.path.join(d, name), os.path.join(d, name + ".broken"))
            copies.append(name + ".broken")
            actions.append(f"{name} moved aside")
        if kept:
            closed = (kept[-2][0], kept[-1][0]) if len(kept) >= 2 else (0, 0)
            new = Manifest(first_segment=first_segment, closed_first=closed[0], closed_next=closed[1],
                           flags=MAN_SEGMENTS_CREATED)
        else:
            new = Manifest(first_segment=first_segment, flags=0)
        if new != manifest and (segs or manifest is not None):
            write_manifest(io, d, dirfd, new)
            if manifest is not None:
                actions.append("manifest rewritten")
        fsync_dir(io, dirfd)
    finally:
        os.close(dirfd)
        os.close(lockfd)
    return RepairReport(directory=d, actions=actions, copies=copies, last_seq=last_seq, changed=bool(actions))
