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
from shrivenquant.wal._walk import SegmentWalk
from shrivenquant.wal.reader import verify

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
        walk = SegmentWalk(d, live, named_upto=(manifest.closed_next or manifest.first_segment) if manifest else None)
        cut: tuple[int, int, int] | None = None  # (segment index, offset, end of bytes to copy)
        keep_upto = len(live)  # segments [0, keep_upto) stay
        try:
            for _ in walk.frames():
                pass
            if walk.torn is not None:
                i, off, reason = walk.torn
                sc = walk.scans[-1]
                cut = (i, off, max(sc.garbage_end, off))
                keep_upto = i + 1
                actions.append(f"{live[i][1]}: torn tail at byte {off} ({reason}) cut")
        except WalCorruptionError as exc:
            names = [n for _f, n in live]
            k = names.index(exc.segment) if exc.segment in names else len(walk.scans)
            off = exc.offset or 0
            if off < _nw.SEG_HDR:
                keep_upto = k
                actions.append(f"{exc.segment}: {exc.reason}: segment and later ones moved aside")
            else:
                cut = (k, off, os.fstat(fd := os.open(os.path.join(d, names[k]), os.O_RDONLY)).st_size)
                os.close(fd)
                keep_upto = k + 1
                actions.append(f"{exc.segment}: {exc.reason} at byte {off}: cut there")
        if cut is not None:
            i, off, stop = cut
            name = live[i][1]
            fd = os.open(os.path.join(d, name), os.O_RDWR)
            try:
                if stop > off:
                    copy = f"{name}.broken-{off}"
                    _copy_range(io, fd, off, stop, os.path.join(d, copy))
                    copies.append(copy)
                io.ftruncate(fd, off)
                io.fsync(fd)
            finally:
                os.close(fd)
        kept = live[:keep_upto]
        for _first, name in reversed(live[keep_upto:]):
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
        last_seq = verify(d).last_seq
    finally:
        os.close(dirfd)
        os.close(lockfd)
    return RepairReport(directory=d, actions=actions, copies=copies, last_seq=last_seq, changed=bool(actions))
