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


def test_steady_engine_batch_wraps_the_rate_ring_without_rejects() -> None:
    """The batch cases' engine: every order accepted, twice over after reset(), as the reference model says; the
    records send 10,000 orders per strategy against a limit of 1,000 per window (the ring wraps), and a limit
    below the records' 50 orders per strategy per window would reject (the ring's test is live)."""
    import numpy as np

    from shrivenquant.bench.cases_risk import N_BATCH, STEADY_ORDER_LIMIT, _records, steady_engine

    recs = _records(N_BATCH, 32)
    per_strategy = np.bincount(recs["strategy"][recs["op"] == 1])
    assert per_strategy.min() >= 10 * STEADY_ORDER_LIMIT
    e = steady_engine()
    first = e.process(recs)
    assert not first[recs["op"] == 1].any()
    e.reset()
    assert np.array_equal(e.process(recs), first)
    ref = steady_engine(ReferenceRiskModel)
    assert np.array_equal(ref.process(recs[:8000]), first[:8000])  # 2,000 orders per strategy: the ring wraps
    tight = all_checks_engine(order_limit=40)
    assert tight.process(recs[:4000])[recs["op"][:4000] == 1].any()
