# ruff: noqa: N803, N806, PLR0917  (finance notation: S, K, T; kernels take many scalars)
"""Asian (average-price) options under Black-Scholes with dividend yield q.

* :func:`asian_geometric_continuous` — Kemna–Vorst (1990): Black-Scholes with b_A = (b - sigma^2/6)/2 and
  sigma_A = sigma/sqrt(3), averaging over [0, T].
* :func:`asian_geometric_discrete` — exact: ln G is normal with mean
  ``(m ln G_past + n ln S + (b - sigma^2/2) sum t_i)/N`` and variance ``sigma^2/N^2 sum_ij min(t_i, t_j)``
  (N = m + n; m past fixings with geometric average G_past, n future fixing times t_i).
* :func:`asian_turnbull_wakeman` — discrete arithmetic average by matching the first two moments of the future
  average exactly with a lognormal (Turnbull–Wakeman 1991 / Levy 1992; seasoned via the effective strike
  (N K - m A_past)/n); fast, off by up to a few % of S at high vol.
* :func:`asian_arithmetic_mc` — discrete arithmetic average by Monte Carlo with the discrete geometric option
  as control variate (Kemna–Vorst), antithetic normals from a seeded NumPy generator; returns the price and its
  standard error.

Payment is at the last fixing T = max(t_i); fixing times are years from now (> 0, increasing).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from shrivenquant.errors import ValidationError
from shrivenquant.options._arrays import as_flags, broadcast
from shrivenquant.options._special import norm_cdf

__all__ = [
    "MonteCarloPrice",
    "asian_arithmetic_mc",
    "asian_geometric_continuous",
    "asian_geometric_discrete",
    "asian_turnbull_wakeman",
]


class MonteCarloPrice(NamedTuple):
    """A Monte Carlo price with its standard error (one sigma), and the number of paths used."""

    price: float
    std_error: float
    paths: int


@njit(cache=True, nogil=True)
def _lognormal_option(w: float, mean_log: float, var: float, K: float, df: float) -> float:
    """df * E[(w (X - K))^+] for ln X ~ N(mean_log, var)."""
    if var <= 0.0:
        return df * max(w * (math.exp(mean_log) - K), 0.0)
    sd = math.sqrt(var)
    fwd = math.exp(mean_log + 0.5 * var)
    if K <= 0.0:
        return df * (fwd - K) if w > 0 else 0.0
    d1 = (mean_log - math.log(K) + var) / sd
    return max(df * w * (fwd * norm_cdf(w * d1) - K * norm_cdf(w * (d1 - sd))), 0.0)


@njit(cache=True, nogil=True)
def geometric_discrete_one(w: float, S: float, K: float, r: float, q: float, sig: float, t: np.ndarray,
                           m_past: int, g_past: float) -> float:
    n = t.shape[0]
    N = n + m_past
    b = r - q
    st = 0.0
    smin = 0.0
    for i in range(n):
        st += t[i]
        for j in range(n):
            smin += min(t[i], t[j])
    log_past = m_past * math.log(g_past) if m_past > 0 else 0.0
    mean_log = (log_past + n * math.log(S) + (b - 0.5 * sig * sig) * st) / N
    var = sig * sig * smin / (N * N)
    return _lognormal_option(w, mean_log, var, K, math.exp(-r * t[n - 1]))


@njit(cache=True, nogil=True)
def turnbull_wakeman_one(w: float, S: float, K: float, r: float, q: float, sig: float, t: np.ndarray,
                         m_past: int, a_past: float) -> float:
    n = t.shape[0]
    N = n + m_past
    b = r - q
    past = m_past * a_past
    s1 = 0.0
    s2 = 0.0
    for i in range(n):
        fi = S * math.exp(b * t[i])
        s1 += fi
        for j in range(n):
            fj = S * math.exp(b * t[j])
            s2 += fi * fj * math.exp(sig * sig * min(t[i], t[j]))
    # match the moments of the future average A_f; A = (past + n A_f)/N, so the payoff is
    # (n/N) (w (A_f - K'))^+ with the effective strike K' = (N K - past)/n (Haug's seasoned form, as QuantLib)
    m1 = s1 / n
    m2 = s2 / (n * n)
    k_eff = (N * K - past) / n
    df = math.exp(-r * t[n - 1])
    scale = n / N
    if k_eff <= 0.0:  # exercise is certain
        return scale * df * (m1 - k_eff) if w > 0 else 0.0
    var = math.log(m2 / (m1 * m1))
    return scale * _lognormal_option(w, math.log(m1) - 0.5 * var, var, k_eff, df)


@njit(cache=True, nogil=True)
def _closed_batch(kind: int, call: np.ndarray, S: np.ndarray, K: np.ndarray, r: np.ndarray, q: np.ndarray,
                  sig: np.ndarray, t: np.ndarray, m_past: int, past: float, out: np.ndarray) -> None:
    n = out.shape[0]
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    v0 = 1 if sig.shape[0] > 1 else 0
    for i in range(n):
        w = 1.0 if call[i * c0] else -1.0
        s, k, rr, qq, v = S[i * s0], K[i * k0], r[i * r0], q[i * q0], sig[i * v0]
        if not (s > 0.0 and k >= 0.0 and v >= 0.0 and abs(rr) < math.inf and abs(qq) < math.inf
                and s < math.inf and k < math.inf and v < math.inf):
            out[i] = math.nan
        elif kind == 0:
            T = t[0]
            b = rr - qq
            if T <= 0.0:
                out[i] = max(w * (s - k), 0.0)
                continue
            ba = 0.5 * (b - v * v / 6.0)
            va = v / math.sqrt(3.0)
            mean_log = math.log(s) + (ba - 0.5 * va * va) * T
            out[i] = _lognormal_option(w, mean_log, va * va * T, k, math.exp(-rr * T))
        elif kind == 1:
            out[i] = geometric_discrete_one(w, s, k, rr, qq, v, t, m_past, past)
        else:
            out[i] = turnbull_wakeman_one(w, s, k, rr, qq, v, t, m_past, past)


def _schedule(fixing_times: Any) -> np.ndarray:
    t = np.ascontiguousarray(np.asarray(fixing_times, dtype=np.float64).reshape(-1))
    if t.size == 0 or not np.all(np.isfinite(t)) or t[0] <= 0.0 or np.any(np.diff(t) <= 0.0):
        raise ValidationError("fixing_times must be a non-empty increasing sequence of future times (years > 0)")
    return t


def _past(past_count: int, past_average: float | None) -> float:
    if past_count < 0:
        raise ValidationError(f"past_count must be >= 0, got {past_count}")
    if past_count == 0:
        return 1.0
    if past_average is None or not past_average > 0:
        raise ValidationError("a seasoned Asian needs past_average > 0 with past_count > 0")
    return float(past_average)


def _closed(kind: int, call: Any, S: Any, K: Any, r: Any, q: Any, sigma: Any, t: np.ndarray, m_past: int,
            past: float) -> Any:
    shape, (c, s, k, rr, qq, v) = broadcast(as_flags(call), S, K, r, q, sigma,
                                            names=("call", "S", "K", "r", "q", "sigma"))
    n = int(np.prod(shape))
    out = np.empty(n)
    _closed_batch(kind, c, s, k, rr, qq, v, t, m_past, past, out)
    bad = np.isnan(out)
    if bad.any():
        raise ValidationError(f"invalid Asian option input at flat index {int(np.flatnonzero(bad)[0])}: need "
                              "S > 0, K >= 0, sigma >= 0, finite r and q")
    res = out.reshape(shape)
    return float(res) if shape == () else res


def asian_geometric_continuous(call: Any, S: Any, K: Any, T: float, r: Any, q: Any, sigma: Any) -> Any:
    """Continuously averaged geometric average-price option over [0, T] (Kemna–Vorst), vectorised."""
    if not (T >= 0.0 and math.isfinite(T)):
        raise ValidationError(f"T must be finite and >= 0, got {T!r}")
    return _closed(0, call, S, K, r, q, sigma, np.array([float(T)]), 0, 1.0)


def asian_geometric_discrete(call: Any, S: Any, K: Any, r: Any, q: Any, sigma: Any, fixing_times: Any, *,
                             past_count: int = 0, past_average: float | None = None) -> Any:
    """Discrete geometric average-price option (exact); seasoned with ``past_count`` fixings whose geometric
    average is ``past_average``. Vectorised over S, K, r, q, sigma for one fixing schedule."""
    return _closed(1, call, S, K, r, q, sigma, _schedule(fixing_times), past_count, _past(past_count, past_average))


def asian_turnbull_wakeman(call: Any, S: Any, K: Any, r: Any, q: Any, sigma: Any, fixing_times: Any, *,
                           past_count: int = 0, past_average: float | None = None) -> Any:
    """Discrete arithmetic average-price option by two-moment lognormal matching (Turnbull–Wakeman);
    ``past_average`` is the arithmetic average of ``past_count`` past fixings."""
    return _closed(2, call, S, K, r, q, sigma, _schedule(fixing_times), past_count, _past(past_count, past_average))


@njit(cache=True, nogil=True)
def _mc_payoffs(S: float, K: float, w: float, r: float, q: float, sig: float, t: np.ndarray, z: np.ndarray,
                m_past: int, a_past: float, g_past: float, arith: np.ndarray, geo: np.ndarray) -> None:
    """Antithetic pairs: row p of z gives paths 2p (z) and 2p+1 (-z)."""
    n = t.shape[0]
    N = n + m_past
    b = r - q
    npairs = z.shape[0]
    log_gp = m_past * math.log(g_past) if m_past > 0 else 0.0
    for p in range(npairs):
        for side in range(2):
            sgn = 1.0 if side == 0 else -1.0
            logs = math.log(S)
            tprev = 0.0
            acc = m_past * a_past
            lacc = log_gp
            for i in range(n):
                dt = t[i] - tprev
                logs += (b - 0.5 * sig * sig) * dt + sig * math.sqrt(dt) * sgn * z[p, i]
                tprev = t[i]
                acc += math.exp(logs)
                lacc += logs
            arith[2 * p + side] = max(w * (acc / N - K), 0.0)
            geo[2 * p + side] = max(w * (math.exp(lacc / N) - K), 0.0)


def asian_arithmetic_mc(call: bool, S: float, K: float, r: float, q: float, sigma: float, fixing_times: Any, *,
                        paths: int = 100_000, seed: int = 0, control_variate: bool = True, past_count: int = 0,
                        past_average: float | None = None, past_geometric_average: float | None = None
                        ) -> MonteCarloPrice:
    """Discrete arithmetic average-price option by Monte Carlo (exact GBM steps between fixings, antithetic
    pairs, seeded), with the discrete geometric option as control variate (beta estimated from the sample).

    Seasoned options need both the arithmetic and geometric averages of the past fixings.
    """
    t = _schedule(fixing_times)
    if paths < 4:
        raise ValidationError(f"paths must be >= 4, got {paths}")
    if not (S > 0 and K >= 0 and sigma >= 0 and math.isfinite(r) and math.isfinite(q)):
        raise ValidationError("need S > 0, K >= 0, sigma >= 0 and finite r, q")
    a_past = _past(past_count, past_average)
    g_past = _past(past_count, past_geometric_average)
    w = 1.0 if call else -1.0
    rng = np.random.default_rng(seed)
    npairs = (paths + 1) // 2
    z = rng.standard_normal((npairs, t.size))
    arith = np.empty(2 * npairs)
    geo = np.empty(2 * npairs)
    _mc_payoffs(float(S), float(K), w, float(r), float(q), float(sigma), t, z, past_count, a_past, g_past, arith, geo)
    df = math.exp(-r * t[-1])
    # antithetic pairs are the independent samples
    ya = 0.5 * (arith[0::2] + arith[1::2])
    if control_variate:
        yg = 0.5 * (geo[0::2] + geo[1::2])
        exact = geometric_discrete_one(w, float(S), float(K), float(r), float(q), float(sigma), t, past_count,
                                       g_past) / df
        cov = np.cov(ya, yg)
        beta = cov[0, 1] / cov[1, 1] if cov[1, 1] > 0 else 0.0
        y = ya - beta * (yg - exact)
    else:
        y = ya
    price = df * float(np.mean(y))
    se = df * float(np.std(y, ddof=1)) / math.sqrt(y.size)
    return MonteCarloPrice(price, se, 2 * npairs)
