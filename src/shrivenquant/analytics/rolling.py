"""Rolling performance metrics in O(T) per series: running sums, not a loop over windows.

Window at row t: rows ``max(0, t - window + 1) .. t``. The output has one row per input row (aligned to
the window's last row) and is NaN where the window holds fewer than ``min_periods`` present (non-NaN)
observations (default ``min_periods = window``: pandas' rule; so the first ``window - 1`` rows are NaN).
With ``min_periods <= window``, rows ``window - 1 ..`` equal empyrical's ``roll_*`` (which returns only
those rows, and silently shrinks a window longer than the series; here such a series is all NaN).

Accuracy: sums run on values shifted by a recent window mean and are recomputed from scratch every
``window`` rows, so rounding cannot drift; a window whose mean has moved more than 8 standard deviations
from the shift (tiny variance after a jump) is re-summed around its exact mean, keeping the cancellation
bounded (relative error <= 1e-10 against empyrical's two-pass sums on each window, in the tests).
A window whose present values are all equal is detected exactly: its std is 0 (Sharpe ±inf, or NaN for
zeros, as empyrical), its volatility exactly 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from shrivenquant.analytics._inputs import RateUnits, as_panel, as_vector, periods, rate_per_period
from shrivenquant.errors import ValidationError

__all__ = [
    "rolling_beta",
    "rolling_max_drawdown",
    "rolling_sharpe",
    "rolling_sortino",
    "rolling_volatility",
]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

_SHARPE, _VOL, _SORTINO = 0, 1, 2


@njit(**_JIT)
def _rf(rf: np.ndarray, t: int) -> float:
    return rf[t] if rf.shape[0] > 1 else rf[0]


@njit(**_JIT)
def _refresh(x: np.ndarray, rf: np.ndarray, t: int, w: int, c: np.ndarray, s1: np.ndarray, s2: np.ndarray,  # noqa: PLR0917
             sn: np.ndarray, cnt: np.ndarray) -> None:
    """Recompute every column's sums over rows ``t - w + 1 .. t`` around a new shift (the current mean)."""
    n = x.shape[1]
    for j in range(n):
        if cnt[j] > 0:
            c[j] = c[j] + s1[j] / cnt[j]
        s1[j] = 0.0
        s2[j] = 0.0
        sn[j] = 0.0
    for i in range(max(0, t - w + 1), t + 1):
        r = _rf(rf, i)
        for j in range(n):
            v = x[i, j] - r
            if not math.isnan(v):
                d = v - c[j]
                s1[j] += d
                s2[j] += d * d
                if v < 0.0:
                    sn[j] += v * v


@njit(**_JIT)
def _refresh_col(x: np.ndarray, rf: np.ndarray, t: int, w: int, j: int, c: np.ndarray, s1: np.ndarray,  # noqa: PLR0917
                 s2: np.ndarray, sn: np.ndarray) -> None:
    """Recompute one column's sums around its window's exact mean (two passes)."""
    acc = 0.0
    k = 0
    for i in range(max(0, t - w + 1), t + 1):
        v = x[i, j] - _rf(rf, i)
        if not math.isnan(v):
            acc += v
            k += 1
    c[j] = acc / k
    s1[j] = 0.0
    s2[j] = 0.0
    sn[j] = 0.0
    for i in range(max(0, t - w + 1), t + 1):
        v = x[i, j] - _rf(rf, i)
        if not math.isnan(v):
            d = v - c[j]
            s1[j] += d
            s2[j] += d * d
            if v < 0.0:
                sn[j] += v * v


#: a window is re-summed around its exact mean when the shift is this many variances away from it
_DRIFT = 64.0


@njit(**_JIT)
def rolling_moments_kernel(x: np.ndarray, rf: np.ndarray, w: int, minp: int, ann: float, what: int,  # noqa: PLR0917
                           out: np.ndarray) -> None:
    """Rolling Sharpe (``what=0``), volatility (1) or Sortino (2) of ``x - rf`` over a (T, N) panel.

    Per row: one pass over the columns adds row t and removes row t - w (every ``w`` rows the sums are
    recomputed over the window instead), a second writes row t of the output.
    """
    t_n, n = x.shape
    c = np.zeros(n)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    sn = np.zeros(n)
    cnt = np.zeros(n, np.int64)
    neg = np.zeros(n, np.int64)  # negative values in the window: none means a downside of exactly 0
    last = np.full(n, np.nan)  # last present value
    seen = np.zeros(n, np.int64)  # present values so far
    chg = np.zeros(n, np.int64)  # `seen` when the last value differing from its predecessor arrived
    sq = math.sqrt(ann)
    sortino = what == _SORTINO
    for t in range(t_n):
        r = _rf(rf, t)
        ro = _rf(rf, t - w) if t >= w else 0.0
        for j in range(n):
            v = x[t, j] - r
            if not math.isnan(v):
                if cnt[j] == 0:  # first value of an empty window: shift by it, drop any residue
                    c[j] = v
                    s1[j] = 0.0
                    s2[j] = 0.0
                    sn[j] = 0.0
                d = v - c[j]
                s1[j] += d
                s2[j] += d * d
                if v < 0.0:
                    if sortino:
                        sn[j] += v * v
                    neg[j] += 1
                cnt[j] += 1
                if v != last[j]:
                    chg[j] = seen[j]
                last[j] = v
                seen[j] += 1
            if t >= w:
                u = x[t - w, j] - ro
                if not math.isnan(u):
                    d = u - c[j]
                    s1[j] -= d
                    s2[j] -= d * d
                    if u < 0.0:
                        if sortino:
                            sn[j] -= u * u
                        neg[j] -= 1
                    cnt[j] -= 1
        if t % w == w - 1:
            _refresh(x, rf, t, w, c, s1, s2, sn, cnt)
        for j in range(n):
            k = cnt[j]
            # empyrical: Sortino needs 2 rows in the window (1 present value is enough); Sharpe and
            # volatility need 2 present values (ddof=1)
            short = (w < 2 or t == 0) if sortino else k < 2
            if k < minp or k == 0 or short:
                out[t, j] = np.nan
                continue
            const = seen[j] - chg[j] >= k
            mean = last[j] if const else c[j] + s1[j] / k
            if sortino:
                dr = math.sqrt((sn[j] if neg[j] > 0 and sn[j] > 0.0 else 0.0) / k) * sq
                out[t, j] = (mean * ann) / dr
                continue
            sd = 0.0
            if not const:
                m2 = s2[j] - s1[j] * s1[j] / k
                if s1[j] * s1[j] / k > _DRIFT * m2:  # the shift is far from this window's mean: re-sum
                    _refresh_col(x, rf, t, w, j, c, s1, s2, sn)
                    mean = c[j] + s1[j] / k
                    m2 = s2[j] - s1[j] * s1[j] / k
                var = m2 / (k - 1)
                sd = math.sqrt(var) if var > 0.0 else 0.0
            if what == _VOL:
                out[t, j] = sd * sq
            else:
                out[t, j] = (mean / sd) * sq


@njit(**_JIT)
def rolling_beta_kernel(x: np.ndarray, f: np.ndarray, w: int, minp: int, out: np.ndarray) -> None:
    """Rolling population cov(r, b) / var(b) over the rows where both are present (empyrical's beta)."""
    t_n, n = x.shape
    cx = np.zeros(n)
    cf = np.zeros(n)
    sx = np.zeros(n)
    sf = np.zeros(n)
    sff = np.zeros(n)
    sxf = np.zeros(n)
    cnt = np.zeros(n, np.int64)
    lastf = np.full(n, np.nan)
    seen = np.zeros(n, np.int64)
    chg = np.zeros(n, np.int64)
    for t in range(t_n):
        fv = f[t]
        for j in range(n):
            v = x[t, j]
            if not (math.isnan(v) or math.isnan(fv)):
                if cnt[j] == 0:
                    cx[j] = v
                    cf[j] = fv
                    sx[j] = 0.0
                    sf[j] = 0.0
                    sff[j] = 0.0
                    sxf[j] = 0.0
                dx = v - cx[j]
                df = fv - cf[j]
                sx[j] += dx
                sf[j] += df
                sff[j] += df * df
                sxf[j] += dx * df
                cnt[j] += 1
                if seen[j] == 0 or fv != lastf[j]:
                    chg[j] = seen[j]
                lastf[j] = fv
                seen[j] += 1
        if t >= w:
            fo = f[t - w]
            for j in range(n):
                v = x[t - w, j]
                if not (math.isnan(v) or math.isnan(fo)):
                    dx = v - cx[j]
                    df = fo - cf[j]
                    sx[j] -= dx
                    sf[j] -= df
                    sff[j] -= df * df
                    sxf[j] -= dx * df
                    cnt[j] -= 1
        if t % w == w - 1:  # recompute around the current means
            for j in range(n):
                if cnt[j] > 0:
                    cx[j] += sx[j] / cnt[j]
                    cf[j] += sf[j] / cnt[j]
                sx[j] = 0.0
                sf[j] = 0.0
                sff[j] = 0.0
                sxf[j] = 0.0
            for i in range(max(0, t - w + 1), t + 1):
                fi = f[i]
                for j in range(n):
                    v = x[i, j]
                    if not (math.isnan(v) or math.isnan(fi)):
                        dx = v - cx[j]
                        df = fi - cf[j]
                        sx[j] += dx
                        sf[j] += df
                        sff[j] += df * df
                        sxf[j] += dx * df
        for j in range(n):
            k = cnt[j]
            if k < minp or k < 2:
                out[t, j] = np.nan
                continue
            if seen[j] - chg[j] >= k:  # the benchmark is constant over the window
                out[t, j] = np.nan
                continue
            m2 = sff[j] - sf[j] * sf[j] / k
            if sf[j] * sf[j] / k > _DRIFT * m2:  # the shift is far from the window's means: re-sum
                ax = 0.0
                af = 0.0
                for i in range(max(0, t - w + 1), t + 1):
                    v = x[i, j]
                    if not (math.isnan(v) or math.isnan(f[i])):
                        ax += v
                        af += f[i]
                cx[j] = ax / k
                cf[j] = af / k
                sx[j] = 0.0
                sf[j] = 0.0
                sff[j] = 0.0
                sxf[j] = 0.0
                for i in range(max(0, t - w + 1), t + 1):
                    v = x[i, j]
                    if not (math.isnan(v) or math.isnan(f[i])):
                        dx = v - cx[j]
                        df = f[i] - cf[j]
                        sx[j] += dx
                        sf[j] += df
                        sff[j] += df * df
                        sxf[j] += dx * df
                m2 = sff[j] - sf[j] * sf[j] / k
            var = m2 / k
            cov = (sxf[j] - sx[j] * sf[j] / k) / k
            out[t, j] = cov / var if var >= 1e-30 else np.nan


@njit(**_JIT)
def _combine(g1: float, h1: float, l1: float, m1: float, g2: float, h2: float, l2: float,  # noqa: PLR0917
             m2: float) -> tuple:
    """Join two consecutive segments' (growth, highest, lowest, worst pair ratio) summaries, each relative
    to its own starting wealth 1: the worst ratio is either inside one segment or a later low over an
    earlier high."""
    return (g1 * g2, max(h1, g1 * h2), min(l1, g1 * l2), min(m1, m2, g1 * l2 / h1))


@njit(**_JIT)
def rolling_mdd_kernel(x: np.ndarray, w: int, minp: int, out: np.ndarray) -> None:
    """Rolling max drawdown (van Herk / Gil-Werman blocks of ``w`` rows: prefix and suffix summaries per
    block, one combine per window). NaN is a zero return, as in :func:`max_drawdown`."""
    t_n, n = x.shape
    pg = np.empty(t_n)
    ph = np.empty(t_n)
    pl = np.empty(t_n)
    pm = np.empty(t_n)
    sg = np.empty(t_n)
    sh = np.empty(t_n)
    sl = np.empty(t_n)
    sm = np.empty(t_n)
    cnt = np.zeros(t_n + 1, np.int64)
    for j in range(n):
        for t in range(t_n):
            v = x[t, j]
            cnt[t + 1] = cnt[t] + (0 if math.isnan(v) else 1)
        for b0 in range(0, t_n, w):
            b1 = min(b0 + w, t_n)
            for t in range(b0, b1):  # prefix summaries
                v = x[t, j]
                g = 1.0 if math.isnan(v) else 1.0 + v
                if t == b0:
                    pg[t], ph[t], pl[t], pm[t] = g, max(1.0, g), g, min(1.0, g)
                else:
                    pg[t], ph[t], pl[t], pm[t] = _combine(pg[t - 1], ph[t - 1], pl[t - 1], pm[t - 1],
                                                          g, max(1.0, g), g, min(1.0, g))
            for t in range(b1 - 1, b0 - 1, -1):  # suffix summaries
                v = x[t, j]
                g = 1.0 if math.isnan(v) else 1.0 + v
                if t == b1 - 1:
                    sg[t], sh[t], sl[t], sm[t] = g, max(1.0, g), g, min(1.0, g)
                else:
                    sg[t], sh[t], sl[t], sm[t] = _combine(g, max(1.0, g), g, min(1.0, g),
                                                          sg[t + 1], sh[t + 1], sl[t + 1], sm[t + 1])
        for t in range(t_n):
            s = t - w + 1 if t - w + 1 > 0 else 0
            k = cnt[t + 1] - cnt[s]
            if k < minp:
                out[t, j] = np.nan
                continue
            # a window starting a block is that block's prefix; any other spans a suffix and a prefix
            m = pm[t] if s % w == 0 else _combine(sg[s], sh[s], sl[s], sm[s], pg[t], ph[t], pl[t], pm[t])[3]
            out[t, j] = m - 1.0 if m < 1.0 else 0.0


def _window(window: int, min_periods: int | None, least: int) -> tuple[int, int]:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValidationError(f"window must be a positive integer, got {window!r}")
    minp = int(window) if min_periods is None else min_periods
    if isinstance(minp, bool) or not isinstance(minp, int | np.integer) or not 0 <= minp <= window:
        raise ValidationError(f"min_periods must be an integer in [0, window], got {min_periods!r}")
    return int(window), max(int(minp), least)


def _shape(out: np.ndarray, one_d: bool) -> np.ndarray:
    return out[:, 0] if one_d else out


def _moments(returns: Any, window: int, min_periods: int | None, periods_per_year: float, rate: Any,  # noqa: PLR0917
             units: RateUnits, what: int, name: str) -> np.ndarray:
    x, one_d = as_panel(returns)
    ann = periods(periods_per_year)
    w, minp = _window(window, min_periods, 1)
    rf = rate_per_period(rate, units, ann, x.shape[0], name)
    out = np.empty_like(x)
    rolling_moments_kernel(x, rf, w, minp, ann, what, out)
    return _shape(out, one_d)


def rolling_sharpe(returns: Any, window: int, *, periods_per_year: float, risk_free: Any = 0.0,
                   risk_free_units: RateUnits = "period", min_periods: int | None = None) -> np.ndarray:
    """Rolling :func:`~shrivenquant.analytics.sharpe_ratio` (NaN below 2 present values)."""
    return _moments(returns, window, min_periods, periods_per_year, risk_free, risk_free_units, _SHARPE,
                    "risk_free")


def rolling_volatility(returns: Any, window: int, *, periods_per_year: float,
                       min_periods: int | None = None) -> np.ndarray:
    """Rolling annualised volatility ``std(ddof=1) * sqrt(periods_per_year)`` (exactly 0 for a constant
    window, where empyrical may return float noise ~1e-18)."""
    return _moments(returns, window, min_periods, periods_per_year, 0.0, "period", _VOL, "risk_free")


def rolling_sortino(returns: Any, window: int, *, periods_per_year: float, required_return: Any = 0.0,
                    required_return_units: RateUnits = "period", min_periods: int | None = None) -> np.ndarray:
    """Rolling :func:`~shrivenquant.analytics.sortino_ratio` (NaN for windows of fewer than 2 rows)."""
    return _moments(returns, window, min_periods, periods_per_year, required_return, required_return_units,
                    _SORTINO, "required_return")


def rolling_beta(returns: Any, benchmark: Any, window: int, *, min_periods: int | None = None) -> np.ndarray:
    """Rolling :func:`~shrivenquant.analytics.beta` against one benchmark series (NaN where the benchmark
    is constant over the window or fewer than 2 periods have both values)."""
    x, one_d = as_panel(returns)
    f = as_vector(benchmark, x.shape[0], "benchmark")
    w, minp = _window(window, min_periods, 2)
    out = np.empty_like(x)
    rolling_beta_kernel(x, f, w, minp, out)
    return _shape(out, one_d)


def rolling_max_drawdown(returns: Any, window: int, *, min_periods: int | None = None) -> np.ndarray:
    """Rolling :func:`~shrivenquant.analytics.max_drawdown`: the worst drawdown inside each window, the
    wealth just before the window being its first peak. ``min_periods`` counts present values (NaN
    rows are zero returns)."""
    x, one_d = as_panel(returns)
    w, minp = _window(window, min_periods, 0)
    out = np.empty_like(x)
    rolling_mdd_kernel(x, w, minp, out)
    return _shape(out, one_d)
