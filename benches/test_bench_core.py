"""pytest-benchmark run of every case in ``shrivenquant.bench.cases`` (targets and baselines).

Run: ``pytest benches/ --benchmark-only`` (add ``--bench-quick`` for a smoke run). Each loop variant is
timed as ``pedantic`` rounds of a compiled loop; per-op figures and ratios are printed at the end.
"""

from __future__ import annotations

from typing import Any

import pytest

from shrivenquant.bench.cases import all_cases
from shrivenquant.bench.harness import compile_loop, import_time_us, missing

PARAMS = [
    pytest.param(case, variant, id=f"{case.name}-{i}-{variant.role}")
    for case in all_cases()
    for i, variant in enumerate(case.variants)
]


@pytest.mark.parametrize(("case", "variant"), PARAMS)
def test_case(benchmark: Any, request: pytest.FixtureRequest, case: Any, variant: Any) -> None:
    why = missing(variant)
    if why is not None:
        pytest.skip(why)
    quick = request.config.getoption("--bench-quick")
    benchmark.group = case.name
    benchmark.extra_info.update(label=variant.label, role=variant.role, unit=case.unit, kind=variant.kind)
    if variant.kind == "import":
        ms = benchmark.pedantic(import_time_us, args=(variant.stmt,), rounds=2 if quick else 5)
        benchmark.extra_info["import_ms"] = min(
            import_time_us(variant.stmt) for _ in range(2 if quick else 5)) / 1000.0
        assert ms > 0
        return
    n = max(1, case.loops // (20 if quick else 1))
    loop = compile_loop(variant.stmt, variant.setup())
    benchmark.extra_info["ops"] = n * case.ops_per_stmt
    benchmark.pedantic(loop, args=(n,), rounds=3 if quick else 9, warmup_rounds=1, iterations=1)
