# ruff: noqa: N803, N806, N813  (finance notation: S, K, T, F; QuantLib as ql)
"""BSM and Black-76 prices and analytic Greeks against QuantLib 1.44 and a 50-digit mpmath reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrivenquant.errors import ValidationError
from shrivenquant.options import (
    GREEK_NAMES,
    black76_greeks,
    black76_greeks_scalar,
    black76_price,
    black76_price_scalar,
    bsm_greeks,
    bsm_greeks_scalar,
    bsm_price,
    bsm_price_scalar,
)

try:
    import QuantLib as ql
except ImportError:  # the test extra installs it; without it only the QuantLib comparisons are skipped
    ql = None
try:
    import mpmath as mp

    mp.mp.dps = 50
except ImportError:  # mpmath: the 50-digit reference (ask for it with the test extra)
    mp = None

needs_ql = pytest.mark.skipif(ql is None, reason="QuantLib not installed")
needs_mp = pytest.mark.skipif(mp is None, reason="mpmath not installed")


# ---------------------------------------------------------------- references
def mp_bsm(w: int, S, K, T, r, q, sig):
    """50-digit BSM price (w = +1 call, -1 put); all arguments mpf-convertible."""
    S, K, T, r, q, sig = (mp.mpf(v) for v in (S, K, T, r, q, sig))
    s = sig * mp.sqrt(T)
    d1 = (mp.log(S / K) + (r - q) * T) / s + s / 2
    d2 = d1 - s
    return w * (S * mp.exp(-q * T) * mp.ncdf(w * d1) - K * mp.exp(-r * T) * mp.ncdf(w * d2))


def mp_greeks(w: int, S: float, K: float, T: float, r: float, q: float, sig: float) -> dict[str, float]:
    """Every Greek by 50-digit differentiation of the closed form (theta, charm: d/dt = -d/dT)."""
    def f(s=S, k=K, t=T, rr=r, qq=q, v=sig):
        return mp_bsm(w, s, k, t, rr, qq, v)

    d = mp.diff
    return {
        "price": f(),
        "delta": d(lambda x: f(s=x), S),
        "gamma": d(lambda x: f(s=x), S, 2),
        "vega": d(lambda x: f(v=x), sig),
        "theta": -d(lambda x: f(t=x), T),
        "rho": d(lambda x: f(rr=x), r),
        "dividend_rho": d(lambda x: f(qq=x), q),
        "vanna": d(lambda x, y: f(s=x, v=y), (S, sig), (1, 1)),
        "volga": d(lambda x: f(v=x), sig, 2),
        "charm": -d(lambda x, y: f(s=x, t=y), (S, T), (1, 1)),
        "speed": d(lambda x: f(s=x), S, 3),
        "dual_delta": d(lambda x: f(k=x), K),
        "dual_gamma": d(lambda x: f(k=x), K, 2),
    }


def ql_engine(call: bool, S: float, K: float, days: int, r: float, q: float, sig: float) -> np.ndarray:
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    proc = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(S)), ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), sig, dc)))
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, K),
                           ql.EuropeanExercise(today + days))
    opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
    return np.array([opt.NPV(), opt.delta(), opt.gamma(), opt.vega(), opt.theta(), opt.rho(), opt.dividendRho()])


def _cases(n: int, seed: int) -> list[tuple[bool, float, float, int, float, float, float]]:
    rng = np.random.default_rng(seed)
    return [(bool(rng.integers(2)), 100.0, float(100.0 * np.exp(rng.normal(0, 0.3))), int(rng.integers(1, 1500)),
             float(rng.uniform(-0.02, 0.1)), float(rng.uniform(0, 0.05)), float(rng.uniform(0.05, 1.0)))
            for _ in range(n)]


# ---------------------------------------------------------------- QuantLib
@needs_ql
def test_bsm_first_order_greeks_match_quantlib_engine() -> None:
    cases = _cases(200, 1)
    c, S, K, d, r, q, v = (np.array(x) for x in zip(*cases, strict=True))
    g = bsm_greeks(c, S, K, d / 365.0, r, q, v, second_order=False)
    for i, case in enumerate(cases):
        ref = ql_engine(*case)
        ours = g.table[:, i]
        # price/delta/gamma/vega/rho to 2e-14 of max(|value|, 1); theta to 1e-13 (QuantLib's own rounding)
        tol = np.array([2e-14, 1e-14, 1e-14, 5e-14, 1e-13, 5e-14, 5e-14])
        assert np.all(np.abs(ours - ref) <= tol * np.maximum(np.abs(ref), 1.0)), (case, ours, ref)


@needs_ql
def test_vanna_volga_dual_match_quantlib_black_calculator() -> None:
    for call, S, K, days, r, q, sig in _cases(60, 2):
        T = days / 365.0
        F = S * math.exp((r - q) * T)
        bc = ql.BlackCalculator(ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, K), F,
                                sig * math.sqrt(T), math.exp(-r * T))
        g = bsm_greeks_scalar(call, S, K, T, r, q, sig)
        assert g.vanna == pytest.approx(bc.vanna(S, T), rel=1e-12, abs=1e-13)
        # QuantLib 1.44's BlackCalculator.volga(T) is the true volga divided by sqrt(T) (options.md)
        assert g.volga == pytest.approx(bc.volga(T) * math.sqrt(T), rel=1e-12, abs=1e-13)
        assert g.dual_delta == pytest.approx(bc.strikeSensitivity(), rel=1e-13, abs=1e-15)
        assert g.dual_gamma == pytest.approx(bc.strikeGamma(), rel=1e-12, abs=1e-15)


@needs_ql
def test_black76_matches_quantlib_black_formula_and_calculator() -> None:
    for call, F, K, days, r, _q, sig in _cases(60, 3):
        T = days / 365.0
        df = math.exp(-r * T)
        kind = ql.Option.Call if call else ql.Option.Put
        ref = ql.blackFormula(kind, K, F, sig * math.sqrt(T), df)
        assert black76_price_scalar(call, F, K, T, r, sig) == pytest.approx(ref, rel=1e-13, abs=1e-13)
        bc = ql.BlackCalculator(ql.PlainVanillaPayoff(kind, K), F, sig * math.sqrt(T), df)
        g = black76_greeks_scalar(call, F, K, T, r, sig)
        assert g.delta == pytest.approx(bc.deltaForward(), rel=1e-13, abs=1e-15)
        assert g.gamma == pytest.approx(bc.gammaForward(), rel=1e-12, abs=1e-15)
        assert g.vega == pytest.approx(bc.vega(T), rel=1e-12, abs=1e-13)
        # F fixed: rho = dV/dr = -T V, no dividend rho
        assert g.rho == pytest.approx(-T * ref, rel=1e-12, abs=1e-13)
        assert g.dividend_rho == 0.0


# ---------------------------------------------------------------- mpmath (50 digits)
@pytest.mark.parametrize("w", [1, -1])
@pytest.mark.parametrize(("S", "K", "T", "r", "q", "sig"), [
    (100.0, 100.0, 1.0, 0.05, 0.02, 0.2),
    (100.0, 80.0, 0.25, -0.01, 0.03, 0.35),
    (100.0, 130.0, 2.5, 0.03, 0.03, 0.15),   # r = q
    (25000.0, 24500.0, 3.0 / 365.0, 0.065, 0.0, 0.12),  # NIFTY-like, 3 days
    (100.0, 100.0, 10.0, 0.0, 0.0, 0.6),     # r = q = 0
])
@needs_mp
def test_all_greeks_match_50_digit_reference(w: int, S: float, K: float, T: float, r: float, q: float,
                                             sig: float) -> None:
    ref = mp_greeks(w, S, K, T, r, q, sig)
    g = bsm_greeks_scalar(w > 0, S, K, T, r, q, sig)
    scale = {"price": S, "delta": 1.0, "dual_delta": 1.0, "gamma": 1.0 / S, "dual_gamma": 1.0 / K,
             "speed": 1.0 / S ** 2, "vega": S, "theta": S, "rho": S, "dividend_rho": S, "vanna": 1.0,
             "volga": S, "charm": 1.0}
    for name in GREEK_NAMES:
        exact = float(ref[name])
        # natural scale: 1e-13 of S for values in units of S, of 1 for deltas
        assert abs(getattr(g, name) - exact) <= 2e-13 * scale[name] * max(1.0, abs(exact) / scale[name]), (
            name, getattr(g, name), exact)


@needs_mp
def test_black76_greeks_are_derivatives_with_futures_fixed() -> None:
    F, K, T, r, sig = 24800.0, 25000.0, 10.0 / 365.0, 0.07, 0.14
    for w in (1, -1):
        def f(ff=F, k=K, t=T, rr=r, v=sig, w=w):
            ff, k, t, rr, v = (mp.mpf(x) for x in (ff, k, t, rr, v))
            s = v * mp.sqrt(t)
            d1 = mp.log(ff / k) / s + s / 2
            return w * mp.exp(-rr * t) * (ff * mp.ncdf(w * d1) - k * mp.ncdf(w * (d1 - s)))

        g = black76_greeks_scalar(w > 0, F, K, T, r, sig)
        checks = {"price": f(), "delta": mp.diff(lambda x: f(ff=x), F), "gamma": mp.diff(lambda x: f(ff=x), F, 2),
                  "vega": mp.diff(lambda x: f(v=x), sig), "theta": -mp.diff(lambda x: f(t=x), T),
                  "rho": mp.diff(lambda x: f(rr=x), r), "vanna": mp.diff(lambda x, y: f(ff=x, v=y), (F, sig), (1, 1)),
                  "volga": mp.diff(lambda x: f(v=x), sig, 2),
                  "charm": -mp.diff(lambda x, y: f(ff=x, t=y), (F, T), (1, 1)),
                  "speed": mp.diff(lambda x: f(ff=x), F, 3)}
        for name, value in checks.items():
            exact = float(value)
            assert getattr(g, name) == pytest.approx(exact, rel=2e-12, abs=1e-13 * F / F ** 3), name


@needs_mp
def test_tiny_prices_are_relatively_accurate_and_positive() -> None:
    rng = np.random.default_rng(5)
    worst = 0.0
    for _ in range(200):
        S, T, sig = 100.0, float(10 ** rng.uniform(-4, 1)), float(10 ** rng.uniform(-2, 0.5))
        w = 1 if rng.integers(2) else -1
        K = S * math.exp(w * float(rng.uniform(0.5, 40.0)) * sig * math.sqrt(T))  # out of the money
        exact = mp_bsm(w, S, K, T, 0.01, 0.0, sig)
        if exact < mp.mpf("1e-300"):
            continue
        p = bsm_price_scalar(w > 0, S, K, T, 0.01, 0.0, sig)
        assert p > 0.0
        # backward stable: a 1-ulp change of S or K moves ln V by ~|d2|/s ulps, and exp(-d2^2/2) by d2^2 ulps;
        # the textbook form is kept while it loses at most 6 bits (CANCELLATION_LIMIT), hence 64 eps
        s = sig * math.sqrt(T)
        d2 = abs(math.log(S / K) / s) + s
        cond = 1.0 + d2 / s + d2 * d2
        worst = max(worst, float(abs(p / exact - 1)) / cond)
    assert worst < 64 * 2.3e-16


@needs_mp
def test_quantlib_negative_tail_is_positive_here() -> None:
    # options.md: QuantLib returns a negative deep-OTM put; the true value is positive
    S, K, T, r, q, sig = 100.0, 20.0, 0.5, 0.05, 0.0, 0.2
    exact = mp_bsm(-1, S, K, T, r, q, sig)
    p = bsm_price_scalar(False, S, K, T, r, q, sig)
    assert p > 0
    assert p == pytest.approx(float(exact), rel=1e-13)


# ---------------------------------------------------------------- edge cases
def test_expiry_gives_intrinsic_and_limits() -> None:
    g = bsm_greeks([True, True, False, True], [110.0, 90.0, 90.0, 100.0], 100.0, 0.0, 0.05, 0.01, 0.2)
    assert list(g.price) == [10.0, 0.0, 10.0, 0.0]
    assert list(g.delta) == [1.0, 0.0, -1.0, 0.5]
    assert g.gamma[0] == 0.0 and math.isinf(g.gamma[3])
    assert np.all(g.vega == 0.0)


def test_zero_vol_prices_discounted_forward_intrinsic() -> None:
    S, K, T, r, q = 100.0, 95.0, 0.5, 0.05, 0.01
    fwd = S * math.exp(-q * T) - K * math.exp(-r * T)
    assert bsm_price(True, S, K, T, r, q, 0.0) == pytest.approx(fwd, rel=1e-15)
    assert bsm_price(False, S, K, T, r, q, 0.0) == 0.0
    # at the money forward: vega finite, equal to the sigma -> 0 limit S e^{-qT} sqrt(T) phi(0)
    Katm = S * math.exp((r - q) * T)
    g = bsm_greeks_scalar(True, S, Katm, T, r, q, 0.0)
    assert g.vega == pytest.approx(S * math.exp(-q * T) * math.sqrt(T) / math.sqrt(2 * math.pi), rel=1e-14)
    assert g.price == 0.0


@needs_mp
@pytest.mark.parametrize("sig", [1e-8, 5.0, 30.0])
def test_extreme_vol(sig: float) -> None:
    S, K, T, r, q = 100.0, 100.0, 1.0, 0.03, 0.01
    for w in (1, -1):
        p = bsm_price_scalar(w > 0, S, K, T, r, q, sig)
        assert p == pytest.approx(float(mp_bsm(w, S, K, T, r, q, sig)), rel=1e-13, abs=1e-14 * S)
    if sig >= 30.0:
        assert bsm_price_scalar(True, S, K, T, r, q, sig) == pytest.approx(S * math.exp(-q * T), rel=1e-12)
        assert bsm_price_scalar(False, S, K, T, r, q, sig) == pytest.approx(K * math.exp(-r * T), rel=1e-12)


@needs_mp
def test_zero_strike_and_negative_rates() -> None:
    assert bsm_price_scalar(True, 100.0, 0.0, 1.0, 0.05, 0.02, 0.3) == pytest.approx(100 * math.exp(-0.02), rel=1e-15)
    assert bsm_price_scalar(False, 100.0, 0.0, 1.0, 0.05, 0.02, 0.3) == 0.0
    p = bsm_price_scalar(False, 100.0, 100.0, 2.0, -0.005, 0.0, 0.2)
    assert p == pytest.approx(float(mp_bsm(-1, 100.0, 100.0, 2.0, -0.005, 0.0, 0.2)), rel=1e-14)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.2, 5.0), st.floats(1e-4, 5.0), st.floats(-0.05, 0.15), st.floats(0.0, 0.1), st.floats(0.01, 2.0))
def test_put_call_parity_and_bounds(m: float, T: float, r: float, q: float, sig: float) -> None:
    S, K = 100.0, 100.0 * m
    c = bsm_price_scalar(True, S, K, T, r, q, sig)
    p = bsm_price_scalar(False, S, K, T, r, q, sig)
    fwd = S * math.exp(-q * T) - K * math.exp(-r * T)
    assert c - p == pytest.approx(fwd, abs=2e-13 * max(S, K))
    assert c >= max(fwd, 0.0) - 1e-13 * S and p >= max(-fwd, 0.0) - 1e-13 * K
    assert c <= S * math.exp(-q * T) * (1 + 1e-15)


# ---------------------------------------------------------------- API
def test_broadcasting_mixed_flags_and_units() -> None:
    K = np.linspace(80, 120, 5)[:, None]
    T = np.array([0.1, 0.5, 1.0])[None, :]
    flags = np.array(["c", "p", "CE", "PE", "call"])[:, None]
    g = bsm_greeks(flags, 100.0, K, T, 0.05, 0.01, 0.2)
    assert g.price.shape == (5, 3)
    for i in range(5):
        for j in range(3):
            one = bsm_greeks_scalar(flags[i, 0] in ("c", "CE", "call"), 100.0, K[i, 0], T[0, j], 0.05, 0.01, 0.2)
            for name in GREEK_NAMES:
                assert getattr(g, name)[i, j] == getattr(one, name)
    day = bsm_greeks(flags, 100.0, K, T, 0.05, 0.01, 0.2, theta="day", vega="percent", rho="percent")
    np.testing.assert_allclose(day.theta, g.theta / 365.0, rtol=1e-15)
    np.testing.assert_allclose(day.charm, g.charm / 365.0, rtol=1e-15)
    np.testing.assert_allclose(day.vega, g.vega / 100.0, rtol=1e-15)
    np.testing.assert_allclose(day.rho, g.rho / 100.0, rtol=1e-15)
    np.testing.assert_allclose(day.dividend_rho, g.dividend_rho / 100.0, rtol=1e-15)
    t252 = bsm_greeks(True, 100.0, 100.0, 0.5, 0.05, 0.0, 0.2, theta="day", days_per_year=252.0)
    assert float(t252.theta) == pytest.approx(bsm_greeks_scalar(True, 100.0, 100.0, 0.5, 0.05, 0.0, 0.2).theta / 252)
    first = bsm_greeks(flags, 100.0, K, T, 0.05, 0.01, 0.2, second_order=False)
    assert first.vanna is None and np.array_equal(first.price, g.price)
    assert black76_price([1, -1], 100.0, 100.0, 1.0, 0.05, 0.2).shape == (2,)
    assert isinstance(bsm_price(True, 100.0, 100.0, 1.0, 0.05, 0.0, 0.2), float)
    assert black76_greeks(True, 100.0, [90.0, 110.0], 1.0, 0.05, 0.2).delta.shape == (2,)


def test_invalid_inputs_raise_or_give_nan() -> None:
    with pytest.raises(ValidationError, match="index 1"):
        bsm_price(True, [100.0, -1.0], 100.0, 1.0, 0.05, 0.0, 0.2)
    with pytest.raises(ValidationError):
        bsm_price_scalar(True, 100.0, 100.0, -1.0, 0.05, 0.0, 0.2)
    with pytest.raises(ValidationError):
        bsm_greeks(True, 100.0, 100.0, 1.0, 0.05, 0.0, [0.2, math.nan])
    with pytest.raises(ValidationError, match="flag"):
        bsm_price(2, 100.0, 100.0, 1.0, 0.05, 0.0, 0.2)
    with pytest.raises(ValidationError, match="broadcast"):
        bsm_price(True, [1.0, 2.0], [1.0, 2.0, 3.0], 1.0, 0.05, 0.0, 0.2)
    with pytest.raises(ValidationError, match="theta unit"):
        bsm_greeks(True, 100.0, 100.0, 1.0, 0.05, 0.0, 0.2, theta="week")
    out = bsm_price(True, [100.0, -1.0], 100.0, 1.0, 0.05, 0.0, 0.2, check=False)
    assert math.isnan(out[1]) and out[0] > 0


def test_preallocated_out_and_threaded_batch_validation() -> None:
    n = 30_000  # above the threaded-kernel threshold
    S = np.full(n, 100.0)
    S[25_000] = -1.0
    with pytest.raises(ValidationError, match="index 25000"):
        bsm_greeks(True, S, 100.0, 1.0, 0.05, 0.0, 0.2)
    with pytest.raises(ValidationError, match="index 25000"):
        bsm_price(True, S, 100.0, 1.0, 0.05, 0.0, 0.2)
    S[25_000] = 100.0
    big = bsm_greeks(True, S, 100.0, 1.0, 0.05, 0.0, 0.2)
    assert np.all(big.price == bsm_price_scalar(True, 100.0, 100.0, 1.0, 0.05, 0.0, 0.2))
    out = np.empty((7, 5))
    K = np.linspace(90.0, 110.0, 5)
    g = bsm_greeks(True, 100.0, K, 1.0, 0.05, 0.0, 0.2, second_order=False, out=out)
    assert g.table is out
    np.testing.assert_array_equal(out[0], bsm_price(True, 100.0, K, 1.0, 0.05, 0.0, 0.2))
    with pytest.raises(ValidationError, match="out must be"):
        bsm_greeks(True, 100.0, K, 1.0, 0.05, 0.0, 0.2, out=np.empty((7, 5)))  # 13 rows needed
