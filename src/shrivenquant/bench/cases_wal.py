"""Write-ahead-log benchmark cases (per-op loops, CPU time) with same-run baselines.

Every case's title names the sync policy, the record size and the batch size. Only policy ``none`` fits a
CPU-time loop (no fsync inside the timing); the fsync-bound figures (policy ``always``, latency percentiles,
SQLite) are wall-clock measurements in :mod:`shrivenquant.bench.wal_io`. Files go to a temporary directory on
``$SHRIVENQUANT_BENCH_DIR`` (default: the system temporary directory), removed at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

from shrivenquant.bench.harness import Case, Variant

__all__ = ["wal_cases"]

BATCH = 4096  # records per append_events call
BUF_RECORDS = 1024  # 1 KiB records per append_buffer call (1 MiB)


def _tmp(tag: str) -> Path:
    root = Path(os.environ.get("SHRIVENQUANT_BENCH_DIR", tempfile.gettempdir()))
    root.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(prefix=f"walcase-{tag}-", dir=root))
    atexit.register(shutil.rmtree, d, True)
    return d


def _events(n: int) -> Any:
    import numpy as np

    from shrivenquant.core.events import EVENT_DTYPE

    raw = np.random.default_rng(1).integers(0, 2**63, size=n * 8, dtype=np.int64)
    return raw.view(np.uint8).view(EVENT_DTYPE)


def _writer(tag: str) -> Any:
    from shrivenquant.wal import WalWriter

    w = WalWriter(_tmp(tag), sync="none")
    atexit.register(w.close)
    return w


def _plain_file(tag: str) -> Any:
    f = open(_tmp(tag) / "log.bin", "wb")  # noqa: SIM115 - closed at exit, kept open across the timing
    atexit.register(f.close)
    return f


def _plain_loop(f: Any) -> Any:
    """The user's alternative: per record, a CRC-32 and a length/CRC header written with ``file.write``."""
    write, crc, pack = f.write, zlib.crc32, struct.Struct("<II").pack

    def run(records: list[bytes]) -> None:
        for r in records:
            write(pack(len(r), crc(r)))
            write(r)

    return run


def _events_target() -> dict[str, Any]:
    return {"w": _writer("ev"), "ev": _events(BATCH)}


def _events_plain() -> dict[str, Any]:
    raw = _events(BATCH).tobytes()
    return {"run": _plain_loop(_plain_file("evplain")), "recs": [raw[i: i + 64] for i in range(0, len(raw), 64)]}


def _single_target() -> dict[str, Any]:
    return {"w": _writer("one"), "rec": _events(1).tobytes()}


def _single_plain() -> dict[str, Any]:
    f = _plain_file("oneplain")
    return {"write": f.write, "crc": zlib.crc32, "pack": struct.Struct("<II").pack, "rec": _events(1).tobytes()}


def _buffer_target() -> dict[str, Any]:
    import numpy as np

    buf = np.random.default_rng(2).integers(0, 255, BUF_RECORDS * 1024, dtype=np.uint8).tobytes()
    return {"w": _writer("buf"), "buf": buf, "lengths": np.full(BUF_RECORDS, 1024, dtype=np.int64)}


def _buffer_raw() -> dict[str, Any]:
    import numpy as np

    fd = os.open(_tmp("bufraw") / "raw.bin", os.O_WRONLY | os.O_CREAT, 0o644)
    atexit.register(os.close, fd)
    buf = np.random.default_rng(2).integers(0, 255, BUF_RECORDS * 1024, dtype=np.uint8).tobytes()
    return {"write": os.write, "fd": fd, "buf": buf}


def wal_cases() -> list[Case]:
    """WAL cases: batched event appends, single appends and 1 MiB buffers, all under policy ``none``."""
    return [
        Case(
            "wal.append_events.none",
            f"WAL append_events, policy none, 64 B event records, {BATCH} per call (goal >= 5 M records/s)",
            (
                Variant("WalWriter.append_events(4096 events)", "w.append_events(ev)", _events_target,
                        role="target"),
                Variant("file.write + zlib.crc32 per record", "run(recs)", _events_plain),
            ),
            ops_per_stmt=BATCH, budget_ns=200.0, unit="ns/record", loops=200, tags=("wal",),
        ),
        Case(
            "wal.append.none",
            "WAL append of one 64 B record per call, policy none",
            (
                Variant("WalWriter.append(64 B)", "w.append(rec)", _single_target, role="target"),
                Variant("file.write + zlib.crc32, one record",
                        "write(pack(64, crc(rec))); write(rec)", _single_plain),
            ),
            unit="ns/record", loops=100_000, tags=("wal",),
        ),
        Case(
            "wal.append_buffer.none",
            f"WAL append_buffer, policy none, 1 KiB records, {BUF_RECORDS} per call (1 MiB), payload per record",
            (
                Variant("WalWriter.append_buffer(1 MiB, 1 KiB records)", "w.append_buffer(buf, lengths)",
                        _buffer_target, role="target"),
                Variant("raw os.write of the same 1 MiB", "write(fd, buf)", _buffer_raw),
            ),
            ops_per_stmt=BUF_RECORDS, unit="ns/record", loops=40, tags=("wal",),
        ),
    ]
