"""WAL recovery: torn tails are cut (only at the end of the last segment), every other damage raises
WalCorruptionError naming the segment and byte offset; missing segments; leftovers; repair."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from shrivenquant.errors import WalCorruptionError, WalPoisonedError
from shrivenquant.wal import WalReader, WalWriter, repair, verify
from shrivenquant.wal._format import MANIFEST, read_manifest
from shrivenquant.wal._io import OsIo

REC = [b"rec-%04d-" % i + b"z" * (i % 37) + b"p" * 200 for i in range(40)]


def build(d: Path, *, prealloc: bool = False, segment_bytes: int = 64 << 20, n: int = 40) -> list[int]:
    """One frame per record (sync always); returns the file offset where each frame ends."""
    ends = []
    with WalWriter(d, sync="always", preallocate=prealloc, segment_bytes=segment_bytes) as w:
        for p in REC[:n]:
            w.append(p)
            ends.append(w._off)
    return ends


def last_segment(d: Path) -> Path:
    return d / sorted(n for n in os.listdir(d) if n.endswith(".wal"))[-1]


def payloads(d: Path) -> list[bytes]:
    return [r.payload for r in WalReader(d).records()]


@pytest.mark.parametrize("prealloc", [False, True])
def test_truncate_at_every_byte_of_last_frame(tmp_path: Path, prealloc: bool) -> None:
    src = tmp_path / "src"
    ends = build(src, prealloc=prealloc, n=10, segment_bytes=1 << 16)
    original = last_segment(src).read_bytes()
    for cut in range(ends[-2], ends[-1]):
        # zeroing bytes that were zero already (the frame's padding) leaves the frame intact
        intact = prealloc and not any(original[cut: ends[-1]])
        kept = REC[:10] if intact else REC[:9]
        d = tmp_path / f"c{cut}"
        shutil.copytree(src, d)
        seg = last_segment(d)
        with open(seg, "r+b") as f:
            if prealloc:  # a preallocated file keeps its size: the unsynced bytes come back as zeros
                f.seek(cut)
                f.write(bytes(ends[-1] - cut))
            else:
                f.truncate(cut)
        assert payloads(d) == kept  # read-only: the torn frame ends the log
        rep = verify(d)
        assert rep.last_seq == len(kept) and rep.torn == (cut != ends[-2] and not intact)
        with WalWriter(d, sync="always", preallocate=prealloc) as w:
            assert w.last_seq == len(kept)
            assert w.append(b"new") == len(kept) + 1
        assert payloads(d) == [*kept, b"new"]
        shutil.rmtree(d)


@pytest.mark.parametrize("tail", ["zeros", "garbage", "half-frame"])
def test_tail_damage_is_torn(tmp_path: Path, tail: str) -> None:
    ends = build(tmp_path, n=20)
    seg = last_segment(tmp_path)
    with open(seg, "r+b") as f:
        if tail == "zeros":
            f.seek(0, 2)
            f.write(bytes(10_000))
        elif tail == "garbage":
            f.seek(0, 2)
            f.write(os.urandom(5000))
        else:
            f.seek(ends[-2] + 5)
            f.write(os.urandom(40))
    expected = REC[:19] if tail == "half-frame" else REC[:20]
    assert payloads(tmp_path) == expected
    with WalWriter(tmp_path) as w:
        assert w.last_seq == len(expected)
        w.append(b"more")
    assert payloads(tmp_path) == [*expected, b"more"]
    assert verify(tmp_path).torn is False


def test_damage_before_a_valid_frame_is_corruption(tmp_path: Path) -> None:
    ends = build(tmp_path, n=20)
    seg = last_segment(tmp_path)
    off = ends[9] + 40  # inside frame 11, followed by valid frames 12..20 written after it was synced
    with open(seg, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x20]))
    for attempt in (lambda: list(WalReader(tmp_path).records()), lambda: verify(tmp_path),
                    lambda: WalWriter(tmp_path)):
        with pytest.raises(WalCorruptionError) as info:
            attempt()
        assert info.value.segment == seg.name and info.value.offset == ends[9]
        assert "checksum" in (info.value.reason or "")
    # the valid prefix before the damage is readable record by record up to the error
    got: list[bytes] = []
    it = WalReader(tmp_path).records()
    with pytest.raises(WalCorruptionError):
        while True:
            got.append(next(it).payload)
    assert got == REC[:10]


def test_corrupt_length_field_is_bounded(tmp_path: Path) -> None:
    ends = build(tmp_path, n=5)
    seg = last_segment(tmp_path)
    with open(seg, "r+b") as f:
        f.seek(ends[1] + 4)
        f.write((0x7FFFFFF0).to_bytes(4, "little"))
    with pytest.raises(WalCorruptionError) as info:
        verify(tmp_path)
    assert info.value.offset == ends[1] and "length" in (info.value.reason or "")


def test_damage_in_closed_segment_is_corruption(tmp_path: Path) -> None:
    build(tmp_path, segment_bytes=4096)
    segs = verify(tmp_path).segments
    assert len(segs) >= 3
    first = tmp_path / segs[0].name
    with open(first, "r+b") as f:  # even the last frame of a closed segment is not a torn tail
        f.truncate(segs[0].end_offset - 3)
    with pytest.raises(WalCorruptionError) as info:
        WalWriter(tmp_path)
    assert info.value.segment == segs[0].name


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_missing_segment_is_detected(tmp_path: Path, which: str) -> None:
    build(tmp_path, segment_bytes=4096)
    segs = verify(tmp_path).segments
    assert len(segs) >= 3
    victim = {"first": segs[0], "middle": segs[1], "last": segs[-1]}[which]
    os.unlink(tmp_path / victim.name)
    with pytest.raises(WalCorruptionError) as info:
        verify(tmp_path)
    assert info.value.segment is not None
    with pytest.raises(WalCorruptionError):
        WalWriter(tmp_path)
    with pytest.raises(WalCorruptionError):
        list(WalReader(tmp_path).records())


def test_bad_segment_header_is_corruption(tmp_path: Path) -> None:
    build(tmp_path, n=3)
    seg = last_segment(tmp_path)
    with open(seg, "r+b") as f:
        f.seek(3)
        f.write(b"X")
    with pytest.raises(WalCorruptionError) as info:
        WalWriter(tmp_path)
    assert info.value.segment == seg.name and info.value.offset == 0
    with open(seg, "r+b") as f:
        f.truncate(10)
    with pytest.raises(WalCorruptionError):
        verify(tmp_path)


def test_missing_or_damaged_manifest(tmp_path: Path) -> None:
    build(tmp_path, n=3)
    data = (tmp_path / MANIFEST).read_bytes()
    (tmp_path / MANIFEST).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(WalCorruptionError) as info:
        WalWriter(tmp_path)
    assert info.value.segment == MANIFEST
    os.unlink(tmp_path / MANIFEST)
    with pytest.raises(WalCorruptionError):
        verify(tmp_path)


def test_leftover_tmp_files_are_ignored_and_removed(tmp_path: Path) -> None:
    build(tmp_path, n=3)
    (tmp_path / "00000000000000000004.wal.tmp").write_bytes(b"half a header")
    (tmp_path / "MANIFEST.tmp").write_bytes(b"junk")
    assert payloads(tmp_path) == REC[:3]
    assert verify(tmp_path).last_seq == 3
    with WalWriter(tmp_path) as w:
        assert w.last_seq == 3
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_interrupted_retention_leftovers_are_removed(tmp_path: Path) -> None:
    build(tmp_path, segment_bytes=4096)
    segs = verify(tmp_path).segments
    saved = (tmp_path / segs[0].name).read_bytes()
    with WalWriter(tmp_path) as w:
        w.truncate_before(segs[1].first_seq)
    (tmp_path / segs[0].name).write_bytes(saved)  # as if the unlink had not happened before a crash
    assert verify(tmp_path).first_seq == segs[1].first_seq
    with WalWriter(tmp_path):
        pass
    assert not (tmp_path / segs[0].name).exists()


def test_crash_during_recovery_truncation_recovers_again(tmp_path: Path) -> None:
    ends = build(tmp_path, prealloc=True, n=10)
    seg = last_segment(tmp_path)
    with open(seg, "r+b") as f:  # a torn last frame followed by garbage the zero-fill must erase
        f.seek(ends[-2] + 8)
        f.write(os.urandom(3 << 20))

    class DiesMidZeroFill(OsIo):
        def pwritev(self, fd: int, buffers: list, offset: int) -> int:  # type: ignore[override]
            # half of the zeros reach the file, then the process "dies"
            half = sum(len(b) for b in buffers) // 2
            os.pwrite(fd, bytes(half), offset)
            raise OSError(errno.EIO, "killed")

    with pytest.raises(OSError):
        WalWriter(tmp_path, preallocate=True, io=DiesMidZeroFill())
    with WalWriter(tmp_path, preallocate=True) as w:
        assert w.last_seq == 9
        w.append(b"x")
    assert payloads(tmp_path) == [*REC[:9], b"x"]


def test_repair_keeps_a_copy_of_what_it_cuts(tmp_path: Path) -> None:
    ends = build(tmp_path, n=20)
    seg = last_segment(tmp_path)
    original = seg.read_bytes()
    with open(seg, "r+b") as f:
        f.seek(ends[9] + 40)
        f.write(b"\xff\xff")
    damaged = seg.read_bytes()
    with pytest.raises(WalCorruptionError):
        verify(tmp_path)
    rep = repair(tmp_path)
    assert rep.changed and rep.last_seq == 10
    copy = tmp_path / f"{seg.name}.broken-{ends[9]}"
    assert rep.copies == [copy.name]
    assert copy.read_bytes()[:40] == original[ends[9]: ends[9] + 40]
    # the copy runs to the end of the file: the frames after the cut, then the zeros policy always wrote
    # ahead of its last (small) frames
    assert copy.read_bytes() == damaged[ends[9]:] and len(original) >= ends[-1]
    assert not original[ends[-1]:].strip(b"\0")
    assert payloads(tmp_path) == REC[:10]
    with WalWriter(tmp_path) as w:
        assert w.append(b"after repair") == 11
    assert repair(tmp_path).changed is False


def test_repair_moves_segments_after_damage_aside(tmp_path: Path) -> None:
    build(tmp_path, segment_bytes=4096)
    segs = verify(tmp_path).segments
    os.unlink(tmp_path / segs[1].name)
    rep = repair(tmp_path)
    assert rep.last_seq == segs[0].last_seq
    assert all((tmp_path / (s.name + ".broken")).exists() for s in segs[2:])
    assert verify(tmp_path).last_seq == segs[0].last_seq
    m = read_manifest(str(tmp_path))
    assert m is not None and m.closed_first == 0
    with WalWriter(tmp_path) as w:
        assert w.append(b"z") == segs[0].last_seq + 1


def test_poisoned_writer_reopen_after_partial_frame(tmp_path: Path) -> None:
    class ShortThenFail(OsIo):
        armed = False

        def pwritev(self, fd: int, buffers: list, offset: int) -> int:  # type: ignore[override]
            if self.armed:
                first = bytes(buffers[0])[:20]  # a partial header reaches the file, then ENOSPC
                os.pwrite(fd, first, offset)
                raise OSError(errno.ENOSPC, "no space")
            return super().pwritev(fd, buffers, offset)

    io = ShortThenFail()
    w = WalWriter(tmp_path, sync="always", io=io, preallocate=False)
    w.append_many(REC[:5])
    io.armed = True
    with pytest.raises(WalPoisonedError):
        w.append(b"partial")
    w.close()
    assert payloads(tmp_path) == REC[:5]
    with WalWriter(tmp_path) as w2:
        assert w2.last_seq == 5 and w2.recovered_torn is not None


def _none_log(d: Path, commit_at: int | None = None) -> list:
    """Policy none, small segments, no sync until ``commit_at`` records (if given) and no sync after."""
    w = WalWriter(d, sync="none", segment_bytes=4096, preallocate=False)
    for i, p in enumerate(REC * 3):
        w.append(p)
        w.flush()
        if commit_at is not None and i + 1 == commit_at:
            w.commit()
    segs = verify(d).segments
    # simulate a kill (no close, no final commit): release the directory without syncing
    w._closed = True
    w._close_fds()
    return segs


def test_none_rotation_does_not_sync_and_marks_headers(tmp_path: Path) -> None:
    syncs: list[int] = []

    class Counting(OsIo):
        def fdatasync(self, fd: int) -> None:
            syncs.append(fd)
            super().fdatasync(fd)

    class CountingAll(Counting):
        def fsync(self, fd: int) -> None:
            syncs.append(fd)
            super().fsync(fd)

    with WalWriter(tmp_path, sync="none", segment_bytes=4096, io=CountingAll()) as w:
        syncs.clear()
        for p in REC:
            w.append(p)
            w.flush()
        assert len(verify(tmp_path).segments) >= 3
        assert syncs == []  # rotations under none cost no sync of any kind (up to 4 segments closed unsynced)
        w.commit()
        assert len(syncs) >= 2  # the commit syncs the segments closed unsynced, then the current one
    from shrivenquant._native import wal as nw

    segs = verify(tmp_path).segments
    assert len(segs) >= 3
    flags = [nw.parse_segment_header((tmp_path / s.name).read_bytes()[:32])[2] for s in segs]
    assert flags[0] == nw.SEG_PREV_SYNCED and not any(f & nw.SEG_PREV_SYNCED for f in flags[1:])
    with WalWriter(tmp_path, sync="always", segment_bytes=4096) as w:
        for p in REC:
            w.append(p)
    flags = [nw.parse_segment_header((tmp_path / s.name).read_bytes()[:32])[2] for s in verify(tmp_path).segments]
    assert flags[-1] == nw.SEG_PREV_SYNCED  # always syncs the old segment before creating the next


def test_unsynced_closed_segment_tail_is_torn_and_later_segments_dropped(tmp_path: Path) -> None:
    segs = _none_log(tmp_path)
    assert len(segs) >= 3
    # power cut: the first segment lost its last frame's pages (it was never synced), the later ones survived
    with open(tmp_path / segs[0].name, "r+b") as f:
        f.truncate(segs[0].end_offset - 50)
    rep = verify(tmp_path)
    assert rep.torn and rep.last_seq == segs[0].last_seq - 1
    assert rep.beyond_torn == [s.name for s in segs[1:]]
    assert payloads(tmp_path) == (REC * 3)[: segs[0].last_seq - 1]
    with WalWriter(tmp_path, sync="none", segment_bytes=4096) as w:
        assert w.last_seq == segs[0].last_seq - 1
        w.append(b"resumed")
    assert payloads(tmp_path)[-1] == b"resumed"
    assert not (tmp_path / segs[-1].name).exists() or verify(tmp_path).last_seq == segs[0].last_seq
    m = read_manifest(str(tmp_path))
    assert m is not None and verify(tmp_path).segments[-1].name in {s.name for s in segs[:2]}


def test_unsynced_closed_segment_cut_cleanly_is_torn(tmp_path: Path) -> None:
    segs = _none_log(tmp_path)
    with open(tmp_path / segs[1].name, "r+b") as f:  # ends exactly on a frame boundary, early
        f.truncate(32)
    rep = verify(tmp_path)
    assert rep.torn and rep.last_seq == segs[0].last_seq
    assert payloads(tmp_path) == (REC * 3)[: segs[0].last_seq]


def test_damage_before_a_commit_is_corruption_even_in_unsynced_segments(tmp_path: Path) -> None:
    segs = _none_log(tmp_path, commit_at=100)
    assert segs[0].last_seq < 100
    with open(tmp_path / segs[0].name, "r+b") as f:
        f.truncate(segs[0].end_offset - 50)
    with pytest.raises(WalCorruptionError) as info:
        verify(tmp_path)
    assert info.value.segment == segs[0].name
    with pytest.raises(WalCorruptionError):
        WalWriter(tmp_path, sync="none")


@pytest.mark.parametrize("damage", ["empty", "zero-header", "missing"])
def test_unsynced_segment_creation_lost_in_power_cut(tmp_path: Path, damage: str) -> None:
    segs = _none_log(tmp_path)
    assert read_manifest(str(tmp_path)).closed_first == 0  # nothing committed: the manifest names segment 1 only
    newest = tmp_path / segs[-1].name
    if damage == "empty":
        newest.write_bytes(b"")
    elif damage == "zero-header":
        newest.write_bytes(bytes(32) + newest.read_bytes()[32:])
    else:
        newest.unlink()
    rep = verify(tmp_path)
    expected = segs[-2].last_seq  # the records of the lost segment were never durable
    assert rep.last_seq == expected
    assert payloads(tmp_path) == (REC * 3)[:expected]
    with WalWriter(tmp_path, sync="none", segment_bytes=4096) as w:
        assert w.last_seq == expected
        w.append(b"again")
    assert payloads(tmp_path)[-1] == b"again" and verify(tmp_path).last_seq == expected + 1


@pytest.mark.parametrize("damage", ["empty", "zero-header", "missing"])
def test_always_rotation_cut_before_its_manifest_update(tmp_path: Path, damage: str) -> None:
    """Under always a rotation renames the new segment before syncing it and updates the manifest last: a
    power cut in between can leave the manifest naming the old segments only and the new one empty, with a
    zero header, or absent. The log then ends at the old segment (whose records were all acknowledged)."""
    with WalWriter(tmp_path, sync="always", segment_bytes=4096) as w:
        w.append(b"a" * 300)
        old = w.segment
        before = (tmp_path / "MANIFEST").read_bytes()
        n = 1
        while w.segment == old:
            n += 1
            w.append(b"%04d" % n * 75)
        acked_old = n - 1
    (tmp_path / "MANIFEST").write_bytes(before)
    newest = tmp_path / verify(tmp_path).segments[-1].name
    if damage == "empty":
        newest.write_bytes(b"")
    elif damage == "zero-header":
        newest.write_bytes(bytes(32) + newest.read_bytes()[32:])
    else:
        newest.unlink()
    assert verify(tmp_path).last_seq == acked_old
    with WalWriter(tmp_path, sync="always", segment_bytes=4096) as w:
        assert w.last_seq == acked_old
        w.append(b"again")
    got = payloads(tmp_path)
    assert len(got) == acked_old + 1 and got[0] == b"a" * 300 and got[-1] == b"again"


def test_bad_header_of_a_committed_segment_is_corruption(tmp_path: Path) -> None:
    with WalWriter(tmp_path, sync="none", segment_bytes=4096) as w:
        for p in REC * 2:
            w.append(p)
            w.flush()
        w.commit()
    segs = verify(tmp_path).segments
    last = tmp_path / segs[-1].name
    last.write_bytes(bytes(32) + last.read_bytes()[32:])
    with pytest.raises(WalCorruptionError) as info:
        verify(tmp_path)
    assert info.value.segment == segs[-1].name and info.value.offset == 0


def test_recovery_makes_everything_it_accepted_durable(tmp_path: Path) -> None:
    segs = _none_log(tmp_path)  # killed under none: nothing synced, manifest names segment 1 only
    synced: list[int] = []

    class Tracking(OsIo):
        def fdatasync(self, fd: int) -> None:
            synced.append(os.fstat(fd).st_ino)
            super().fdatasync(fd)

    with WalWriter(tmp_path, sync="none", segment_bytes=4096, io=Tracking()) as w:
        assert w.last_seq == segs[-1].last_seq
        inodes = {os.stat(tmp_path / s.name).st_ino for s in segs}
        assert inodes <= set(synced)  # every accepted segment was fdatasynced before any new frame
        m = read_manifest(str(tmp_path))
        assert m is not None and m.closed_next == segs[-1].first_seq
