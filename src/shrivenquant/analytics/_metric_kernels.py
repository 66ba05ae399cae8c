"""Numba kernels of the point performance metrics over a (T, N) panel, assets in columns.

Every kernel walks the panel row by row and keeps one accumulator per column, so a C-ordered panel is read
sequentially and each column is summed in time order (the order bottleneck/NumPy use along axis 0 for
empyrical), which is what makes the results equal to empyrical's to the last bits. NaN observations are
skipped by the moments; compounding treats them as a zero return. The Python wrappers in
:mod:`shrivenquant.analytics.metrics` check and shape the inputs; these kernels assume float64 C-order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_JIT)
def _rf_at(rf: np.ndarray, t: int) -> float:
    return rf[t] if rf.shape[0] > 1 else rf[0]


@njit(**_JIT)
def _column_moments(x: np.ndarray, rf: np.ndarray, j: int) -> tuple:
    """Column ``j`` of ``x - rf`` with NaNs skipped: mean, sum of squared deviations, count, constant?"""
    s = 0.0
    cnt = 0
    lo = np.inf
    hi = -np.inf
    for t in range(x.shape[0]):
        v = x[t, j] - _rf_at(rf, t)
        if not math.isnan(v):
            s += v
            cnt += 1
            lo = min(lo, v)
            hi = max(hi, v)
    mean = s / cnt if cnt > 0 else np.nan
    ss = 0.0
    for t in range(x.shape[0]):
        v = x[t, j] - _rf_at(rf, t)
        if not math.isnan(v):
            d = v - mean
            ss += d * d
    return mean, ss, cnt, hi == lo


@njit(**_JIT)
def _column_constant(x: np.ndarray, rf: np.ndarray, j: int) -> bool:
    first = x[0, j] - _rf_at(rf, 0)
    for t in range(1, x.shape[0]):  # noqa: SIM110 - an explicit loop compiles in nopython mode
        if x[t, j] - _rf_at(rf, t) != first:
            return False
    return True


@njit(**_JIT)
def mean_std_kernel(x: np.ndarray, rf: np.ndarray, ddof: int) -> tuple:
    """Per column of ``x - rf``: NaN-skipping mean, std (two-pass, ``ddof``), count and whether every
    present value is equal (empyrical's zero-dispersion test ``nanmax == nanmin``).

    Two branch-free passes over the whole panel (they vectorise across the columns of a row); a column
    whose sums come out NaN (it holds a NaN, or infinities) is redone by the NaN-skipping column loop, and
    the exact constant-column test runs only where the squared deviations are within rounding of zero.
    Per column the sums are taken in time order either way, so the results are the same to the bit."""
    t_n, n = x.shape
    s = np.zeros(n)
    for t in range(t_n):
        r = _rf_at(rf, t)
        for j in range(n):
            s[j] += x[t, j] - r
    mean = np.empty(n)
    for j in range(n):
        mean[j] = s[j] / t_n if t_n > 0 else np.nan
    ss = np.zeros(n)
    for t in range(t_n):
        r = _rf_at(rf, t)
        for j in range(n):
            d = (x[t, j] - r) - mean[j]
            ss[j] += d * d
    cnt = np.full(n, t_n, np.int64)
    std = np.empty(n)
    const = np.zeros(n, np.bool_)
    eps4 = 4.0 * 2.220446049250313e-16 * t_n
    for j in range(n):
        if math.isnan(ss[j]) or t_n == 0:
            mean[j], ss[j], cnt[j], const[j] = _column_moments(x, rf, j)
        elif ss[j] <= t_n * (eps4 * abs(mean[j])) ** 2:
            const[j] = _column_constant(x, rf, j)
        if cnt[j] > ddof:
            std[j] = math.sqrt(ss[j] / (cnt[j] - ddof))
        else:
            std[j] = np.nan
            const[j] = False
    return mean, std, cnt, const


@njit(**_JIT)
def sharpe_kernel(x: np.ndarray, rf: np.ndarray, ann: float, out: np.ndarray) -> None:
    mean, std, _, const = mean_std_kernel(x, rf, 1)
    sq = math.sqrt(ann)
    for j in range(x.shape[1]):
        sd = 0.0 if const[j] else std[j]
        out[j] = (mean[j] / sd) * sq


@njit(**_JIT)
def downside_kernel(x: np.ndarray, req: np.ndarray, ann: float, mean_out: np.ndarray, dr_out: np.ndarray) -> None:
    """NaN-skipping mean of ``x - req`` and downside risk ``sqrt(mean(min(x - req, 0)^2)) * sqrt(ann)``."""
    t_n, n = x.shape
    s = np.zeros(n)
    s2 = np.zeros(n)
    cnt = np.zeros(n, np.int64)
    for t in range(t_n):
        r = _rf_at(req, t)
        for j in range(n):
            v = x[t, j] - r
            if not math.isnan(v):
                s[j] += v
                cnt[j] += 1
                if v < 0.0:
                    s2[j] += v * v
    sq = math.sqrt(ann)
    for j in range(n):
        if cnt[j] > 0:
            mean_out[j] = s[j] / cnt[j]
            dr_out[j] = math.sqrt(s2[j] / cnt[j]) * sq
        else:
            mean_out[j] = np.nan
            dr_out[j] = np.nan


@njit(**_JIT)
def sortino_kernel(x: np.ndarray, req: np.ndarray, ann: float, out: np.ndarray) -> None:
    n = x.shape[1]
    mean = np.empty(n)
    dr = np.empty(n)
    downside_kernel(x, req, ann, mean, dr)
    for j in range(n):
        out[j] = (mean[j] * ann) / dr[j]


@njit(**_JIT)
def prod_kernel(x: np.ndarray) -> np.ndarray:
    """Per column product of ``1 + r`` with NaN rows as a zero return (NumPy ``nanprod(r + 1)``)."""
    t_n, n = x.shape
    p = np.ones(n)
    for t in range(t_n):
        for j in range(n):
            v = x[t, j] + 1.0
            if not math.isnan(v):
                p[j] *= v
    return p


@njit(**_JIT)
def cum_returns_kernel(x: np.ndarray, start: float, out: np.ndarray) -> None:
    t_n, n = x.shape
    p = np.ones(n)
    for t in range(t_n):
        for j in range(n):
            v = x[t, j]
            if not math.isnan(v):
                p[j] *= v + 1.0
            out[t, j] = p[j] - 1.0 if start == 0.0 else p[j] * start


@njit(**_JIT)
def drawdown_kernel(x: np.ndarray, mdd: np.ndarray, peak: np.ndarray, trough: np.ndarray,  # noqa: PLR0917
                    recovery: np.ndarray, underwater: np.ndarray, want_series: bool) -> None:
    """Max drawdown as empyrical computes it (wealth ``100 * cumprod(1 + r)``, the start is a peak, NaN is a
    zero return, ``dd = (w - peak) / peak``) with the indices of the worst drawdown: ``trough`` (first
    index of the minimum), ``peak`` (last index at or before it with zero drawdown, -1 for the starting
    capital) and ``recovery`` (first index after the trough back at zero drawdown, -1 if none)."""
    t_n, n = x.shape
    p = np.ones(n)
    hi = np.full(n, 100.0)
    last_zero = np.full(n, -1, np.int64)
    for j in range(n):
        mdd[j] = 0.0 if t_n > 0 else np.nan
        peak[j] = -1
        trough[j] = -1
        recovery[j] = -1
    for t in range(t_n):
        for j in range(n):
            v = x[t, j]
            if not math.isnan(v):
                p[j] *= v + 1.0
            w = p[j] * 100.0
            hi[j] = max(hi[j], w)
            d = (w - hi[j]) / hi[j]
            if want_series:
                underwater[t, j] = d
            if d == 0.0:
                last_zero[j] = t
                if recovery[j] < 0 and trough[j] >= 0 and mdd[j] < 0.0:
                    recovery[j] = t
            elif d < mdd[j]:
                mdd[j] = d
                trough[j] = t
                peak[j] = last_zero[j]
                recovery[j] = -1


@njit(**_JIT)
def max_drawdown_kernel(x: np.ndarray, mdd: np.ndarray) -> None:
    """The worst drawdown only, same arithmetic as :func:`drawdown_kernel` (min of ``(w - peak) / peak``),
    without the index bookkeeping."""
    t_n, n = x.shape
    p = np.ones(n)
    hi = np.full(n, 100.0)
    for j in range(n):
        mdd[j] = 0.0
    for t in range(t_n):
        for j in range(n):
            v = x[t, j]
            p[j] *= 1.0 if math.isnan(v) else v + 1.0
            w = p[j] * 100.0
            hi[j] = max(hi[j], w)
            mdd[j] = min(mdd[j], (w - hi[j]) / hi[j])


@njit(**_JIT)
def _percentile_sorted(v: np.ndarray, n: int, q: float) -> float:
    """NumPy's default ('linear') percentile of the sorted ``v[:n]`` at fraction ``q``."""
    if n == 0:
        return np.nan
    vi = (n - 1) * q
    lo = math.floor(vi)
    i = int(lo)
    k = i + 1 if i + 1 < n else n - 1
    g = vi - lo
    a = v[i]
    b = v[k]
    d = b - a
    if g >= 0.5:
        return b - d * (1.0 - g)
    return a + d * g


@njit(**_JIT)
def _column_present(x: np.ndarray, j: int, buf: np.ndarray) -> int:
    m = 0
    for t in range(x.shape[0]):
        v = x[t, j]
        if not math.isnan(v):
            buf[m] = v
            m += 1
    return m


@njit(**_JIT)
def percentile_kernel(x: np.ndarray, qs: np.ndarray, omit_nan: bool, out: np.ndarray) -> None:
    """Percentiles (fractions ``qs``) per column; NaN in a column gives NaN unless ``omit_nan``."""
    t_n, n = x.shape
    buf = np.empty(t_n)
    for j in range(n):
        m = _column_present(x, j, buf)
        if m < t_n and not omit_nan:
            for k in range(qs.shape[0]):
                out[k, j] = np.nan
            continue
        s = np.sort(buf[:m])
        for k in range(qs.shape[0]):
            out[k, j] = _percentile_sorted(s, m, qs[k])


@njit(**_JIT)
def cvar_kernel(x: np.ndarray, cutoff: float, out: np.ndarray) -> None:
    """Mean of the ``k + 1`` smallest present values, ``k = int((n - 1) * cutoff)`` (empyrical)."""
    t_n, n = x.shape
    buf = np.empty(t_n)
    for j in range(n):
        m = _column_present(x, j, buf)
        if m == 0:
            out[j] = np.nan
            continue
        s = np.sort(buf[:m])
        k = int((m - 1) * cutoff)
        acc = 0.0
        for i in range(k + 1):
            acc += s[i]
        out[j] = acc / (k + 1)


@njit(**_JIT)
def omega_kernel(x: np.ndarray, rf: np.ndarray, thresh: float, out: np.ndarray) -> None:
    t_n, n = x.shape
    num = np.zeros(n)
    den = np.zeros(n)
    for t in range(t_n):
        r = _rf_at(rf, t)
        for j in range(n):
            v = x[t, j] - r - thresh
            if v > 0.0:
                num[j] += v
            elif v < 0.0:
                den[j] += v
    for j in range(n):
        d = -1.0 * den[j]
        out[j] = num[j] / d if d > 0.0 else np.nan


@njit(**_JIT)
def stability_kernel(x: np.ndarray, out: np.ndarray) -> None:
    """R² of an OLS fit of cumulative log returns (NaN dropped) on their index."""
    t_n, n = x.shape
    buf = np.empty(t_n)
    for j in range(n):
        m = _column_present(x, j, buf)
        if m < 2:
            out[j] = np.nan
            continue
        c = 0.0
        sy = 0.0
        for i in range(m):
            c += math.log1p(buf[i])
            buf[i] = c
            sy += c
        my = sy / m
        mx = (m - 1) / 2.0
        sxx = 0.0
        syy = 0.0
        sxy = 0.0
        for i in range(m):
            dx = i - mx
            dy = buf[i] - my
            sxx += dx * dx
            syy += dy * dy
            sxy += dx * dy
        r = sxy / math.sqrt(sxx * syy)
        if r > 1.0:
            r = 1.0
        elif r < -1.0:
            r = -1.0
        out[j] = r * r


@njit(**_JIT)
def beta_kernel(x: np.ndarray, f: np.ndarray, out: np.ndarray) -> None:
    """empyrical's beta: population cov / var over the rows where both ``x`` and the factor are present;
    NaN where the factor's variance is below 1e-30."""
    t_n, n = x.shape
    sf = np.zeros(n)
    cnt = np.zeros(n, np.int64)
    for t in range(t_n):
        fv = f[t]
        for j in range(n):
            v = x[t, j]
            if not math.isnan(v) and not math.isnan(fv):
                sf[j] += fv
                cnt[j] += 1
    mf = np.empty(n)
    for j in range(n):
        mf[j] = sf[j] / cnt[j] if cnt[j] > 0 else np.nan
    cov = np.zeros(n)
    var = np.zeros(n)
    for t in range(t_n):
        fv = f[t]
        for j in range(n):
            v = x[t, j]
            if not math.isnan(v) and not math.isnan(fv):
                d = fv - mf[j]
                cov[j] += d * v
                var[j] += d * d
    for j in range(n):
        if cnt[j] == 0:
            out[j] = np.nan
            continue
        vv = var[j] / cnt[j]
        out[j] = (cov[j] / cnt[j]) / vv if vv >= 1e-30 else np.nan


@njit(**_JIT)
def alpha_kernel(x: np.ndarray, f: np.ndarray, rf: np.ndarray, beta: np.ndarray, ann: float,  # noqa: PLR0917
                 out: np.ndarray) -> None:
    """``(1 + mean((r - rf) - beta (f - rf)))^ann - 1`` over present pairs (empyrical's compounded alpha)."""
    t_n, n = x.shape
    s = np.zeros(n)
    cnt = np.zeros(n, np.int64)
    for t in range(t_n):
        r = _rf_at(rf, t)
        af = f[t] - r
        for j in range(n):
            v = (x[t, j] - r) - beta[j] * af
            if not math.isnan(v):
                s[j] += v
                cnt[j] += 1
    for j in range(n):
        m = s[j] / cnt[j] if cnt[j] > 0 else np.nan
        out[j] = (m + 1.0) ** ann - 1.0


@njit(**_JIT)
def active_panel(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for t in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[t, j] = x[t, j] - f[t]
    return out


# ------------------------------------------------------------------------------- normal distribution
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
      -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
      -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
      4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)


@njit(**_JIT)
def norm_cdf(z: float) -> float:
    """Standard normal CDF, ``erfc(-z / sqrt 2) / 2`` (accurate in both tails)."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@njit(**_JIT)
def norm_pdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


@njit(**_JIT)
def norm_ppf(p: float) -> float:
    """Standard normal quantile: Acklam's rational approximation refined by two Halley steps on
    ``erfc`` (relative error near machine precision for 1e-300 < p < 1)."""
    if not (p > 0.0 and p < 1.0):
        if p == 0.0:
            return -np.inf
        if p == 1.0:
            return np.inf
        return np.nan
    plow = 0.02425
    if p < plow:
        q = math.sqrt(-2.0 * math.log(p))
        x = ((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
             / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    elif p <= 1.0 - plow:
        q = p - 0.5
        r = q * q
        x = ((((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
             / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0))
    else:
        q = math.sqrt(-2.0 * math.log1p(-p))
        x = -((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
              / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    for _ in range(2):
        # e = Phi(x) - p, from the tail that keeps its digits
        e = norm_cdf(x) - p if p < 0.5 else (1.0 - p) - 0.5 * math.erfc(x / math.sqrt(2.0))
        u = e * math.sqrt(2.0 * math.pi) * math.exp(0.5 * x * x)
        x = x - u / (1.0 + 0.5 * x * u)
    return x
