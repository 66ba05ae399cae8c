"""On-disk names and the manifest of a WAL directory (byte layouts in ``docs/wal.md``)."""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass

from shrivenquant._native import wal as _nw
from shrivenquant.errors import WalCorruptionError
from shrivenquant.wal._io import OsIo, write_all

__all__ = [
    "MANIFEST",
    "MANIFEST_SIZE",
    "Manifest",
    "fsync_dir",
    "list_segments",
    "read_manifest",
    "segment_name",
    "update_manifest",
    "write_manifest",
]

SEGMENT_SUFFIX = ".wal"
MANIFEST = "MANIFEST"
LOCK = "LOCK"
TMP_SUFFIX = ".tmp"
_SEG_RE = re.compile(r"^(\d{20})\.wal$")

_MAN_MAGIC = b"SQWALMAN"
_MAN_VERSION = 1
_MAN = struct.Struct("<8sIIQQQI")  # magic, version, flags, first_segment, closed_first, closed_next, reserved
MANIFEST_SIZE = _MAN.size + 4  # + masked CRC-32C
MAN_SEGMENTS_CREATED = 1


def segment_name(first_seq: int) -> str:
    """File name of the segment whose first record is ``first_seq`` (20 digits, sorts by name)."""
    return f"{first_seq:020d}{SEGMENT_SUFFIX}"


def list_segments(directory: str) -> list[tuple[int, str]]:
    """``(first_seq, name)`` of every segment file, sorted by first_seq (temporary files excluded)."""
    out = []
    for name in os.listdir(directory):
        m = _SEG_RE.match(name)
        if m:
            out.append((int(m.group(1)), name))
    out.sort()
    return out


@dataclass(frozen=True)
class Manifest:
    """The fsynced watermark file.

    Attributes:
        first_segment: first_seq of the first live segment (the low-water mark; records below it were
            dropped by retention).
        closed_first: first_seq of the last closed segment, 0 if none was closed yet.
        closed_next: first_seq of the segment after it (= last seq of the closed segment + 1), 0 if none.
        flags: bit 0 set once the first segment file has been created.
    """

    first_segment: int
    closed_first: int = 0
    closed_next: int = 0
    flags: int = MAN_SEGMENTS_CREATED

    def encode(self) -> bytes:
        body = _MAN.pack(_MAN_MAGIC, _MAN_VERSION, self.flags, self.first_segment, self.closed_first,
                         self.closed_next, 0)
        return body + struct.pack("<I", _nw.mask_crc(_nw.crc32c(body)))

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        def bad(reason: str) -> WalCorruptionError:
            return WalCorruptionError(f"WAL manifest {MANIFEST}: {reason}", segment=MANIFEST, offset=0,
                                      reason=reason)

        if len(data) != MANIFEST_SIZE:
            raise bad(f"size {len(data)} bytes, expected {MANIFEST_SIZE}")
        body = data[:-4]
        (crc,) = struct.unpack("<I", data[-4:])
        if _nw.unmask_crc(crc) != _nw.crc32c(body):
            raise bad("checksum mismatch")
        magic, version, flags, first, cfirst, cnext, reserved = _MAN.unpack(body)
        if magic != _MAN_MAGIC or version != _MAN_VERSION or reserved != 0:
            raise bad("bad magic or version")
        if first < 1 or (cfirst and (cfirst < first or cnext <= cfirst)) or (not cfirst and cnext):
            raise bad(f"inconsistent watermarks first={first} closed={cfirst}..{cnext}")
        return cls(first_segment=first, closed_first=cfirst, closed_next=cnext, flags=flags)


def read_manifest(directory: str) -> Manifest | None:
    """The manifest, None if the file does not exist; WalCorruptionError if it is damaged."""
    try:
        with open(os.path.join(directory, MANIFEST), "rb") as f:
            data = f.read(MANIFEST_SIZE + 1)
    except FileNotFoundError:
        return None
    return Manifest.decode(data)


def fsync_dir(io: OsIo, dirfd: int) -> None:
    """Make renames, creations and unlinks in the directory durable."""
    io.fsync(dirfd)


def update_manifest(io: OsIo, fd: int, manifest: Manifest) -> None:
    """Rewrite an existing manifest in place (``fd`` open read-write on ``MANIFEST``): one 48-byte write at
    offset 0 and an ``fdatasync``. The size and the blocks do not change, so on a journaling file system the
    sync flushes one data block and commits no journal transaction (the replace protocol of
    :func:`write_manifest` costs two). The 48 bytes lie in the file's first 512-byte sector, which a power cut
    leaves old or new (the sector-atomic write PostgreSQL also assumes for ``pg_control``; the power-cut
    simulation tears writes at sector granularity); a torn manifest would still be caught by its CRC."""
    write_all(io, fd, [manifest.encode()], 0)
    io.fdatasync(fd)


def write_manifest(io: OsIo, directory: str, dirfd: int, manifest: Manifest) -> None:
    """Atomically replace the manifest: write a temporary file, fsync it, rename, fsync the directory."""
    tmp = os.path.join(directory, MANIFEST + TMP_SUFFIX)
    fd = io.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(io, fd, [manifest.encode()], 0)
        io.fsync(fd)
    finally:
        os.close(fd)
    io.rename(tmp, os.path.join(directory, MANIFEST))
    fsync_dir(io, dirfd)
