"""Point performance metrics against empyrical-reloaded (the reference) on many generated series."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant.analytics import metrics as m
from shrivenquant.errors import ValidationError

ep = pytest.importorskip("empyrical")
scipy_stats = pytest.importorskip("scipy.stats")

RTOL = 1e-12
P = 252


def close(ours, ref, rtol: float = RTOL) -> None:
    ours = np.asarray(ours, dtype=float)
    ref = np.asarray(ref, dtype=float)
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=1e-300, equal_nan=True)


def make_panel(seed: int, t: int, n: int, nan_frac: float, kind: str) -> np.ndarray:
    """Returns with fat tails, NaN holes, constant, all-zero, all-positive and -100 % columns."""
    rng = np.random.default_rng(seed)
    if kind == "normal":
        x = rng.normal(0.0004, 0.012, (t, n))
    elif kind == "fat":
        x = rng.standard_t(2.5, (t, n)) * 0.01
    else:  # discrete: many ties and exact zeros
        x = rng.choice(np.array([-0.02, -0.01, 0.0, 0.005, 0.01, 0.03]), (t, n))
    x = np.clip(x, -0.95, 5.0)
    if nan_frac > 0:
        x[rng.random((t, n)) < nan_frac] = np.nan
    if n >= 6 and t >= 1:
        x[:, 0] = 0.01  # constant
        x[:, 1] = 0.0  # all zero
        x[:, 2] = np.abs(x[:, 2])  # no downside
        x[t // 2, 3] = -1.0  # a -100 % period
        x[:, 4] = np.nan  # all missing
    return x


panels = st.builds(
    make_panel,
    seed=st.integers(0, 2**32 - 1),
    t=st.sampled_from([0, 1, 2, 3, 5, 17, 64, 251, 600]),
    n=st.sampled_from([1, 6, 9]),
    nan_frac=st.sampled_from([0.0, 0.0, 0.03, 0.3]),
    kind=st.sampled_from(["normal", "fat", "discrete"]),
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cols(x: np.ndarray):
    return [x[:, j] for j in range(x.shape[1])]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


@SETTINGS
@given(panels, st.sampled_from([0.0, 0.0001, -0.0002]))
def test_moment_metrics_equal_empyrical(x, rf):
    t = x.shape[0]
    if t >= 1:
        close(m.sharpe_ratio(x, periods_per_year=P, risk_free=rf), ep.sharpe_ratio(x, rf))
        close(m.sortino_ratio(x, periods_per_year=P, required_return=rf), ep.sortino_ratio(x, rf))
        close(m.downside_risk(x, periods_per_year=P, required_return=rf), ep.downside_risk(x, rf))
        close(m.annual_volatility(x, periods_per_year=P), ep.annual_volatility(x))
        close(m.max_drawdown(x), ep.max_drawdown(x))
        close(m.cum_returns(x), ep.cum_returns(x))
        close(m.information_ratio(x[:, 0], x[:, -1]), ep.excess_sharpe(x[:, 0], x[:, -1]))
    for c in cols(x):  # 1-D: scalars, and the per-series functions empyrical has only in 1-D
        close(m.sharpe_ratio(c, periods_per_year=365, risk_free=rf), ep.sharpe_ratio(c, rf, annualization=365))
        close(m.annual_return(c, periods_per_year=P), ep.annual_return(c))
        close(m.total_return(c), ep.cum_returns_final(c))
        close(m.calmar_ratio(c, periods_per_year=P), ep.calmar_ratio(c))
        close(m.omega_ratio(c, periods_per_year=P, risk_free=rf, required_return=0.04),
              ep.omega_ratio(c, rf, 0.04))
        close(m.tail_ratio(c), ep.tail_ratio(c))
        close(m.stability(c), ep.stability_of_timeseries(c), rtol=1e-10)  # scipy's linregress sums via np.cov
        close(m.value_at_risk(c), ep.value_at_risk(c))
        close(m.conditional_value_at_risk(c), ep.conditional_value_at_risk(c), rtol=1e-13)


@SETTINGS
@given(panels, st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.0001]))
def test_benchmark_metrics_equal_empyrical(x, seed, rf):
    t = x.shape[0]
    rng = np.random.default_rng(seed)
    f = rng.normal(0.0003, 0.01, t)
    if t > 3:
        f[rng.integers(0, t)] = np.nan
    a, b = m.alpha_beta(x, f, periods_per_year=P, risk_free=rf)
    a = np.atleast_1d(a)
    b = np.atleast_1d(b)
    for j, c in enumerate(cols(x)):
        ea, eb = ep.alpha_beta(c, f, rf)
        close(b[j], eb)
        close(a[j], ea)
        close(m.beta(c, f), ep.beta(c, f))
        close(m.information_ratio(c, f), ep.excess_sharpe(c, f))
        if t > 0:
            close(m.capture_ratio(c, f, periods_per_year=P), ep.capture(c, f))
            close(m.up_capture(c, f, periods_per_year=P), ep.up_capture(c, f))
            close(m.down_capture(c, f, periods_per_year=P), ep.down_capture(c, f))
            close(m.up_down_capture(c, f, periods_per_year=P), ep.up_down_capture(c, f))
    if t >= 1:
        close(m.beta(x, f), ep.beta(x, f))


def test_panel_equals_columns():
    x = make_panel(3, 300, 9, 0.05, "fat")
    for fn in (m.sharpe_ratio, m.sortino_ratio, m.annual_volatility, m.annual_return, m.calmar_ratio):
        panel = fn(x, periods_per_year=P)
        close(panel, [fn(c, periods_per_year=P) for c in cols(x)], rtol=0)
    for fn in (m.max_drawdown, m.tail_ratio, m.stability, m.value_at_risk, m.conditional_value_at_risk):
        close(fn(x), [fn(c) for c in cols(x)], rtol=0)
    assert isinstance(m.sharpe_ratio(x[:, 5], periods_per_year=P), float)


def test_risk_free_units_and_per_period_arrays():
    x = make_panel(5, 400, 3, 0.0, "normal")
    annual = 0.05
    per_period = (1 + annual) ** (1 / 252) - 1
    close(m.sharpe_ratio(x, periods_per_year=P, risk_free=annual, risk_free_units="annual"),
          m.sharpe_ratio(x, periods_per_year=P, risk_free=per_period), rtol=0)
    rf = np.linspace(0.0, 0.0002, 400)
    close(m.sharpe_ratio(x, periods_per_year=P, risk_free=rf), ep.sharpe_ratio(x - rf[:, None]) )
    close(m.sortino_ratio(x[:, 0], periods_per_year=P, required_return=rf),
          ep.sortino_ratio(x[:, 0], rf))
    with pytest.raises(ValidationError):
        m.sharpe_ratio(x, periods_per_year=P, risk_free=rf[:10])
    with pytest.raises(ValidationError):
        m.sharpe_ratio(x, periods_per_year=P, risk_free_units="yearly")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        m.sharpe_ratio(x, periods_per_year=0)
    with pytest.raises(ValidationError):
        m.sharpe_ratio(np.zeros((2, 2, 2)), periods_per_year=P)
    with pytest.raises(TypeError):
        m.sharpe_ratio(x)  # type: ignore[call-arg]  # periods_per_year is never implicit


def test_nan_policy():
    x = make_panel(7, 100, 3, 0.0, "normal")
    x[10, 1] = np.nan
    skip = m.sharpe_ratio(x, periods_per_year=P)
    prop = m.sharpe_ratio(x, periods_per_year=P, nan_policy="propagate")
    assert np.isnan(prop[1]) and prop[0] == skip[0] and prop[2] == skip[2]
    with pytest.raises(ValidationError, match="NaN"):
        m.max_drawdown(x, nan_policy="raise")
    with pytest.raises(ValidationError):
        m.max_drawdown(x, nan_policy="ignore")  # type: ignore[arg-type]
    assert np.isnan(m.value_at_risk(x[:, 1]))  # empyrical: NaN propagates through the percentile
    close(m.value_at_risk(x[:, 1], nan_policy="skip"), np.percentile(x[~np.isnan(x[:, 1]), 1], 5))


def test_edge_cases_documented():
    assert math.isnan(m.sharpe_ratio([], periods_per_year=P))
    assert math.isnan(m.sharpe_ratio([0.01], periods_per_year=P))
    assert m.sharpe_ratio([0.01, 0.01, 0.01], periods_per_year=P) == math.inf
    assert m.sharpe_ratio([-0.01, -0.01], periods_per_year=P) == -math.inf
    assert math.isnan(m.sharpe_ratio([0.0, 0.0, 0.0], periods_per_year=P))
    assert m.sortino_ratio([0.01, 0.02], periods_per_year=P) == math.inf
    assert m.annual_return([0.1, -1.0, 0.2], periods_per_year=P) == -1.0
    assert m.max_drawdown([0.1, -1.0, 0.2]) == -1.0
    assert math.isnan(m.max_drawdown([]))
    assert math.isnan(m.calmar_ratio([0.01, 0.02], periods_per_year=P))  # no drawdown
    assert m.max_drawdown([0.01, 0.02]) == 0.0


def test_drawdown_details_against_plain_reference():
    def reference(r):
        # pyfolio's definition (peak: last zero of the underwater curve before the trough; recovery: first zero
        # after it) on empyrical's underwater curve, with the starting capital as row 0
        wealth = np.concatenate([[100.0], np.cumprod(1 + np.nan_to_num(r)) * 100.0])
        peak = np.maximum.accumulate(wealth)
        dd = (wealth - peak) / peak
        trough = int(np.argmin(dd))
        if dd[trough] == 0:
            return 0.0, -1, -1, -1
        pk = max(i for i in range(trough + 1) if dd[i] == 0)
        rec = next((i for i in range(trough, len(dd)) if dd[i] == 0), None)
        return dd[trough], pk - 1, trough - 1, -1 if rec is None else rec - 1

    rng = np.random.default_rng(11)
    for _ in range(200):
        r = rng.choice(np.array([-0.1, -0.05, 0.0, 0.05, 0.1, np.nan]), rng.integers(1, 40))
        info = m.drawdown_details(r)
        mdd, pk, tr, rec = reference(r)
        assert info.max_drawdown == pytest.approx(mdd, rel=1e-12, abs=1e-15)
        assert (info.peak, info.trough, info.recovery) == (pk, tr, rec)
        assert info.duration == (rec - pk if rec >= 0 else -1)
    info = m.drawdown_details([-0.1, 0.2, -0.5, 1.0, 0.1])
    assert (info.peak, info.trough, info.recovery, info.duration) == (1, 2, 3, 2)
    assert m.drawdown_details([-0.1, 0.05]).peak == -1  # the starting capital was the peak
    panel = m.drawdown_details(make_panel(1, 200, 6, 0.05, "fat"))
    assert panel.trough.shape == (6,)
    close(m.drawdown_series(np.array([0.1, -0.5, 0.5, 0.5])), [0.0, -0.5, -0.25, 0.0], rtol=1e-15)


def test_parametric_var_and_cvar_against_scipy():
    rng = np.random.default_rng(2)
    x = rng.normal(0.001, 0.02, (500, 4))
    for cutoff in (0.01, 0.05, 0.1):
        mu, sd = x.mean(axis=0), x.std(axis=0, ddof=1)
        close(m.value_at_risk(x, cutoff, method="parametric"), scipy_stats.norm.ppf(cutoff, mu, sd))
        es = np.array([scipy_stats.norm.expect(lambda v: v, loc=a, scale=b, ub=scipy_stats.norm.ppf(cutoff, a, b))
                       / cutoff for a, b in zip(mu, sd, strict=True)])
        close(m.conditional_value_at_risk(x, cutoff, method="parametric"), es, rtol=1e-8)  # quad tolerance
    with pytest.raises(ValidationError):
        m.value_at_risk(x, 1.5)


def test_normal_quantile_accuracy():
    from shrivenquant.analytics._metric_kernels import norm_ppf

    ps = np.concatenate([np.logspace(-300, -1, 300), np.linspace(0.01, 0.99, 99), 1 - np.logspace(-16, -1, 50)])
    ours = np.array([norm_ppf(p) for p in ps])
    ref = scipy_stats.norm.ppf(ps)
    assert np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-3)) < 1e-13


def test_real_nse_daily_closes(shared_data):
    import tarfile

    path = shared_data / "nse-kite-candles" / "daily.tar.gz"
    if not path.exists():
        pytest.skip("NSE daily candles not found")
    closes = []
    with tarfile.open(path) as tar:
        for member in sorted(tar.getmembers(), key=lambda mm: mm.name)[:12]:
            if not member.name.endswith(".csv"):
                continue
            rows = tar.extractfile(member).read().decode().splitlines()[1:]
            closes.append(np.array([float(r.split(",")[4]) for r in rows]))
    t = min(len(c) for c in closes)
    px = np.column_stack([c[-t:] for c in closes])
    r = px[1:] / px[:-1] - 1
    close(m.sharpe_ratio(r, periods_per_year=P), ep.sharpe_ratio(r))
    close(m.sortino_ratio(r, periods_per_year=P), ep.sortino_ratio(r))
    close(m.max_drawdown(r), ep.max_drawdown(r))
    for c in cols(r):
        close(m.annual_return(c, periods_per_year=P), ep.annual_return(c))
        close(m.calmar_ratio(c, periods_per_year=P), ep.calmar_ratio(c))
        close(m.alpha_beta(c, r[:, 0], periods_per_year=P)[0], ep.alpha_beta(c, r[:, 0])[0])


def test_sharpe_constant_test_is_exact_next_to_nearly_constant_columns() -> None:
    """The kernel's exact constant-column test runs only where the squared deviations are within rounding of
    zero; a column one ulp away from constant, infinities and NaN holes must still equal empyrical."""
    import empyrical

    x = np.full((300, 5), 0.0123)
    x[17, 1] = np.nextafter(0.0123, 1.0)  # nearly constant: not constant
    x[5, 2] = np.nan
    x[9, 3] = np.inf
    x[:, 4] = 0.0
    ours = m.sharpe_ratio(x, periods_per_year=252)
    ref = np.array([empyrical.sharpe_ratio(x[:, j], annualization=252) for j in range(5)])
    np.testing.assert_array_equal(ours, ref)


def test_cagr_of_a_short_high_frequency_series_overflows_to_inf_without_a_warning() -> None:
    import warnings

    x = np.full(7000, 3e-5)  # 7,000 samples of 100 ms annualised: the wealth ratio overflows float64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert m.annual_return(x, periods_per_year=365 * 864_000) == math.inf
