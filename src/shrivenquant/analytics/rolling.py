"""Rolling performance metrics in O(T) per series: running sums, not a loop over windows.

Window at row t: rows ``max(0, t - window + 1) .. t``. The output has one row per input row (aligned to
the window's last row) and is NaN where the window holds fewer than ``min_periods`` present (non-NaN)
observations (default ``min_periods = window``: pandas' rule; so the first ``window - 1`` rows are NaN).
With ``min_periods <= window``, rows ``window - 1 ..`` equal empyrical's ``roll_*`` (which returns only
those rows, and silently shrinks a window longer than the series; here such a series is all NaN).

Accuracy: sums run on values shifted by a recent window mean, are recomputed from scratch every few
windows (no drift), and a window is re-summed around its exact mean when its second moment falls below
1e-4 of the magnitudes summed since the last re-sum (so rounding stays below ~1e-12 relative) or its
mean jumps far from the shift (relative error <= 1e-12 against empyrical's two-pass sums on each window,
in the tests). A window whose present values are all equal is detected exactly: its std is 0 (Sharpe
±inf, or NaN for zeros, as empyrical), its volatility exactly 0.
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
             sa: np.ndarray, sn: np.ndarray, sna: np.ndarray, cnt: np.ndarray) -> None:
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
    for j in range(n):
        sa[j] = s2[j]
        sna[j] = sn[j]


@njit(**_JIT)
def _exact_col(x: np.ndarray, rf: np.ndarray, t: int, w: int, j: int, c: np.ndarray, s1: np.ndarray,  # noqa: PLR0917
               s2: np.ndarray, sa: np.ndarray, sn: np.ndarray, sna: np.ndarray) -> bool:
    """Re-sum one column's window around its exact mean (two passes); True if its present values are
    all equal (then the shift is that value and the sums are exactly 0)."""
    acc = 0.0
    k = 0
    lo = np.inf
    hi = -np.inf
    for i in range(max(0, t - w + 1), t + 1):
        v = x[i, j] - _rf(rf, i)
        if not math.isnan(v):
            acc += v
            k += 1
            lo = min(lo, v)
            hi = max(hi, v)
    const = lo == hi
    c[j] = lo if const else acc / k
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
    sa[j] = s2[j]
    sna[j] = sn[j]
    return const


#: a window is re-summed around its exact mean when the shift is this many variances away from it
_DRIFT = 64.0
#: the moments' sums are recomputed from scratch every _RESUM windows
_RESUM = 4
#: ... or when its second moment is within this fraction of the magnitudes summed into it since the
#: last re-sum, which bounds the rounding error of the second moment by ~1e-16 / _NOISE relative (a
#: constant or nearly constant window: exactness is checked there). The same bound holds for Sortino's
#: downside sum.
_NOISE = 1e-4


@njit(**_JIT)
def _add_remove(x: np.ndarray, t: int, w: int, r: float, ro: float, c: np.ndarray, s1: np.ndarray,  # noqa: PLR0917
                s2: np.ndarray, sa: np.ndarray, cnt: np.ndarray) -> None:
    """Add row t and remove row t - w (NaN skipped) from the shifted sums."""
    n = x.shape[1]
    if t < w:
        for j in range(n):
            v = x[t, j] - r
            if not math.isnan(v):
                d = v - c[j]
                s1[j] += d
                s2[j] += d * d
                sa[j] += d * d
                cnt[j] += 1
        return
    for j in range(n):
        v = x[t, j] - r
        u = x[t - w, j] - ro
        if not math.isnan(v):
            d = v - c[j]
            s1[j] += d
            s2[j] += d * d
            sa[j] += d * d
            cnt[j] += 1
        if not math.isnan(u):
            d = u - c[j]
            s1[j] -= d
            s2[j] -= d * d
            sa[j] += d * d
            cnt[j] -= 1


@njit(**_JIT)
def _add_remove_sortino(x: np.ndarray, t: int, w: int, r: float, ro: float, c: np.ndarray,  # noqa: PLR0917
                        s1: np.ndarray, s2: np.ndarray, sa: np.ndarray, sn: np.ndarray, sna: np.ndarray,
                        cnt: np.ndarray, neg: np.ndarray) -> None:
    """:func:`_add_remove` plus the downside sum and the count of negative values."""
    _add_remove(x, t, w, r, ro, c, s1, s2, sa, cnt)
    n = x.shape[1]
    for j in range(n):
        v = x[t, j] - r
        if v < 0.0:
            sn[j] += v * v
            sna[j] += v * v
            neg[j] += 1
    if t >= w:
        for j in range(n):
            u = x[t - w, j] - ro
            if u < 0.0:
                sn[j] -= u * u
                sna[j] += u * u
                neg[j] -= 1


@njit(**_JIT)
def _flag(k: int, bad: bool, m2: float, s1: float, sa: float) -> bool:
    """Needs the rare path: an empty window with residue, a second moment lost in rounding noise, or a
    shift far (in variances) from the window's mean."""
    return ((k == 0) & (sa != 0.0)) | ((not bad) & ((m2 <= _NOISE * sa) | (s1 * s1 > _DRIFT * m2 * k)))


@njit(**_JIT)
def _emit_sharpe(t: int, lim: int, sq: float, c: np.ndarray, s1: np.ndarray, s2: np.ndarray,  # noqa: PLR0917
                 sa: np.ndarray, cnt: np.ndarray, flag: np.ndarray, out: np.ndarray) -> bool:
    any_flag = False
    for j in range(cnt.shape[0]):
        k = cnt[j]
        kf = float(k)
        m2 = s2[j] - s1[j] * s1[j] / kf
        val = ((c[j] + s1[j] / kf) / math.sqrt(max(m2, 0.0) / (kf - 1.0))) * sq
        bad = k < lim
        out[t, j] = np.nan if bad else val
        f = _flag(k, bad, m2, s1[j], sa[j])
        flag[j] = f
        any_flag |= f
    return any_flag


@njit(**_JIT)
def _emit_vol(t: int, lim: int, sq: float, s1: np.ndarray, s2: np.ndarray, sa: np.ndarray,  # noqa: PLR0917
              cnt: np.ndarray, flag: np.ndarray, out: np.ndarray) -> bool:
    any_flag = False
    for j in range(cnt.shape[0]):
        k = cnt[j]
        kf = float(k)
        m2 = s2[j] - s1[j] * s1[j] / kf
        val = math.sqrt(max(m2, 0.0) / (kf - 1.0)) * sq
        bad = k < lim
        out[t, j] = np.nan if bad else val
        f = _flag(k, bad, m2, s1[j], sa[j])
        flag[j] = f
        any_flag |= f
    return any_flag


@njit(**_JIT)
def _emit_sortino(t: int, lim: int, dead: bool, ann: float, sq: float, c: np.ndarray, s1: np.ndarray,  # noqa: PLR0917
                  s2: np.ndarray, sa: np.ndarray, sn: np.ndarray, sna: np.ndarray, cnt: np.ndarray,
                  neg: np.ndarray, flag: np.ndarray, out: np.ndarray) -> bool:
    any_flag = False
    for j in range(cnt.shape[0]):
        k = cnt[j]
        kf = float(k)
        m2 = s2[j] - s1[j] * s1[j] / kf
        dn = sn[j] if neg[j] > 0 and sn[j] > 0.0 else 0.0
        val = ((c[j] + s1[j] / kf) * ann) / (math.sqrt(dn / kf) * sq)
        bad = k < lim or dead
        out[t, j] = np.nan if bad else val
        f = _flag(k, bad, m2, s1[j], sa[j]) | ((not bad) & (neg[j] > 0) & (sn[j] <= _NOISE * sna[j]))
        flag[j] = f
        any_flag |= f
    return any_flag


@njit(**_JIT)
def rolling_moments_kernel(x: np.ndarray, rf: np.ndarray, w: int, minp: int, ann: float, what: int,  # noqa: PLR0917
                           out: np.ndarray) -> None:
    """Rolling Sharpe (``what=0``), volatility (1) or Sortino (2) of ``x - rf`` over a (T, N) panel.

    Per row: one pass over the columns adds row t and removes row t - w (every ``w`` rows the sums are
    recomputed over the window instead), a second writes row t of the output. A window whose second
    moment is lost in rounding noise, or whose shift has drifted, is re-summed exactly (and checked for
    being constant) in a rare path; a window known constant stays so in O(1) while equal values arrive.
    """
    t_n, n = x.shape
    c = np.zeros(n)  # shift
    s1 = np.zeros(n)  # sum of (v - c)
    s2 = np.zeros(n)  # sum of (v - c)^2
    sa = np.zeros(n)  # sum of |(v - c)^2| added or removed since the last re-sum (the noise scale)
    sn = np.zeros(n)  # sum of v^2 over v < 0 (Sortino)
    sna = np.zeros(n)  # its added and removed magnitudes since the last re-sum
    cnt = np.zeros(n, np.int64)
    neg = np.zeros(n, np.int64)  # negative values in the window: none means a downside of exactly 0
    const_row = np.full(n, -2, np.int64)  # last row whose window was verified constant
    flag = np.zeros(n, np.bool_)
    sq = math.sqrt(ann)
    sortino = what == _SORTINO
    lim = max(minp, 1 if sortino else 2)
    for t in range(t_n):
        r = _rf(rf, t)
        ro = _rf(rf, t - w) if t >= w else 0.0
        if sortino:
            _add_remove_sortino(x, t, w, r, ro, c, s1, s2, sa, sn, sna, cnt, neg)
        else:
            _add_remove(x, t, w, r, ro, c, s1, s2, sa, cnt)
        if t % (_RESUM * w) == _RESUM * w - 1:
            _refresh(x, rf, t, w, c, s1, s2, sa, sn, sna, cnt)
        # output, branch-free so that it vectorises; windows needing care are flagged for the rare path
        dead = sortino and (w < 2 or t == 0)
        if what == _SORTINO:
            any_flag = _emit_sortino(t, lim, dead, ann, sq, c, s1, s2, sa, sn, sna, cnt, neg, flag, out)
        elif what == _VOL:
            any_flag = _emit_vol(t, lim, sq, s1, s2, sa, cnt, flag, out)
        else:
            any_flag = _emit_sharpe(t, lim, sq, c, s1, s2, sa, cnt, flag, out)
        if not any_flag:
            continue
        for j in range(n):  # the rare path
            if not flag[j]:
                continue
            k = cnt[j]
            if k == 0:  # an empty window: drop the rounding residue
                s1[j] = 0.0
                s2[j] = 0.0
                sa[j] = 0.0
                sn[j] = 0.0
                sna[j] = 0.0
                continue
            v = x[t, j] - r
            if const_row[j] == t - 1 and (math.isnan(v) or v == c[j]) and s1[j] == 0.0 and s2[j] == 0.0:
                const = True  # the window was constant at c and only c (or NaN) came in
            else:
                const = _exact_col(x, rf, t, w, j, c, s1, s2, sa, sn, sna)
            if const:
                const_row[j] = t
            kf = float(k)
            m2 = s2[j] - s1[j] * s1[j] / kf
            mean = c[j] if const else c[j] + s1[j] / kf
            if sortino:
                dn = sn[j] if neg[j] > 0 and sn[j] > 0.0 else 0.0
                out[t, j] = (mean * ann) / (math.sqrt(dn / kf) * sq)
                continue
            sd = 0.0 if const else math.sqrt(max(m2, 0.0) / (kf - 1.0))
            out[t, j] = sd * sq if what == _VOL else (mean / sd) * sq


@njit(**_JIT)
def rolling_beta_kernel(x: np.ndarray, f: np.ndarray, w: int, minp: int, out: np.ndarray) -> None:
    """Rolling population cov(r, b) / var(b) over the rows where both are present (empyrical's beta)."""
    t_n, n = x.shape
    cx = np.zeros(n)
    cf = np.zeros(n)
    sx = np.zeros(n)
    sf = np.zeros(n)
    sff = np.zeros(n)
    sfa = np.zeros(n)  # magnitudes of df^2 added and removed since the last re-sum
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
                sfa[j] += df * df
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
                    sfa[j] += df * df
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
                sfa[j] = sff[j]
        for j in range(n):
            k = cnt[j]
            if k < minp or k < 2:
                out[t, j] = np.nan
                continue
            if seen[j] - chg[j] >= k:  # the benchmark is constant over the window
                out[t, j] = np.nan
                continue
            m2 = sff[j] - sf[j] * sf[j] / k
            if sf[j] * sf[j] / k > _DRIFT * m2 or m2 <= _NOISE * sfa[j]:  # drifted shift or noise: re-sum
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
                sfa[j] = sff[j]
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
    with np.errstate(invalid="ignore", divide="ignore"):
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
