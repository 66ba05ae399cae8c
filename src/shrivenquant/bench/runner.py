"""Run the benchmark cases and report each target beside its same-run baselines."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Iterable
from typing import Any

from shrivenquant.bench.cases import all_cases
from shrivenquant.bench.harness import Case, Measurement, measure_variant

__all__ = ["format_table", "run_cases", "select_cases"]


def select_cases(names: Iterable[str] | None = None) -> list[Case]:
    """The cases whose name contains any of ``names`` (all if none given)."""
    cases = all_cases()
    wanted = [n for n in (names or []) if n]
    if not wanted:
        return cases
    return [c for c in cases if any(w in c.name for w in wanted)]


def run_cases(cases: list[Case], *, quick: bool = False) -> dict[str, Any]:
    """Measure every variant of every case; returns a JSON-ready report with ratios to baselines."""
    scale, repeat = (0.1, 3) if quick else (1.0, 7)
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    results = []
    for case in cases:
        ms = [measure_variant(case, v, scale=scale, repeat=repeat) for v in case.variants]
        results.append(_summarise(case, ms))
    return {
        "machine": {
            "python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "quick": quick,
        "seconds": round(time.perf_counter() - t0, 2),
        "cases": results,
    }


def _summarise(case: Case, ms: list[Measurement]) -> dict[str, Any]:
    targets = [m for m in ms if m.role == "target" and m.best is not None]
    baselines = [m for m in ms if m.role == "baseline" and m.best is not None]
    rows = []
    for m in ms:
        row = {"label": m.label, "role": m.role, "best": m.best, "median": m.median, "unit": m.unit,
               "skipped": m.skipped}
        if m.role == "target" and m.best is not None:
            row["ratios"] = {b.label: round(m.median / b.median, 3) for b in baselines if b.median}
            if case.budget_ns is not None:
                row["budget"] = case.budget_ns
                row["within_budget"] = m.median <= case.budget_ns
        rows.append(row)
    return {"case": case.name, "title": case.title, "unit": case.unit, "targets": len(targets), "rows": rows}


def format_table(report: dict[str, Any]) -> str:
    """A plain-text table: each case's variants with median, best and target/baseline ratios."""
    lines = []
    mach = report["machine"]
    lines.append(f"shrivenquant bench  (python {mach['python']}, {mach['cpus']} cpus, "
                 f"load {mach['loadavg_before']} -> {mach['loadavg_after']}, "
                 f"{'quick' if report['quick'] else 'full'} run, {report['seconds']} s)")
    for case in report["cases"]:
        lines.append("")
        clock = "wall time per import" if case["unit"] == "ms" else "CPU time"
        lines.append(f"{case['title']}  [{case['unit']}, {clock}, median (best)]")
        for r in case["rows"]:
            if r["skipped"]:
                lines.append(f"  {'-':>10}            {r['label']}  (skipped: {r['skipped']})")
                continue
            mark = "*" if r["role"] == "target" else " "
            lines.append(f"{mark} {r['median']:>10.1f} ({r['best']:>8.1f})  {r['label']}")
        for r in case["rows"]:
            if r.get("ratios"):
                ratios = ", ".join(f"{v:.2f}x {k}" for k, v in r["ratios"].items())
                budget = ""
                if "budget" in r:
                    budget = f"  [budget {r['budget']:g} {case['unit']}: {'ok' if r['within_budget'] else 'OVER'}]"
                lines.append(f"    ratio {r['label']}: {ratios}{budget}")
    return "\n".join(lines)
