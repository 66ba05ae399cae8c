"""WAL native layer: CRC-32C against published vectors, segment/frame headers, builder and scanner."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shrivenquant._native import wal as nw
from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import ValidationError
from shrivenquant.wal._format import MANIFEST_SIZE, Manifest, segment_name

# RFC 3720 (iSCSI) appendix B.4 CRC examples, plus the common "123456789" check value
VECTORS = [
    (b"123456789", 0xE3069283),
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
    (b"", 0),
]


def _bitwise_crc32c(data: bytes) -> int:
    """Reference: the bit-at-a-time definition (reflected 0x82F63B78, init and xorout 0xFFFFFFFF)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


@pytest.mark.parametrize(("data", "expected"), VECTORS)
def test_crc32c_vectors(data: bytes, expected: int) -> None:
    assert nw.crc32c(data) == expected
    assert nw.crc32c_sw(data) == expected
    assert _bitwise_crc32c(data) == expected


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 63, 255, 767, 768, 769, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 13,
                               100_003, 1 << 20])
def test_hardware_matches_software_and_streams(n: int) -> None:
    data = os.urandom(n)
    assert nw.crc32c(data) == nw.crc32c_sw(data)
    for cut in (0, n // 3, n // 2, n):
        assert nw.crc32c(data[cut:], nw.crc32c(data[:cut])) == nw.crc32c(data)
    if n <= 4096:
        assert nw.crc32c(data) == _bitwise_crc32c(data)


@pytest.mark.parametrize("n", [2047, 2048, 2049, 2303, 2304, 2560, 4096 + 255, 65536 + 17, (1 << 20) + 200])
def test_folding_path_matches_software_at_every_offset_and_seed(n: int) -> None:
    """Buffers of 2 KiB and more take the carry-less-multiply folding loop when the CPU has AVX-512
    VPCLMULQDQ (256-byte blocks, a tail of 0..255 bytes, the seed xored into the first block): it must
    agree with slicing-by-8 for every length around the block size, start alignment and seed."""
    data = os.urandom(n + 64)
    rng = np.random.default_rng(n)
    for start in (0, 1, 7, 8, 33):
        buf = memoryview(data)[start: start + n]
        seed = int(rng.integers(0, 2**32))
        assert nw.crc32c(buf, seed) == nw.crc32c_sw(bytes(buf), seed)
        assert nw.crc32c(buf) == nw.crc32c_sw(bytes(buf))
    if n <= 4096:
        assert nw.crc32c(data[:n]) == _bitwise_crc32c(data[:n])


def test_pack_lengths() -> None:
    lens = np.array([0, 5, 70000, 3], dtype=np.int64)
    out = np.empty(4, dtype="<u4")
    assert nw.pack_lengths(lens, 70000, out) == 70008
    assert out.tolist() == [0, 5, 70000, 3]
    assert nw.pack_lengths(lens, 69999, out) == -1
    assert nw.pack_lengths(np.array([2, -1], dtype=np.int64), 10, np.empty(2, dtype="<u4")) == -1
    with pytest.raises(ValidationError):
        nw.pack_lengths(lens, 70000, np.empty(3, dtype="<u4"))
    # anything but a one-dimensional C-contiguous native int64 buffer: -2, and nothing written
    out[:] = 7
    for bad in (lens.astype(np.int32), lens.astype(np.uint64), lens.astype(">i8"), np.arange(8)[::2],
                lens.reshape(2, 2), lens.astype(np.float64)):
        assert nw.pack_lengths(bad, 70000, out) == -2
    assert out.tolist() == [7, 7, 7, 7]
    assert nw.pack_lengths(memoryview(lens), 70000, out) == 70008  # any buffer of int64 will do
    assert nw.pack_lengths(lens.astype(np.longlong), 70000, out) == 70008


def test_write_buffer_frames_writes_the_frames_of_the_generic_cut(tmp_path: Path) -> None:
    """The native multi-frame write puts exactly the bytes of one write_frame per frame of the greedy cut
    (at most frame_limit body bytes, at least one record per frame; more than 64 frames: several calls),
    and frames_size says how many."""
    rng = np.random.default_rng(3)
    lens = rng.integers(0, 3000, 700).astype(np.int64)
    lens[[5, 300]] = 9000  # records alone over the limit: a frame each
    data = rng.integers(0, 256, int(lens.sum()), dtype=np.uint8).tobytes()
    table = np.empty(len(lens), dtype="<u4")
    assert nw.pack_lengths(lens, 1 << 20, table) == len(data)
    limit = 8000
    fd = os.open(tmp_path / "multi", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        n = nw.write_buffer_frames(fd, 40, 1000, 7, table, data, limit)
        assert n == nw.frames_size(table, limit) == os.fstat(fd).st_size - 40
        got = os.pread(fd, n, 40)
    finally:
        os.close(fd)
    want, s, pos, frames = b"", 0, 0, 0
    while s < len(lens):
        e, body = s + 1, 4 + int(lens[s])
        while e < len(lens) and body + 4 + int(lens[e]) <= limit:
            body += 4 + int(lens[e])
            e += 1
        size = int(lens[s:e].sum())
        lb, db = table[s:e].tobytes(), data[pos: pos + size]
        want += nw.frame_header(1000 + s, e - s, 0, 7, lb, db) + lb + db + nw.padding(len(lb) + len(db))
        s, pos, frames = e, pos + size, frames + 1
    assert frames > 64 and got == want
    with pytest.raises(ValidationError, match="sum to"):
        nw.write_buffer_frames(0, 0, 1, 0, table, data[:-1], limit)
    with pytest.raises(OSError):
        nw.write_buffer_frames(-1, 0, 1, 0, table, data, limit)


@pytest.mark.parametrize(("lens", "data", "zeros"), [(b"", bytes(range(64)) * 3, 0),
                                                   (struct.pack("<2I", 3, 2), b"abcde", 100_000),
                                                   (struct.pack("<I", 70_001), os.urandom(70_001), 4096)])
def test_write_frame_writes_the_python_paths_bytes(tmp_path: Path, lens: bytes, data: bytes, zeros: int) -> None:
    """The native one-frame write (used by the writer with the default OS layer) puts exactly the bytes of
    frame_header + lengths + payload + padding + zeros at the offset, and reports errors as OSError."""
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        flags = nw.F_FIXED64 if not lens else 0
        count = len(data) // 64 if not lens else len(lens) // 4
        n = nw.write_frame(fd, 40, 7, count, flags, 5, lens, data, zeros, True)
        body = len(lens) + len(data)
        want = nw.frame_header(7, count, flags, 5, lens, data) + lens + data + nw.padding(body) + bytes(zeros)
        assert n == len(want) and os.pread(fd, len(want) + 10, 40) == want
    finally:
        os.close(fd)
    with pytest.raises(OSError):
        nw.write_frame(-1, 0, 1, 1, 0, 0, b"", b"x")
    with pytest.raises(ValidationError):
        nw.write_frame(0, 0, 1, 1, 0, 0, b"", b"x", 1 << 30)


def test_unaligned_buffers() -> None:
    data = bytearray(os.urandom(70_000))
    view = memoryview(data)
    for start in range(8):
        assert nw.crc32c(view[start:]) == nw.crc32c_sw(bytes(view[start:])) == nw.crc32c(bytes(view[start:]))


@given(st.integers(0, 2**32 - 1))
def test_mask_roundtrip(crc: int) -> None:
    assert nw.unmask_crc(nw.mask_crc(crc)) == crc


def test_mask_matches_leveldb_definition() -> None:
    crc = 0xE3069283
    assert nw.mask_crc(crc) == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert nw.mask_crc(crc) != crc


def test_segment_header_layout() -> None:
    h = nw.segment_header(123456789)
    assert len(h) == nw.SEG_HDR == 32
    assert h[:8] == b"SQWALSEG"
    assert struct.unpack_from("<IIQI", h, 8) == (1, 32, 123456789, 0)
    assert nw.unmask_crc(struct.unpack_from("<I", h, 28)[0]) == nw.crc32c(h[:28])
    assert nw.parse_segment_header(h) == (0, 123456789, 0)
    h2 = nw.segment_header(5, nw.SEG_PREV_SYNCED)
    assert struct.unpack_from("<I", h2, 24)[0] == 1 and nw.parse_segment_header(h2) == (0, 5, 1)
    assert nw.parse_segment_header(nw.segment_header(5, 2))[0] == 2  # unknown flag bits are refused
    for i in range(32):
        bad = bytearray(h)
        bad[i] ^= 0x10
        assert nw.parse_segment_header(bytes(bad))[0] != 0
    assert nw.parse_segment_header(h[:31])[0] == 4


def _frame(records: list[bytes], first: int = 1, synced: int = 0) -> bytes:
    b = nw.FrameBuilder(64)
    b.add_many(records)
    hdr, lens, data, pad = b.seal(first, synced)
    return bytes(hdr) + bytes(lens) + bytes(data) + bytes(pad)


def test_frame_layout_variable_records() -> None:
    recs = [b"abc", b"", b"x" * 10]
    f = _frame(recs, first=7, synced=6)
    body_len, first, count, flags, synced = struct.unpack_from("<IQIIQ", f, 4)
    assert (body_len, first, count, synced) == (4 * 3 + 13, 7, 3, 6)
    assert flags == 0x5157 << 16
    assert len(f) % 8 == 0 and len(f) == 32 + ((body_len + 7) & ~7)
    assert struct.unpack_from("<3I", f, 32) == (3, 0, 10)
    assert f[44:57] == b"abc" + b"x" * 10
    crc = nw.crc32c(f[4:32] + f[32:32 + body_len])
    assert nw.unmask_crc(struct.unpack_from("<I", f, 0)[0]) == crc
    assert nw.split_records(f, 32, 3, 0) == recs


def test_frame_layout_fixed_events() -> None:
    ev = np.zeros(3, dtype=EVENT_DTYPE)
    ev["seq"] = [1, 2, 3]
    b = nw.FrameBuilder(64)
    b.add_events(ev)
    assert b.fixed is True and b.count == 3 and b.nbytes == 192
    hdr, lens, data, pad = b.seal(1, 0)
    assert len(lens) == 0 and bytes(data) == ev.tobytes() and len(pad) == 0
    assert struct.unpack_from("<I", hdr, 20)[0] == (0x5157 << 16) | nw.F_FIXED64
    with pytest.raises(ValidationError):
        b.add(b"mixed")


def test_builder_limits_and_reuse() -> None:
    b = nw.FrameBuilder(64, max_record=10)
    with pytest.raises(ValidationError):
        b.add(b"x" * 11)
    assert b.add_many([b"a" * 10] * 5, 0, 30) == 2  # 2 * (10 + 4) = 28 <= 30 < 42
    assert b.count == 2 and b.nbytes == 28
    b.clear()
    assert b.count == 0 and b.fixed is None
    assert b.add_many([b"a" * 10] * 5, 0, 1) == 1  # an empty frame always takes one record
    with pytest.raises(ValidationError):
        nw.FrameBuilder(64).seal(1, 0)


def _scan_all(buf: bytes, expected: int = 1) -> tuple[int, int, int, int, int]:
    out = np.empty((16, 7), dtype=np.int64)
    return nw.scan(buf, len(buf), 0, 0, expected, nw.MAX_BODY, nw.MAX_BODY, out)


def test_scan_statuses() -> None:
    f1 = _frame([b"one", b"two"], 1, 0)
    f2 = _frame([b"three"], 3, 2)
    buf = f1 + f2
    k, status, stop, need, nxt = _scan_all(buf)
    assert (k, status, stop, nxt) == (2, nw.ST_NEED, len(buf), 4)  # needs the next header
    k, status, stop, _, _ = _scan_all(buf + bytes(64))
    assert (k, status, stop) == (2, nw.ST_ZERO, len(buf))
    k, status, stop, need, _ = _scan_all(buf[:-3])
    assert (k, status, stop, need) == (1, nw.ST_NEED, len(f1), len(f2))
    k, status, stop, _, _ = _scan_all(buf, expected=2)
    assert (k, status, stop) == (0, nw.ST_BAD_SEQ, 0)
    for i in range(len(buf)):
        bad = bytearray(buf)
        bad[i] ^= 0x01
        k, status, stop, _, _ = _scan_all(bytes(bad))
        frame = 0 if i < len(f1) else 1
        assert k == frame and stop == (0 if frame == 0 else len(f1))
        assert status not in (nw.ST_OK, nw.ST_ZERO)


def test_scan_caps_corrupt_length() -> None:
    f = bytearray(_frame([b"x" * 100]))
    struct.pack_into("<I", f, 4, 0xFFFFFFF0)  # a huge body length
    k, status, _, need, _ = _scan_all(bytes(f))
    assert (k, status, need) == (0, nw.ST_BAD_LEN, 0)
    f = bytearray(_frame([b"x" * 100]))
    struct.pack_into("<I", f, 4, 1000)  # plausible but past the buffer: the caller bounds it by the file
    k, status, _, need, _ = _scan_all(bytes(f))
    assert status == nw.ST_NEED and need == 32 + 1000


def test_find_frame_skips_garbage() -> None:
    f = _frame([b"payload"], 5, 4)
    buf = os.urandom(64) + f
    st_, at, total, first, count, synced = nw.find_frame(buf, len(buf), 0, nw.MAX_BODY, nw.MAX_BODY)
    assert (st_, at, total, first, count, synced) == (nw.ST_OK, 64, len(f), 5, 1, 4)
    st_, at, *_ = nw.find_frame(bytes(256), 256, 0, nw.MAX_BODY, nw.MAX_BODY)
    assert st_ == nw.ST_ZERO


def test_zero_helpers() -> None:
    buf = bytes(100) + b"\x01" + bytes(50)
    assert nw.nonzero_end(buf, 0, len(buf)) == 101
    assert nw.nonzero_end(buf, 101, len(buf)) == 101
    assert nw.all_zero(buf, 0, 100) and not nw.all_zero(buf, 0, 101)


def test_manifest_roundtrip_and_damage() -> None:
    m = Manifest(first_segment=10, closed_first=20, closed_next=30)
    data = m.encode()
    assert len(data) == MANIFEST_SIZE == 48 and data[:8] == b"SQWALMAN"
    assert Manifest.decode(data) == m
    from shrivenquant.errors import WalCorruptionError

    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x04
        with pytest.raises(WalCorruptionError):
            Manifest.decode(bytes(bad))
    with pytest.raises(WalCorruptionError):
        Manifest.decode(data[:-1])
    assert segment_name(1) == "00000000000000000001.wal"
