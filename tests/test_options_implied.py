# ruff: noqa: N803, N806  (finance notation: S, K, T, F)
"""Implied volatility ("Let's Be Rational"): round trips, hard inputs, status codes, QuantLib and mpmath."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrivenquant.errors import ValidationError
from shrivenquant.options import (
    IST,
    IVStatus,
    black76_price,
    black76_price_scalar,
    bsm_greeks,
    bsm_price,
    bsm_price_scalar,
    implied_vol_black76,
    implied_vol_black76_scalar,
    implied_vol_bsm,
    implied_vol_bsm_scalar,
    nse_expiry,
    trading_year_fraction,
    year_fraction,
    year_fraction_ns,
)
from shrivenquant.options._black import black_undiscounted, normalised_black_otm, normalised_vega

EPS = 2.220446049250313e-16


def _sigma_condition(F: float, K: float, T: float, sig: float) -> float:
    """|d ln(time value) / d ln sigma|^-1 ... the factor by which a 1-ulp price error becomes a sigma error."""
    x = -abs(math.log(F / K))
    s = sig * math.sqrt(T)
    b = normalised_black_otm(x, s)
    v = normalised_vega(x, s)
    if b <= 0.0 or v <= 0.0:
        return math.inf  # underflow: only the ulp of the price itself matters
    return b / (v * s)


def _price_tol(F: float, K: float, T: float, sig: float) -> float:
    """Relative price change caused by a few-ulp change of sigma (vega sigma / price, plus rounding)."""
    return 8 * EPS * (1 + 1 / _sigma_condition(F, K, T, sig))


@settings(max_examples=400, deadline=None)
@given(st.floats(-4.0, 4.0), st.floats(1.0 / 525600.0, 30.0), st.floats(0.005, 5.0), st.booleans())
def test_round_trip_price_vol_price(log_moneyness: float, T: float, sig: float, call: bool) -> None:
    F, K = 100.0, 100.0 * math.exp(log_moneyness)
    p = black_undiscounted(F, K, sig * math.sqrt(T), 1.0 if call else -1.0)
    v, status = implied_vol_black76_scalar(p, call, F, K, T, 0.0)
    intrinsic = max((F - K) if call else (K - F), 0.0)
    if status != IVStatus.OK:
        if status == IVStatus.ABOVE_MAXIMUM:  # huge total vol: the price is within rounding of its bound
            assert p >= (F if call else K) * (1 - 4 * EPS)
            return
        # only when the time value is lost in float64 (or underflows): never for a price with time value
        assert status in (IVStatus.AT_INTRINSIC, IVStatus.UNDERFLOW)
        assert p - intrinsic <= 4 * EPS * max(p, 1e-300) or (p - intrinsic) / math.sqrt(F * K) < 1e-307
        return
    p2 = black_undiscounted(F, K, v * math.sqrt(T), 1.0 if call else -1.0)
    # the price is reproduced to a few ulps of sigma's effect on it
    assert abs(p2 - p) <= _price_tol(F, K, T, sig) * p + 1e-300
    if (call and K >= F) or (not call and K <= F):  # out of the money: sigma itself to its conditioning
        assert abs(v / sig - 1) <= 8 * EPS * (1 + _sigma_condition(F, K, T, sig))


@settings(max_examples=300, deadline=None)
@given(st.floats(-2.0, 2.0), st.floats(1.0 / 525600.0, 10.0), st.floats(0.01, 3.0), st.floats(-0.05, 0.15),
       st.floats(0.0, 0.1), st.booleans())
def test_bsm_round_trip_with_carry(log_moneyness: float, T: float, sig: float, r: float, q: float,
                                   call: bool) -> None:
    S, K = 100.0, 100.0 * math.exp(log_moneyness)
    p = bsm_price_scalar(call, S, K, T, r, q, sig)
    v, status = implied_vol_bsm_scalar(p, call, S, K, T, r, q)
    if status != IVStatus.OK:
        # no time value left in float64 (or the price rounded to its bound): never a silent 0
        assert math.isnan(v) and status in (IVStatus.AT_INTRINSIC, IVStatus.UNDERFLOW, IVStatus.ABOVE_MAXIMUM)
        return
    p2 = bsm_price_scalar(call, S, K, T, r, q, v)
    # natural scale: a few ulps of S (prices carry their conditioning on S and sigma)
    assert abs(p2 - p) <= 8 * EPS * max(S, K) * math.exp(abs(r - q) * T)  # measured worst: 1.9 ulps


def test_vectorised_round_trip_one_million_like_grid() -> None:
    rng = np.random.default_rng(11)
    n = 200_000
    S = 25_000.0 * np.exp(rng.normal(0, 0.01, n))
    K = 25_000.0 * np.exp(rng.normal(0, 0.15, n))
    T = rng.integers(1, 60 * 24 * 90, n) / 525600.0  # 1 minute .. 90 days
    sig = rng.uniform(0.05, 1.5, n)
    r = rng.uniform(0.0, 0.08, n)
    q = rng.uniform(0.0, 0.03, n)
    call = K >= S  # out of the money quotes, as a chain is quoted
    price = bsm_price(call, S, K, T, r, q, sig)
    iv = implied_vol_bsm(price, call, S, K, T, r, q)
    ok = iv.status == IVStatus.OK
    assert np.all(np.isnan(iv.vol[~ok]))
    assert not np.any(iv.vol == 0.0)
    # where the price carries at least 1e-200 of sqrt(F K) the solver must succeed and be exact
    assert ok[price > 1e-200 * K].all()
    back = bsm_price(call[ok], S[ok], K[ok], T[ok], r[ok], q[ok], iv.vol[ok])
    assert np.max(np.abs(back - price[ok]) / K[ok]) < 1e-15  # the natural scale
    # relative to each price, to the conditioning of 1-ulp changes of sigma (vega sigma / price) and of the
    # forward F = S e^{(r-q)T} the solver works on (|delta| S / price)
    g = bsm_greeks(call[ok], S[ok], K[ok], T[ok], r[ok], q[ok], iv.vol[ok], second_order=False)
    # (the pricer is backward stable: its own rounding, amplified by cancellation out of the money, is of the same
    # order as these condition numbers times a few ulps, d^2 ulps in the tails)
    tol = 32 * EPS * (1 + (g.vega * iv.vol[ok] + np.abs(g.delta) * S[ok]) / price[ok])
    assert np.all(np.abs(back - price[ok]) <= tol * price[ok])
    well = ok & (price > 1e-3)
    assert np.max(np.abs(iv.vol[well] / sig[well] - 1)) < 1e-12


@pytest.mark.parametrize(("x", "s"), [(-5.0, 0.3), (-30.0, 1.0), (-1.0, 0.06), (-200.0, 6.0), (-0.001, 8.0),
                                      (0.0, 1e-7), (-10.0, 0.3), (-700.0, 25.0)])
def test_hard_normalised_inputs_recover_sigma(x: float, s: float) -> None:
    """Deep out of the money down to 1e-300, tiny and huge total vols (Jäckel's test region)."""
    F = 1.0
    K = math.exp(-x)
    b = normalised_black_otm(x, s)
    assert b > 0.0
    price = math.sqrt(F * K) * b
    v, status = implied_vol_black76_scalar(price, True, F, K, 1.0, 0.0)
    assert status == IVStatus.OK
    assert abs(v / s - 1) <= 16 * EPS * (1 + _sigma_condition(F, K, 1.0, s)), (v, s)


def test_prices_down_to_1e_300() -> None:
    F, T = 100.0, 0.25
    for target in (1e-50, 1e-100, 1e-200, 1e-300):
        # find a strike whose 20 %-vol call is about `target`, then invert it
        lo, hi = F, F * 1e6
        for _ in range(200):
            mid = math.sqrt(lo * hi)
            if black_undiscounted(F, mid, 0.2 * math.sqrt(T), 1.0) > target:
                lo = mid
            else:
                hi = mid
        p = black_undiscounted(F, lo, 0.2 * math.sqrt(T), 1.0)
        v, status = implied_vol_black76_scalar(p, True, F, lo, T, 0.0)
        assert status == IVStatus.OK and abs(v - 0.2) < 1e-14 * (1 + _sigma_condition(F, lo, T, 0.2)), (target, v)


def test_expiry_day_minutes() -> None:
    """NIFTY weekly on expiry day: 1..375 minutes left, strikes +-3 %."""
    F, r = 24_850.0, 0.065
    for minutes in (1, 5, 30, 120, 375):
        T = minutes / 525600.0
        for K in np.arange(24_100.0, 25_600.0, 50.0):
            for call in (True, False):
                p = black76_price_scalar(call, F, K, T, r, 0.11)
                v, status = implied_vol_black76_scalar(p, call, F, K, T, r)
                if status == IVStatus.OK:
                    p2 = black76_price_scalar(call, F, K, T, r, v)
                    # relative to the price out of the money, to the ulp of F in the money (natural scale)
                    assert abs(p2 - p) <= max(_price_tol(F, K, T, 0.11) * p, 4 * EPS * F)
                else:  # no time value left in float64
                    assert status == IVStatus.AT_INTRINSIC
                    assert p == pytest.approx(max((F - K) if call else (K - F), 0.0) * math.exp(-r * T),
                                              abs=4 * EPS * F)  # the ulp of F: the natural scale


def test_two_iterations_reach_machine_precision() -> None:
    rng = np.random.default_rng(3)
    x = -np.abs(rng.normal(0, 2, 2000))
    s = 10 ** rng.uniform(-3, 1, 2000)
    F = np.ones_like(x)
    K = np.exp(-x)
    p = np.array([math.sqrt(k) * normalised_black_otm(xx, ss) for k, xx, ss in zip(K, x, s, strict=True)])
    keep = p > 1e-290
    two = implied_vol_black76(p[keep], True, F[keep], K[keep], 1.0, 0.0, iterations=2)
    many = implied_vol_black76(p[keep], True, F[keep], K[keep], 1.0, 0.0, iterations=8)
    assert (two.status == 0).all()
    assert np.max(np.abs(two.vol / many.vol - 1)) < 8 * EPS * (1 + np.max(
        [_sigma_condition(1.0, k, 1.0, v) for k, v in zip(K[keep], many.vol, strict=True)]))


def test_matches_quantlib_on_ordinary_inputs() -> None:
    ql = pytest.importorskip("QuantLib")
    rng = np.random.default_rng(4)
    ql_misses = 0
    for _ in range(300):
        F, K = 100.0, float(100.0 * math.exp(rng.normal(0, 0.2)))
        T, sig, r = float(rng.uniform(0.02, 3.0)), float(rng.uniform(0.08, 0.8)), float(rng.uniform(0, 0.08))
        call = bool(rng.integers(2))
        kind = ql.Option.Call if call else ql.Option.Put
        df = math.exp(-r * T)
        p = ql.blackFormula(kind, K, F, sig * math.sqrt(T), df)
        ref = ql.blackFormulaImpliedStdDev(kind, K, F, p, df, 0.0, 0.2 * math.sqrt(T), 1e-14, 100) / math.sqrt(T)
        v, status = implied_vol_black76_scalar(p, call, F, K, T, r)
        assert status == IVStatus.OK
        # our vol reprices QuantLib's own price to its conditioning (QuantLib's tail prices are not exact)
        assert black76_price_scalar(call, F, K, T, r, v) == pytest.approx(p, rel=_price_tol(F, K, T, v) + 1e-14)
        if ref > 0.0:
            assert v == pytest.approx(ref, rel=1e-9)  # QuantLib stops short of the attainable accuracy
        else:  # QuantLib's solver gave up (deep out of the money, short dated): options.md
            ql_misses += 1
    assert ql_misses <= 3


def test_against_50_digit_root() -> None:
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    for F, K, T, sig in ((100.0, 150.0, 0.5, 0.3), (100.0, 60.0, 0.01, 0.9), (100.0, 101.0, 1e-5, 0.2),
                         (100.0, 400.0, 2.0, 4.0)):
        p = black_undiscounted(F, K, sig * math.sqrt(T), 1.0 if K >= F else -1.0)
        w = 1 if K >= F else -1

        def f(v, F=F, K=K, T=T, w=w, p=p):
            s = v * mp.sqrt(T)
            d1 = mp.log(mp.mpf(F) / K) / s + s / 2
            return w * (F * mp.ncdf(w * d1) - K * mp.ncdf(w * (d1 - s))) - mp.mpf(p)

        exact = float(mp.findroot(f, sig))
        v, status = implied_vol_black76_scalar(p, w > 0, F, K, T, 0.0)
        assert status == IVStatus.OK
        assert abs(v / exact - 1) <= 4 * EPS * (1 + _sigma_condition(F, K, T, exact))


def test_status_codes_never_zero() -> None:
    F, K, T, r = 100.0, 90.0, 0.5, 0.0
    df = 1.0
    cases = {
        IVStatus.BELOW_INTRINSIC: (9.0 * df, True, F),
        IVStatus.ABOVE_MAXIMUM: (F * df, True, F),
        IVStatus.NEGATIVE_PRICE: (-0.01, False, F),
        IVStatus.AT_INTRINSIC: (10.0 * df, True, F),
        IVStatus.INVALID_INPUT: (1.0, True, -5.0),
    }
    for status, (price, call, fwd) in cases.items():
        v, st_ = implied_vol_black76_scalar(price, call, fwd, K, T, r)
        assert st_ == status and math.isnan(v)
    v, st_ = implied_vol_black76_scalar(1.0, True, F, K, 0.0, r)
    assert st_ == IVStatus.EXPIRED and math.isnan(v)
    v, st_ = implied_vol_black76_scalar(K * df, False, F, K, T, r)
    assert st_ == IVStatus.ABOVE_MAXIMUM
    v, st_ = implied_vol_black76_scalar(math.nan, False, F, K, T, r)
    assert st_ == IVStatus.INVALID_INPUT
    # vectorised: statuses per element, NaN vols, no zeros
    res = implied_vol_black76([9.0 * df, 12.0, -1.0, 200.0], True, F, K, T, r)
    assert list(res.status) == [IVStatus.BELOW_INTRINSIC, IVStatus.OK, IVStatus.NEGATIVE_PRICE,
                                IVStatus.ABOVE_MAXIMUM]
    assert np.isnan(res.vol[[0, 2, 3]]).all() and res.vol[1] > 0
    with pytest.raises(ValidationError):
        implied_vol_black76(1.0, True, F, K, T, r, iterations=0)


def test_bsm_with_carry_and_mixed_flags() -> None:
    S, T, r, q = 100.0, 0.75, -0.01, 0.03
    K = np.array([70.0, 90.0, 100.0, 110.0, 140.0])
    call = np.array([False, True, True, False, True])
    sig = np.array([0.4, 0.25, 0.2, 0.22, 0.35])
    p = bsm_price(call, S, K, T, r, q, sig)
    iv = implied_vol_bsm(p, call, S, K, T, r, q)
    np.testing.assert_allclose(iv.vol, sig, rtol=1e-13)
    for i in range(5):
        v, status = implied_vol_bsm_scalar(float(p[i]), bool(call[i]), S, float(K[i]), T, r, q)
        assert status == 0 and v == iv.vol[i]
    one = implied_vol_bsm(bsm_price_scalar(True, S, 100.0, T, r, q, 0.2), True, S, 100.0, T, r, q)
    assert isinstance(one.vol, float) and one.status is IVStatus.OK
    assert black76_price(True, 100.0, 100.0, T, r, 0.2) > 0


def test_tick_rounded_quotes_round_trip_to_the_quote() -> None:
    F, T, r = 24_850.0, 3.0 / 365.0, 0.065
    for K in np.arange(24_000.0, 25_800.0, 100.0):
        call = K >= F
        quote = round(black76_price_scalar(call, F, K, T, r, 0.13) / 0.05) * 0.05
        v, status = implied_vol_black76_scalar(quote, call, F, K, T, r)
        if quote <= 0.0:
            assert math.isnan(v)
            continue
        assert status == IVStatus.OK
        assert black76_price_scalar(call, F, K, T, r, v) == pytest.approx(quote, rel=1e-13)


# ---------------------------------------------------------------- time to expiry
def test_year_fraction_minutes_and_nse_expiry() -> None:
    exp = nse_expiry(date(2025, 1, 30))
    assert exp.utcoffset() == timedelta(hours=5, minutes=30)
    assert exp.astimezone(UTC).hour == 10
    now = datetime(2025, 1, 30, 9, 15, 59, tzinfo=IST)
    assert year_fraction(now, exp) == 374 / 525600  # whole minutes: 09:15:59 -> 15:30 is 374 minutes
    assert year_fraction(exp, exp) == 0.0
    assert year_fraction(exp + timedelta(days=1), exp) == 0.0
    utc_now = datetime(2025, 1, 23, 10, 0, tzinfo=UTC)
    assert year_fraction(utc_now, exp) == 7 * 1440 / 525600
    with pytest.raises(ValidationError, match="naive"):
        year_fraction(datetime(2025, 1, 1), exp)
    ns_now = int(utc_now.timestamp()) * 10**9
    ns_exp = int(exp.timestamp()) * 10**9
    np.testing.assert_array_equal(year_fraction_ns([ns_now, ns_exp + 1], ns_exp), [7 * 1440 / 525600, 0.0])


def test_trading_time_is_explicit_and_skips_weekends_and_holidays() -> None:
    exp = nse_expiry(date(2025, 1, 30))  # Thursday
    now = datetime(2025, 1, 24, 15, 0, tzinfo=IST)  # Friday 15:00
    # Fri 30 min + Mon..Wed 3 * 375 + Thu 375 (Sat/Sun skipped)
    assert trading_year_fraction(now, exp) == (30 + 4 * 375) / (375 * 252)
    assert trading_year_fraction(now, exp, holidays=[date(2025, 1, 27)]) == (30 + 3 * 375) / (375 * 252)
    assert trading_year_fraction(exp, now) == 0.0
