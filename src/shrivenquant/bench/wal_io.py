"""Write-ahead-log I/O figures the per-op loop harness cannot express (wall-clock bandwidth, fsync-bound
throughput, latency percentiles), each beside its baseline measured in the same run.

Every figure names the sync policy, the record size and the batch (group-commit) size. Temporary files go to
``$SHRIVENQUANT_BENCH_DIR`` or the system temporary directory and are removed afterwards; the report names
the file system (tmpfs would flatter every sync: point the variable at the disk under test). Variants of one
figure run interleaved, a round each, and the median over rounds is reported, so drifting load hits target
and baseline alike.

Run: ``python -m shrivenquant.bench.wal_io [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Figure", "bench_root", "format_report", "fs_type", "main", "run_all"]


@dataclass
class Figure:
    """One measured figure: the target beside its same-run baseline(s)."""

    name: str
    policy: str
    record_bytes: int
    batch: str
    unit: str
    target_label: str
    target: float
    baselines: dict[str, float]
    goal: str
    met: bool | None
    extra: dict[str, Any] = field(default_factory=dict)


def bench_root() -> Path:
    """Where benchmark files go: ``$SHRIVENQUANT_BENCH_DIR``, else the system temporary directory."""
    root = Path(os.environ.get("SHRIVENQUANT_BENCH_DIR", tempfile.gettempdir()))
    root.mkdir(parents=True, exist_ok=True)
    return root


def fs_type(path: Path) -> str:
    """File-system type and device of the mount holding ``path`` (from /proc/mounts; "?" if unknown)."""
    try:
        mounts = [ln.split() for ln in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "?"
    p = str(path.resolve())
    best = max((m for m in mounts if len(m) > 2 and (p == m[1] or p.startswith(m[1].rstrip("/") + "/"))),
               key=lambda m: len(m[1]), default=None)
    return f"{best[2]} ({best[0]} on {best[1]})" if best else "?"


@contextmanager
def _tmpdir(tag: str) -> Any:
    d = Path(tempfile.mkdtemp(prefix=f"walbench-{tag}-", dir=bench_root()))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _events(n: int, seed: int = 1) -> np.ndarray:
    from shrivenquant.core.events import EVENT_DTYPE

    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 2**63, size=n * 8, dtype=np.int64).view(np.uint8)
    return raw.view(EVENT_DTYPE)


def _median_rounds(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each variant once per round, interleaved; returns every sample (the variant returns its figure).

    Before each variant, untimed: ``os.sync()``, so that neither side pays for the other's leftovers (the
    write-back of its dirty pages, or on a file system mounted with ``discard`` the trim of the blocks freed
    when the previous variant's files were deleted, which otherwise stalls the next run's block allocation)."""
    out: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for k, fn in variants.items():
            os.sync()
            gc.collect()
            gc.disable()
            try:
                out[k].append(fn())
            finally:
                gc.enable()
    return out


def _paired(samples: dict[str, list[float]], target: str, base: str) -> float:
    """Median over rounds of target/baseline measured in the same round (robust to drifting load)."""
    return statistics.median(t / b for t, b in zip(samples[target], samples[base], strict=True))


# ---------------------------------------------------------------- 1. batched 64-byte appends, policy none


def records_none(total: int, batch: int, rounds: int) -> Figure:
    """64-byte event records appended as arrays of ``batch`` (policy none, no fsync) vs a plain
    ``file.write`` + ``zlib.crc32`` loop per record. Records/s of wall time until every byte has been handed to
    the kernel (``flush()`` / the file's ``flush``), no sync on either side."""
    from shrivenquant.wal import WalWriter

    ev = _events(batch)
    raw = ev.tobytes()
    recs = [raw[i: i + 64] for i in range(0, len(raw), 64)]
    nb = max(1, total // batch)
    hdr = struct.Struct("<II")

    def wal() -> float:
        with _tmpdir("none") as d:
            w = WalWriter(d, sync="none")
            t0 = time.perf_counter()
            for _ in range(nb):
                w.append_events(ev)
            w.flush()  # everything written to the file (no sync: policy none); close() would commit
            dt = time.perf_counter() - t0
            w.close()
            return nb * batch / dt

    def plain() -> float:
        with _tmpdir("plain") as d:
            with open(d / "log.bin", "wb") as f:
                write, crc, pack = f.write, zlib.crc32, hdr.pack
                t0 = time.perf_counter()
                for _ in range(nb):
                    for r in recs:
                        write(pack(64, crc(r)))
                        write(r)
                f.flush()
                dt = time.perf_counter() - t0
            return nb * batch / dt

    s = _median_rounds({"wal": wal, "plain": plain}, rounds)
    t, b = statistics.median(s["wal"]), statistics.median(s["plain"])
    return Figure("batched 64 B appends", "none", 64, f"{batch} records per append_events", "records/s",
                  "WalWriter.append_events", t, {"file.write + zlib.crc32 per record": b},
                  ">= 5 M records/s", t >= 5e6,
                  {"records": nb * batch, "paired_ratio": _paired(s, "wal", "plain"), "samples": s})


# ---------------------------------------------------------------- 2. payload bandwidth, policy none


def bandwidth_none(total_bytes: int, record: int, batch_bytes: int, rounds: int, *,
                   background: bool | None = None) -> Figure:
    """Payload MB/s through ``append_buffer`` (``record``-byte records, ``batch_bytes`` per call, policy none)
    vs raw sequential ``os.write`` of the same bytes in ``batch_bytes`` writes; the clock stops once every
    byte is in the kernel (``flush()``), no sync on either side. ``background``: the writer's option."""
    from shrivenquant._native.wal import reserve_space
    from shrivenquant.wal import WalWriter

    per = batch_bytes // record
    buf = np.random.default_rng(2).integers(0, 255, per * record, dtype=np.uint8).tobytes()
    lengths = np.full(per, record, dtype=np.int64)
    nb = max(1, total_bytes // len(buf))

    def wal() -> float:
        with _tmpdir("bw") as d:
            w = WalWriter(d, sync="none", background=background)
            t0 = time.perf_counter()
            for _ in range(nb):
                w.append_buffer(buf, lengths)
            w.flush()
            dt = time.perf_counter() - t0
            w.close()
            return nb * len(buf) / dt / 1e6

    def raw(reserve: bool = False) -> float:
        with _tmpdir("raw") as d:
            fd = os.open(d / "raw.bin", os.O_WRONLY | os.O_CREAT, 0o644)
            t0 = time.perf_counter()
            if reserve:  # what the WAL does per segment under none, here once for the whole file
                reserve_space(fd, 0, nb * len(buf))
            for _ in range(nb):
                os.write(fd, buf)
            dt = time.perf_counter() - t0
            os.close(fd)
            return nb * len(buf) / dt / 1e6

    s = _median_rounds({"wal": wal, "raw": raw, "raw_reserved": lambda: raw(True)}, rounds)
    t, b = statistics.median(s["wal"]), statistics.median(s["raw"])
    return Figure("payload bandwidth", "none", record, f"{batch_bytes >> 10} KiB per append_buffer", "MB/s",
                  "WalWriter.append_buffer" + (" (background writer)" if background else ""), t,
                  {"raw os.write, same bytes": b,
                   "raw os.write into a reserved file (fallocate KEEP_SIZE; not the goal's baseline)":
                       statistics.median(s["raw_reserved"])}, ">= 80 % of raw write",
                  t >= 0.8 * b, {"bytes": nb * len(buf), "ratio": t / b, "paired_ratio": _paired(s, "wal", "raw"),
                                 "samples": s})


def _alternated_blocks(tag: str, sync: str, nb: int, block_bytes: int, *, wal_block: Callable[[Any], None],
                       raw_block: Callable[[int], None], background: bool | None = None
                       ) -> tuple[float, float, dict[str, Any]]:
    """Time ``nb`` pairs of blocks in one process, a WAL block (``wal_block(writer)``) then a raw block
    (``raw_block(fd)`` on an O_APPEND file), with the collector paused, so that both sides meet the same load
    at the same moment. Returns (WAL MB/s, raw MB/s, extras: ratio, median block ratio, samples) for blocks
    of ``block_bytes`` payload bytes."""
    from shrivenquant.wal import WalWriter

    t_w: list[float] = []
    t_r: list[float] = []
    with _tmpdir(tag) as d:
        w = WalWriter(d / "wal", sync=sync, background=background)
        fd = os.open(d / "raw.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.sync()
        pc = time.perf_counter
        gc.disable()
        try:
            for _ in range(nb):
                t0 = pc()
                wal_block(w)
                t1 = pc()
                raw_block(fd)
                t2 = pc()
                t_w.append(t1 - t0)
                t_r.append(t2 - t1)
        finally:
            gc.enable()
            w.close()
            os.close(fd)
    mb = block_bytes / 1e6
    t, b = nb * mb / sum(t_w), nb * mb / sum(t_r)
    ratios = [r / x for x, r in zip(t_w, t_r, strict=True)]
    return t, b, {"bytes": nb * block_bytes, "ratio": t / b, "median_block_ratio": statistics.median(ratios),
                  "samples": {"wal": [mb / x for x in t_w], "raw": [mb / x for x in t_r]}}


def bandwidth_none_interleaved(total_bytes: int, record: int, batch_bytes: int, block: int = 8, *,
                               background: bool | None = None) -> Figure:
    """The figure of :func:`bandwidth_none` with the WAL's ``append_buffer`` calls and the raw ``os.write``
    calls alternated in blocks of ``block`` batches in one process (WAL block then ``flush()``, raw block, ...),
    so that both sides meet the same page-cache and host-memory conditions at the same moment (this VM's raw
    write bandwidth swings several-fold between rounds); the WAL's segment rotations are included. Reports
    the payload MB/s of each side over the whole run and the median ratio of the block pairs."""
    per = batch_bytes // record
    buf = np.random.default_rng(2).integers(0, 255, per * record, dtype=np.uint8).tobytes()
    lengths = np.full(per, record, dtype=np.int64)

    def wal_block(w: Any) -> None:
        for _ in range(block):
            w.append_buffer(buf, lengths)
        w.flush()

    def raw_block(fd: int) -> None:
        for _ in range(block):
            os.write(fd, buf)

    nb = max(2, total_bytes // len(buf)) // block
    t, b, extra = _alternated_blocks("bw-il", "none", nb, block * len(buf), wal_block=wal_block,
                                     raw_block=raw_block, background=background)
    return Figure("payload bandwidth, alternated in blocks", "none", record,
                  f"{batch_bytes >> 10} KiB per append_buffer, blocks of {block} calls", "MB/s",
                  "WalWriter.append_buffer" + (" (background writer)" if background else ""), t,
                  {"raw os.write, same bytes": b}, ">= 80 % of raw write", t >= 0.8 * b, extra)


# ---------------------------------------------------------------- 3. policy always, 1 MiB group commits


def durable_1mib(total_bytes: int, record: int, rounds: int, *, preallocate: bool = False) -> Figure:
    """Payload MB/s under policy ``always`` with 1 MiB group commits (one ``append_buffer`` of 1 MiB of
    ``record``-byte records per call; the call returns once durable) vs raw ``write`` + ``fdatasync`` of 1 MiB
    batches appended to a file."""
    from shrivenquant.wal import WalWriter

    batch = 1 << 20
    per = batch // record
    buf = np.random.default_rng(3).integers(0, 255, per * record, dtype=np.uint8).tobytes()
    lengths = np.full(per, record, dtype=np.int64)
    nb = max(2, total_bytes // len(buf))

    def wal() -> float:
        with _tmpdir("always") as d:
            w = WalWriter(d, sync="always", preallocate=preallocate)
            t0 = time.perf_counter()
            for _ in range(nb):
                w.append_buffer(buf, lengths)
            dt = time.perf_counter() - t0
            w.close()
            return nb * len(buf) / dt / 1e6

    def raw() -> float:
        with _tmpdir("rawsync") as d:
            fd = os.open(d / "raw.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            t0 = time.perf_counter()
            for _ in range(nb):
                os.write(fd, buf)
                os.fdatasync(fd)
            dt = time.perf_counter() - t0
            os.close(fd)
            return nb * len(buf) / dt / 1e6

    s = _median_rounds({"wal": wal, "raw": raw}, rounds)
    t, b = statistics.median(s["wal"]), statistics.median(s["raw"])
    return Figure("durable bandwidth, 1 MiB group commits" + (", pre-zeroed segments" if preallocate else ""),
                  "always", record, "1 MiB per append_buffer",
                  "MB/s", "WalWriter.append_buffer (returns when durable)", t,
                  {"raw write + fdatasync per 1 MiB": b}, ">= 80 % of raw write+fdatasync", t >= 0.8 * b,
                  {"bytes": nb * len(buf), "ratio": t / b, "paired_ratio": _paired(s, "wal", "raw"), "samples": s})


def durable_1mib_interleaved(total_bytes: int, record: int, block: int = 8) -> Figure:
    """The figure of :func:`durable_1mib` with the WAL's and the raw loop's 1 MiB commits alternated in
    blocks of ``block`` commits in one process (WAL block, raw block, ...), so that both sides see the same
    load at the same moment; rotations of the WAL's segments are included. Reports the payload MB/s of each
    side over the whole run and the ratio of every block pair."""
    batch = 1 << 20
    per = batch // record
    buf = np.random.default_rng(3).integers(0, 255, per * record, dtype=np.uint8).tobytes()
    lengths = np.full(per, record, dtype=np.int64)

    def wal_block(w: Any) -> None:
        for _ in range(block):
            w.append_buffer(buf, lengths)

    def raw_block(fd: int) -> None:
        for _ in range(block):
            os.write(fd, buf)
            os.fdatasync(fd)

    nb = max(2, total_bytes // len(buf)) // block
    t, b, extra = _alternated_blocks("always-il", "always", nb, block * len(buf), wal_block=wal_block,
                                     raw_block=raw_block)
    return Figure("durable bandwidth, 1 MiB group commits, alternated in blocks", "always", record,
                  f"1 MiB per append_buffer, blocks of {block} commits", "MB/s",
                  "WalWriter.append_buffer (returns when durable)", t, {"raw write + fdatasync per 1 MiB": b},
                  ">= 80 % of raw write+fdatasync", t >= 0.8 * b, extra)


# ---------------------------------------------------------------- 4. ack latency, small appends


def _pct(xs: list[float], q: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, int(q * len(ys)))]


def ack_latency(n: int, record: int, *, preallocate: bool = False) -> Figure:
    """Latency of one ``append`` of a ``record``-byte payload under policy ``always`` (returns once durable),
    p50/p99 in µs, beside a raw 100 B ``write`` + ``fdatasync`` on an appended file, interleaved in blocks."""
    from shrivenquant.wal import WalWriter

    data = b"x" * record
    lat_w: list[float] = []
    lat_r: list[float] = []
    with _tmpdir("lat") as d:
        w = WalWriter(d, sync="always", preallocate=preallocate)
        fd = os.open(d / "raw.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        pc = time.perf_counter_ns
        block = 50
        for _ in range(max(1, n // block)):
            for _ in range(block):
                t0 = pc()
                w.append(data)
                lat_w.append((pc() - t0) / 1000.0)
            for _ in range(block):
                t0 = pc()
                os.write(fd, data)
                os.fdatasync(fd)
                lat_r.append((pc() - t0) / 1000.0)
        w.close()
        os.close(fd)
    t50, t99 = _pct(lat_w, 0.5), _pct(lat_w, 0.99)
    r50, r99 = _pct(lat_r, 0.5), _pct(lat_r, 0.99)
    name = "ack latency, single small appends" + (", pre-zeroed segments" if preallocate else "")
    return Figure(name, "always", record, "1 record per append (no concurrency)",
                  "µs (p50)", "WalWriter.append p50", t50, {"raw write + fdatasync p50": r50},
                  "reported beside raw fdatasync", None,
                  {"target_p99": t99, "raw_p99": r99, "n": len(lat_w), "ratio_p50": t50 / r50})


# ---------------------------------------------------------------- 5. SQLite WAL, same workload


def vs_sqlite(total: int, record: int, batch: int, rounds: int, *, preallocate: bool = False) -> Figure:
    """Durable records/s: the WAL (policy ``always``, one ``append_buffer`` of ``batch`` records per group
    commit) vs SQLite in WAL mode, ``synchronous=FULL``, one transaction of ``batch`` INSERTs per commit."""
    from shrivenquant.wal import WalWriter

    rng = np.random.default_rng(4)
    buf = rng.integers(0, 255, batch * record, dtype=np.uint8).tobytes()
    recs = [buf[i: i + record] for i in range(0, len(buf), record)]
    lengths = np.full(batch, record, dtype=np.int64)
    nb = max(2, total // batch)

    def wal() -> float:
        with _tmpdir("walsq") as d:
            w = WalWriter(d, sync="always", preallocate=preallocate)
            t0 = time.perf_counter()
            for _ in range(nb):
                w.append_buffer(buf, lengths)
            dt = time.perf_counter() - t0
            w.close()
            return nb * batch / dt

    def sqlite() -> float:
        with _tmpdir("sqlite") as d:
            db = sqlite3.connect(d / "log.db", isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE log (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)")
            seq = 0
            t0 = time.perf_counter()
            for _ in range(nb):
                db.execute("BEGIN")
                db.executemany("INSERT INTO log VALUES (?, ?)", [(seq + i, r) for i, r in enumerate(recs, 1)])
                db.execute("COMMIT")
                seq += batch
            dt = time.perf_counter() - t0
            db.close()
            return nb * batch / dt

    s = _median_rounds({"wal": wal, "sqlite": sqlite}, rounds)
    t, b = statistics.median(s["wal"]), statistics.median(s["sqlite"])
    name = "durable records vs SQLite" + (", pre-zeroed segments" if preallocate else "")
    return Figure(name, "always", record, f"{batch} records per commit", "records/s",
                  "WalWriter.append_buffer (durable per call)", t,
                  {"SQLite WAL, synchronous=FULL, txn per batch": b}, ">= 5x SQLite", t >= 5 * b,
                  {"records": nb * batch, "ratio": t / b, "paired_ratio": _paired(s, "wal", "sqlite"),
                   "samples": s})


# ---------------------------------------------------------------- report


def fsync_p50_us(n: int = 40) -> float:
    """Median µs of a 100 B append + fdatasync right now (the regime the run is in)."""
    with _tmpdir("probe") as d:
        fd = os.open(d / "p.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        xs = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            os.write(fd, b"y" * 100)
            os.fdatasync(fd)
            xs.append((time.perf_counter_ns() - t0) / 1000.0)
        os.close(fd)
    return statistics.median(xs)


def run_all(*, quick: bool = False) -> dict[str, Any]:
    """Every figure (quick: smaller totals and 3 rounds); returns a JSON-ready report."""
    rounds = 3 if quick else 5
    k = 4 if quick else 1
    info = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "loadavg_before": os.getloadavg(), "bench_dir": str(bench_root()),
            "bench_fs": fs_type(bench_root()),
            "fsync_p50_us_before": fsync_p50_us()}
    t0 = time.perf_counter()
    figs = [
        records_none(4_000_000 // k, 65536, rounds),
        records_none(2_000_000 // k, 4096, rounds),
        bandwidth_none((512 << 20) // k, 1024, 1 << 20, rounds),
        bandwidth_none((512 << 20) // k, 1024, 8 << 20, rounds),
        bandwidth_none_interleaved((512 << 20) // k, 1024, 1 << 20),
        bandwidth_none((512 << 20) // k, 1024, 1 << 20, rounds, background=True),
        bandwidth_none_interleaved((512 << 20) // k, 1024, 1 << 20, background=True),
        durable_1mib((256 << 20) // k, 1024, rounds),
        durable_1mib((256 << 20) // k, 1024, rounds, preallocate=True),
        durable_1mib_interleaved((256 << 20) // k, 1024),
        ack_latency(2000 // k, 100),
        ack_latency(2000 // k, 100, preallocate=True),
        vs_sqlite(400_000 // k, 64, 1000, rounds),
        vs_sqlite(400_000 // k, 64, 1000, rounds, preallocate=True),
        vs_sqlite(1_000_000 // k, 64, 10_000, rounds),
        vs_sqlite(100_000 // k, 1024, 1000, rounds),
    ]
    info["loadavg_after"] = os.getloadavg()
    info["fsync_p50_us_after"] = fsync_p50_us()
    info["seconds"] = round(time.perf_counter() - t0, 1)
    return {"machine": info, "quick": quick, "figures": [asdict(f) for f in figs]}


def format_report(report: dict[str, Any]) -> str:
    """Plain-text table of a :func:`run_all` report (samples omitted)."""
    m = report["machine"]
    lines = [f"shrivenquant WAL I/O bench (python {m['python']}, {m['cpus']} cpus, load {m['loadavg_before']} -> "
             f"{m['loadavg_after']}, fsync p50 {m['fsync_p50_us_before']:.0f} -> {m['fsync_p50_us_after']:.0f} µs, "
             f"{'quick' if report['quick'] else 'full'} run, {m['seconds']} s, dir {m['bench_dir']}: {m['bench_fs']})"]
    for f in report["figures"]:
        met = {True: "MET", False: "NOT MET", None: "-"}[f["met"]]
        lines.append("")
        lines.append(f"{f['name']}  [policy {f['policy']}, record {f['record_bytes']} B, batch {f['batch']}]")
        lines.append(f"* {f['target']:>14,.1f} {f['unit']}  {f['target_label']}")
        for k, v in f["baselines"].items():
            lines.append(f"  {v:>14,.1f} {f['unit']}  {k}")
        ex = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in f["extra"].items() if k != "samples"}
        lines.append(f"    goal {f['goal']}: {met}  {ex}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="WAL I/O figures beside same-run baselines")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default="")
    a = ap.parse_args(argv)
    report = run_all(quick=a.quick)
    print(format_report(report))
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
