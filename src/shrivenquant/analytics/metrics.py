"""Performance metrics of simple (non-cumulative) returns, on one series or a panel (assets in columns).

Conventions are parameters, never hidden (formulas and edge cases: ``docs/analytics.md``):

- ``periods_per_year`` (keyword, no default): 252 for trading days, 365 for crypto days, 12 for months...
- ``risk_free`` / ``required_return``: a number or one value per period, in ``risk_free_units`` —
  ``"period"`` (default, as empyrical) or ``"annual"`` (converted with ``(1 + rf) ** (1 / periods) - 1``).
- ``nan_policy``: ``"skip"`` (default, empyrical: moments skip NaN, compounding treats NaN as a zero
  return, CAGR counts NaN rows as periods), ``"propagate"`` (a column with any NaN gives NaN) or
  ``"raise"``.

A 1-D input gives a float; a (T, N) panel gives an array of N. Results equal empyrical 0.7's on its
conventions (tests/test_analytics_metrics.py).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import msgspec
import numpy as np

from shrivenquant.analytics import _metric_kernels as k
from shrivenquant.analytics._inputs import (
    NanPolicy,
    RateUnits,
    as_panel,
    as_vector,
    check_nan_policy,
    finish,
    periods,
    rate_per_period,
)
from shrivenquant.errors import ValidationError

__all__ = [
    "DrawdownInfo",
    "alpha",
    "alpha_beta",
    "annual_return",
    "annual_volatility",
    "beta",
    "cagr",
    "calmar_ratio",
    "capture_ratio",
    "conditional_value_at_risk",
    "cum_returns",
    "down_capture",
    "downside_risk",
    "drawdown_details",
    "drawdown_series",
    "information_ratio",
    "max_drawdown",
    "omega_ratio",
    "sharpe_ratio",
    "sortino_ratio",
    "stability",
    "tail_ratio",
    "total_return",
    "up_capture",
    "up_down_capture",
    "value_at_risk",
]

Scalar = float | np.ndarray
VarMethod = Literal["historical", "parametric"]


def _out(n: int) -> np.ndarray:
    return np.empty(n, dtype=np.float64)


def _nan(x: np.ndarray, one_d: bool) -> Scalar:
    return finish(np.full(x.shape[1], np.nan), one_d)


# ------------------------------------------------------------------------------------------ returns
def cum_returns(returns: Any, starting_value: float = 0.0) -> np.ndarray:
    """Cumulative returns ``cumprod(1 + r) - 1`` (or ``cumprod(1 + r) * starting_value`` if it is not 0);
    NaN returns count as 0. Same shape as the input."""
    x, one_d = as_panel(returns)
    out = np.empty_like(x)
    k.cum_returns_kernel(x, float(starting_value), out)
    return out[:, 0] if one_d else out


def total_return(returns: Any, *, nan_policy: NanPolicy = "skip") -> Scalar:
    """Total compounded return ``prod(1 + r) - 1`` (NaN as 0); NaN for an empty input."""
    x, one_d = as_panel(returns)
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] == 0:
        return _nan(x, one_d)
    return finish(k.prod_kernel(x) - 1.0, one_d, bad)


def annual_return(returns: Any, *, periods_per_year: float, nan_policy: NanPolicy = "skip") -> Scalar:
    """CAGR: ``prod(1 + r) ** (periods_per_year / T) - 1`` with T counting every row (NaN rows too, as
    empyrical); NaN if empty; -1 after a -100 % period; NaN if the wealth went negative (a return < -1);
    ``inf`` when annualising a short, high-frequency series overflows float64."""
    x, one_d = as_panel(returns)
    ann = periods(periods_per_year)
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] == 0:
        return _nan(x, one_d)
    ending = k.prod_kernel(x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = ending ** (1.0 / (x.shape[0] / ann)) - 1.0
    return finish(out, one_d, bad)


cagr = annual_return


def annual_volatility(returns: Any, *, periods_per_year: float, alpha: float = 2.0,
                      nan_policy: NanPolicy = "skip") -> Scalar:
    """``std(r, ddof=1) * periods_per_year ** (1 / alpha)`` (NaN skipped; alpha is the Lévy stability
    exponent, 2 for the square-root-of-time rule); NaN below 2 rows or 2 present values."""
    x, one_d = as_panel(returns)
    ann = periods(periods_per_year)
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] < 2:
        return _nan(x, one_d)
    _, std, _, _ = k.mean_std_kernel(x, np.zeros(1), 1)
    return finish(std * ann ** (1.0 / alpha), one_d, bad)


def sharpe_ratio(returns: Any, *, periods_per_year: float, risk_free: Any = 0.0,
                 risk_free_units: RateUnits = "period", nan_policy: NanPolicy = "skip") -> Scalar:
    """``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``, NaN skipped.

    Edge cases (empyrical's): NaN below 2 rows or 2 present values; when every present excess return
    is equal the std is taken as exactly 0, giving +inf / -inf (or NaN if they are all 0).
    """
    x, one_d = as_panel(returns)
    ann = periods(periods_per_year)
    rf = rate_per_period(risk_free, risk_free_units, ann, x.shape[0])
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] < 2:
        return _nan(x, one_d)
    out = _out(x.shape[1])
    k.sharpe_kernel(x, rf, ann, out)
    return finish(out, one_d, bad)


def downside_risk(returns: Any, *, periods_per_year: float, required_return: Any = 0.0,
                  required_return_units: RateUnits = "period", nan_policy: NanPolicy = "skip") -> Scalar:
    """``sqrt(mean(min(r - req, 0) ** 2)) * sqrt(periods_per_year)``, the mean over ALL present
    observations (not only the negative ones); NaN if empty."""
    x, one_d = as_panel(returns)
    ann = periods(periods_per_year)
    req = rate_per_period(required_return, required_return_units, ann, x.shape[0], "required_return")
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] < 1:
        return _nan(x, one_d)
    mean, dr = _out(x.shape[1]), _out(x.shape[1])
    k.downside_kernel(x, req, ann, mean, dr)
    return finish(dr, one_d, bad)


def sortino_ratio(returns: Any, *, periods_per_year: float, required_return: Any = 0.0,
                  required_return_units: RateUnits = "period", nan_policy: NanPolicy = "skip") -> Scalar:
    """``mean(r - req) * periods_per_year / downside_risk``; +inf when nothing is below ``req`` and the
    mean is positive; NaN below 2 rows."""
    x, one_d = as_panel(returns)
    ann = periods(periods_per_year)
    req = rate_per_period(required_return, required_return_units, ann, x.shape[0], "required_return")
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] < 2:
        return _nan(x, one_d)
    out = _out(x.shape[1])
    k.sortino_kernel(x, req, ann, out)
    return finish(out, one_d, bad)


# ----------------------------------------------------------------------------------------- drawdown
class DrawdownInfo(msgspec.Struct, frozen=True):
    """The worst drawdown of each series (arrays of N for a panel, 0-D values for one series).

    Attributes:
        max_drawdown: the worst ``wealth / running peak - 1`` (<= 0; 0 if wealth never fell).
        peak: index of the last period at zero drawdown before the trough; -1 when the peak is the
            starting capital (the very first return was already a loss).
        trough: index of the worst point (first one if tied); -1 when there is no drawdown.
        recovery: first index after the trough back at the peak; -1 if not (yet) recovered.
        duration: ``recovery - peak`` periods, peak to recovery; -1 if not recovered.
    """

    max_drawdown: Any
    peak: Any
    trough: Any
    recovery: Any
    duration: Any


def _drawdown(x: np.ndarray, want_series: bool) -> tuple[np.ndarray, ...]:
    n = x.shape[1]
    mdd = _out(n)
    peak, trough, rec = (np.empty(n, np.int64) for _ in range(3))
    under = np.empty_like(x) if want_series else np.empty((0, 0))
    k.drawdown_kernel(x, mdd, peak, trough, rec, under, want_series)
    return mdd, peak, trough, rec, under


def max_drawdown(returns: Any, *, nan_policy: NanPolicy = "skip") -> Scalar:
    """Worst peak-to-trough loss of the wealth ``cumprod(1 + r)`` (the start counts as a peak; NaN as a 0
    return); a value <= 0, NaN if empty."""
    x, one_d = as_panel(returns)
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] == 0:
        return _nan(x, one_d)
    out = _out(x.shape[1])
    k.max_drawdown_kernel(x, out)
    return finish(out, one_d, bad)


def drawdown_series(returns: Any) -> np.ndarray:
    """The underwater curve ``wealth / running peak - 1`` per period (the start is a peak)."""
    x, one_d = as_panel(returns)
    under = _drawdown(x, True)[4]
    return under[:, 0] if one_d else under


def drawdown_details(returns: Any) -> DrawdownInfo:
    """The worst drawdown with its peak, trough and recovery indices and duration (see :class:`DrawdownInfo`)."""
    x, one_d = as_panel(returns)
    if x.shape[0] == 0:
        raise ValidationError("drawdown_details needs at least one return")
    mdd, peak, trough, rec, _ = _drawdown(x, False)
    dur = np.where(rec >= 0, rec - peak, -1)
    if one_d:
        return DrawdownInfo(float(mdd[0]), int(peak[0]), int(trough[0]), int(rec[0]), int(dur[0]))
    return DrawdownInfo(mdd, peak, trough, rec, dur)


def calmar_ratio(returns: Any, *, periods_per_year: float, nan_policy: NanPolicy = "skip") -> Scalar:
    """``CAGR / |max drawdown|``; NaN when there is no drawdown or the ratio is infinite."""
    x, one_d = as_panel(returns)
    if x.shape[0] == 0:
        return _nan(x, one_d)
    mdd = np.atleast_1d(np.asarray(max_drawdown(x, nan_policy=nan_policy)))
    ar = np.atleast_1d(np.asarray(annual_return(x, periods_per_year=periods_per_year, nan_policy=nan_policy)))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(mdd < 0, ar / np.abs(mdd), np.nan)
    out[np.isinf(out)] = np.nan
    return finish(out, one_d)


# ------------------------------------------------------------------------------------ distribution
def omega_ratio(returns: Any, *, periods_per_year: float, risk_free: Any = 0.0, required_return: float = 0.0,
                risk_free_units: RateUnits = "period", nan_policy: NanPolicy = "skip") -> Scalar:
    """Omega: ``sum(max(e, 0)) / sum(max(-e, 0))`` with ``e = r - rf - threshold`` and the threshold the
    ANNUAL ``required_return`` de-annualised, ``(1 + req) ** (1 / periods_per_year) - 1`` (used as is when
    ``periods_per_year == 1``). NaN below 2 rows, when ``required_return <= -1`` or nothing is below."""
    x, one_d = as_panel(returns)
    ann = periods(periods_per_year)
    rf = rate_per_period(risk_free, risk_free_units, ann, x.shape[0])
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] < 2:
        return _nan(x, one_d)
    if ann == 1:
        thresh = float(required_return)
    elif required_return <= -1:
        return _nan(x, one_d)
    else:
        thresh = (1 + required_return) ** (1.0 / ann) - 1
    out = _out(x.shape[1])
    k.omega_kernel(x, rf, thresh, out)
    return finish(out, one_d, bad)


def tail_ratio(returns: Any) -> Scalar:
    """``|95th percentile| / |5th percentile|`` of the present returns (NumPy's linear percentile)."""
    x, one_d = as_panel(returns)
    if x.shape[0] == 0:
        return _nan(x, one_d)
    q = np.empty((2, x.shape[1]))
    k.percentile_kernel(x, np.array([0.95, 0.05]), True, q)
    with np.errstate(invalid="ignore", divide="ignore"):
        return finish(np.abs(q[0]) / np.abs(q[1]), one_d)


def stability(returns: Any) -> Scalar:
    """R² of a linear fit of the cumulative log returns ``cumsum(log1p(r))`` (NaN dropped) on time; NaN
    below 2 present values or for a flat curve."""
    x, one_d = as_panel(returns)
    if x.shape[0] < 2:
        return _nan(x, one_d)
    out = _out(x.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        k.stability_kernel(x, out)
    return finish(out, one_d)


def _check_cutoff(cutoff: float) -> float:
    c = float(cutoff)
    if not 0.0 < c < 1.0:
        raise ValidationError(f"cutoff must be in (0, 1), got {cutoff!r}")
    return c


def value_at_risk(returns: Any, cutoff: float = 0.05, *, method: VarMethod = "historical",
                  nan_policy: NanPolicy = "propagate") -> Scalar:
    """Value at risk as a return (negative is a loss) at the ``cutoff`` tail probability.

    ``historical``: NumPy's linear percentile at ``100 * cutoff`` (empyrical; its default NaN policy is
    ``"propagate"``: a NaN gives NaN). ``parametric``: normal, ``mean + std * Phi^-1(cutoff)`` with the
    sample mean and std (ddof=1) of the present values.
    """
    c = _check_cutoff(cutoff)
    x, one_d = as_panel(returns)
    if method == "parametric":
        bad = check_nan_policy(x, nan_policy)
        if x.shape[0] < 2:
            return _nan(x, one_d)
        mean, std, _, _ = k.mean_std_kernel(x, np.zeros(1), 1)
        return finish(mean + std * k.norm_ppf(c), one_d, bad)
    if method != "historical":
        raise ValidationError(f"method must be 'historical' or 'parametric', got {method!r}")
    bad = check_nan_policy(x, "skip" if nan_policy == "propagate" else nan_policy)
    if x.shape[0] == 0:
        return _nan(x, one_d)
    q = np.empty((1, x.shape[1]))
    k.percentile_kernel(x, np.array([(100.0 * c) / 100.0]), nan_policy == "skip", q)
    return finish(q[0], one_d, bad)


def conditional_value_at_risk(returns: Any, cutoff: float = 0.05, *, method: VarMethod = "historical",
                              nan_policy: NanPolicy = "skip") -> Scalar:
    """Expected shortfall: the mean return in the ``cutoff`` tail (negative is a loss).

    ``historical`` (empyrical): the mean of the ``k + 1`` smallest present returns, ``k = int((n - 1) *
    cutoff)``. ``parametric``: normal, ``mean - std * phi(Phi^-1(cutoff)) / cutoff``.
    """
    c = _check_cutoff(cutoff)
    x, one_d = as_panel(returns)
    bad = check_nan_policy(x, nan_policy)
    if method == "parametric":
        if x.shape[0] < 2:
            return _nan(x, one_d)
        mean, std, _, _ = k.mean_std_kernel(x, np.zeros(1), 1)
        z = k.norm_ppf(c)
        return finish(mean - std * k.norm_pdf(z) / c, one_d, bad)
    if method != "historical":
        raise ValidationError(f"method must be 'historical' or 'parametric', got {method!r}")
    out = _out(x.shape[1])
    k.cvar_kernel(x, c, out)
    return finish(out, one_d, bad)


# -------------------------------------------------------------------------------------- benchmark
def _with_benchmark(returns: Any, benchmark: Any) -> tuple[np.ndarray, bool, np.ndarray]:
    x, one_d = as_panel(returns)
    f = as_vector(benchmark, x.shape[0], "benchmark")
    return x, one_d, f


def beta(returns: Any, benchmark: Any, *, nan_policy: NanPolicy = "skip") -> Scalar:
    """``cov(r, b) / var(b)`` (population moments over the periods where both are present); NaN when the
    benchmark's variance is below 1e-30 or fewer than 2 periods. The risk-free rate does not enter
    (as in empyrical)."""
    x, one_d, f = _with_benchmark(returns, benchmark)
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] < 2:
        return _nan(x, one_d)
    out = _out(x.shape[1])
    k.beta_kernel(x, f, out)
    return finish(out, one_d, bad)


def alpha_beta(returns: Any, benchmark: Any, *, periods_per_year: float, risk_free: Any = 0.0,
               risk_free_units: RateUnits = "period", nan_policy: NanPolicy = "skip") -> tuple[Scalar, Scalar]:
    """Annualised (compounded) alpha and beta: ``alpha = (1 + mean((r - rf) - beta (b - rf))) **
    periods_per_year - 1`` (empyrical's definition)."""
    x, one_d, f = _with_benchmark(returns, benchmark)
    ann = periods(periods_per_year)
    rf = rate_per_period(risk_free, risk_free_units, ann, x.shape[0])
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] < 2:
        return _nan(x, one_d), _nan(x, one_d)
    b = _out(x.shape[1])
    k.beta_kernel(x, f, b)
    a = _out(x.shape[1])
    with np.errstate(invalid="ignore", over="ignore"):
        k.alpha_kernel(x, f, rf, b, ann, a)
    return finish(a, one_d, bad), finish(b, one_d, bad)


def alpha(returns: Any, benchmark: Any, *, periods_per_year: float, risk_free: Any = 0.0,
          risk_free_units: RateUnits = "period", nan_policy: NanPolicy = "skip") -> Scalar:
    """Annualised alpha (see :func:`alpha_beta`)."""
    return alpha_beta(returns, benchmark, periods_per_year=periods_per_year, risk_free=risk_free,
                      risk_free_units=risk_free_units, nan_policy=nan_policy)[0]


def information_ratio(returns: Any, benchmark: Any, *, periods_per_year: float = 1.0,
                      nan_policy: NanPolicy = "skip") -> Scalar:
    """``mean(r - b) / std(r - b, ddof=1) * sqrt(periods_per_year)``; with the default
    ``periods_per_year=1`` it is per period, empyrical's ``excess_sharpe``. Zero dispersion as Sharpe."""
    x, one_d, f = _with_benchmark(returns, benchmark)
    ann = periods(periods_per_year)
    bad = check_nan_policy(x, nan_policy)
    if x.shape[0] < 2:
        return _nan(x, one_d)
    out = _out(x.shape[1])
    k.sharpe_kernel(k.active_panel(x, f), np.zeros(1), ann, out)
    return finish(out, one_d, bad)


def _cagr_1d(r: np.ndarray, ann: float) -> float:
    if r.shape[0] == 0:
        return math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(k.prod_kernel(r.reshape(-1, 1))[0] ** (1.0 / (r.shape[0] / ann)) - 1.0)


def _capture(returns: Any, benchmark: Any, periods_per_year: float, side: int) -> Scalar:
    x, one_d, f = _with_benchmark(returns, benchmark)
    ann = periods(periods_per_year)
    out = _out(x.shape[1])
    for j in range(x.shape[1]):
        r = x[:, j]
        # as empyrical: one series drops the rows where either is NaN; a panel keeps the benchmark's rows
        mask = ~(np.isnan(r) | np.isnan(f)) if one_d and side != 0 else np.ones(f.shape[0], dtype=bool)
        if side > 0:
            mask &= f > 0
        elif side < 0:
            mask &= f < 0
        with np.errstate(invalid="ignore", divide="ignore"):
            out[j] = _cagr_1d(r[mask], ann) / _cagr_1d(f[mask], ann)
    return finish(out, one_d)


def capture_ratio(returns: Any, benchmark: Any, *, periods_per_year: float) -> Scalar:
    """``CAGR(r) / CAGR(b)`` over all periods (NaN rows count as periods of zero return)."""
    return _capture(returns, benchmark, periods_per_year, 0)


def up_capture(returns: Any, benchmark: Any, *, periods_per_year: float) -> Scalar:
    """Capture ratio over the periods where the benchmark rose (both present, for one series)."""
    return _capture(returns, benchmark, periods_per_year, 1)


def down_capture(returns: Any, benchmark: Any, *, periods_per_year: float) -> Scalar:
    """Capture ratio over the periods where the benchmark fell (both present, for one series)."""
    return _capture(returns, benchmark, periods_per_year, -1)


def up_down_capture(returns: Any, benchmark: Any, *, periods_per_year: float) -> Scalar:
    """``up_capture / down_capture``."""
    up = up_capture(returns, benchmark, periods_per_year=periods_per_year)
    down = down_capture(returns, benchmark, periods_per_year=periods_per_year)
    with np.errstate(invalid="ignore", divide="ignore"):
        return finish(np.atleast_1d(np.float64(up) / np.asarray(down, dtype=np.float64)), np.ndim(up) == 0)
