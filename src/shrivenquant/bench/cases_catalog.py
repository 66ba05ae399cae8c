"""Benchmark cases of the data catalog (write and chunked read of event records) beside same-run
baselines, and the sweep's parallel speed-up.

Baselines, on the same 250,000 synthetic records (16 MB as EVENT_DTYPE):

* ``np.save`` / ``np.load`` of the record array: the floor (raw bytes, no columns, no compression).
* raw pyarrow: ``events_to_table`` + ``pq.write_table`` with pyarrow's defaults (snappy, dictionary
  everywhere), ``ParquetFile.read`` + ``table_to_events``: Parquet without the catalog layer
  (partitioning, instrument table, row-group buffering, encodings chosen per column, filters, chunks).
* CSV through ``np.savetxt`` / ``np.loadtxt``: what a user without a catalog would write first.

The harness times CPU time of the calling thread (system time of the write/read calls included). Every
variant keeps its work in that thread: reads use ``use_threads=False`` and ``pre_buffer=False``
(``pq.read_table`` would decode on pyarrow's I/O threads, invisible to a thread clock).
Throughput: MB/s = 64 / (ns per record) * 1000.

The sweep speed-up needs wall time across processes, which the harness does not measure; run
``python -m shrivenquant.bench.cases_catalog`` for it (:func:`sweep_speedup`).
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from shrivenquant.bench.harness import Case, Variant
from shrivenquant.core.events import EVENT_DTYPE

__all__ = ["N_EVENTS", "catalog_cases", "sweep_speedup", "synthetic_events"]

N_EVENTS = 250_000
T0 = 1_723_075_200_000_000_000  # 2024-08-08T00:00:00Z
_DAY = 86_400_000_000_000


def synthetic_events(n: int = N_EVENTS, seed: int = 1, days: int = 2) -> np.ndarray:
    """``n`` L2-like records (level updates and trades) over ``days`` UTC days, ts_local sorted."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["ts_local"] = T0 + np.sort(rng.integers(0, days * _DAY, n))
    ev["ts_event"] = ev["ts_local"] - rng.integers(100_000, 5_000_000, n)
    ev["price"] = 6_000_000 + np.cumsum(rng.integers(-3, 4, n))
    ev["qty"] = rng.integers(0, 50_000, n)
    ev["seq"] = np.arange(n, dtype=np.uint64) + 4_000_000_000
    ev["aux"] = ev["seq"].astype(np.int64) - 3
    trade = rng.random(n) < 0.1
    ev["kind"] = np.where(trade, 7, 1)
    ev["side"] = rng.integers(1, 3, n)
    ev["flags"] = np.where(trade, 1, 8)
    return ev


def _instrument() -> Any:
    from shrivenquant.catalog import CatalogInstrument

    return CatalogInstrument(venue="BINANCE_USDM", symbol="SYNTHUSDT", price_precision=2, size_precision=3)


#: scratch directories of the write cases, removed when the process exits
_WRITE_DIRS: list[tempfile.TemporaryDirectory[str]] = []


@functools.cache
def _files() -> dict[str, Any]:
    """The data written once in every format, for the read cases (kept for the process's life)."""
    import pyarrow.parquet as pq

    from shrivenquant.catalog import Catalog, events_to_table

    tmp = tempfile.TemporaryDirectory(prefix="sq-bench-catalog-")
    root = Path(tmp.name)
    ev = synthetic_events()
    Catalog(root / "cat").write(ev, [_instrument()])
    np.save(root / "ev.npy", ev)
    pq.write_table(events_to_table(ev), root / "raw.parquet")
    np.savetxt(root / "ev.csv", _columns(ev), fmt="%d", delimiter=",")
    return {"tmp": tmp, "root": root, "ev": ev}


def _columns(ev: np.ndarray) -> np.ndarray:
    return np.stack([ev[name].astype(np.int64) for name in EVENT_DTYPE.names], axis=1)


def _from_columns(m: np.ndarray) -> np.ndarray:
    out = np.empty(m.shape[0], dtype=EVENT_DTYPE)
    for i, name in enumerate(EVENT_DTYPE.names):
        out[name] = m[:, i]
    return out


def _write_env() -> dict[str, Any]:
    import pyarrow.parquet as pq

    from shrivenquant.catalog import Catalog, events_to_table

    tmp = tempfile.TemporaryDirectory(prefix="sq-bench-catalog-w-")
    _WRITE_DIRS.append(tmp)  # the loop may keep only the names its statement uses: hold the directory here
    root = Path(tmp.name)
    return {"tmp": tmp, "cat": Catalog(root / "cat"), "ev": synthetic_events(), "insts": [_instrument()],
            "np": np, "pq": pq, "events_to_table": events_to_table, "npy": str(root / "ev.npy"),
            "pqf": str(root / "raw.parquet"), "csv": str(root / "ev.csv"), "columns": _columns}


def _read_env() -> dict[str, Any]:
    import pyarrow.parquet as pq

    from shrivenquant.catalog import Catalog, table_to_events

    f = _files()
    root = f["root"]
    cat = Catalog(root / "cat", create=False)
    assert cat.read().tobytes() == f["ev"].tobytes()  # every variant reads back the same records
    return {"cat": cat, "np": np, "pq": pq, "table_to_events": table_to_events, "npy": str(root / "ev.npy"),
            "pqf": str(root / "raw.parquet"), "csv": str(root / "ev.csv"), "from_columns": _from_columns,
            "drain": _drain}


def _drain(chunks: Any) -> int:
    n = 0
    for c in chunks:
        n += c.shape[0]
    return n


def catalog_cases() -> list[Case]:
    """Catalog write and chunked-read throughput beside np.save/np.load, raw pyarrow and CSV."""
    write = Case(
        "catalog_write", f"catalog: write {N_EVENTS:,} event records (2 days, zstd Parquet)",
        (
            Variant("Catalog.write (partitioned, zstd, instrument table)", "cat.write(ev, insts)", _write_env,
                    role="target", requires="pyarrow"),
            Variant("np.save (raw record bytes)", "np.save(npy, ev)", _write_env),
            Variant("raw pyarrow: events_to_table + pq.write_table (defaults)",
                    "pq.write_table(events_to_table(ev), pqf)", _write_env, requires="pyarrow"),
            Variant("CSV: np.savetxt", "np.savetxt(csv, columns(ev), fmt='%d', delimiter=',')", _write_env),
        ),
        ops_per_stmt=N_EVENTS, loops=1, unit="ns/event", tags=("catalog",),
    )
    read = Case(
        "catalog_read", f"catalog: read {N_EVENTS:,} event records back as EVENT_DTYPE",
        (
            Variant("Catalog.read_chunks (64k-record chunks, streaming)", "drain(cat.read_chunks())", _read_env,
                    role="target", requires="pyarrow"),
            Variant("Catalog.read (one array)", "cat.read()", _read_env, role="target", requires="pyarrow"),
            Variant("np.load (raw record bytes)", "np.load(npy)", _read_env),
            Variant("raw pyarrow: ParquetFile.read + table_to_events",
                    "table_to_events(pq.ParquetFile(pqf, pre_buffer=False).read(use_threads=False))",
                    _read_env, requires="pyarrow"),
            Variant("CSV: np.loadtxt", "from_columns(np.loadtxt(csv, delimiter=',', dtype=np.int64))", _read_env),
        ),
        ops_per_stmt=N_EVENTS, loops=1, unit="ns/event", tags=("catalog",),
    )
    return [write, read]


# ----------------------------------------------------------------------------------------------- sweep
def _sweep_work(config: dict[str, Any], data: np.ndarray) -> dict[str, Any]:
    """A CPU-bound stand-in strategy: a moving-average crossover over the trade prices, repeated."""
    px = np.asarray(data["price"], dtype=np.float64)
    fast, slow = int(config["fast"]), int(config["slow"])
    pnl = 0.0
    for _ in range(int(config.get("repeat", 20))):
        c = np.concatenate(([0.0], np.cumsum(px)))
        ma_f = (c[slow:] - c[slow - fast:-fast]) / fast
        ma_s = (c[slow:] - c[:-slow]) / slow
        pos = np.sign(ma_f - ma_s)[:-1]
        pnl = float((pos * np.diff(px[slow - 1:])).sum())
    return {"pnl": pnl}


def sweep_speedup(n_configs: int = 8, n_events: int = 1_000_000, workers: int | None = None) -> dict[str, Any]:
    """Wall seconds of one sweep run serially and on the process pool (same results checked)."""
    from shrivenquant.sweep import sweep

    ev = synthetic_events(n_events)
    grid = {"fast": [2, 5, 10, 20][: max(1, n_configs // 2)], "slow": [50, 100]}
    workers = workers or os.cpu_count() or 1
    import resource

    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    t, c = time.perf_counter(), cpu()
    serial = sweep(_sweep_work, grid, ev, executor="serial")
    t_serial, c_serial = time.perf_counter() - t, cpu() - c
    t, c = time.perf_counter(), cpu()
    pool = sweep(_sweep_work, grid, ev, executor="process", max_workers=workers)
    t_pool, c_pool = time.perf_counter() - t, cpu() - c
    if serial.columns != pool.columns:
        raise AssertionError("serial and pool sweeps differ")
    n = len(serial)
    # warm=True runs one configuration here first, the rest share the workers
    ideal = n / (1 + -(-(n - 1) // workers))
    return {"configs": n, "events": n_events, "workers": workers, "serial_s": round(t_serial, 3),
            "process_s": round(t_pool, 3), "speedup": round(t_serial / t_pool, 2),
            "ideal_speedup_idle_cores": round(ideal, 2), "serial_cpu_s": round(c_serial, 3),
            "process_cpu_s": round(c_pool, 3), "cpu_overhead": round(c_pool / c_serial, 3),
            "loadavg_before": load, "loadavg_after": os.getloadavg() if hasattr(os, "getloadavg") else None}


if __name__ == "__main__":  # pragma: no cover - a manual measurement
    print(sweep_speedup())
