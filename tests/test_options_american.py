# ruff: noqa: N803, N806  (finance notation: S, K, T)
"""American options: QdFp (Andersen–Lake–Offengenden) and BAW against QuantLib 1.44's engines."""

from __future__ import annotations

import numpy as np
import pytest

from shrivenquant.errors import ValidationError
from shrivenquant.options import american_baw, american_qdfp, bsm_price

ql = pytest.importorskip("QuantLib")


def ql_american(call: bool, S: float, K: float, days: int, r: float, q: float, sig: float, engine: str) -> float:
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    proc = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(S)), ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), sig, dc)))
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, K),
                           ql.AmericanExercise(today, today + days))
    if engine == "qdfp":
        opt.setPricingEngine(ql.QdFpAmericanEngine(proc, ql.QdFpAmericanEngine.highPrecisionScheme()))
    else:
        opt.setPricingEngine(ql.BaroneAdesiWhaleyApproximationEngine(proc))
    return opt.NPV()


def _cases(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    call = rng.integers(0, 2, n).astype(bool)
    K = 100.0 * np.exp(rng.normal(0, 0.2, n))
    days = rng.integers(5, 1500, n)
    r = rng.uniform(0.005, 0.1, n)
    q = rng.uniform(0.0, 0.1, n)
    sig = rng.uniform(0.1, 0.6, n)
    return call, K, days, r, q, sig


def test_qdfp_matches_quantlib_high_precision_to_5e_7_of_spot() -> None:
    call, K, days, r, q, sig = _cases(30, 7)
    ours = american_qdfp(call, 100.0, K, days / 365.0, r, q, sig, scheme="high")
    ref = np.array([ql_american(bool(c), 100.0, float(k), int(d), float(rr), float(qq), float(v), "qdfp")
                    for c, k, d, rr, qq, v in zip(call, K, days, r, q, sig, strict=True)])
    assert np.max(np.abs(ours - ref)) / 100.0 < 5e-7
    default = american_qdfp(call, 100.0, K, days / 365.0, r, q, sig)
    assert np.max(np.abs(default - ref)) / 100.0 < 1e-6


def test_qdfp_fast_scheme_within_5e_6_of_spot() -> None:
    call, K, days, r, q, sig = _cases(12, 8)
    ours = american_qdfp(call, 100.0, K, days / 365.0, r, q, sig, scheme="fast")
    ref = np.array([ql_american(bool(c), 100.0, float(k), int(d), float(rr), float(qq), float(v), "qdfp")
                    for c, k, d, rr, qq, v in zip(call, K, days, r, q, sig, strict=True)])
    assert np.max(np.abs(ours - ref)) / 100.0 < 5e-6


def test_baw_matches_quantlib_baw() -> None:
    call, K, days, r, q, sig = _cases(40, 9)
    ours = american_baw(call, 100.0, K, days / 365.0, r, q, sig)
    ref = np.array([ql_american(bool(c), 100.0, float(k), int(d), float(rr), float(qq), float(v), "baw")
                    for c, k, d, rr, qq, v in zip(call, K, days, r, q, sig, strict=True)])
    assert np.max(np.abs(ours - ref)) / 100.0 < 2e-6


def test_no_early_exercise_cases_equal_european() -> None:
    K = np.array([80.0, 100.0, 120.0])
    euro_call = bsm_price(True, 100.0, K, 1.0, 0.05, 0.0, 0.3)
    np.testing.assert_allclose(american_qdfp(True, 100.0, K, 1.0, 0.05, 0.0, 0.3), euro_call, rtol=1e-14)
    np.testing.assert_allclose(american_baw(True, 100.0, K, 1.0, 0.05, 0.0, 0.3), euro_call, rtol=1e-14)
    euro_put = bsm_price(False, 100.0, K, 1.0, -0.01, 0.02, 0.3)
    np.testing.assert_allclose(american_qdfp(False, 100.0, K, 1.0, -0.01, 0.02, 0.3), euro_put, rtol=1e-14)
    with pytest.raises(ValidationError, match="two exercise boundaries"):
        american_qdfp(False, 100.0, 100.0, 1.0, -0.01, -0.02, 0.3)
    with pytest.raises(ValidationError, match="scheme"):
        american_qdfp(False, 100.0, 100.0, 1.0, 0.01, 0.02, 0.3, scheme="exact")


def test_exercise_region_expiry_and_bounds() -> None:
    # deep in the money put with high rates: immediate exercise, value = intrinsic
    assert american_qdfp(False, 40.0, 100.0, 1.0, 0.1, 0.0, 0.2) == 60.0
    assert american_baw(False, 40.0, 100.0, 1.0, 0.1, 0.0, 0.2) == 60.0
    assert american_qdfp(False, 90.0, 100.0, 0.0, 0.05, 0.0, 0.2) == 10.0
    assert american_qdfp(True, 90.0, 100.0, 0.0, 0.05, 0.0, 0.2) == 0.0
    call, K, days, r, q, sig = _cases(50, 10)
    T = days / 365.0
    am = american_qdfp(call, 100.0, K, T, r, q, sig, scheme="fast")
    eu = bsm_price(call, 100.0, K, T, r, q, sig)
    intrinsic = np.where(call, 100.0 - K, K - 100.0).clip(0)
    assert np.all(am >= eu - 1e-12) and np.all(am >= intrinsic)
