"""pytest-benchmark glue: every bench is one variant of a case in ``shrivenquant.bench.cases``.

After the run, a table gives each target's per-operation median beside its same-run baselines, with
ratios (the figures ``docs/benchmarks.md`` records). ``--bench-quick`` shortens every loop.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--bench-quick", action="store_true", help="short loops (smoke run)")


def _per_op(bench: Any) -> float | None:
    info = bench.extra_info
    if info.get("kind") == "import":
        return info.get("import_ms")
    stats = bench.stats
    return stats.median * 1e9 / info["ops"] if stats is not None else None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, list[Any]] = {}
    for bench in session.benchmarks:
        groups.setdefault(bench.group or bench.name, []).append(bench)
    tr = terminalreporter
    tr.write_sep("=", "shrivenquant: targets vs same-run baselines (median per op)")
    for group, benches in groups.items():
        unit = benches[0].extra_info.get("unit", "ns/op")
        baselines = [(b.extra_info["label"], _per_op(b)) for b in benches if b.extra_info["role"] == "baseline"]
        for b in benches:
            if b.extra_info["role"] != "target":
                continue
            value = _per_op(b)
            ratios = ", ".join(f"{value / v:.2f}x {label}" for label, v in baselines if v)
            tr.write_line(f"{group:16s} {value:10.1f} {unit:8s} {b.extra_info['label']}  |  {ratios}")
