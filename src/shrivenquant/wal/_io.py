"""The operating-system calls the WAL makes, behind one replaceable object (for fault-injection tests).

Every write, sync, rename and truncate of :mod:`shrivenquant.wal` goes through an :class:`OsIo`
instance. Tests pass a subclass (``WalWriter(..., io=...)``) whose ``pwritev`` or ``fdatasync`` raises
``OSError(errno.EIO)`` or ``ENOSPC`` to check fail-stop, without mocking the WAL itself.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence

__all__ = ["DEFAULT_IO", "OsIo", "write_all"]


class OsIo:
    """Thin wrappers over :mod:`os` (each releases the GIL in CPython)."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        return os.open(path, flags, mode)

    def close(self, fd: int) -> None:
        os.close(fd)

    def pwritev(self, fd: int, buffers: Sequence[bytes | memoryview], offset: int) -> int:
        return os.pwritev(fd, buffers, offset)

    def pwrite(self, fd: int, data: bytes | memoryview, offset: int) -> int:
        return os.pwrite(fd, data, offset)

    def fdatasync(self, fd: int) -> None:
        os.fdatasync(fd)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def ftruncate(self, fd: int, length: int) -> None:
        os.ftruncate(fd, length)

    def rename(self, src: str, dst: str) -> None:
        os.rename(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def reserve(self, fd: int, offset: int, length: int) -> None:
        """Reserve the blocks of ``[offset, offset + length)`` without changing the file's size (Linux
        ``fallocate(FALLOC_FL_KEEP_SIZE)``); ``OSError`` where unsupported."""
        from shrivenquant._native.wal import reserve_space

        reserve_space(fd, offset, length)


DEFAULT_IO = OsIo()


def write_all(io: OsIo, fd: int, buffers: list[bytes | memoryview], offset: int) -> int:
    """Write every buffer at ``offset`` (looping over short writes); returns the bytes written."""
    total = sum(len(b) for b in buffers)
    remaining = total
    pos = offset
    while remaining:
        n = io.pwritev(fd, buffers, pos)
        if n <= 0:
            raise OSError(errno.EIO, "pwritev made no progress")
        pos += n
        remaining -= n
        if remaining:
            rest: list[bytes | memoryview] = []
            for b in buffers:
                if n >= len(b):
                    n -= len(b)
                    continue
                rest.append(memoryview(b)[n:] if n else b)
                n = 0
            buffers = rest
    return total
