"""The benchmark suite: cases with same-run baselines, run by ``shrivenquant bench`` and ``benches/``."""

from shrivenquant.bench.cases import all_cases
from shrivenquant.bench.harness import Case, Measurement, Variant, compile_loop, measure_variant
from shrivenquant.bench.runner import format_table, run_cases, select_cases

__all__ = [
    "Case",
    "Measurement",
    "Variant",
    "all_cases",
    "compile_loop",
    "format_table",
    "measure_variant",
    "run_cases",
    "select_cases",
]
