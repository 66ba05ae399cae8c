"""Policy ``none`` reserves each segment's blocks (``fallocate`` with ``FALLOC_FL_KEEP_SIZE``): the files'
sizes and bytes are exactly those of a writer that does not reserve, reopening reserves again, close()
releases what is left past the end, and a filesystem that cannot reserve only turns the reservation off."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrivenquant.errors import ValidationError
from shrivenquant.wal import WalReader, WalWriter, verify
from shrivenquant.wal._io import OsIo
from shrivenquant.wal._layout import list_segments

SEG = 1 << 20  # small segments: a few rotations per test


class NoReserve(OsIo):
    """A filesystem without ``fallocate`` (what tmpfs on old kernels, some FUSE and network filesystems say)."""

    def __init__(self) -> None:
        self.calls = 0

    def reserve(self, fd: int, offset: int, length: int) -> None:
        self.calls += 1
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))


class Recording(OsIo):
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def reserve(self, fd: int, offset: int, length: int) -> None:
        self.calls.append((offset, length))
        super().reserve(fd, offset, length)


def _allocated(p: Path) -> int:
    return os.stat(p).st_blocks * 512


def _reserve_works(d: Path) -> bool:
    from shrivenquant._native.wal import reserve_space

    fd = os.open(d / "probe", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        reserve_space(fd, 0, 1 << 20)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        os.unlink(d / "probe")


def _segment_bytes(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for _first, name in list_segments(str(d))}


def test_reserve_space_keeps_the_size_and_rejects_bad_ranges(tmp_path: Path) -> None:
    from shrivenquant._native.wal import reserve_space

    if not _reserve_works(tmp_path):
        pytest.skip("this filesystem cannot reserve blocks")
    p = tmp_path / "f"
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"abc")
        reserve_space(fd, 0, 4 << 20)
        assert os.fstat(fd).st_size == 3 and _allocated(p) >= 4 << 20
        assert p.read_bytes() == b"abc"
        with pytest.raises(ValidationError):
            reserve_space(fd, -1, 10)
        with pytest.raises(ValidationError):
            reserve_space(fd, 0, 0)
    finally:
        os.close(fd)
    nul = os.open(os.devnull, os.O_WRONLY)
    try:
        with pytest.raises(OSError):
            reserve_space(nul, 0, 4096)
    finally:
        os.close(nul)


def test_none_reserves_each_segment_and_close_releases_the_tail(tmp_path: Path) -> None:
    if not _reserve_works(tmp_path):
        pytest.skip("this filesystem cannot reserve blocks")
    io = Recording()
    rec = bytes(range(256)) * 4
    with WalWriter(tmp_path, sync="none", segment_bytes=SEG, io=io) as w:
        assert io.calls == [(32, SEG - 32)]  # the first segment, once opened for writing
        first = tmp_path / w.segment
        w.append(rec)
        w.flush()
        size = first.stat().st_size
        assert size < 4096 and _allocated(first) >= SEG  # reserved past the end; the size is what was written
        for _ in range(3000):  # ~3 MiB: rotations, each new segment reserved at creation
            w.append(rec)
        assert io.calls[1:] == [(0, SEG)] * (len(io.calls) - 1) and len(io.calls) >= 3
        last = tmp_path / w.segment
    assert _allocated(last) <= last.stat().st_size + 4096  # close() released the reservation past the end
    assert [r.payload for r in WalReader(tmp_path).records()] == [rec] * 3001
    verify(tmp_path)
    io2 = Recording()
    with WalWriter(tmp_path, sync="none", segment_bytes=SEG, io=io2) as w:  # reopened: the rest reserved again
        end = (tmp_path / w.segment).stat().st_size
        assert io2.calls == [(end, SEG - end)]
        w.append(b"more")
    assert [r.payload for r in WalReader(tmp_path).records()][-2:] == [rec, b"more"]


@pytest.mark.parametrize("sync", ["always", "batch"])
def test_only_policy_none_reserves(tmp_path: Path, sync: str) -> None:
    io = Recording()
    with WalWriter(tmp_path, sync=sync, segment_bytes=SEG, io=io) as w:
        for _ in range(1500):
            w.append(b"x" * 1000)
        assert w.reserve_error is None
    assert io.calls == []
    with WalWriter(tmp_path / "p", sync="none", preallocate=True, segment_bytes=SEG, io=io) as w:
        w.append(b"y")  # pre-zeroed segments are already allocated: nothing to reserve
    assert io.calls == []


def test_a_filesystem_without_reservation_only_turns_it_off(tmp_path: Path) -> None:
    io = NoReserve()
    with WalWriter(tmp_path / "a", sync="none", segment_bytes=SEG, io=io) as w:
        for i in range(3000):
            w.append(b"%06d" % i * 100)
        err = w.reserve_error
        assert isinstance(err, OSError) and err.errno == errno.EOPNOTSUPP
        assert io.calls == 1 and not w.poisoned  # tried once, then never again
    assert [r.payload for r in WalReader(tmp_path / "a").records()] == [b"%06d" % i * 100 for i in range(3000)]
    verify(tmp_path / "a")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(1, 3000)), min_size=1, max_size=30),
       st.integers(0, 2**32 - 1))
def test_reserving_writes_the_same_bytes_as_not_reserving(tmp_path_factory: pytest.TempPathFactory,
                                                          batches: list[tuple[int, int]], seed: int) -> None:
    """Every segment's name and bytes, and the manifest, are identical with and without the reservation
    (records of random sizes, batches crossing the 64 KiB segment size)."""
    rng = np.random.default_rng(seed)
    base = tmp_path_factory.mktemp("res")
    out = {}
    for tag, io in (("on", OsIo()), ("off", NoReserve())):
        d = base / tag
        with WalWriter(d, sync="none", segment_bytes=64 << 10, io=io) as w:
            for n, size in batches:
                lens = rng.integers(1, size + 1, n)
                buf = rng.integers(0, 256, int(lens.sum()), dtype=np.uint8).tobytes()
                w.append_buffer(buf, lens)
            rng = np.random.default_rng(seed)  # the same records for the second writer
        out[tag] = (_segment_bytes(d), (d / "MANIFEST").read_bytes())
    assert out["on"] == out["off"]
