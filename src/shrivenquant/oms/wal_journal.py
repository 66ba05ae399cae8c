"""A :class:`~shrivenquant.oms.Journal` on the write-ahead log (:mod:`shrivenquant.wal`).

Layout of ``directory``::

    wal/                       the WAL segments (WalWriter / WalReader)
    snapshots/snap-<seq>.bin   state after record <seq>: 8-byte seq, 4-byte CRC-32 of the body, body

A snapshot is written to a temporary file, fsynced, renamed into place and the directory fsynced, so a crash
leaves either the old or the new snapshot. The journal is committed before a snapshot is taken, so a
snapshot never refers to records the WAL could lose; the two newest snapshots are kept, and a damaged one is
skipped in favour of the one before (recovery then replays a longer tail).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from shrivenquant.errors import WalCorruptionError
from shrivenquant.wal import WalReader, WalWriter

__all__ = ["WalJournal"]

_HEAD = struct.Struct("<QI")
_KEEP = 2


class WalJournal:
    """Journal records in a WAL under ``directory/wal``, snapshots under ``directory/snapshots``.

    Args:
        directory: the journal directory (created if missing).
        sync: WAL sync policy: ``"always"`` (every append durable before it returns), ``"batch"``
            (durable within ``batch_ms``, or at :meth:`commit`), ``"none"`` (durable at :meth:`commit`).
        buffer_records: with ``"none"`` only: records are handed to the WAL ``buffer_records`` at a time
            (one ``append_many`` call); nothing is durable before :meth:`commit` under ``"none"`` anyway, and
            :meth:`commit`, :meth:`records`, snapshots and :meth:`close` hand over what is buffered first.
        **wal_options: passed to :class:`~shrivenquant.wal.WalWriter` (segment_bytes, batch_ms ...).
    """

    def __init__(self, directory: str | os.PathLike[str], sync: str = "batch", *, buffer_records: int = 256,
                 **wal_options: object) -> None:
        self.directory = Path(directory)
        self._snaps = self.directory / "snapshots"
        self._snaps.mkdir(parents=True, exist_ok=True)
        self.writer = WalWriter(self.directory / "wal", sync=sync, **wal_options)  # type: ignore[arg-type]
        self._buf: list[bytes] = []
        if self.writer.sync != "none" or buffer_records <= 1:
            self.append = self.writer.append
            return
        buf, writer, limit = self._buf, self.writer, buffer_records
        push, clear, many = buf.append, buf.clear, writer.append_many
        seq = [writer.last_seq]

        def append(payload: bytes) -> int:
            push(payload)
            if len(buf) >= limit:
                many(buf)
                clear()
            seq[0] += 1
            return seq[0]

        self.append = append

    def _drain(self) -> None:
        if self._buf:
            self.writer.append_many(self._buf)
            self._buf.clear()

    def commit(self) -> int:
        self._drain()
        return self.writer.commit()

    def records(self, from_seq: int = 1) -> Iterator[tuple[int, bytes]]:
        self._drain()
        self.writer.flush()
        for rec in WalReader(self.directory / "wal").records(from_seq):
            yield rec.seq, bytes(rec.payload)

    @property
    def last_seq(self) -> int:
        return self.writer.last_seq + len(self._buf)

    def _snapshot_files(self) -> list[tuple[int, Path]]:
        out = []
        for p in self._snaps.glob("snap-*.bin"):
            try:
                out.append((int(p.stem[5:]), p))
            except ValueError:
                continue
        return sorted(out)

    def save_snapshot(self, seq: int, data: bytes) -> None:
        durable = self.writer.durable_seq
        if seq > durable:
            raise WalCorruptionError(f"snapshot at seq {seq} would be ahead of the durable journal ({durable})")
        final = self._snaps / f"snap-{seq:020d}.bin"
        tmp = final.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, _HEAD.pack(seq, zlib.crc32(data)) + data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        dfd = os.open(self._snaps, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        for _, old in self._snapshot_files()[:-_KEEP]:
            old.unlink()

    def load_snapshot(self) -> tuple[int, bytes] | None:
        last = self.writer.last_seq
        for seq, path in reversed(self._snapshot_files()):
            blob = path.read_bytes()
            if len(blob) < _HEAD.size:
                continue
            hseq, crc = _HEAD.unpack_from(blob)
            body = blob[_HEAD.size:]
            if hseq != seq or zlib.crc32(body) != crc or seq > last:
                continue  # damaged (or ahead of the log): fall back to an older snapshot
            return seq, body
        return None

    def close(self) -> None:
        if not self.writer.closed:
            self._drain()
            self.writer.close()
