"""The WAL writer: group-committed appends, sync policies, rotation, retention, fail-stop."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import threading
import time
import weakref
from collections.abc import Sequence
from enum import StrEnum
from types import TracebackType
from typing import Any

import msgspec
import numpy as np

from shrivenquant._native import wal as _nw
from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import ShrivenQuantTypeError, ValidationError, WalError, WalPoisonedError
from shrivenquant.wal._format import (
    LOCK,
    MAN_SEGMENTS_CREATED,
    MANIFEST,
    TMP_SUFFIX,
    Manifest,
    fsync_dir,
    list_segments,
    read_manifest,
    segment_name,
    update_manifest,
    write_manifest,
)
from shrivenquant.wal._io import DEFAULT_IO, OsIo, write_all
from shrivenquant.wal._layout import live_segments
from shrivenquant.wal._walk import SegmentWalk

__all__ = ["SyncPolicy", "WalWriter"]

_FRAME_HDR = _nw.FRAME_HDR
_U32 = struct.Struct("<I")
_FRAME_BYTES = (1 << 20) + (64 << 10)  # 1 MiB of payload plus its lengths table (records >= 64 B)
_DIRECT_MIN = 256 << 10  # batches at least this large are written straight from the caller's buffer
# policy none: segments closed unsynced are kept open (synced by the next commit); only past this many is the
# oldest synced at rotation. Each sync of a whole segment stalls the appending thread, which policy none
# promises not to do; the page cache's own dirty limits bound the memory, this bounds the descriptors.
_MAX_UNSYNCED_SEGMENTS = 64
_ZERO_CHUNK = bytes(1 << 20)
# policy always, small frames: each write that extends the segment also writes zeros ahead of it (16 frames'
# worth, 256 KiB .. 4 MiB), so that the next commits overwrite blocks that are already allocated, written and
# inside the file size: their fdatasync then flushes data only, without the journal commit an extension costs
_ZERO_AHEAD_MAX_FRAME = 256 << 10
_ZERO_AHEAD_MIN = 256 << 10
_ZERO_AHEAD_MAX = 4 << 20
_encoder = msgspec.msgpack.Encoder()


def _immutable(data: object) -> bool:
    """True if ``data`` is a ``bytes`` object or a view of one (it cannot change while referenced)."""
    return type(data) is bytes or (type(data) is memoryview and type(data.obj) is bytes)


class SyncPolicy(StrEnum):
    """When appended records are made durable (fdatasync) without an explicit :meth:`WalWriter.commit`.

    - ``always``: before every acknowledgement; concurrent appends share one sync (group commit).
    - ``batch``: once ``batch_bytes`` are pending, or ``batch_ms`` after the oldest unsynced append.
    - ``none``: never by itself (the OS writes back when it likes); ``commit()`` and ``close()`` sync.
    """

    ALWAYS = "always"
    BATCH = "batch"
    NONE = "none"


def _as_payload(obj: object) -> bytes | bytearray | memoryview:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return obj
    if isinstance(obj, msgspec.Struct):
        return _encoder.encode(obj)
    raise ShrivenQuantTypeError(f"a WAL record must be bytes-like or a msgspec.Struct, got {type(obj).__name__}")


class WalWriter:
    """Append-only, segmented, checksummed log in ``directory`` (created if missing; one writer at a time).

    Opening recovers: a torn tail (the unsynced end of the last segment) is cut, any other damage raises
    :class:`~shrivenquant.errors.WalCorruptionError` naming the segment file and byte offset.

    Sequence numbers start at 1 and are contiguous. ``append*`` return the (last) sequence number of what
    they added; under ``sync="always"`` they return only once it is durable, otherwise it is durable after
    :meth:`commit` (or the policy's next sync): :attr:`durable_seq` is never ahead of the disk.

    Args:
        directory: the log directory.
        sync: a :class:`SyncPolicy` or its name.
        segment_bytes: rotate to a new segment file before one would grow past this size.
        batch_bytes: ``batch``: sync once this many bytes are pending; ``batch``/``none``: pending records
            are written to the file (one frame) once this many bytes are buffered.
        batch_ms: ``batch``: sync at the latest this long after an unsynced append.
        max_record_bytes: the largest record accepted (bytes).
        frame_bytes: the largest frame body the writer builds; bigger batches span several frames. The
            default, 1 MiB + 64 KiB, holds a 1 MiB group commit of records of 64 bytes or more (payload and
            lengths table) in one frame.
        preallocate: pre-zero each segment file (written with zeros and fsynced, the next one by a background
            thread) so that syncs flush data only. Off by default: on the measured host it doubled the bytes
            written for no latency gain (see ``docs/wal.md``).
        io: the OS-call object (tests inject failures through it).

    Policy ``none`` reserves each segment's blocks when the segment is created or reopened
    (``fallocate`` with ``FALLOC_FL_KEEP_SIZE``: the file's size, and so everything recovery and readers
    see, is unchanged), because buffered writes into reserved blocks skip the filesystem's per-page block
    reservation (~10 % of a 1 MiB ``write`` on ext4 here; ``docs/wal.md``). :meth:`close` releases what is
    left past the end of the last segment. Where the filesystem cannot reserve, the writer goes on without
    and :attr:`reserve_error` says why.
        background: policy ``none`` only: write frames from a background thread (started at the first frame
            it writes), so that the kernel's copy of one frame overlaps the building of the next (see
            ``docs/wal.md``, "Background writer"). The bytes written are the synchronous path's;
            :meth:`flush` waits for the thread. Needs the default OS layer (``io=None``); ignored with an
            injected ``io``. ``None`` (the default) means off.
    """

    def __init__(self, directory: str | os.PathLike[str], sync: SyncPolicy | str = SyncPolicy.ALWAYS, *,
                 segment_bytes: int = 64 << 20, batch_bytes: int = 1 << 20, batch_ms: float = 5.0,
                 max_record_bytes: int | None = None, frame_bytes: int = _FRAME_BYTES,
                 preallocate: bool = False, io: OsIo | None = None, background: bool | None = None) -> None:
        try:
            self._policy = SyncPolicy(sync)
        except ValueError:
            raise ValidationError(f"sync must be one of always, batch, none; got {sync!r}") from None
        if segment_bytes < 4096:
            raise ValidationError(f"segment_bytes must be >= 4096, got {segment_bytes}")
        if batch_bytes < 1 or batch_ms <= 0:
            raise ValidationError("batch_bytes and batch_ms must be positive")
        max_body = min(_nw.MAX_BODY, segment_bytes - 128)
        self._frame_limit = max(64, min(frame_bytes, max_body))
        if max_record_bytes is None:
            max_record_bytes = min(16 << 20, max_body - 4)
        if not 1 <= max_record_bytes <= max_body - 4:
            raise ValidationError(f"max_record_bytes must be in 1..{max_body - 4} for segment_bytes="
                                  f"{segment_bytes}, got {max_record_bytes}")
        self._directory = os.fspath(directory)
        self._segment_bytes = segment_bytes
        self._batch_bytes = batch_bytes
        self._batch_s = batch_ms / 1000.0
        self._max_record = max_record_bytes
        self._preallocate = bool(preallocate)
        # policy none: reserve each segment's blocks up front (see the class docstring); turned off by the
        # first failed reservation, whose error is kept in self._reserve_error
        self._reserve = self._policy is SyncPolicy.NONE and not self._preallocate
        self._reserve_error: OSError | None = None
        self._reserved = False  # some segment of this writer was reserved: close() releases the last one's tail
        self._io = io if io is not None else DEFAULT_IO
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._builder = _nw.FrameBuilder(1 << 16, max_record_bytes)
        self._spare = _nw.FrameBuilder(1 << 16, max_record_bytes)
        self._busy = False
        self._waiting = 0  # threads in self._wait(): only then must a finished direct write notify
        self._poisoned: BaseException | None = None
        self._closed = False
        self._unsynced_bytes = 0
        self._oldest_unsynced: float | None = None
        self._fd = -1
        self._unsynced_fds: list[int] = []
        self._prep: tuple[threading.Thread, str, dict[str, Any]] | None = None
        self._prep_count = 0
        self._manifest_pending = False
        self._dir_dirty = False
        self._lockfd = -1
        self._dirfd = -1
        self._manfd = -1
        self._native_io = type(self._io) is OsIo  # the one-frame path may then write natively
        self._zeroed = 0  # the current segment's size: bytes past self._off up to here are zeros
        if background and self._policy is not SyncPolicy.NONE:
            raise ValidationError("background=True needs sync='none' (the other policies wait for the disk)")
        # policy none, background writer: frames are posted to self._worker (one in flight) by whichever
        # thread runs the I/O cycle; self._written then counts posted frames, and every barrier drains it
        self._bg = bool(background) and self._native_io
        # append_buffer's lean path (a large batch under policy none with the default OS layer): without the
        # background writer its packed lengths table lives in self._lens_scratch (one direct write at a time)
        self._lean = self._native_io and not self._preallocate and self._policy is SyncPolicy.NONE
        self._lens_scratch = bytearray(0)
        self._lens_view = memoryview(self._lens_scratch)
        self._worker: Any = None
        self._worker_thread: threading.Thread | None = None
        self._flusher: threading.Thread | None = None
        self._stop_flusher = threading.Event()
        os.makedirs(self._directory, exist_ok=True)
        self._dirfd = os.open(self._directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._lockfd = os.open(os.path.join(self._directory, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(self._lockfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WalError(f"WAL directory {self._directory!r} is open in another writer") from None
            self._recover()
        except BaseException:
            self._close_fds()
            raise
        if self._policy is SyncPolicy.BATCH:
            self._flusher = threading.Thread(target=self._flush_loop, name="wal-batch-sync", daemon=True)
            self._flusher.start()

    # ------------------------------------------------------------------ properties

    @property
    def directory(self) -> str:
        """The log directory."""
        return self._directory

    @property
    def sync(self) -> SyncPolicy:
        """The sync policy."""
        return self._policy

    @property
    def durable_seq(self) -> int:
        """The last sequence number known durable (0 if none)."""
        return self._durable

    @property
    def last_seq(self) -> int:
        """The last sequence number appended (durable or not; 0 if none)."""
        return self._next_seq - 1

    @property
    def first_seq(self) -> int:
        """The first sequence number still in the log (the low-water mark)."""
        return self._manifest.first_segment

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    @property
    def poisoned(self) -> bool:
        """True after a write or sync error: the writer refuses every further operation."""
        return self._poisoned is not None

    @property
    def reserve_error(self) -> OSError | None:
        """Why policy ``none`` could not reserve a segment's blocks (the filesystem or platform has no
        ``fallocate``, or the disk is full), after which the writer goes on without reserving; None when
        every reservation succeeded or none was attempted."""
        return self._reserve_error

    def _reserve_blocks(self, fd: int, start: int) -> None:
        """Reserve the blocks of the segment ``fd`` from ``start`` to the segment size (policy ``none``).
        A failure is not an I/O error of the log (nothing is written): the writer stops reserving and
        keeps the error in :attr:`reserve_error`; any real write error still fail-stops at the write."""
        if not self._reserve or start >= self._segment_bytes:
            return
        try:
            self._io.reserve(fd, start, self._segment_bytes - start)
        except OSError as exc:
            self._reserve = False
            self._reserve_error = exc
            return
        self._reserved = True

    @property
    def segment(self) -> str:
        """File name of the segment being written."""
        return self._seg_name

    # ------------------------------------------------------------------ recovery

    def _recover(self) -> None:
        io, d = self._io, self._directory
        removed = False
        for name in os.listdir(d):
            if name.endswith(TMP_SUFFIX):
                io.unlink(os.path.join(d, name))
                removed = True
        if removed:
            fsync_dir(io, self._dirfd)
        manifest = read_manifest(d)
        segs = list_segments(d)
        if manifest is None:
            live_segments(None, segs)  # raises if there are segments without a manifest
            manifest = Manifest(first_segment=1, flags=0)
            write_manifest(io, d, self._dirfd, manifest)
        if not manifest.flags & MAN_SEGMENTS_CREATED and not [s for s in segs if s[0] >= manifest.first_segment]:
            os.close(self._create_segment(manifest.first_segment))
            manifest = Manifest(first_segment=manifest.first_segment, flags=MAN_SEGMENTS_CREATED)
            write_manifest(io, d, self._dirfd, manifest)
            segs = list_segments(d)
        self._manifest = manifest
        stale = [name for first, name in segs if first < manifest.first_segment]
        for name in stale:  # leftovers of a retention interrupted after its manifest update
            io.unlink(os.path.join(d, name))
        if stale:
            fsync_dir(io, self._dirfd)
        live = live_segments(manifest, list_segments(d))
        walk = SegmentWalk(d, live, named_upto=manifest.closed_next or manifest.first_segment)
        for _ in walk.frames():
            pass
        end = walk.end_index
        scan = walk.scans[-1]
        if end < len(live) - 1:
            # a torn tail in a segment closed unsynced (policy none): the later segments were never durable
            if manifest.closed_next > live[end][0]:
                closed = (live[end - 1][0], live[end][0]) if end >= 1 else (0, 0)
                manifest = Manifest(first_segment=manifest.first_segment, closed_first=closed[0],
                                    closed_next=closed[1], flags=MAN_SEGMENTS_CREATED)
                write_manifest(io, d, self._dirfd, manifest)
                self._manifest = manifest
            for _first, name in reversed(live[end + 1:]):
                io.unlink(os.path.join(d, name))
            fsync_dir(io, self._dirfd)
            live = live[: end + 1]
        self._fd = os.open(os.path.join(d, live[-1][1]), os.O_RDWR)
        if scan.torn is not None:
            cut = scan.end_offset
            if self._preallocate and scan.size > cut:
                self._zero_fill(self._fd, cut, max(scan.garbage_end, cut))
                io.fdatasync(self._fd)
            else:
                io.ftruncate(self._fd, cut)
                io.fsync(self._fd)
        # What the scan accepted may still be only in the page cache (a killed writer, or segments closed and
        # created unsynced under policy none): make all of it durable, names included, before any new frame
        # claims it is (new frames carry synced_seq = the recovered last seq).
        for _first, name in live[:-1]:
            fd = os.open(os.path.join(d, name), os.O_RDONLY)
            try:
                io.fdatasync(fd)
            finally:
                os.close(fd)
        io.fdatasync(self._fd)
        fsync_dir(io, self._dirfd)
        if len(live) >= 2 and manifest.closed_next != live[-1][0]:
            manifest = Manifest(first_segment=manifest.first_segment, closed_first=live[-2][0],
                                closed_next=live[-1][0], flags=MAN_SEGMENTS_CREATED)
            write_manifest(io, d, self._dirfd, manifest)
            self._manifest = manifest
        # after recovery the manifest exists and is only rewritten in place (see update_manifest)
        self._manfd = os.open(os.path.join(d, MANIFEST), os.O_RDWR)
        self._zeroed = os.fstat(self._fd).st_size  # past the accepted frames: nothing, or zeros (scan checked)
        self._reserve_blocks(self._fd, self._zeroed)
        self._seg_first, self._seg_name = live[-1]
        self._off = scan.end_offset
        self._next_seq = scan.next_seq
        self._written = self._next_seq - 1
        self._durable = self._next_seq - 1
        self.recovered_torn = scan.torn

    def _zero_fill(self, fd: int, start: int, stop: int) -> None:
        off = start
        while off < stop:
            n = min(64 * len(_ZERO_CHUNK), stop - off)
            views: list[bytes | memoryview] = [_ZERO_CHUNK] * (n // len(_ZERO_CHUNK))
            if n % len(_ZERO_CHUNK):
                views.append(memoryview(_ZERO_CHUNK)[: n % len(_ZERO_CHUNK)])
            write_all(self._io, fd, views, off)
            off += n

    def _zero_ahead_bytes(self, end: int, total: int) -> int:
        """How many zeros to write after a frame of ``total`` bytes ending at ``end`` (policy always; see
        ``_ZERO_AHEAD_MAX_FRAME``): none if the frame lands in the zeroed part or is large."""
        if end <= self._zeroed or total > _ZERO_AHEAD_MAX_FRAME:
            return 0
        want = min(max(16 * total, _ZERO_AHEAD_MIN), _ZERO_AHEAD_MAX)
        return max(0, min(self._segment_bytes, (end + want + 4095) & ~4095) - end)

    def _zero_ahead(self, end: int, total: int) -> list[memoryview]:
        """The zeros of :meth:`_zero_ahead_bytes` as buffers for ``pwritev``."""
        n = self._zero_ahead_bytes(end, total)
        chunk = len(_ZERO_CHUNK)
        views = [memoryview(_ZERO_CHUNK)] * (n // chunk)
        if n % chunk:
            views.append(memoryview(_ZERO_CHUNK)[: n % chunk])
        return views

    def _prepare_next(self) -> None:
        """Zero-fill and fsync the next segment's file in a background thread (as etcd's file pipeline
        does), so that rotation only writes a header and renames."""
        if self._prep is not None or self._closed:
            return
        tmp = os.path.join(self._directory, f"prealloc-{os.getpid()}-{self._prep_count}{TMP_SUFFIX}")
        self._prep_count += 1
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                fd = self._io.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    self._zero_fill(fd, 0, self._segment_bytes)
                    self._io.fsync(fd)
                except BaseException:
                    os.close(fd)
                    raise
                box["fd"] = fd
            except BaseException as exc:  # noqa: BLE001 - handed to the writer thread at rotation
                box["err"] = exc

        t = threading.Thread(target=work, name="wal-prealloc", daemon=True)
        t.start()
        self._prep = (t, tmp, box)

    def _take_prepared(self) -> tuple[int, str] | None:
        if self._prep is None:
            return None
        t, tmp, box = self._prep
        self._prep = None
        t.join()
        if "err" in box:
            raise box["err"]
        return box["fd"], tmp

    def _drop_prepared(self) -> None:
        try:
            got = self._take_prepared()
        except OSError:
            # the unused next segment could not be prepared: nothing was written to the log, and the
            # partial temporary file is removed by the next recovery
            return
        if got is not None:
            os.close(got[0])
            with contextlib.suppress(FileNotFoundError):
                os.unlink(got[1])

    def _create_segment(self, first_seq: int, flags: int = _nw.SEG_PREV_SYNCED, durable: bool = True) -> int:
        """Create a segment with the safe protocol: temporary file, (zeros,) header, fsync, rename, fsync
        of the directory. Returns its descriptor (read-write). ``durable=False`` (rotation) leaves both syncs
        to the cycle's sync, which syncs the file's data and the directory before the manifest names the
        segment: until then a power cut may leave the name with an empty or zero header, which recovery
        treats as the end of the log because the manifest does not name that segment."""
        io, d = self._io, self._directory
        name = segment_name(first_seq)
        prepared = self._take_prepared() if self._preallocate else None
        if prepared is not None:
            fd, tmp = prepared
        else:
            tmp = os.path.join(d, name + TMP_SUFFIX)
            fd = io.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            if self._preallocate and prepared is None:
                self._zero_fill(fd, 0, self._segment_bytes)
            if not durable:  # a rotation (recovery reserves the segment it opens for writing)
                self._reserve_blocks(fd, 0)
            write_all(io, fd, [_nw.segment_header(first_seq, flags)], 0)
            if not durable:
                self._dir_dirty = True
            elif prepared is not None:
                io.fdatasync(fd)  # the zeros (and the size) were fsynced already: only the header is new
            else:
                io.fsync(fd)
            io.rename(tmp, os.path.join(d, name))
            if durable:
                fsync_dir(io, self._dirfd)
        except BaseException:
            os.close(fd)
            raise
        return fd

    # ------------------------------------------------------------------ I/O cycle (one thread at a time)

    def _check(self) -> None:
        if self._poisoned is None and self._worker is not None and self._worker.error:
            e = self._worker.error
            self._bg_fail(OSError(e, os.strerror(e)))
        if self._poisoned is not None:
            raise WalPoisonedError(
                f"WAL writer for {self._directory!r} refuses work after an I/O error "
                f"({self._poisoned!r}); reopen the log to recover") from self._poisoned
        if self._closed:
            raise WalError(f"WAL writer for {self._directory!r} is closed")

    def _cycle(self, sync: bool, direct: Sequence[tuple[Any, Any, int, int, int]] = (), *, bg: bool = True) -> None:
        """Write the pending frame and the ``direct`` frames, then sync if asked. Called with the lock held
        and no cycle running; releases the lock during the I/O. With the background writer and ``bg`` (and
        no sync), the frames are posted to it instead of written here."""
        if self._worker is not None:
            self._bg_drain()  # the builder about to be reused may be the frame in flight
        b = self._builder
        first = self._next_seq - b.count - sum(d[2] for d in direct)
        self._builder, self._spare = self._spare, b
        synced = self._durable
        self._busy = True
        self._lock.release()
        err: BaseException | None = None
        written = durable = 0
        try:
            written, durable = self._do_io(b, first, direct, synced, sync, bg=bg and self._bg and not sync)
        except BaseException as exc:  # noqa: BLE001 - re-raised below after the state is restored
            err = exc
        finally:
            self._lock.acquire()
            self._busy = False
            b.clear()
            if err is None:
                self._written = max(self._written, written)
                self._durable = max(self._durable, durable)
                if self._durable >= self._written:
                    self._unsynced_bytes = 0
                    self._oldest_unsynced = None
            elif isinstance(err, OSError) or self._poisoned is None:
                self._poisoned = err
            self._cond.notify_all()
        if err is not None:
            if isinstance(err, OSError):
                raise WalPoisonedError(f"WAL writer for {self._directory!r}: {err!r}; the writer is now "
                                       "poisoned, reopen the log to recover") from err
            raise err

    def _do_io(self, b: Any, first: int, direct: Sequence[tuple[Any, Any, int, int, int]], synced: int,
               sync: bool, *, bg: bool = False) -> tuple[int, int]:
        io = self._io
        written = self._written
        durable = synced
        frames: list[tuple[Any, Any, int, int, int]] = []
        if b.count:
            frames.append((None, None, b.count, first, 1 if b.fixed else 0))
        frames.extend(direct)
        for lens, data, count, fseq, fixed in frames:
            body = b.nbytes if lens is None else len(lens) + len(data)
            total = _nw.FRAME_HDR + ((body + 7) & ~7)
            if (self._off + total > self._segment_bytes and self._off > _nw.SEG_HDR
                    and self._rotate(fseq, durable >= written)):
                durable = written
            post = bg and (lens is None or _immutable(data))
            if bg and not post and self._worker is not None:
                self._bg_drain()  # a mutable buffer: written below from the caller's memory, after the posted
            if post:  # the same frame, written by the background thread (in posting order)
                if lens is None:
                    lv, dv, flags = b.body()
                else:
                    lv, dv, flags = lens, data, _nw.F_FIXED64 if fixed else 0
                self._bg_post(self._fd, self._off, lv, dv, first=fseq, count=count, flags=flags, synced=durable,
                              copy=False)
                end = self._off + total
            elif self._native_io:  # header, CRC, pwritev2 and short writes in one native call, GIL released
                if lens is None:
                    lv, dv, flags = b.body()
                else:
                    lv, dv, flags = lens, data, _nw.F_FIXED64 if fixed else 0
                nzero = self._zero_ahead_bytes(self._off + total, total) if self._policy is SyncPolicy.ALWAYS else 0
                _nw.write_frame(self._fd, self._off, fseq, count, flags, durable, lv, dv, nzero, False)
                end = self._off + total + nzero
            else:
                if lens is None:
                    hdr, lv, dv, pad = b.seal(fseq, durable)
                else:
                    hdr = _nw.frame_header(fseq, count, _nw.F_FIXED64 if fixed else 0, durable, lens, data)
                    lv, dv, pad = lens, data, _nw.padding(body)
                bufs = [hdr, lv, dv, pad] if len(lv) else [hdr, dv, pad]
                if not len(pad):
                    bufs.pop()
                if self._policy is SyncPolicy.ALWAYS:
                    bufs.extend(self._zero_ahead(self._off + total, total))
                end = self._off + write_all(io, self._fd, bufs, self._off)
            self._zeroed = max(self._zeroed, end)
            self._off += total
            written = fseq + count - 1
            if self._preallocate and self._prep is None and self._off > self._segment_bytes // 2:
                self._prepare_next()
            self._unsynced_bytes += total
            if self._oldest_unsynced is None:
                self._oldest_unsynced = time.monotonic()
        if not sync and self._policy is SyncPolicy.BATCH and self._unsynced_bytes >= self._batch_bytes:
            sync = True
        if sync and (durable < written or self._unsynced_fds or self._manifest_pending or self._dir_dirty):
            while self._unsynced_fds:  # segments closed unsynced (policy none) first
                io.fdatasync(self._unsynced_fds[0])
                os.close(self._unsynced_fds.pop(0))
            io.fdatasync(self._fd)
            if self._dir_dirty:  # segments created unsynced (policy none): their names become durable
                fsync_dir(io, self._dirfd)
                self._dir_dirty = False
            if self._manifest_pending:  # only now may the manifest name them
                update_manifest(io, self._manfd, self._manifest)
                self._manifest_pending = False
            durable = written
        return written, durable

    def _direct_fast(self, lens: Any, data: Any, count: int, flags: int, body: int) -> int | None:
        """Write one frame straight from the caller's memory with as little Python as possible (the common
        large-batch case; the generic path is :meth:`_cycle`). Called with the lock held and the writer
        checked; returns the frame's last seq, or None (nothing done) unless the frame is the only thing to
        write and fits in the current segment under policy ``none`` or ``always``."""
        total = _FRAME_HDR + ((body + 7) & ~7)
        off = self._off
        if (self._busy or self._builder.count or body > self._frame_limit or self._preallocate
                or off + total > self._segment_bytes or self._policy is SyncPolicy.BATCH):
            return None
        sync = self._policy is SyncPolicy.ALWAYS
        if sync and (self._unsynced_fds or self._manifest_pending or self._dir_dirty):
            return None
        first = self._next_seq
        last = first + count - 1
        self._next_seq = last + 1
        synced = self._durable
        io, fd = self._io, self._fd
        nzero = self._zero_ahead_bytes(off + total, total) if sync else 0
        size = total + nzero
        if self._bg and _immutable(data):
            # policy none, background writer: post the frame (the lock stays held: posting only waits for
            # a free queue slot, and the thread needs neither the lock nor the GIL)
            return self._post_direct(fd, off, total, first=first, count=count, flags=flags, synced=synced, lens=lens,
                                     data=data)
        if self._worker is not None:
            # a mutable buffer: written here, from the caller's memory, after the frames posted before it
            # (copying it for the thread measured slower than this; see docs/wal.md)
            try:
                self._bg_drain()
            except BaseException:
                self._next_seq = first
                raise
        self._busy = True
        self._lock.release()
        err: BaseException | None = None
        if self._native_io:
            # the default OS layer: header, CRC, pwritev2 (+ short-write loop) and fdatasync in one native
            # call without the GIL (the same system calls; injected faults need the Python path below)
            try:
                _nw.write_frame(fd, off, first, count, flags, synced, lens, data, nzero, sync)
            except BaseException as exc:  # noqa: BLE001 - re-raised below after the state is restored
                err = exc
            return self._direct_done(err, off, total, size, last, sync=sync)
        zeros = self._zero_ahead(off + total, total) if nzero else []
        try:
            hdr = _nw.frame_header(first, count, flags, synced, lens, data)
            bufs = [hdr, lens, data] if len(lens) else [hdr, data]
            if body & 7:
                bufs.append(_nw.padding(body))
            if zeros:
                bufs.extend(zeros)
            if io.pwritev(fd, bufs, off) != size:
                write_all(io, fd, bufs, off)  # a short write: write the frame again, whole (same bytes)
            if sync:
                io.fdatasync(fd)
        except BaseException as exc:  # noqa: BLE001 - re-raised below after the state is restored
            err = exc
        return self._direct_done(err, off, total, size, last, sync=sync)

    def _post_direct(self, fd: int, off: int, total: int, *, first: int, count: int, flags: int, synced: int,
                     lens: Any, data: bytes | memoryview) -> int:
        """Background writer: post one frame of the caller's immutable ``data`` (seqs ``first ..`` already
        taken; lock held) and account for it as written; returns its last seq."""
        try:
            self._bg_post(fd, off, lens, data, first=first, count=count, flags=flags, synced=synced, copy=False)
        except BaseException:
            self._next_seq = first  # nothing was posted
            raise
        last = first + count - 1
        self._off = off + total
        self._zeroed = max(self._zeroed, off + total)
        self._written = last
        self._unsynced_bytes += total
        if self._oldest_unsynced is None:
            self._oldest_unsynced = time.monotonic()
        return last

    def _append_lean(self, buffer: Any, lengths: np.ndarray) -> int | None:
        """:meth:`append_buffer`'s path for its usual call under policy ``none``: one large batch (bytes,
        bytearray or contiguous memoryview; int64 lengths) written as one frame straight from the caller's
        memory by one native call (or, with the background writer, posted to it when the buffer is
        ``bytes``), with as few Python steps as possible: each one runs cache-cold after a 1 MiB copy into
        the page cache (measured ~35 µs per call less than the generic path). Returns the last seq, or None
        (nothing done) when the generic path must handle the call (which also raises every error about the
        arguments)."""
        tb = type(buffer)
        if self._bg and tb is not bytes:
            return None  # a mutable buffer: the generic path drains the thread and writes it here
        if tb is bytes or tb is bytearray:
            size = len(buffer)
        elif tb is memoryview and buffer.c_contiguous:
            size = buffer.nbytes
        else:
            return None
        if size < _DIRECT_MIN:
            return None
        n = len(lengths)  # (pack_lengths below refuses anything but a 1-D contiguous int64 array)
        body = 4 * n + size
        multi = body > self._frame_limit  # several frames, cut as the generic path cuts them
        if multi and self._bg:
            return None
        total = _FRAME_HDR + ((body + 7) & ~7)
        lock = self._lock
        lock.acquire()
        try:
            off = self._off
            if (self._busy or self._builder.count or self._poisoned is not None or self._closed
                    or (not multi and off + total > self._segment_bytes)):
                return None
            if self._bg:  # the table stays referenced until the thread has written the frame
                lens = bytearray(4 * n)
            else:
                lens = self._lens_view
                if len(lens) != 4 * n:
                    if len(self._lens_scratch) < 4 * n:
                        self._lens_scratch = bytearray(4 * n)
                    lens = self._lens_view = memoryview(self._lens_scratch)[:4 * n]
            if _nw.pack_lengths(lengths, self._max_record, lens) != size:
                return None  # not int64, a length out of range, or a sum that is not the buffer's size
            if multi:
                total = _nw.frames_size(lens, self._frame_limit)
                if off + total > self._segment_bytes:
                    return None  # the generic path rotates between the frames
            first = self._next_seq
            last = first + n - 1
            self._next_seq = last + 1
            if self._bg:
                return self._post_direct(self._fd, off, total, first=first, count=n, flags=0, synced=self._durable,
                                         lens=lens, data=buffer)
            self._busy = True
            synced = self._durable
            fd = self._fd
            lock.release()
            err: BaseException | None = None
            try:
                if multi:
                    _nw.write_buffer_frames(fd, off, first, synced, lens, buffer, self._frame_limit)
                else:
                    _nw.write_frame(fd, off, first, n, 0, synced, lens, buffer, 0, False)
            except BaseException as exc:  # noqa: BLE001 - re-raised by _direct_done after the state is restored
                err = exc
            return self._direct_done(err, off, total, total, last, sync=False)  # (re-acquires the lock)
        finally:
            lock.release()

    def _direct_done(self, err: BaseException | None, off: int, total: int, size: int, last: int, *,
                     sync: bool) -> int:
        """The bookkeeping after :meth:`_direct_fast`'s I/O (re-acquires the lock)."""
        self._lock.acquire()
        self._busy = False
        if err is None:
            self._off = off + total
            self._zeroed = max(self._zeroed, off + size)
            self._written = last
            if sync:
                self._durable = last
                self._unsynced_bytes = 0
                self._oldest_unsynced = None
            else:
                self._unsynced_bytes += total
                if self._oldest_unsynced is None:
                    self._oldest_unsynced = time.monotonic()
            if self._waiting:
                self._cond.notify_all()
            return last
        if isinstance(err, OSError) or self._poisoned is None:
            self._poisoned = err
        self._cond.notify_all()
        if isinstance(err, OSError):
            raise WalPoisonedError(f"WAL writer for {self._directory!r}: {err!r}; the writer is now "
                                   "poisoned, reopen the log to recover") from err
        raise err

    def _rotate(self, next_first: int, all_synced: bool) -> bool:
        """Close the current segment and start the next; returns True if everything written is now durable.

        ``always``/``batch``: the old segment is fdatasynced first and the new header says so
        (SEG_PREV_SYNCED), which makes any later damage in it corruption. ``none``: the old segment is left
        to the OS (synced by the next commit), so rotation costs no sync.

        Every policy creates the new segment without syncing it and leaves the manifest update pending: the
        cycle's sync (at once under ``always``) then makes the segment's data, its header and its first
        frames durable with one ``fdatasync``, its name with the directory ``fsync``, and only then updates
        the manifest in place. Nothing in the new segment is acknowledged before that, and until the
        manifest names it a power cut can at worst leave it empty or headerless, which ends the log."""
        io = self._io
        synced = False
        if self._worker is not None:
            self._bg_drain()  # the frame in flight may be the old segment's last (which may be closed below)
        if self._policy is not SyncPolicy.NONE:
            if not all_synced:  # (under always every frame was synced already: no syscall)
                io.fdatasync(self._fd)  # the old segment is complete and durable before the next one exists
            synced = True
            if self._dir_dirty:  # a second rotation in one cycle: the previous new segment's name first
                fsync_dir(io, self._dirfd)
                self._dir_dirty = False
            if self._manifest_pending:
                update_manifest(io, self._manfd, self._manifest)
                self._manifest_pending = False
        elif len(self._unsynced_fds) >= _MAX_UNSYNCED_SEGMENTS:  # bound the open descriptors
            io.fdatasync(self._unsynced_fds[0])
            os.close(self._unsynced_fds.pop(0))
        prev_synced = synced or (all_synced and not self._unsynced_fds)
        fd = self._create_segment(next_first, _nw.SEG_PREV_SYNCED if prev_synced else 0, durable=False)
        m = self._manifest
        manifest = Manifest(first_segment=m.first_segment, closed_first=self._seg_first, closed_next=next_first,
                            flags=MAN_SEGMENTS_CREATED)
        # written by the next sync, after the new segment's data and name are durable
        self._manifest_pending = True
        self._manifest = manifest
        if prev_synced:
            os.close(self._fd)
        else:
            self._unsynced_fds.append(self._fd)
        self._fd = fd
        self._seg_first = next_first
        self._seg_name = segment_name(next_first)
        self._off = _nw.SEG_HDR
        self._zeroed = self._segment_bytes if self._preallocate else _nw.SEG_HDR
        return synced

    def _wait(self) -> None:
        """``self._cond.wait()`` (lock held), counted in ``self._waiting`` so that a finished direct write
        notifies only when some thread waits."""
        self._waiting += 1
        try:
            self._cond.wait()
        finally:
            self._waiting -= 1

    def _wait_idle(self) -> None:
        while self._busy:
            self._wait()
        self._check()
        if self._worker is not None:
            self._bg_drain()

    # ------------------------------------------------------------------ background writer (policy none)

    def _bg_post(self, fd: int, off: int, lens: Any, data: Any, *, first: int, count: int, flags: int, synced: int,
                 copy: bool) -> None:
        """Hand one frame to the background thread (started here the first time). ``copy``: the body is
        copied into the thread's buffers first (the caller's memory may change once the append returns);
        otherwise the buffers are immutable or the writer's own, and are referenced until written. Called
        by the thread running the I/O (lock held, or ``_busy``)."""
        w = self._worker
        if w is None:
            w = _nw.FrameWorker(self._frame_limit)
            t = threading.Thread(target=w.serve, name="wal-none-writer", daemon=True)
            t.start()
            self._worker, self._worker_thread = w, t
            self._finalizer = weakref.finalize(self, w.stop)  # an unclosed writer still ends its thread
        try:
            w.submit(fd, off, first, count, flags, synced, lens, data, copy)
        except OSError as exc:
            self._bg_fail(exc)

    def _bg_drain(self) -> None:
        """Wait until the background thread has written every posted frame (raise its error if any)."""
        try:
            self._worker.wait()
        except OSError as exc:
            self._bg_fail(exc)

    def _bg_fail(self, exc: OSError) -> None:
        if self._poisoned is None:
            self._poisoned = exc
        raise WalPoisonedError(f"WAL writer for {self._directory!r}: background write failed: {exc!r}; the "
                               "writer is now poisoned, reopen the log to recover") from exc

    def _bg_stop(self) -> None:
        """End the background thread once the frame in flight is written (close; never raises)."""
        w, t = self._worker, self._worker_thread
        if w is None or t is None:
            return
        while self._busy:  # (lock held) another thread's cycle may still post frames: let it finish
            self._wait()
        w.stop()
        t.join()
        self._worker_thread = None

    def _wait_durable(self, seq: int) -> None:
        while self._durable < seq:
            self._check()
            if self._busy:
                self._wait()
            else:
                self._cycle(True)

    def _after_append(self, seq: int) -> None:
        if self._policy is SyncPolicy.ALWAYS:
            self._wait_durable(seq)
        elif self._builder.nbytes >= self._batch_bytes:
            self._wait_idle()
            if self._builder.count:
                self._cycle(False)

    # ------------------------------------------------------------------ appends

    def append(self, record: bytes | bytearray | memoryview | msgspec.Struct) -> int:
        """Append one record (bytes-like, or a msgspec Struct encoded as MessagePack); returns its seq."""
        payload = _as_payload(record)
        n = len(payload) if not isinstance(payload, memoryview) else payload.nbytes
        with self._lock:
            self._check()
            if self._policy is SyncPolicy.ALWAYS and n <= self._max_record and type(payload) is bytes:
                # nothing pending and no other thread writing: this record is its own group commit
                done = self._direct_fast(_U32.pack(n), payload, 1, 0, n + 4)
                if done is not None:
                    return done
            b = self._builder
            if b.fixed or (b.count and b.nbytes + n + 4 > self._frame_limit):
                self._wait_idle()
                if self._builder.count:
                    self._cycle(False)
            self._builder.add(payload)
            seq = self._next_seq
            self._next_seq = seq + 1
            self._after_append(seq)
            return seq

    def append_many(self, records: Sequence[bytes | bytearray | memoryview | msgspec.Struct]) -> int:
        """Append many records in order (one frame per ``frame_bytes``); returns the last seq."""
        payloads = records if isinstance(records, list) else list(records)
        if not payloads:
            return self.last_seq
        with self._lock:
            self._check()
            i = 0
            while i < len(payloads):
                if self._builder.fixed:
                    self._wait_idle()
                    if self._builder.count:
                        self._cycle(False)
                    continue
                try:
                    j = self._builder.add_many(payloads, i, self._frame_limit)
                except TypeError:
                    payloads = [_as_payload(p) for p in payloads]
                    continue
                self._next_seq += j - i
                i = j
                if i < len(payloads):
                    self._wait_idle()
                    if self._builder.count:
                        self._cycle(False)
            last = self._next_seq - 1
            self._after_append(last)
            return last

    def append_events(self, events: np.ndarray) -> int:
        """Append a NumPy array of 64-byte event records (``EVENT_DTYPE``) in one call; returns the last
        seq. Large arrays are written straight from the array (no copy)."""
        arr = events if type(events) is np.ndarray else np.asarray(events)
        if (arr.dtype is not EVENT_DTYPE and arr.dtype != EVENT_DTYPE) or arr.ndim != 1:
            raise ValidationError(f"append_events needs a 1-d array of EVENT_DTYPE, got {arr.dtype} x {arr.shape}")
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        n = len(arr)
        if n == 0:
            return self.last_seq
        with self._lock:
            self._check()
            if self._policy is SyncPolicy.ALWAYS and arr.nbytes < _DIRECT_MIN:
                # its own group commit when nothing else is pending: written from the array, no copy
                done = self._direct_fast(b"", memoryview(arr).cast("B"), n, _nw.F_FIXED64, arr.nbytes)
                if done is not None:
                    return done
            if arr.nbytes >= _DIRECT_MIN:
                view = memoryview(arr).cast("B")
                done = self._direct_fast(b"", view, n, _nw.F_FIXED64, arr.nbytes)
                if done is not None:
                    return done
                per = max(1, self._frame_limit // 64)
                self._wait_idle()
                first = self._next_seq
                direct = [(b"", view[64 * s: 64 * min(n, s + per)], min(n, s + per) - s, first + s, 1)
                          for s in range(0, n, per)]
                self._next_seq += n
                self._cycle(self._policy is SyncPolicy.ALWAYS, direct)
                self._after_append(first + n - 1)
                return first + n - 1
            s = 0
            while s < n:
                b = self._builder
                room = (self._frame_limit - b.nbytes) // 64
                if b.fixed is False or room <= 0:
                    self._wait_idle()
                    if self._builder.count:
                        self._cycle(False)
                    continue
                k = min(room, n - s)
                b.add_events(arr if k == n else arr[s: s + k])
                self._next_seq += k
                s += k
            last = self._next_seq - 1
            self._after_append(last)
            return last

    def append_buffer(self, buffer: bytes | bytearray | memoryview | np.ndarray,
                      lengths: Sequence[int] | np.ndarray | None = None, *,
                      offsets: Sequence[int] | np.ndarray | None = None) -> int:
        """Append the records cut from one contiguous buffer: ``lengths[i]`` bytes each (summing to the
        buffer's size), or ``offsets`` (the n+1 boundaries, 0 first and the size last). Returns the last
        seq. Large buffers are written straight from the caller's memory."""
        if self._lean and offsets is None and type(lengths) is np.ndarray:
            done = self._append_lean(buffer, lengths)
            if done is not None:
                return done
        view = memoryview(buffer).cast("B") if not isinstance(buffer, np.ndarray) else \
            memoryview(np.ascontiguousarray(buffer)).cast("B")
        if (lengths is None) == (offsets is None):
            raise ValidationError("append_buffer needs exactly one of lengths or offsets")
        if offsets is not None:
            bounds = np.asarray(offsets, dtype=np.int64)
            if bounds.ndim != 1 or len(bounds) < 1 or bounds[0] != 0 or bounds[-1] != len(view):
                raise ValidationError("offsets must be the n+1 record boundaries from 0 to the buffer size")
            lens = np.diff(bounds)
        elif type(lengths) is np.ndarray and lengths.dtype == np.int64 and lengths.flags.c_contiguous:
            lens = lengths
        else:
            lens = np.ascontiguousarray(lengths, dtype=np.int64)
        if lens.ndim != 1:
            raise ValidationError("lengths must be one-dimensional")
        n = len(lens)
        if n == 0:
            if len(view):
                raise ValidationError("no record lengths for a non-empty buffer")
            return self.last_seq
        lens32 = np.empty(n, dtype="<u4")
        total = _nw.pack_lengths(lens, self._max_record, lens32)  # checks and converts in one native pass
        if total < 0:
            raise ValidationError(f"record lengths must be in 0..max_record_bytes={self._max_record}")
        if total != len(view):
            raise ValidationError(f"record lengths sum to {total}, the buffer has {len(view)} bytes")
        if total + 4 * n <= self._frame_limit and (total >= _DIRECT_MIN or self._policy is SyncPolicy.ALWAYS):
            # one frame written straight from the caller's buffer (a large batch, or any group commit under
            # always: the caller waits for the sync anyway, so its buffer need not be copied): no cut search
            with self._lock:
                self._check()
                lensv = memoryview(lens32).cast("B")
                done = self._direct_fast(lensv, view, n, 0, len(lensv) + total)
                if done is not None:
                    return done
        ends = np.cumsum(lens)
        # frame boundaries: records [cuts[k], cuts[k+1]) each within the frame limit
        body_ends = ends + 4 * np.arange(1, n + 1, dtype=np.int64)
        cuts = [0]
        base = 0
        if int(body_ends[-1]) <= self._frame_limit:
            cuts.append(n)  # one frame (the common case): no search
        while cuts[-1] < n:
            s = cuts[-1]
            e = int(np.searchsorted(body_ends, base + self._frame_limit, side="right"))
            e = max(e, s + 1)
            cuts.append(e)
            base = int(body_ends[e - 1])
        starts = np.concatenate(([0], ends))
        with self._lock:
            self._check()
            if len(view) >= _DIRECT_MIN:
                self._wait_idle()
                first = self._next_seq
                direct = []
                for k in range(len(cuts) - 1):
                    s, e = cuts[k], cuts[k + 1]
                    direct.append((memoryview(lens32[s:e]).cast("B"), view[int(starts[s]): int(starts[e])],
                                   e - s, first + s, 0))
                self._next_seq += n
                self._cycle(self._policy is SyncPolicy.ALWAYS, direct)
                self._after_append(first + n - 1)
                return first + n - 1
            for k in range(len(cuts) - 1):
                s, e = cuts[k], cuts[k + 1]
                b = self._builder
                if b.fixed or (b.count and b.nbytes + int(body_ends[e - 1] - (body_ends[s - 1] if s else 0))
                               > self._frame_limit):
                    self._wait_idle()
                    if self._builder.count:
                        self._cycle(False)
                self._builder.add_buffer(view[int(starts[s]): int(starts[e])], lens32[s:e])
                self._next_seq += e - s
            last = self._next_seq - 1
            self._after_append(last)
            return last

    # ------------------------------------------------------------------ durability, retention, close

    def flush(self) -> int:
        """Write pending records to the file (no sync); returns the last seq written."""
        with self._lock:
            self._wait_idle()  # (drains the background writer)
            if self._builder.count:
                self._cycle(False, bg=False)
            return self._written

    def commit(self) -> int:
        """Make everything appended so far durable (write + fdatasync); returns the last durable seq."""
        with self._lock:
            self._check()
            self._wait_durable(self._next_seq - 1)
            return self._durable

    def truncate_before(self, checkpoint_seq: int) -> int:
        """Retention: delete the closed segments whose records are all below ``checkpoint_seq`` (the
        manifest's low-water mark moves first, so a crash leaves no hole). Returns the new first seq."""
        with self._lock:
            self._wait_idle()
            if self._dir_dirty or self._manifest_pending or self._unsynced_fds:
                self._cycle(True)  # the manifest may only name segments whose creation is durable
                self._wait_idle()
            self._busy = True
            self._lock.release()
            try:
                segs = [s for s in list_segments(self._directory) if s[0] >= self._manifest.first_segment]
                drop = [segs[i] for i in range(len(segs) - 1) if segs[i + 1][0] <= checkpoint_seq]
                if drop:
                    new_first = segs[len(drop)][0]
                    m = self._manifest
                    closed = (m.closed_first, m.closed_next) if m.closed_first >= new_first else (0, 0)
                    manifest = Manifest(first_segment=new_first, closed_first=closed[0], closed_next=closed[1],
                                        flags=MAN_SEGMENTS_CREATED)
                    update_manifest(self._io, self._manfd, manifest)
                    self._manifest = manifest
                    self._manifest_pending = False
                    for _first, name in drop:
                        self._io.unlink(os.path.join(self._directory, name))
                    fsync_dir(self._io, self._dirfd)
            except OSError as exc:
                self._poisoned = exc
                raise WalPoisonedError(f"WAL retention failed: {exc!r}; reopen the log to recover") from exc
            finally:
                self._lock.acquire()
                self._busy = False
                self._cond.notify_all()
            return self._manifest.first_segment

    def _flush_loop(self) -> None:
        while not self._stop_flusher.wait(self._batch_s / 2):
            with self._lock:
                if self._closed or self._poisoned is not None or self._busy:
                    continue
                pending = self._builder.count > 0 or self._durable < self._written
                if pending and self._oldest_unsynced is None:
                    self._oldest_unsynced = time.monotonic()
                if pending and time.monotonic() - (self._oldest_unsynced or 0.0) >= self._batch_s:
                    try:
                        self._cycle(True)
                    except WalError:
                        continue

    def close(self) -> None:
        """Commit what is pending (unless the writer is poisoned) and release the directory."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._poisoned is None:
                    if self._worker is not None:
                        while self._busy:  # another thread's cycle may be posting: it is the producer
                            self._wait()
                        self._bg_drain()  # raises a background write error not yet reported
                    self._wait_durable(self._next_seq - 1)
                    if self._reserved and self._fd >= 0:
                        # release the reserved blocks past the end (a truncation to the same size)
                        self._io.ftruncate(self._fd, os.fstat(self._fd).st_size)
            finally:
                self._closed = True
                self._stop_flusher.set()
                self._bg_stop()  # before the descriptors it writes to are closed
                self._close_fds()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join()

    def _close_fds(self) -> None:
        self._drop_prepared()
        while self._unsynced_fds:
            os.close(self._unsynced_fds.pop())
        for attr in ("_fd", "_manfd", "_dirfd", "_lockfd"):
            fd = getattr(self, attr)
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError as exc:
                    if exc.errno != errno.EBADF:
                        raise
                setattr(self, attr, -1)

    def __enter__(self) -> WalWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"WalWriter({self._directory!r}, sync={self._policy.value!r}, last_seq={self.last_seq}, "
                f"durable_seq={self._durable}, segment={self._seg_name!r})")
