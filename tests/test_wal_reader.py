"""WalReader: replay from a sequence number, event batches, tailing a live writer, determinism, and a
round-trip property against an in-memory list model."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import ValidationError, WalError
from shrivenquant.wal import WalReader, WalWriter, verify


def events(n: int, start: int = 0) -> np.ndarray:
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["seq"] = np.arange(start, start + n)
    ev["qty"] = np.arange(start, start + n) * 3
    ev["kind"] = 7
    return ev


def test_records_from_seq_and_offsets(tmp_path: Path) -> None:
    recs = [os.urandom(i % 300) for i in range(2000)]
    with WalWriter(tmp_path, sync="none", segment_bytes=16384) as w:
        for i in range(0, 2000, 37):
            w.append_many(recs[i: i + 37])
    r = WalReader(tmp_path)
    assert r.first_seq == 1 and r.last_seq == 2000
    assert r.verify().records == 2000 and not r.verify().torn
    for start in (1, 2, 500, 1999, 2000, 2001):
        got = list(r.records(start))
        assert [g.seq for g in got] == list(range(start, 2001))
        assert [g.payload for g in got] == recs[start - 1:]
    for g in r.records(1500):  # the offset points at the payload inside the segment file
        with open(tmp_path / g.segment, "rb") as f:
            f.seek(g.offset)
            assert f.read(len(g.payload)) == g.payload


def test_event_batches(tmp_path: Path) -> None:
    ev = events(10_000)
    with WalWriter(tmp_path, sync="none", segment_bytes=1 << 18) as w:
        w.append_events(ev[:10])
        w.append_events(ev[10:5000])  # direct frames
        for i in range(5000, 10_000, 1000):
            w.append_events(ev[i: i + 1000])
    r = WalReader(tmp_path)
    batches = list(r.event_batches(max_records=777))
    assert all(b.dtype == EVENT_DTYPE for b in batches)
    assert [len(b) for b in batches[:-1]] == [777] * (len(batches) - 1)
    assert np.concatenate(batches).tobytes() == ev.tobytes()
    tail = np.concatenate(list(r.event_batches(from_seq=4321)))
    assert tail.tobytes() == ev[4320:].tobytes()
    with pytest.raises(ValidationError):
        list(r.event_batches(max_records=0))


def test_event_batches_refuse_variable_records(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="none") as w:
        w.append_events(events(3))
        w.append(b"not an event")
        w.append_events(events(2, 3))
    with pytest.raises(ValidationError):
        list(WalReader(tmp_path).event_batches())
    got = np.concatenate(list(WalReader(tmp_path).event_batches(skip_other=True)))
    assert got.tobytes() == events(5).tobytes()


def test_empty_and_missing_directories(tmp_path: Path) -> None:
    with WalWriter(tmp_path / "empty"):
        pass
    r = WalReader(tmp_path / "empty")
    assert list(r.records()) == [] and r.last_seq == 0 and r.first_seq == 1
    with pytest.raises(WalError):
        WalReader(tmp_path / "nope")


def test_reader_never_modifies_the_directory(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="always") as w:
        w.append_many([b"a", b"b"])
    with open(tmp_path / "00000000000000000001.wal", "ab") as f:
        f.write(os.urandom(100))  # a torn tail
    (tmp_path / "x.tmp").write_bytes(b"tmp")

    def state() -> dict[str, str]:
        return {n: hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in sorted(os.listdir(tmp_path))}

    before = state()
    r = WalReader(tmp_path)
    assert [x.payload for x in r.records()] == [b"a", b"b"]
    assert verify(tmp_path).torn
    list(r.follow(timeout=0.05))
    assert state() == before


def test_replay_is_deterministic(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="none", segment_bytes=8192) as w:
        for i in range(300):
            w.append(hashlib.sha256(b"%d" % i).digest() * (i % 5))
        w.append_events(events(100))

    def digest() -> str:
        h = hashlib.sha256()
        for r in WalReader(tmp_path).records():
            h.update(b"%d:%s:%d:" % (r.seq, r.segment.encode(), r.offset))
            h.update(r.payload)
        return h.hexdigest()

    assert digest() == digest()


@pytest.mark.parametrize("sync", ["always", "none"])
def test_follow_while_writing_across_rotation(tmp_path: Path, sync: str) -> None:
    n = 3000
    recs = [b"%06d" % i + os.urandom(i % 50) for i in range(n)]
    with WalWriter(tmp_path, sync=sync, segment_bytes=16384):
        pass
    stop = threading.Event()
    seen: list[tuple[int, bytes]] = []

    def tail() -> None:
        for r in WalReader(tmp_path).follow(from_seq=1, poll_s=0.0005, stop=stop):
            seen.append((r.seq, r.payload))
            if r.seq == n:
                return

    t = threading.Thread(target=tail)
    t.start()
    with WalWriter(tmp_path, sync=sync, segment_bytes=16384) as w:
        for i in range(0, n, 10):
            w.append_many(recs[i: i + 10])
            if sync == "none":
                w.flush()
    t.join(30)
    stop.set()
    assert not t.is_alive()
    assert [s for s, _ in seen] == list(range(1, n + 1))
    assert [p for _, p in seen] == recs
    assert len(verify(tmp_path).segments) > 3


def test_follow_from_middle_and_timeout(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="none", segment_bytes=8192) as w:
        w.append_many([b"r%d" % i * 50 for i in range(400)])
    got = [r.seq for r in WalReader(tmp_path).follow(from_seq=250, timeout=0.05)]
    assert got == list(range(250, 401))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(
    st.tuples(st.just("one"), st.binary(max_size=300)),
    st.tuples(st.just("many"), st.lists(st.binary(max_size=200), max_size=20)),
    st.tuples(st.just("events"), st.integers(0, 40)),
    st.tuples(st.just("buffer"), st.lists(st.binary(max_size=100), max_size=15)),
    st.tuples(st.just("commit"), st.none()),
    st.tuples(st.just("reopen"), st.none()),
), max_size=30), sync=st.sampled_from(["always", "batch", "none"]))
def test_round_trip_matches_list_model(tmp_path_factory: pytest.TempPathFactory, ops: list, sync: str) -> None:
    d = tmp_path_factory.mktemp("wal")
    model: list[bytes] = []
    w = WalWriter(d, sync=sync, segment_bytes=4096, preallocate=False)
    try:
        for kind, arg in ops:
            if kind == "one":
                assert w.append(arg) == len(model) + 1
                model.append(arg)
            elif kind == "many":
                assert w.append_many(arg) == len(model) + len(arg)
                model.extend(arg)
            elif kind == "events":
                ev = events(arg, len(model))
                assert w.append_events(ev) == len(model) + arg
                model.extend(ev[i].tobytes() for i in range(arg))
            elif kind == "buffer":
                assert w.append_buffer(b"".join(arg), [len(x) for x in arg]) == len(model) + len(arg)
                model.extend(arg)
            elif kind == "commit":
                assert w.commit() == len(model)
            else:
                w.close()
                w = WalWriter(d, sync=sync, segment_bytes=4096, preallocate=False)
                assert w.last_seq == w.durable_seq == len(model)
    finally:
        w.close()
    got = list(WalReader(d).records())
    assert [r.seq for r in got] == list(range(1, len(model) + 1))
    assert [r.payload for r in got] == model


def test_follow_stops_at_torn_tail_of_unsynced_closed_segment(tmp_path: Path) -> None:
    recs = [b"n%04d" % i * 30 for i in range(200)]
    w = WalWriter(tmp_path, sync="none", segment_bytes=4096)
    for r in recs:
        w.append(r)
        w.flush()
    segs = verify(tmp_path).segments
    w._closed = True  # a kill: nothing was synced
    w._close_fds()
    with open(tmp_path / segs[0].name, "r+b") as f:  # the power cut lost the end of the first segment
        f.truncate(segs[0].end_offset - 10)
    expected = recs[: segs[0].last_seq - 1]
    assert [r.payload for r in WalReader(tmp_path).records()] == expected
    assert [r.payload for r in WalReader(tmp_path).follow(timeout=0.3)] == expected
