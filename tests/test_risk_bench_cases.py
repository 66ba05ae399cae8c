"""The risk benchmark cases run (their statements execute and stay on the path they claim); no timing here."""

from __future__ import annotations

import pytest

from shrivenquant.bench.cases_risk import all_checks_engine, nautilus_figures, risk_cases
from shrivenquant.bench.harness import compile_loop
from shrivenquant.risk import ReferenceRiskModel


@pytest.mark.parametrize("case", risk_cases(), ids=lambda c: c.name)
def test_case_statements_run(case: object) -> None:
    for variant in case.variants:  # type: ignore[attr-defined]
        fn = compile_loop(variant.stmt, variant.setup())
        fn(3 if case.ops_per_stmt > 1 else 200)  # type: ignore[attr-defined]


def test_all_checks_engine_agrees_with_the_reference() -> None:
    native, ref = all_checks_engine(), all_checks_engine(ReferenceRiskModel)
    for o in range(1, 500):
        assert native.check(o % 4, o % 2, 1 + o % 2, 6_000_000, 1 + o % 3, o, o) == \
            ref.check(o % 4, o % 2, 1 + o % 2, 6_000_000, 1 + o % 3, o, o) == 0
    assert native.snapshot() == ref.snapshot()


def test_nautilus_runner_skips_cleanly_without_its_venv() -> None:
    assert "skipped" in nautilus_figures(python="/nonexistent/python")
