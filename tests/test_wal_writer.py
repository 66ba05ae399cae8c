"""WalWriter: round trips of every append kind, sync policies, group commit, rotation, manifest,
retention and fail-stop with injected I/O errors."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import msgspec
import numpy as np
import pytest

from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import ShrivenQuantTypeError, ValidationError, WalError, WalPoisonedError
from shrivenquant.wal import SyncPolicy, WalReader, WalWriter, verify
from shrivenquant.wal import writer as writer_mod
from shrivenquant.wal._format import read_manifest
from shrivenquant.wal._io import OsIo


def payloads(d: Path) -> list[bytes]:
    return [r.payload for r in WalReader(d).records()]


def events(n: int, start: int = 0) -> np.ndarray:
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["seq"] = np.arange(start, start + n)
    ev["price"] = np.arange(start, start + n) * 7
    ev["kind"] = 1
    return ev


class Order(msgspec.Struct, frozen=True):
    id: int
    side: str
    qty: int


@pytest.mark.parametrize("sync", ["always", "batch", "none"])
def test_round_trip_every_append_kind(tmp_path: Path, sync: str) -> None:
    d = tmp_path / "wal"
    ev = events(5)
    with WalWriter(d, sync=sync) as w:
        assert w.append(b"first") == 1
        assert w.append(bytearray(b"second")) == 2
        assert w.append(memoryview(b"third")) == 3
        assert w.append(Order(1, "buy", 10)) == 4
        assert w.append_many([b"a", b"", b"ccc", Order(2, "sell", 5)]) == 8
        assert w.append_events(ev) == 13
        assert w.append_buffer(b"xxyyyz", [2, 3, 1]) == 16
        assert w.append_buffer(b"pqr", offsets=[0, 1, 3]) == 18
        assert w.commit() == 18 and w.durable_seq == 18 and w.last_seq == 18
    recs = list(WalReader(d).records())
    assert [r.seq for r in recs] == list(range(1, 19))
    got = [r.payload for r in recs]
    assert got[:3] == [b"first", b"second", b"third"]
    assert recs[3].decode(Order) == Order(1, "buy", 10)
    assert got[4:7] == [b"a", b"", b"ccc"]
    assert msgspec.msgpack.decode(got[7], type=Order) == Order(2, "sell", 5)
    assert got[8:13] == [ev[i].tobytes() for i in range(5)]
    assert got[13:] == [b"xx", b"yyy", b"z", b"p", b"qr"]


def test_reopen_continues_sequence(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="none") as w:
        w.append_many([b"%d" % i for i in range(10)])
    with WalWriter(tmp_path, sync="none") as w:
        assert w.last_seq == w.durable_seq == 10
        assert w.append(b"10") == 11
    assert payloads(tmp_path) == [b"%d" % i for i in range(11)]


def test_always_acknowledges_only_durable(tmp_path: Path) -> None:
    calls: list[str] = []

    class Tracing(OsIo):
        def pwritev(self, fd: int, buffers: list, offset: int) -> int:  # type: ignore[override]
            calls.append("write")
            return super().pwritev(fd, buffers, offset)

        def fdatasync(self, fd: int) -> None:
            calls.append("sync")
            super().fdatasync(fd)

    with WalWriter(tmp_path, sync="always", io=Tracing()) as w:
        calls.clear()
        seq = w.append(b"x")
        assert calls == ["write", "sync"] and w.durable_seq == seq == 1
        calls.clear()
        w.append_many([b"y"] * 100)
        assert calls == ["write", "sync"]


@pytest.mark.parametrize("sync", ["always", "batch"])
def test_rotation_syncs_new_segment_then_name_then_manifest_in_place(tmp_path: Path, sync: str) -> None:
    """A rotation under always/batch: the old segment is durable first; the new segment is created and
    renamed without a sync, its first frame written, then one fdatasync of the new segment, one fsync of
    the directory and the manifest rewritten in place (same inode, fdatasync) before the acknowledgement."""
    calls: list[tuple[str, str]] = []
    d = str(tmp_path)

    def name(fd: int) -> str:
        return os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))

    class Tracing(OsIo):
        def pwritev(self, fd: int, buffers: list, offset: int) -> int:  # type: ignore[override]
            calls.append(("write", name(fd)))
            return super().pwritev(fd, buffers, offset)

        def fdatasync(self, fd: int) -> None:
            calls.append(("fdatasync", name(fd)))
            super().fdatasync(fd)

        def fsync(self, fd: int) -> None:
            calls.append(("fsync", name(fd)))
            super().fsync(fd)

        def rename(self, src: str, dst: str) -> None:
            calls.append(("rename", os.path.basename(dst)))
            super().rename(src, dst)

    rec = b"r" * 1000
    with WalWriter(tmp_path, sync=sync, segment_bytes=8192, io=Tracing()) as w:
        man_ino = os.stat(os.path.join(d, "MANIFEST")).st_ino
        w.append(rec)
        w.commit()
        old = w.segment
        calls.clear()
        while w.segment == old:
            w.append(rec)
            w.commit()
        new = w.segment
        assert os.stat(os.path.join(d, "MANIFEST")).st_ino == man_ino
        m = read_manifest(d)
        assert m is not None and (m.closed_first, m.closed_next) == (int(old[:-4]), int(new[:-4]))
    tail = calls[calls.index(("write", new + ".tmp")):]  # the new segment's header onwards
    assert tail == [("write", new + ".tmp"), ("rename", new), ("write", new), ("fdatasync", new),
                    ("fsync", os.path.basename(d)), ("write", "MANIFEST"), ("fdatasync", "MANIFEST")]
    assert ("fdatasync", old) in calls[: calls.index(("write", new + ".tmp"))] or sync == "always"
    assert payloads(tmp_path) == [rec] * len(payloads(tmp_path))


def test_always_writes_zeros_ahead_of_small_frames(tmp_path: Path) -> None:
    """Under always a small frame that extends the segment carries zeros after it in the same pwritev (16
    frames' worth, at least 256 KiB), so the next commits overwrite allocated blocks inside the file size (a
    data-only fdatasync); large frames do not; a reopened writer continues over the zeros."""
    calls: list[int] = []

    class Sizes(OsIo):
        def pwritev(self, fd: int, buffers: list, offset: int) -> int:  # type: ignore[override]
            calls.append(sum(len(b) for b in buffers))
            return super().pwritev(fd, buffers, offset)

    with WalWriter(tmp_path, sync="always", io=Sizes()) as w:
        calls.clear()
        w.append(b"a" * 100)
        end = w._off
        seg = tmp_path / w.segment
        size = seg.stat().st_size
        assert calls == [size - 32] and size >= end + (256 << 10) - 4096 and size % 4096 == 0
        assert not seg.read_bytes()[end:].strip(b"\0")
        calls.clear()
        for i in range(50):
            w.append(b"%03d" % i * 30)
        assert seg.stat().st_size == size and all(c < 200 for c in calls)  # inside the zeroed part
        big = events(8192)  # 512 KiB: no zeros ahead of a large frame
        calls.clear()
        w.append_events(big)
        assert calls == [32 + big.nbytes]
        w.append(b"b" * 100)
    with WalWriter(tmp_path, sync="always") as w:
        assert w.last_seq == 1 + 50 + 8192 + 1
        w.append(b"c" * 100)
    got = payloads(tmp_path)
    assert got[0] == b"a" * 100 and got[1:51] == [b"%03d" % i * 30 for i in range(50)]
    assert got[-2:] == [b"b" * 100, b"c" * 100] and len(got) == 1 + 50 + 8192 + 2
    verify(tmp_path)


def test_none_and_batch_do_not_sync_each_append(tmp_path: Path) -> None:
    syncs = []

    class Counting(OsIo):
        def fdatasync(self, fd: int) -> None:
            syncs.append(fd)
            super().fdatasync(fd)

    with WalWriter(tmp_path / "n", sync="none", io=Counting()) as w:
        syncs.clear()
        for i in range(1000):
            w.append(b"r%d" % i)
        assert syncs == [] and w.durable_seq == 0 and w.last_seq == 1000
        assert w.commit() == 1000 and len(syncs) == 1
    with WalWriter(tmp_path / "b", sync="batch", batch_bytes=10_000, batch_ms=10_000, io=Counting()) as w:
        syncs.clear()
        for _ in range(100):
            w.append(b"z" * 1000)  # a sync every ~10 records' worth of bytes
        assert 5 <= len(syncs) <= 12
        assert w.durable_seq <= w.last_seq


def test_batch_syncs_within_time_bound(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="batch", batch_bytes=1 << 30, batch_ms=5.0) as w:
        w.append(b"tick")
        ev = threading.Event()
        for _ in range(400):
            if w.durable_seq == 1:
                break
            ev.wait(0.005)
        assert w.durable_seq == 1


def test_group_commit_across_threads(tmp_path: Path) -> None:
    syncs = []

    class Counting(OsIo):
        def fdatasync(self, fd: int) -> None:
            syncs.append(fd)
            super().fdatasync(fd)

    n_threads, per = 4, 50
    acks: list[list[int]] = [[] for _ in range(n_threads)]
    with WalWriter(tmp_path, sync="always", io=Counting()) as w:
        syncs.clear()

        def work(t: int) -> None:
            for i in range(per):
                seq = w.append(b"t%d-%d" % (t, i))
                assert w.durable_seq >= seq
                acks[t].append(seq)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(syncs) <= n_threads * per
    recs = list(WalReader(tmp_path).records())
    assert sorted(s for a in acks for s in a) == [r.seq for r in recs] == list(range(1, n_threads * per + 1))
    by_seq = {r.seq: r.payload for r in recs}
    for t in range(n_threads):
        assert [by_seq[s] for s in acks[t]] == [b"t%d-%d" % (t, i) for i in range(per)]


def test_large_batches_span_frames_and_segments(tmp_path: Path) -> None:
    ev = events(50_000)  # 3.2 MB: direct frames
    with WalWriter(tmp_path, sync="none", segment_bytes=1 << 20, frame_bytes=256 << 10) as w:
        assert w.append_events(ev) == 50_000
        blob = os.urandom(600_000)
        lens = [1000] * 600
        assert w.append_buffer(blob, lens) == 50_600
        assert w.append_many([b"q" * 5000] * 300) == 50_900
    rep = verify(tmp_path)
    assert rep.last_seq == 50_900 and len(rep.segments) > 4
    got = np.concatenate(list(WalReader(tmp_path).event_batches(1, max_records=7000, skip_other=True)))
    assert got.tobytes() == ev.tobytes()
    recs = list(WalReader(tmp_path).records(50_001))
    assert b"".join(r.payload for r in recs[:600]) == blob
    assert all(r.payload == b"q" * 5000 for r in recs[600:])
    m = read_manifest(str(tmp_path))
    assert m is not None and m.closed_next == rep.segments[-1].first_seq
    assert m.closed_first == rep.segments[-2].first_seq


def test_rotation_keeps_segments_contiguous(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="always", segment_bytes=8192, preallocate=True) as w:
        for i in range(300):
            w.append(b"%05d" % i * 10)
        assert w.segment != "00000000000000000001.wal"
    rep = verify(tmp_path)
    for a, b in zip(rep.segments, rep.segments[1:], strict=False):
        assert b.first_seq == a.last_seq + 1
        assert a.end_offset <= 8192 and a.size == 8192  # preallocated
    assert payloads(tmp_path) == [b"%05d" % i * 10 for i in range(300)]
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_retention_drops_whole_segments_below_checkpoint(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="none", segment_bytes=4096, preallocate=False) as w:
        for i in range(500):
            w.append(b"r%04d" % i * 20)
            if i % 10 == 9:
                w.flush()
        w.commit()
        segs = verify(tmp_path).segments
        cp = segs[3].last_seq + 1  # segments 0..3 are entirely below
        assert w.truncate_before(cp) == segs[4].first_seq
        assert w.first_seq == segs[4].first_seq
        w.append(b"after")
    rep = verify(tmp_path)
    assert rep.first_seq == segs[4].first_seq and rep.last_seq == 501
    recs = list(WalReader(tmp_path).records())
    assert recs[0].seq == segs[4].first_seq and recs[-1].payload == b"after"
    with pytest.raises(ValidationError):
        list(WalReader(tmp_path).records(1))
    with WalWriter(tmp_path, sync="none") as w:  # reopen after retention
        assert w.last_seq == 501 and w.truncate_before(1) == segs[4].first_seq


def test_writer_validation(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        WalWriter(tmp_path, sync="sometimes")
    with pytest.raises(ValidationError):
        WalWriter(tmp_path, segment_bytes=100)
    with WalWriter(tmp_path, sync="none", max_record_bytes=100) as w:
        with pytest.raises(ValidationError):
            w.append(b"x" * 101)
        with pytest.raises(ShrivenQuantTypeError):
            w.append(12345)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            w.append_buffer(b"abc", [1, 1])
        with pytest.raises(ValidationError):
            w.append_events(np.zeros(3, dtype=np.int64))
        with pytest.raises(WalError):
            WalWriter(tmp_path)  # locked by this writer
        assert w.last_seq == 0
    w.close()
    with pytest.raises(WalError):
        w.append(b"closed")
    assert SyncPolicy("batch") is SyncPolicy.BATCH


class Faulty(OsIo):
    """Fails the n-th call of one operation with an errno."""

    def __init__(self, op: str, err: int, after: int = 0) -> None:
        self.op, self.err, self.after = op, err, after
        self.armed = False

    def _maybe_fail(self, op: str) -> None:
        if self.armed and op == self.op:
            if self.after == 0:
                raise OSError(self.err, os.strerror(self.err))
            self.after -= 1

    def pwritev(self, fd: int, buffers: list, offset: int) -> int:  # type: ignore[override]
        self._maybe_fail("write")
        return super().pwritev(fd, buffers, offset)

    def fdatasync(self, fd: int) -> None:
        self._maybe_fail("fdatasync")
        super().fdatasync(fd)


@pytest.mark.parametrize(("op", "err"), [("fdatasync", errno.EIO), ("write", errno.ENOSPC), ("write", errno.EIO)])
def test_fail_stop_after_io_error_then_reopen_recovers(tmp_path: Path, op: str, err: int) -> None:
    io = Faulty(op, err)
    w = WalWriter(tmp_path, sync="always", io=io)
    for i in range(5):
        w.append(b"ok%d" % i)
    io.armed = True
    with pytest.raises(WalPoisonedError) as info:
        w.append(b"lost")
    assert isinstance(info.value.__cause__, OSError) and info.value.__cause__.errno == err
    assert w.poisoned and w.durable_seq == 5
    io.armed = False  # even once the disk "works" again the writer refuses: fsync errors are not retried
    for call in (lambda: w.append(b"again"), w.commit, lambda: w.append_many([b"x"]),
                 lambda: w.append_events(events(2)), lambda: w.truncate_before(3)):
        with pytest.raises(WalPoisonedError):
            call()
    w.close()
    with WalWriter(tmp_path, sync="always") as w2:
        assert w2.last_seq in (5, 6)  # the failed record may or may not have reached the file
        assert w2.append(b"after") == w2.last_seq
    recs = payloads(tmp_path)
    assert recs[:5] == [b"ok%d" % i for i in range(5)] and recs[-1] == b"after"


def test_fail_stop_wakes_waiting_group_commit_followers(tmp_path: Path) -> None:
    gate = threading.Event()
    entered = threading.Event()

    class Blocking(OsIo):
        armed = False

        def fdatasync(self, fd: int) -> None:
            if self.armed:
                entered.set()
                gate.wait(5)
                raise OSError(errno.EIO, "injected")
            super().fdatasync(fd)

    io = Blocking()
    w = WalWriter(tmp_path, sync="always", io=io)
    io.armed = True
    errors: list[BaseException] = []

    def append(p: bytes) -> None:
        try:
            w.append(p)
        except WalPoisonedError as exc:
            errors.append(exc)

    leader = threading.Thread(target=append, args=(b"leader",))
    leader.start()
    assert entered.wait(5)
    followers = [threading.Thread(target=append, args=(b"f%d" % i,)) for i in range(3)]
    for t in followers:
        t.start()
    gate.set()
    for t in [leader, *followers]:
        t.join(5)
    assert len(errors) == 4 and w.durable_seq == 0
    w.close()


def test_sync_failure_during_rotation_poisons(tmp_path: Path) -> None:
    # policy none syncs at rotation only once _MAX_UNSYNCED_SEGMENTS closed segments are unsynced (~31 frames of
    # 128 bytes per 4 KiB segment here): write well past that many segments
    io = Faulty("fdatasync", errno.EIO)
    with WalWriter(tmp_path, sync="none", segment_bytes=4096, io=io) as w:
        io.armed = True
        with pytest.raises(WalPoisonedError):
            for i in range(40 * (writer_mod._MAX_UNSYNCED_SEGMENTS + 2)):
                w.append(b"%03d" % i * 30)
                w.flush()
        assert w.poisoned
    with WalWriter(tmp_path, sync="none") as w2:
        n = w2.last_seq
    assert payloads(tmp_path) == [b"%03d" % i * 30 for i in range(n)]


def test_none_defers_manifest_to_commit(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="none", segment_bytes=4096) as w:
        for i in range(100):
            w.append(b"m%03d" % i * 20)
            w.flush()
        segs = verify(tmp_path).segments
        assert len(segs) >= 3
        m = read_manifest(str(tmp_path))
        assert m is not None and m.closed_first == 0  # not written yet: nothing in the new segments is durable
        w.commit()
        m = read_manifest(str(tmp_path))
        assert m is not None and (m.closed_first, m.closed_next) == (segs[-2].first_seq, segs[-1].first_seq)


def test_background_preallocation_pipeline(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="batch", segment_bytes=16384, preallocate=True, batch_ms=1000) as w:
        for i in range(400):
            w.append(b"p%04d" % i * 40)
            if i % 20 == 19:
                w.commit()
        assert w._prep is not None or len(verify(tmp_path).segments) > 1
    rep = verify(tmp_path)
    assert len(rep.segments) > 5 and all(s.size == 16384 for s in rep.segments)
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert payloads(tmp_path) == [b"p%04d" % i * 40 for i in range(400)]


@pytest.mark.parametrize("sync", ["always", "none"])
@pytest.mark.parametrize(("op", "err"), [("fdatasync", errno.EIO), ("write", errno.ENOSPC)])
def test_fail_stop_on_large_direct_batch(tmp_path: Path, sync: str, op: str, err: int) -> None:
    """A batch of 256 KiB or more is written straight from the caller's array (one frame, the fast path):
    an error there poisons the writer like any other, and reopening keeps every record durable before."""
    io = Faulty(op, err)
    w = WalWriter(tmp_path, sync=sync, io=io)
    first = events(8192)  # 512 KiB: one direct frame
    assert w.append_events(first) == 8192
    assert w.commit() == 8192
    io.armed = True
    with pytest.raises(WalPoisonedError) as info:
        w.append_events(events(8192, 8192))
        w.commit()
    assert isinstance(info.value.__cause__, OSError) and info.value.__cause__.errno == err
    assert w.poisoned and w.durable_seq == 8192
    io.armed = False
    with pytest.raises(WalPoisonedError):
        w.append_events(events(8192, 16384))
    w.close()
    with WalWriter(tmp_path, sync="always") as w2:
        assert w2.last_seq in (8192, 16384)
    got = np.concatenate(list(WalReader(tmp_path).event_batches()))
    assert np.array_equal(got[:8192], first)


@pytest.mark.parametrize(("op", "err"), [("fdatasync", errno.EIO), ("write", errno.ENOSPC)])
def test_small_batches_under_always_are_direct_and_fail_stop(tmp_path: Path, op: str, err: int) -> None:
    """Under always a batch of any size with nothing pending is its own group commit, written straight from
    the caller's memory (no copy): one pwritev and one fdatasync per call; an error poisons the writer."""
    calls: list[str] = []

    class Counting(Faulty):
        def pwritev(self, fd: int, buffers: list, offset: int) -> int:  # type: ignore[override]
            calls.append("w")
            return super().pwritev(fd, buffers, offset)

        def fdatasync(self, fd: int) -> None:
            calls.append("s")
            super().fdatasync(fd)

    io = Counting(op, err)
    blob = bytes(range(64)) * 1000
    with WalWriter(tmp_path / "native", sync="always") as wn:  # the default OS layer: the native write path
        assert wn._native_io
        assert wn.append_buffer(blob, np.full(1000, 64, dtype=np.int64)) == 1000
        assert wn.append_events(events(10)) == 1010 and wn.durable_seq == 1010
    got = [r.payload for r in WalReader(tmp_path / "native").records()]
    assert b"".join(got[:1000]) == blob and got[1000:] == [e.tobytes() for e in events(10)]
    w = WalWriter(tmp_path, sync="always", io=io)
    assert not w._native_io
    calls.clear()
    assert w.append_buffer(blob, np.full(1000, 64, dtype=np.int64)) == 1000
    assert w.append_events(events(10)) == 1010
    assert calls == ["w", "s", "w", "s"] and w.durable_seq == 1010
    io.armed = True
    with pytest.raises(WalPoisonedError):
        w.append_buffer(blob, [64] * 1000)
    assert w.poisoned and w.durable_seq == 1010
    w.close()
    recs = list(WalReader(tmp_path).records())
    assert b"".join(r.payload for r in recs[:1000]) == blob
    assert [r.payload for r in recs[1000:1010]] == [e.tobytes() for e in events(10)]


def test_short_writes_of_direct_frames_are_completed(tmp_path: Path) -> None:
    class Short(OsIo):
        """Writes at most 1000 bytes per call (a legal short write)."""

        def pwritev(self, fd: int, buffers: list, offset: int) -> int:  # type: ignore[override]
            flat = b"".join(bytes(b) for b in buffers)[:1000]
            return os.pwrite(fd, flat, offset)

    ev = events(5000)
    blob = bytes(range(256)) * 1200  # 300 KiB: one direct variable-record frame
    lens = [300] * (len(blob) // 300)
    with WalWriter(tmp_path, sync="always", io=Short()) as w:
        assert w.append_events(ev) == 5000
        assert w.append_buffer(blob, lens) == 5000 + len(lens)
        assert w.append(b"tail") == 5001 + len(lens)
    recs = list(WalReader(tmp_path).records())
    assert [r.seq for r in recs] == list(range(1, 5002 + len(lens)))
    assert [r.payload for r in recs[:5000]] == [e.tobytes() for e in ev]
    assert b"".join(r.payload for r in recs[5000:-1]) == blob and recs[-1].payload == b"tail"
    verify(tmp_path)
