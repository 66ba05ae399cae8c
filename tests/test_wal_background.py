"""Policy none with the background writer thread (``WalWriter(..., background=True)``): the log it writes is
byte for byte the synchronous writer's over random append sequences; flush/close drain it; caller buffers may
change once an append returns; a write error in the thread is raised (fail-stop) and never swallowed."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import ValidationError, WalPoisonedError
from shrivenquant.wal import WalReader, WalWriter
from shrivenquant.wal._format import list_segments
from shrivenquant.wal.writer import _DIRECT_MIN

# one step of an append sequence: (kind, size, seed); the sizes straddle the builder (small), the direct
# one-frame path (>= _DIRECT_MIN) and multi-frame batches (> frame_bytes)
_KINDS = ("append", "many", "buffer", "buffer_bytes", "events", "flush", "commit")
_step = st.tuples(st.sampled_from(_KINDS), st.integers(0, 3), st.integers(0, 2**31))


def _records(rng: np.random.Generator, size_class: int) -> list[bytes]:
    n, hi = [(1, 200), (int(rng.integers(2, 40)), 300), (int(rng.integers(200, 600)), 1500),
             (int(rng.integers(30, 90)), 9000)][size_class]
    return [rng.integers(0, 256, int(rng.integers(0, hi)), dtype=np.uint8).tobytes() for _ in range(n)]


def _events(rng: np.random.Generator, size_class: int) -> np.ndarray:
    n = [1, 50, _DIRECT_MIN // 64 + 7, 3 * _DIRECT_MIN // 64][size_class]
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["seq"] = rng.integers(0, 1 << 40, n)
    ev["price"] = rng.integers(-(1 << 40), 1 << 40, n)
    return ev


def _apply(w: WalWriter, steps: list[tuple[str, int, int]], *, scribble: bool) -> None:
    """Run ``steps`` on ``w``; with ``scribble``, every mutable buffer is overwritten right after its append
    returned (the background writer must have copied it)."""
    for kind, size, seed in steps:
        rng = np.random.default_rng(seed)
        if kind == "append":
            for r in _records(rng, size):
                w.append(bytearray(r) if seed & 1 else r)
        elif kind == "many":
            w.append_many(_records(rng, size))
        elif kind in ("buffer", "buffer_bytes"):
            recs = _records(rng, size)
            lens = np.array([len(r) for r in recs], dtype=np.int64)
            joined = b"".join(recs)
            buf: bytes | bytearray | np.ndarray = joined if kind == "buffer_bytes" else (
                bytearray(joined) if seed & 1 else np.frombuffer(joined, dtype=np.uint8).copy())
            w.append_buffer(buf, lens)
            if scribble and not isinstance(buf, bytes):
                memoryview(buf).cast("B")[:] = b"\xee" * len(joined)
        elif kind == "events":
            ev = _events(rng, size)
            w.append_events(ev)
            if scribble:
                ev["price"] = -1
        elif kind == "flush":
            w.flush()
        else:
            w.commit()


def _log_bytes(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for _first, name in list_segments(str(d))}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_step, min_size=1, max_size=25),
       segment_kib=st.sampled_from([64, 256, 1024]), batch_kib=st.sampled_from([4, 64, 1024]),
       prealloc=st.booleans())
def test_background_writes_the_synchronous_bytes(tmp_path_factory: pytest.TempPathFactory,
                                                 steps: list[tuple[str, int, int]], segment_kib: int,
                                                 batch_kib: int, prealloc: bool) -> None:
    base = tmp_path_factory.mktemp("bg")
    kw = {"segment_bytes": segment_kib << 10, "batch_bytes": batch_kib << 10, "frame_bytes": 96 << 10,
          "preallocate": prealloc}
    for name, bg in (("sync", False), ("bg", True)):
        w = WalWriter(base / name, sync="none", background=bg, **kw)
        _apply(w, steps, scribble=bg)
        w.close()
    a, b = _log_bytes(base / "sync"), _log_bytes(base / "bg")
    assert list(a) == list(b)  # same segments: the same rotation points
    for name in a:
        assert a[name] == b[name], name
    assert (base / "sync" / "MANIFEST").read_bytes() == (base / "bg" / "MANIFEST").read_bytes()


def test_background_thread_is_lazy_and_flush_drains(tmp_path: Path) -> None:
    rec = bytes(range(256)) * 4
    lens = np.full(1024, 1024, dtype=np.int64)
    w = WalWriter(tmp_path, sync="none", background=True)
    w.append(b"x")
    assert w._worker is None  # nothing written yet: no thread
    buf = rec * 1024  # 1 MiB: a direct frame, posted to the thread
    for _ in range(8):
        w.append_buffer(buf, lens)
    assert w._worker is not None and w._worker_thread is not None and w._worker_thread.is_alive()
    last = w.flush()
    assert last == w.last_seq == 1 + 8 * 1024
    assert not w._worker.pending
    # after flush() every record is in the file (a reader sees all of them without close or commit)
    assert sum(1 for _ in WalReader(tmp_path).records()) == last
    w.close()
    assert not w._worker.pending and w._worker_thread is None


def test_background_close_drains_and_stops_thread(tmp_path: Path) -> None:
    w = WalWriter(tmp_path, sync="none", background=True, segment_bytes=1 << 20)
    data = np.random.default_rng(1).integers(0, 256, 300_000, dtype=np.uint8)
    for i in range(20):  # mutable buffers (written by the caller) between posted bytes; several rotations
        w.append_buffer(data if i % 2 == 0 else data.tobytes(), [100_000] * 3)
        data[:] = 7
    t = w._worker_thread
    w.close()
    assert t is not None and not t.is_alive()
    recs = [r.payload for r in WalReader(tmp_path).records()]
    assert len(recs) == 60
    first = np.random.default_rng(1).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    assert recs[:3] == [first[:100_000], first[100_000:200_000], first[200_000:]]
    assert all(r == b"\x07" * 100_000 for r in recs[3:])


def test_background_needs_policy_none(tmp_path: Path) -> None:
    for sync in ("always", "batch"):
        with pytest.raises(ValidationError):
            WalWriter(tmp_path / sync, sync=sync, background=True)
    with WalWriter(tmp_path / "off", sync="none", background=False) as w:
        w.append_buffer(bytes(1 << 19), [1 << 19])
        assert w._worker is None


def _break_fd(w: WalWriter) -> None:
    """Make the segment descriptor read-only behind the writer's back: the next pwritev fails with EBADF."""
    ro = os.open(os.path.join(w.directory, w.segment), os.O_RDONLY)
    os.dup2(ro, w._fd)
    os.close(ro)


@pytest.mark.parametrize("then", ["append", "flush", "close"])
def test_background_write_error_is_raised_on_next_call(tmp_path: Path, then: str) -> None:
    w = WalWriter(tmp_path, sync="none", background=True)
    buf = bytes(1 << 20)
    lens = np.full(1024, 1024, dtype=np.int64)
    w.append_buffer(buf, lens)
    w.flush()
    good = w.last_seq
    _break_fd(w)
    w.append_buffer(buf, lens)  # posted: fails in the thread
    for _ in range(5000):  # the thread fails asynchronously: a call that overlaps its write cannot know yet
        if w._worker.error:
            break
        time.sleep(0.001)
    assert w._worker.error == errno.EBADF
    assert not w.poisoned  # nothing raised yet: the next call raises
    with pytest.raises(WalPoisonedError) as ei:
        if then == "append":
            w.append_buffer(buf, lens)
        elif then == "flush":
            w.flush()
        else:
            w.close()
    assert isinstance(ei.value.__cause__, OSError) and ei.value.__cause__.errno == errno.EBADF
    assert w.poisoned
    if then != "close":
        with pytest.raises(WalPoisonedError):
            w.append(b"y")
        w.close()  # the error was raised: close releases the directory
    # fail-stop: nothing after the failed frame was written; reopening recovers exactly the good records
    with WalWriter(tmp_path, sync="none") as w2:
        assert w2.last_seq == good
    assert sum(1 for _ in WalReader(tmp_path).records()) == good


def test_background_error_overlapping_appends_are_never_written(tmp_path: Path) -> None:
    """Appends posted while the failing frame is being written return, but nothing after the failed frame
    reaches the file, and the error is raised by the flush."""
    w = WalWriter(tmp_path, sync="none", background=True)
    buf = bytes(1 << 20)
    lens = np.full(1024, 1024, dtype=np.int64)
    w.append_buffer(buf, lens)
    w.flush()
    good = w.last_seq
    _break_fd(w)
    returned = 0
    with pytest.raises(WalPoisonedError):
        for _ in range(50):  # at most WORKER_DEPTH + 1 of these can return before the error is seen
            w.append_buffer(buf, lens)
            returned += 1
        w.flush()
    assert returned <= 5
    w.close()
    with WalWriter(tmp_path, sync="none") as w2:
        assert w2.last_seq == good


def test_background_from_several_threads(tmp_path: Path) -> None:
    w = WalWriter(tmp_path, sync="none", background=True, batch_bytes=64 << 10, segment_bytes=1 << 20)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            rng = np.random.default_rng(k)
            for i in range(200):
                if i % 10 == 0:
                    blob = bytearray(rng.integers(0, 256, 300_000, dtype=np.uint8).tobytes())
                    w.append_buffer(blob, [150_000, 150_000])
                    blob[:] = b"\0" * len(blob)
                else:
                    w.append(b"%d:%d" % (k, i))
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised in the test thread
            errors.append(exc)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    w.close()
    recs = [r.payload for r in WalReader(tmp_path).records()]
    assert len(recs) == 4 * (180 + 40)
    for k in range(4):
        mine = [r for r in recs if r.startswith(b"%d:" % k)]
        assert mine == [b"%d:%d" % (k, i) for i in range(200) if i % 10]  # per-thread order kept
    assert not any(r == b"\0" * 150_000 for r in recs)  # copies were taken before the buffers changed


def test_frame_worker_copy_writes_write_frames_bytes(tmp_path: Path) -> None:
    """The worker's copy mode (the measured alternative to writing mutable buffers in the caller): the frame
    is byte for byte write_frame's, and the source may change once submit returned."""
    from shrivenquant._native import wal as nw

    rng = np.random.default_rng(3)
    data = bytearray(rng.integers(0, 256, 50_001, dtype=np.uint8).tobytes())
    lens = np.array([20_000, 30_001], dtype="<u4").tobytes()
    ref = os.open(tmp_path / "ref", os.O_RDWR | os.O_CREAT, 0o644)
    nw.write_frame(ref, 32, 5, 2, 0, 4, lens, bytes(data))
    w = nw.FrameWorker(64 << 10)
    t = threading.Thread(target=w.serve)
    t.start()
    fd = os.open(tmp_path / "bg", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        for k in range(2 * nw.WORKER_DEPTH):  # every slot's buffer, twice
            assert w.submit(fd, 32 + k * 50_048, 5, 2, 0, 4, lens, data, True) == 50_048
        data[:] = b"\0" * len(data)
        w.wait()
    finally:
        w.stop()
        t.join()
    want = (tmp_path / "ref").read_bytes()[32:]
    got = (tmp_path / "bg").read_bytes()
    os.close(ref)
    os.close(fd)
    assert all(got[32 + k * 50_048: 32 + (k + 1) * 50_048] == want for k in range(2 * nw.WORKER_DEPTH))
    with pytest.raises(ValidationError):
        nw.FrameWorker(1024).submit(fd, 0, 1, 1, 0, 0, b"", bytes(2048), True)
