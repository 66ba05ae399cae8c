"""Smoke run of the WAL I/O benchmark runner (``python -m shrivenquant.bench.wal_io``) on tiny totals: every
figure kind runs, reports its target beside its same-run baselines, and the report formats. No timing is
asserted (figures on a few MiB are noise)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from shrivenquant.bench import wal_io


@pytest.fixture(autouse=True)
def _bench_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHRIVENQUANT_BENCH_DIR", str(tmp_path))


def _check(f: wal_io.Figure) -> None:
    assert f.target > 0 and f.baselines and all(v > 0 for v in f.baselines.values())
    assert f.met in (True, False, None)


def test_every_figure_kind_runs_on_tiny_totals() -> None:
    figs = [wal_io.records_none(20_000, 4096, 1),
            wal_io.bandwidth_none(4 << 20, 1024, 1 << 20, 1),
            wal_io.bandwidth_none_interleaved(4 << 20, 1024, 1 << 20, block=2),
            wal_io.durable_1mib(2 << 20, 1024, 1),
            wal_io.durable_1mib_interleaved(2 << 20, 1024, block=1),
            wal_io.ack_latency(20, 100),
            wal_io.vs_sqlite(4000, 64, 1000, 1)]
    for f in figs:
        _check(f)
    bw = figs[1]
    assert set(bw.baselines) == {"raw os.write, same bytes",
                                 "raw os.write into a reserved file (fallocate KEEP_SIZE; not the goal's baseline)"}
    assert bw.extra["bytes"] == 4 << 20 and bw.extra["ratio"] == pytest.approx(bw.target / bw.baselines[
        "raw os.write, same bytes"])
    report = {"machine": {"python": "3", "cpus": 2, "loadavg_before": (0, 0, 0), "loadavg_after": (0, 0, 0),
                          "fsync_p50_us_before": 1.0, "fsync_p50_us_after": 1.0, "seconds": 0.1, "bench_dir": "d",
                          "bench_fs": "ext4"},
              "quick": True, "figures": [asdict(f) for f in figs]}
    text = wal_io.format_report(report)
    assert text.count("goal ") == len(figs) and "WalWriter.append_buffer" in text
