# ruff: noqa: N803, N806  (finance notation: S, K, H, T)
"""Barrier, lookback and Asian options against QuantLib 1.44, Haug's published tables and mpmath."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shrivenquant.errors import ValidationError
from shrivenquant.options import (
    asian_arithmetic_mc,
    asian_geometric_continuous,
    asian_geometric_discrete,
    asian_turnbull_wakeman,
    barrier_price,
    bsm_price,
    lookback_fixed,
    lookback_floating,
)

ql = pytest.importorskip("QuantLib")
TODAY = ql.Date(15, 1, 2025)


def _process(S: float, r: float, q: float, sig: float) -> object:
    ql.Settings.instance().evaluationDate = TODAY
    dc = ql.Actual365Fixed()
    return ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(S)), ql.YieldTermStructureHandle(ql.FlatForward(TODAY, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, r, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), sig, dc)))


# ---------------------------------------------------------------- barrier
# Haug (2007), table 4-13: S = 100, T = 0.5, r = 0.08, b = 0.04, sigma = 0.25, rebate 3; strikes 90, 100, 110
HAUG_BARRIER = [
    ("down-out", True, 95.0, (9.0246, 6.7924, 4.8759)),
    ("down-out", True, 100.0, (3.0, 3.0, 3.0)),
    ("up-out", True, 105.0, (2.6789, 2.3580, 2.3453)),
    ("down-in", True, 95.0, (7.7627, 4.0109, 2.0576)),
    ("down-in", True, 100.0, (13.8333, 7.8494, 3.9795)),
    ("up-in", True, 105.0, (14.1112, 8.4482, 4.5910)),
    ("down-in", False, 95.0, (2.9586, 6.5677, 11.9752)),
    ("down-in", False, 100.0, (2.2845, 5.9085, 11.6465)),
    ("up-in", False, 105.0, (1.4653, 3.3721, 7.0846)),
    ("down-out", False, 95.0, (2.2798, 2.2947, 2.6252)),
    ("down-out", False, 100.0, (3.0, 3.0, 3.0)),
    ("up-out", False, 105.0, (3.7760, 5.4932, 7.5187)),
]


@pytest.mark.parametrize(("kind", "call", "H", "expected"), HAUG_BARRIER)
def test_barrier_matches_haug_table(kind: str, call: bool, H: float, expected: tuple[float, ...]) -> None:
    got = barrier_price(kind, call, 100.0, [90.0, 100.0, 110.0], H, 0.5, 0.08, 0.04, 0.25, 3.0)
    np.testing.assert_allclose(got, expected, atol=5e-5)  # the table is rounded to 4 decimals


def test_all_eight_barriers_with_rebates_match_quantlib() -> None:
    kinds = {"down-in": ql.Barrier.DownIn, "down-out": ql.Barrier.DownOut, "up-in": ql.Barrier.UpIn,
             "up-out": ql.Barrier.UpOut}
    rng = np.random.default_rng(21)
    for kind, qkind in kinds.items():
        for call in (True, False):
            for _ in range(6):
                S = 100.0
                H = float(S * (np.exp(-rng.uniform(0.02, 0.3)) if kind.startswith("down") else
                               np.exp(rng.uniform(0.02, 0.3))))
                K = float(S * np.exp(rng.normal(0, 0.15)))
                days, r, q = int(rng.integers(10, 800)), float(rng.uniform(-0.01, 0.08)), float(rng.uniform(0, 0.05))
                sig, rebate = float(rng.uniform(0.1, 0.6)), float(rng.uniform(0, 5))
                opt = ql.BarrierOption(qkind, H, rebate, ql.PlainVanillaPayoff(ql.Option.Call if call else
                                                                               ql.Option.Put, K),
                                       ql.EuropeanExercise(TODAY + days))
                opt.setPricingEngine(ql.AnalyticBarrierEngine(_process(S, r, q, sig)))
                ours = barrier_price(kind, call, S, K, H, days / 365.0, r, q, sig, rebate)
                assert ours == pytest.approx(opt.NPV(), rel=1e-11, abs=1e-11), (kind, call, K, H, days)


def test_breached_barrier_and_in_out_parity() -> None:
    S, K, T, r, q, sig = 100.0, 100.0, 1.0, 0.05, 0.01, 0.3
    vanilla = bsm_price([True, False], S, K, T, r, q, sig)
    # breached (touching counts): knock-in = vanilla, knock-out = the rebate now
    np.testing.assert_allclose(barrier_price("down-in", [True, False], S, K, 100.0, T, r, q, sig, 2.0), vanilla)
    np.testing.assert_allclose(barrier_price("up-out", [True, False], S, K, 95.0, T, r, q, sig, 2.0), [2.0, 2.0])
    # in + out = vanilla without rebates
    for H, pair in ((90.0, ("down-in", "down-out")), (115.0, ("up-in", "up-out"))):
        total = barrier_price(pair[0], [True, False], S, K, H, T, r, q, sig) + barrier_price(
            pair[1], [True, False], S, K, H, T, r, q, sig)
        np.testing.assert_allclose(total, vanilla, rtol=1e-12)
    # expiry: an unbreached knock-out pays intrinsic, a knock-in its rebate
    assert barrier_price("down-out", True, 110.0, 100.0, 90.0, 0.0, r, q, sig, 1.0) == 10.0
    assert barrier_price("down-in", True, 110.0, 100.0, 90.0, 0.0, r, q, sig, 1.0) == 1.0
    with pytest.raises(ValidationError, match="barrier kind"):
        barrier_price("double-out", True, S, K, 90.0, T, r, q, sig)
    with pytest.raises(ValidationError):
        barrier_price("down-out", True, S, K, 90.0, T, r, q, 0.0)


# ---------------------------------------------------------------- lookback
def _ql_lookback(fixed: bool, call: bool, S: float, K: float, M: float, days: int, r: float, q: float,
                 sig: float) -> float:
    ex = ql.EuropeanExercise(TODAY + days)
    kind = ql.Option.Call if call else ql.Option.Put
    proc = _process(S, r, q, sig)
    if fixed:
        opt = ql.ContinuousFixedLookbackOption(M, ql.PlainVanillaPayoff(kind, K), ex)
        opt.setPricingEngine(ql.AnalyticContinuousFixedLookbackEngine(proc))
    else:
        opt = ql.ContinuousFloatingLookbackOption(M, ql.FloatingTypePayoff(kind), ex)
        opt.setPricingEngine(ql.AnalyticContinuousFloatingLookbackEngine(proc))
    return opt.NPV()


def test_lookbacks_match_quantlib_fresh_and_seasoned() -> None:
    rng = np.random.default_rng(31)
    for fixed in (False, True):
        for call in (True, False):
            for _ in range(8):
                S = 100.0
                # seasoned: running max above / min below spot (or fresh = S)
                M = S * (1.0 + (rng.uniform(0, 0.2) if rng.integers(2) else 0.0)) if (call == fixed) else \
                    S * (1.0 - (rng.uniform(0, 0.2) if rng.integers(2) else 0.0))
                K = float(S * np.exp(rng.normal(0, 0.15)))
                days, r = int(rng.integers(10, 800)), float(rng.uniform(0.0, 0.08))
                q = r + float(rng.choice([-1, 1]) * rng.uniform(0.005, 0.05))
                sig = float(rng.uniform(0.1, 0.6))
                ref = _ql_lookback(fixed, call, S, K, float(M), days, r, q, sig)
                T = days / 365.0
                ours = lookback_fixed(call, S, K, T, r, q, sig, extremum=M) if fixed else \
                    lookback_floating(call, S, T, r, q, sig, extremum=M)
                assert ours == pytest.approx(ref, rel=1e-12, abs=1e-12), (fixed, call, S, K, M, days, r, q, sig)


def test_haug_floating_lookback_value() -> None:
    # Haug (2007) 4.15.1: S = 120, S_min = 100, T = 0.5, r = 0.10, b = 0.04, sigma = 0.30 -> 25.3533
    assert lookback_floating(True, 120.0, 0.5, 0.10, 0.06, 0.30, extremum=100.0) == pytest.approx(25.3533, abs=1e-4)


def test_lookback_r_equals_q_is_finite_and_exact() -> None:
    """QuantLib returns NaN at r = q; here the b -> 0 limit, checked with mpmath at b = 1e-30 (50 digits)."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60

    def mp_floating_call(S, M, T, r, b, sig):
        S, M, T, r, b, sig = (mp.mpf(x) for x in (S, M, T, r, b, sig))
        st = sig * mp.sqrt(T)
        a1 = (mp.log(S / M) + (b + sig**2 / 2) * T) / st
        a2 = a1 - st
        return (S * mp.exp((b - r) * T) * mp.ncdf(a1) - M * mp.exp(-r * T) * mp.ncdf(a2)
                + S * mp.exp(-r * T) * sig**2 / (2 * b)
                * ((S / M) ** (-2 * b / sig**2) * mp.ncdf(-a1 + 2 * b * mp.sqrt(T) / sig)
                   - mp.exp(b * T) * mp.ncdf(-a1)))

    for S, M in ((100.0, 100.0), (100.0, 85.0)):
        exact = float(mp_floating_call(S, M, 1.0, 0.05, mp.mpf("1e-30"), 0.3))
        assert lookback_floating(True, S, 1.0, 0.05, 0.05, 0.3, extremum=M) == pytest.approx(exact, rel=1e-13)
        # continuity across b = 0: tiny b gives the limit (no cancellation blow-up)
        near = lookback_floating(True, S, 1.0, 0.05, 0.05 - 1e-10, 0.3, extremum=M)
        assert near == pytest.approx(exact, rel=1e-8)
    assert math.isnan(_ql_lookback(False, True, 100.0, 0.0, 100.0, 365, 0.05, 0.05, 0.3))
    for fixed, call in ((True, True), (True, False), (False, False)):
        v = lookback_fixed(call, 100.0, 100.0, 1.0, 0.03, 0.03, 0.25) if fixed else \
            lookback_floating(call, 100.0, 1.0, 0.03, 0.03, 0.25)
        lo = lookback_fixed(call, 100.0, 100.0, 1.0, 0.03, 0.03 - 1e-7, 0.25) if fixed else \
            lookback_floating(call, 100.0, 1.0, 0.03, 0.03 - 1e-7, 0.25)
        assert math.isfinite(v) and v == pytest.approx(lo, rel=1e-6)


def test_lookback_invalid_extremum() -> None:
    with pytest.raises(ValidationError, match="extremum"):
        lookback_floating(True, 100.0, 1.0, 0.05, 0.0, 0.3, extremum=110.0)  # running min above spot
    with pytest.raises(ValidationError, match="extremum"):
        lookback_fixed(True, 100.0, 100.0, 1.0, 0.05, 0.0, 0.3, extremum=90.0)  # running max below spot


# ---------------------------------------------------------------- Asian
DAYS = [30 * i for i in range(1, 13)]
FIX = np.array(DAYS) / 365.0


def _ql_asian(avg: object, call: bool, S: float, K: float, r: float, q: float, sig: float, engine: object,
              running: float, past: int) -> float:
    dates = [TODAY + d for d in DAYS]
    opt = ql.DiscreteAveragingAsianOption(avg, running, past, dates,
                                          ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, K),
                                          ql.EuropeanExercise(dates[-1]))
    opt.setPricingEngine(engine(_process(S, r, q, sig)))
    return opt.NPV()


@pytest.mark.parametrize("call", [True, False])
def test_asian_closed_forms_match_quantlib(call: bool) -> None:
    S, r, q, sig = 100.0, 0.05, 0.02, 0.35
    for K in (80.0, 95.0, 120.0):
        kind = ql.Option.Call if call else ql.Option.Put
        cont = ql.ContinuousAveragingAsianOption(ql.Average.Geometric, ql.PlainVanillaPayoff(kind, K),
                                                 ql.EuropeanExercise(TODAY + 360))
        cont.setPricingEngine(ql.AnalyticContinuousGeometricAveragePriceAsianEngine(_process(S, r, q, sig)))
        assert asian_geometric_continuous(call, S, K, 360 / 365, r, q, sig) == pytest.approx(cont.NPV(), rel=1e-13)
        geo = _ql_asian(ql.Average.Geometric, call, S, K, r, q, sig,
                        ql.AnalyticDiscreteGeometricAveragePriceAsianEngine, 1.0, 0)
        assert asian_geometric_discrete(call, S, K, r, q, sig, FIX) == pytest.approx(geo, rel=1e-13)
        seasoned = _ql_asian(ql.Average.Geometric, call, S, K, r, q, sig,
                             ql.AnalyticDiscreteGeometricAveragePriceAsianEngine, 110.0**3, 3)
        assert asian_geometric_discrete(call, S, K, r, q, sig, FIX, past_count=3, past_average=110.0) == \
            pytest.approx(seasoned, rel=1e-13)
        tw = _ql_asian(ql.Average.Arithmetic, call, S, K, r, q, sig, ql.TurnbullWakemanAsianEngine, 0.0, 0)
        assert asian_turnbull_wakeman(call, S, K, r, q, sig, FIX) == pytest.approx(tw, rel=1e-13)
        tws = _ql_asian(ql.Average.Arithmetic, call, S, K, r, q, sig, ql.TurnbullWakemanAsianEngine, 330.0, 3)
        assert asian_turnbull_wakeman(call, S, K, r, q, sig, FIX, past_count=3, past_average=110.0) == \
            pytest.approx(tws, rel=1e-13)


def test_arithmetic_mc_control_variate() -> None:
    S, K, r, q, sig = 100.0, 95.0, 0.05, 0.02, 0.35
    cv = asian_arithmetic_mc(True, S, K, r, q, sig, FIX, paths=100_000, seed=1)
    plain = asian_arithmetic_mc(True, S, K, r, q, sig, FIX, paths=100_000, seed=2, control_variate=False)
    assert cv.paths == 100_000 and cv.std_error > 0
    assert cv.std_error < plain.std_error / 8  # the geometric control variate removes most of the variance
    assert abs(cv.price - plain.price) < 4 * math.hypot(cv.std_error, plain.std_error)
    assert asian_arithmetic_mc(True, S, K, r, q, sig, FIX, paths=100_000, seed=1) == cv  # seeded: reproducible
    # arithmetic >= geometric average price (AM-GM), and TW is a biased approximation at 35 % vol
    assert cv.price > asian_geometric_discrete(True, S, K, r, q, sig, FIX)
    tw = asian_turnbull_wakeman(True, S, K, r, q, sig, FIX)
    assert abs(tw - cv.price) > 10 * cv.std_error
    # zero vol: deterministic average of forwards
    zero = asian_arithmetic_mc(True, S, K, r, q, 0.0, FIX, paths=1_000, seed=3)
    fwd_avg = float(np.mean(S * np.exp((r - q) * FIX)))
    assert zero.price == pytest.approx(math.exp(-r * FIX[-1]) * (fwd_avg - K), rel=1e-12)
    # seasoned: 3 past fixings at 110 (arithmetic and geometric averages equal)
    seasoned = asian_arithmetic_mc(True, S, K, r, q, sig, FIX, paths=50_000, seed=4, past_count=3,
                                   past_average=110.0, past_geometric_average=110.0)
    tws = asian_turnbull_wakeman(True, S, K, r, q, sig, FIX, past_count=3, past_average=110.0)
    assert abs(seasoned.price - tws) < 0.05 * tws
    with pytest.raises(ValidationError):
        asian_arithmetic_mc(True, S, K, r, q, sig, [0.5, 0.25])
