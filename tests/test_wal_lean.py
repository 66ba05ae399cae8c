"""``append_buffer``'s lean path (one large batch under policy ``none``, written or posted by one native call
with few Python steps) writes exactly the bytes of the generic path, refuses bad arguments with the same
errors without consuming a sequence number, and wakes threads that wait while it writes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrivenquant.errors import ValidationError
from shrivenquant.wal import WalReader, WalWriter, verify
from shrivenquant.wal._io import OsIo
from shrivenquant.wal._layout import list_segments

SEG = 4 << 20


class PlainIo(OsIo):
    """The default system calls through the Python layer: the writer then takes its generic path."""


def _segment_bytes(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for _first, name in list_segments(str(d))}


def _as(kind: str, data: bytes) -> Any:
    if kind == "bytes":
        return data
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(data)
    if kind == "strided":  # a non-contiguous view: the generic path copies it
        wide = np.zeros(2 * len(data), dtype=np.uint8)
        wide[::2] = np.frombuffer(data, dtype=np.uint8)
        return wide[::2]
    return np.frombuffer(data, dtype=np.uint8)


def _lengths(kind: str, lens: np.ndarray) -> Any:
    if kind == "int64":
        return lens
    if kind == "int32":
        return lens.astype(np.int32)
    if kind == "strided":
        return np.repeat(lens, 2)[::2]
    return lens.tolist()


batch = st.tuples(st.sampled_from([1, 3, 64, 1024, 4000]), st.integers(1, 2048),
                  st.sampled_from(["bytes", "bytearray", "memoryview", "strided", "ndarray"]),
                  st.sampled_from(["int64", "int32", "strided", "list"]))


@settings(max_examples=20, deadline=None)
@given(st.lists(batch, min_size=1, max_size=12), st.integers(0, 2**32 - 1), st.booleans())
def test_lean_path_writes_the_generic_paths_bytes(tmp_path_factory: pytest.TempPathFactory,
                                                  batches: list[tuple[int, int, str, str]], seed: int,
                                                  background: bool) -> None:
    """Batches from 1 record to several MiB (some under the direct-write minimum, some over the frame
    limit), every buffer and lengths type: the segments and manifest are byte-identical to those of the
    generic path, and the records read back in order."""
    base = tmp_path_factory.mktemp("lean")
    out = {}
    for tag, io in (("lean", None), ("generic", PlainIo())):
        rng = np.random.default_rng(seed)
        d = base / tag
        expect: list[bytes] = []
        with WalWriter(d, sync="none", segment_bytes=SEG, io=io, background=background and io is None) as w:
            for n, size, bkind, lkind in batches:
                lens = rng.integers(1, size + 1, n)
                data = rng.integers(0, 256, int(lens.sum()), dtype=np.uint8).tobytes()
                last = w.append_buffer(_as(bkind, data), _lengths(lkind, lens))
                ends = np.cumsum(lens)
                expect.extend(data[e - n_: e] for e, n_ in zip(ends, lens, strict=True))
                assert last == len(expect)
        out[tag] = (_segment_bytes(d), (d / "MANIFEST").read_bytes())
        assert [r.payload for r in WalReader(d).records()] == expect
        verify(d)
    assert out["lean"] == out["generic"]


def test_bad_arguments_on_the_lean_path_raise_and_take_no_seq(tmp_path: Path) -> None:
    data = bytes(1 << 20)
    with WalWriter(tmp_path, sync="none", max_record_bytes=1 << 16) as w:
        w.append(b"first")
        with pytest.raises(ValidationError, match="sum to"):
            w.append_buffer(data, np.full(1024, 1023, dtype=np.int64))
        with pytest.raises(ValidationError, match="max_record_bytes"):
            w.append_buffer(data, np.array([1 << 17, (1 << 20) - (1 << 17)], dtype=np.int64))
        with pytest.raises(ValidationError, match="max_record_bytes"):
            w.append_buffer(data, np.array([-1, (1 << 20) + 1], dtype=np.int64))
        with pytest.raises(ValidationError, match="one-dimensional"):
            w.append_buffer(data, np.full((2, 512), 1024, dtype=np.int64))
        assert not w.poisoned and w.last_seq == 1
        assert w.append_buffer(data, np.full(1024, 1024, dtype=np.int64)) == 1025
    recs = list(WalReader(tmp_path).records())
    assert [r.seq for r in recs] == list(range(1, 1026)) and recs[0].payload == b"first"


@pytest.mark.parametrize("background", [False, True])
def test_threads_waiting_on_a_lean_write_are_woken(tmp_path: Path, background: bool) -> None:
    """Two threads append large batches (lean path) while a third appends small records and commits: every
    record is in the log once, each batch's records are consecutive, and no thread hangs."""
    big = {t: bytes([t]) * (1 << 19) for t in (1, 2)}
    lens = np.full(512, 1024, dtype=np.int64)
    lasts: dict[int, list[int]] = {1: [], 2: []}
    small: list[int] = []
    errors: list[BaseException] = []
    with WalWriter(tmp_path, sync="none", segment_bytes=SEG, background=background) as w:
        def bulk(t: int) -> None:
            try:
                for _ in range(20):
                    lasts[t].append(w.append_buffer(big[t], lens))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        def little() -> None:
            try:
                for i in range(300):
                    small.append(w.append(b"s%05d" % i))
                    if i % 50 == 0:
                        w.commit()
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        ts = [threading.Thread(target=bulk, args=(1,)), threading.Thread(target=bulk, args=(2,)),
              threading.Thread(target=little)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not any(t.is_alive() for t in ts) and not errors
        w.commit()
    recs = {r.seq: r.payload for r in WalReader(tmp_path).records()}
    assert len(recs) == 2 * 20 * 512 + 300
    for t in (1, 2):
        for last in lasts[t]:
            assert all(recs[s] == bytes([t]) * 1024 for s in range(last - 511, last + 1))
    assert [recs[s] for s in small] == [b"s%05d" % i for i in range(300)]


def test_lean_path_boundaries_match_the_generic_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches at the lean path's edges (the direct-write minimum, the frame limit, a frame that ends the
    segment exactly and one that does not fit): byte-identical to the generic path, and the lean path is
    taken exactly where it should be."""
    from shrivenquant.wal import writer as wmod

    taken: list[bool] = []
    orig = WalWriter._append_lean

    def spy(self: WalWriter, buffer: Any, lengths: np.ndarray) -> int | None:
        r = orig(self, buffer, lengths)
        taken.append(r is not None)
        return r

    monkeypatch.setattr(WalWriter, "_append_lean", spy)
    mn = wmod._DIRECT_MIN
    limit = mn + 64  # frame_bytes: the largest frame body

    def tot(body: int) -> int:
        return wmod._FRAME_HDR + ((body + 7) & ~7)

    seg = 32 + 2 * tot(4 + mn) + tot(4 + mn - 1) + tot(8 + mn + 4)  # ops 1 to 4 fill the first segment
    ops: list[list[int] | None] = [[mn], [mn - 1], None, [mn], [mn, 4], [mn], [mn + 60], [mn, 61],
                                   [mn, 5, mn, 7, 1, mn], [mn], [mn]]
    # lean? 1: yes; 2: under the minimum (kept for the next frame); None: flush(); 3: yes; 4: yes, ends the
    # segment; 5: no room (the generic path rotates); 6: body == frame limit, yes; 7: over it: two frames
    # in one native write; 8: four frames that do not fit the rest of the segment (the generic path rotates
    # between them); 9: no room left after them (a rotation); 10: yes
    want = [True, False, True, True, False, True, True, False, False, True]
    out = {}
    for tag, io in (("lean", None), ("generic", PlainIo())):
        taken.clear()
        d = tmp_path / tag
        rng = np.random.default_rng(5)
        with WalWriter(d, sync="none", segment_bytes=seg, frame_bytes=limit, max_record_bytes=mn + 60,
                       io=io) as w:
            for lens in ops:
                if lens is None:
                    w.flush()
                    continue
                data = rng.integers(0, 256, sum(lens), dtype=np.uint8).tobytes()
                w.append_buffer(data, np.array(lens, dtype=np.int64))
            if tag == "lean":
                assert taken == want
        out[tag] = _segment_bytes(d)
        assert len(out[tag]) >= 3
    assert out["lean"] == out["generic"]


@pytest.mark.parametrize("method", ["flush", "commit"])
def test_a_thread_waiting_for_a_lean_write_is_woken_when_it_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 method: str) -> None:
    """A ``flush()`` or ``commit()`` that starts while a lean write is in flight waits for it, and that
    write's end (not some later event) wakes it."""
    import time

    from shrivenquant._native import wal as nw

    real = nw.write_frame
    started, go = threading.Event(), threading.Event()

    def held(*args: Any) -> int:
        started.set()
        go.wait(10)
        return real(*args)

    monkeypatch.setattr(nw, "write_frame", held)
    with WalWriter(tmp_path, sync="none") as w:
        writer = threading.Thread(target=w.append_buffer, args=(bytes(1 << 20), np.full(1024, 1024, dtype=np.int64)))
        writer.start()
        assert started.wait(10)
        result: list[int] = []
        waiter = threading.Thread(target=lambda: result.append(getattr(w, method)()))
        waiter.start()
        deadline = time.monotonic() + 10
        while not w._waiting and time.monotonic() < deadline:  # the waiter is blocked on the write
            time.sleep(0.001)
        assert w._waiting == 1 and not result
        go.set()
        waiter.join(10)
        writer.join(10)
        assert not waiter.is_alive() and result == [1024]
