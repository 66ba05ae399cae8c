"""Quick same-run sanity figures for the WAL against raw-I/O baselines (not part of the benchmark suite:
the ``wal`` cases in ``shrivenquant.bench`` are the reference). Run::

    python -m shrivenquant.wal._perfcheck [DIRECTORY]

Each figure is the median of interleaved runs (ABBA order, ``os.sync()`` untimed before each run).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.wal.writer import WalWriter

MB = 1 << 20


def _fresh(base: str) -> str:
    return tempfile.mkdtemp(dir=base)


def _none_wal(base: str, ev: np.ndarray, batch: int) -> float:
    d = _fresh(base)
    w = WalWriter(d, sync="none")
    t = time.perf_counter()
    for i in range(0, len(ev), batch):
        w.append_events(ev[i: i + batch])
    w.flush()
    dt = time.perf_counter() - t
    w.close()
    shutil.rmtree(d)
    return dt


def _none_raw(base: str, ev: np.ndarray, batch: int) -> float:
    d = _fresh(base)
    fd = os.open(os.path.join(d, "raw"), os.O_WRONLY | os.O_CREAT)
    t = time.perf_counter()
    for i in range(0, len(ev), batch):
        os.write(fd, ev[i: i + batch])
    dt = time.perf_counter() - t
    os.close(fd)
    shutil.rmtree(d)
    return dt


def _always_wal(base: str, n: int, prealloc: bool) -> float:
    ev = np.zeros(MB // 64, dtype=EVENT_DTYPE)
    d = _fresh(base)
    w = WalWriter(d, sync="always", preallocate=prealloc)
    t = time.perf_counter()
    for _ in range(n):
        w.append_events(ev)
    dt = time.perf_counter() - t
    w.close()
    shutil.rmtree(d)
    return dt


def _always_raw(base: str, n: int) -> float:
    buf = bytes(MB)
    d = _fresh(base)
    fd = os.open(os.path.join(d, "raw"), os.O_WRONLY | os.O_CREAT)
    t = time.perf_counter()
    for _ in range(n):
        os.write(fd, buf)
        os.fdatasync(fd)
    dt = time.perf_counter() - t
    os.close(fd)
    shutil.rmtree(d)
    return dt


def _open_time(base: str, ev: np.ndarray, reps: int) -> None:
    """Opening a writer re-reads (and checks) every live segment: time it beside a plain read of the same
    files (both from the page cache)."""
    d = _fresh(base)
    with WalWriter(d, sync="none") as w:
        for _ in range(2):
            for i in range(0, len(ev), 10_000):
                w.append_events(ev[i: i + 10_000])
    files = [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".wal")]
    size = sum(os.path.getsize(f) for f in files)
    buf = bytearray(4 << 20)
    t_open, t_read = [], []
    for _ in range(reps * 2):
        t = time.perf_counter()
        for f in files:
            fd = os.open(f, os.O_RDONLY)
            while os.readv(fd, [buf]):
                pass
            os.close(fd)
        t_read.append(time.perf_counter() - t)
        t = time.perf_counter()
        WalWriter(d, sync="none").close()
        t_open.append(time.perf_counter() - t)
    to, tr = statistics.median(t_open), statistics.median(t_read)
    print(f"open (recovery) of {len(files)} segments, {size / MB:.0f} MiB: {to * 1e3:.0f} ms = "
          f"{size / to / 1e9:.2f} GB/s; plain read of the same files {size / tr / 1e9:.2f} GB/s")
    shutil.rmtree(d)


def _always_interleaved(base: str, n: int) -> None:
    """1 MiB group commits under ``always`` and raw 1 MiB write + fdatasync, alternated commit by commit
    (so both see the same host state; the WAL rotates its 64 MiB segments on the way)."""
    ev = np.zeros(MB // 64, dtype=EVENT_DTYPE)
    buf = bytes(MB)
    d = _fresh(base)
    fd = os.open(os.path.join(d, "raw"), os.O_WRONLY | os.O_CREAT)
    w = WalWriter(os.path.join(d, "wal"), sync="always")
    t_raw = t_wal = 0.0
    for k in range(n):
        for which in ("raw", "wal") if k % 2 == 0 else ("wal", "raw"):
            t = time.perf_counter()
            if which == "raw":
                os.write(fd, buf)
                os.fdatasync(fd)
                t_raw += time.perf_counter() - t
            else:
                w.append_events(ev)
                t_wal += time.perf_counter() - t
    w.close()
    os.close(fd)
    shutil.rmtree(d)
    print(f"always, 1 MiB group commits interleaved one by one with raw ({n} each): {n * MB / t_wal / 1e9:.3f} GB/s;"
          f" raw write + fdatasync {n * MB / t_raw / 1e9:.3f} GB/s; ratio {t_raw / t_wal:.2f}")


def _pct(a: list[float], q: float) -> float:
    s = sorted(a)
    return s[min(len(s) - 1, int(q * len(s)))] * 1e6


def main(base: str, reps: int = 3) -> None:
    print(f"load before: {os.getloadavg()}")
    n_rec = 2_000_000
    ev = np.zeros(n_rec, dtype=EVENT_DTYPE)
    ev["seq"] = np.arange(n_rec)
    for batch in (1000, 10_000):
        w_, r_ = [], []
        for k in range(reps * 2):
            for which in ("raw", "wal") if k % 2 == 0 else ("wal", "raw"):
                os.sync()
                if which == "raw":
                    r_.append(_none_raw(base, ev, batch))
                else:
                    w_.append(_none_wal(base, ev, batch))
        wm, rm = statistics.median(w_), statistics.median(r_)
        print(f"none, append_events batch={batch}: {n_rec / wm / 1e6:.2f} M rec/s = {n_rec * 64 / wm / 1e9:.3f} GB/s;"
              f" raw os.write of the same batches {n_rec * 64 / rm / 1e9:.3f} GB/s; ratio {rm / wm:.2f}")
    _open_time(base, ev, reps)
    n = 64
    res: dict[str, list[float]] = {"raw": [], "pre": [], "app": []}
    for k in range(reps):
        order: list[tuple[str, Callable[[], float]]] = [
            ("raw", lambda: _always_raw(base, n)), ("pre", lambda: _always_wal(base, n, True)),
            ("app", lambda: _always_wal(base, n, False))]
        for key, fn in order if k % 2 == 0 else order[::-1]:
            os.sync()
            res[key].append(fn())
    rm = statistics.median(res["raw"])
    for key, label in (("app", "append-mode"), ("pre", "preallocated")):
        m = statistics.median(res[key])
        print(f"always, 1 MiB group commits ({label} 64 MiB segments): {n * MB / m / 1e9:.3f} GB/s; raw write + "
              f"fdatasync of 1 MiB {n * MB / rm / 1e9:.3f} GB/s; ratio {rm / m:.2f}")
    _always_interleaved(base, 128)
    d = _fresh(base)
    fd = os.open(os.path.join(d, "raw"), os.O_WRONLY | os.O_CREAT)
    p = b"x" * 100
    writers = {pre: WalWriter(os.path.join(d, f"w{int(pre)}"), sync="always", preallocate=pre) for pre in (False, True)}
    lat: dict[str, list[float]] = {"raw": [], "False": [], "True": []}
    for _ in range(300):  # interleaved one by one, so that all three see the same host conditions
        t = time.perf_counter()
        os.write(fd, p)
        os.fdatasync(fd)
        lat["raw"].append(time.perf_counter() - t)
        for pre, w in writers.items():
            t = time.perf_counter()
            w.append(p)
            lat[str(pre)].append(time.perf_counter() - t)
    os.close(fd)
    for w in writers.values():
        w.close()
    lr = lat["raw"]
    for pre in ("False", "True"):
        lw = lat[pre]
        print(f"always, 100 B append ack latency (preallocate={pre}): p50 {_pct(lw, .5):.0f} us, "
              f"p99 {_pct(lw, .99):.0f} us; raw write + fdatasync (interleaved) p50 {_pct(lr, .5):.0f} us, "
              f"p99 {_pct(lr, .99):.0f} us")
    shutil.rmtree(d)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.gettempdir())
