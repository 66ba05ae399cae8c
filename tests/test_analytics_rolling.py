"""Rolling metrics (O(T) running sums) against empyrical's roll_* (a loop over windows) and pandas rolling."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant.analytics import metrics as m
from shrivenquant.analytics import rolling as r
from shrivenquant.errors import ValidationError

ep = pytest.importorskip("empyrical")

P = 252
RTOL = 1e-12  # running sums vs two-pass sums per window (re-summed where rounding could exceed this)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def close(ours, ref, atol: float) -> None:
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(ref, float), rtol=RTOL, atol=atol,
                               equal_nan=True)


def series(seed: int, t: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_t(2.5, t) * 0.01 if kind == "fat" else rng.normal(0.0005, 0.01, t)
    x = np.clip(x, -0.9, 3.0)
    if kind == "holes":
        x[rng.random(t) < 0.2] = np.nan
    if kind == "flat" and t > 10:
        x[t // 4: t // 2] = 0.01  # constant stretch
        x[t // 2: 3 * t // 4] = 0.0  # zero stretch
    if kind == "ticks":
        x = np.round(x, 2)  # many ties, windows whose mean is exactly 0
    return x


def exact_beta(xw: np.ndarray, fw: np.ndarray) -> float:
    """Population cov(x, f) / var(f) over the rows where both are present, in exact rational arithmetic
    (NaN for fewer than 2 such rows or a constant f)."""
    ok = ~(np.isnan(xw) | np.isnan(fw))
    xs, fs = [Fraction(v) for v in xw[ok]], [Fraction(v) for v in fw[ok]]
    if len(fs) < 2:
        return float("nan")
    mx, mf = sum(xs) / len(xs), sum(fs) / len(fs)
    var = sum((b - mf) ** 2 for b in fs)
    if var == 0:
        return float("nan")
    return float(sum((a - mx) * (b - mf) for a, b in zip(xs, fs, strict=True)) / var)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.sampled_from([3, 10, 40, 300]), st.sampled_from([1, 2, 3, 5, 21, 63]),
       st.sampled_from(["normal", "fat", "holes", "flat", "ticks"]), st.sampled_from([0.0, 0.0001]))
def test_rolling_equals_empyrical(seed, t, w, kind, rf):
    x = series(seed, t, kind)
    f = series(seed + 1, t, "normal")
    if w > t:  # empyrical shrinks the window to the series; we return NaN everywhere (pandas' rule)
        assert np.isnan(r.rolling_sharpe(x, w, periods_per_year=P)).all()
        return
    tail = slice(w - 1, None)
    close(r.rolling_sharpe(x, w, periods_per_year=P, risk_free=rf, min_periods=min(2, w))[tail],
          ep.roll_sharpe_ratio(x, w, risk_free=rf), atol=1e-10)
    close(r.rolling_sortino(x, w, periods_per_year=P, required_return=rf, min_periods=1)[tail],
          ep.roll_sortino_ratio(x, w, required_return=rf), atol=1e-10)
    close(r.rolling_volatility(x, w, periods_per_year=P, min_periods=min(2, w))[tail],
          ep.roll_annual_volatility(x, w), atol=1e-15)
    # where r is constant over the window the true beta is 0: empyrical's cov = mean((f - mean f) * r)
    # leaves float noise up to 1e-10 there (2-value windows); ours, on de-meaned sums, stays below 1e-12
    ours, ref = r.rolling_beta(x, f, w, min_periods=min(2, w))[tail], ep.roll_beta(x, f, w)
    flat = np.array([np.ptp(v[~np.isnan(v)]) == 0 if (~np.isnan(v)).any() else False
                     for v in (x[i - w + 1: i + 1] for i in range(w - 1, t))], dtype=bool)
    assert ((np.abs(ours[flat]) <= 1e-12) | np.isnan(ours[flat])).all()
    # empyrical's beta loses digits where the benchmark barely moves over the window (its cov is not taken on
    # de-meaned returns): where the two disagree beyond the tolerance, ours must be the exact beta of the
    # window (rational arithmetic) within it, and closer to it than empyrical's
    ends = np.flatnonzero(~flat) + w - 1
    ours, ref = ours[~flat], ref[~flat]
    off = ~np.isclose(ours, ref, rtol=RTOL, atol=1e-12, equal_nan=True)
    for k in np.flatnonzero(off):
        exact = exact_beta(x[ends[k] - w + 1: ends[k] + 1], f[ends[k] - w + 1: ends[k] + 1])
        assert abs(ours[k] - exact) <= 1e-12 + RTOL * abs(exact) < abs(ref[k] - exact), (ours[k], ref[k], exact)
    close(ours[~off], ref[~off], atol=1e-12)
    close(r.rolling_max_drawdown(x, w, min_periods=0)[tail], ep.roll_max_drawdown(x, w), atol=1e-14)


def test_panel_equals_columns_and_window_loop():
    rng = np.random.default_rng(4)
    x = rng.standard_t(3, (800, 5)) * 0.01
    x[rng.random(x.shape) < 0.05] = np.nan
    f = rng.normal(0, 0.01, 800)
    w = 60
    sh = r.rolling_sharpe(x, w, periods_per_year=P, min_periods=30)
    mdd = r.rolling_max_drawdown(x, w)
    b = r.rolling_beta(x, f, w, min_periods=30)
    for j in range(5):
        np.testing.assert_array_equal(sh[:, j], r.rolling_sharpe(x[:, j], w, periods_per_year=P, min_periods=30))
        np.testing.assert_array_equal(mdd[:, j], r.rolling_max_drawdown(x[:, j], w))
        np.testing.assert_array_equal(b[:, j], r.rolling_beta(x[:, j], f, w, min_periods=30))
    # every row against the point metric on its own window (partial windows included)
    for t in range(0, 800, 37):
        win = x[max(0, t - w + 1): t + 1]
        cnt = (~np.isnan(win)).sum(axis=0)
        ref = np.where(cnt >= 30, m.sharpe_ratio(win, periods_per_year=P), np.nan)
        close(sh[t], ref, atol=1e-10)
        close(mdd[t], np.where(cnt >= w, m.max_drawdown(win), np.nan), atol=1e-14)


def test_min_periods_follows_pandas():
    pd = pytest.importorskip("pandas")
    x = series(9, 500, "holes")
    for w, mp in ((20, None), (20, 5), (63, 2)):
        ref = pd.Series(x).rolling(w, min_periods=mp).std().to_numpy() * np.sqrt(P)
        close(r.rolling_volatility(x, w, periods_per_year=P, min_periods=mp), ref, atol=1e-15)
    assert np.isnan(r.rolling_sharpe(x, 20, periods_per_year=P)[:19]).all()


def test_drawdown_over_minus_100_and_long_series():
    x = np.full(2000, 0.001)
    x[700] = -1.0
    out = r.rolling_max_drawdown(x, 100)
    assert (out[700:800] == -1.0).all() and (out[800:] == 0.0).all() and (out[99:700] == 0.0).all()
    assert np.isnan(out[:99]).all()


def test_validation():
    with pytest.raises(ValidationError):
        r.rolling_sharpe(np.zeros(10), 0, periods_per_year=P)
    with pytest.raises(ValidationError):
        r.rolling_sharpe(np.zeros(10), 5, periods_per_year=P, min_periods=6)
    with pytest.raises(ValidationError):
        r.rolling_beta(np.zeros(10), np.zeros(9), 5)


def test_constant_windows_are_exact():
    x = np.full(400, 0.01)
    x[::7] = np.nan
    x[200:] = 0.0
    vol = r.rolling_volatility(x, 30, periods_per_year=P, min_periods=2)
    sh = r.rolling_sharpe(x, 30, periods_per_year=P, min_periods=2)
    so = r.rolling_sortino(x, 30, periods_per_year=P, min_periods=1)
    assert (vol[29:200] == 0.0).all() and (vol[229:] == 0.0).all()
    assert (sh[29:200] == np.inf).all() and np.isnan(sh[229:]).all()  # 0 / 0 for the zero stretch
    assert (so[29:200] == np.inf).all() and np.isnan(so[229:]).all()
    assert (vol[200:229] > 0).all()  # mixed windows are not constant
    y = -x
    assert (r.rolling_sharpe(y, 30, periods_per_year=P, min_periods=2)[29:200] == -np.inf).all()
