# ruff: noqa: N803, N806, PLR0917  (finance notation: S, K, T; kernels take many scalars)
"""Continuously monitored lookback options, fresh or seasoned (Haug 2007, 4.15).

* Floating strike (Goldman–Sosin–Gatto 1979): call pays S_T - min, put pays max - S_T.
* Fixed strike (Conze–Viswanathan 1991): call pays max(max - K, 0), put pays max(K - min, 0).

``extremum`` is the running minimum (floating call, fixed put) or maximum (floating put, fixed call) observed
so far; a fresh option has extremum = S. An extremum on the wrong side of spot is invalid input.

Every formula carries the term ``(sigma^2 / 2b) [ (S/M)^(-2b/sigma^2) N(w (a - 2b sqrt(T)/sigma)) - e^{bT} N(w a) ]``
with b = r - q, which the textbook divides by b. Here it is evaluated without cancellation (expm1 and a series
for the normal-cdf difference) and at b = 0 by its limit ``-(L + sigma^2 T/2) N(w a) - w sigma sqrt(T) phi(a)``,
L = ln(S/M), so r = q is exact (QuantLib 1.44 returns NaN/inf there).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from shrivenquant.errors import ValidationError
from shrivenquant.options._arrays import as_flags, broadcast
from shrivenquant.options._special import norm_cdf, norm_pdf

__all__ = ["lookback_fixed", "lookback_floating"]


@njit(cache=True, nogil=True)
def _cdf_step(y: float, h: float) -> float:
    """N(y + h) - N(y) without cancellation for small h (midpoint series of the integral of phi)."""
    if abs(h) > 1e-3:
        return norm_cdf(y + h) - norm_cdf(y)
    m = y + 0.5 * h
    m2 = m * m
    h2 = h * h
    return norm_pdf(m) * h * (1.0 + h2 * (m2 - 1.0) / 24.0 + h2 * h2 * (m2 * m2 - 6.0 * m2 + 3.0) / 1920.0)


@njit(cache=True, nogil=True)
def _term(w: float, L: float, T: float, b: float, sig: float) -> float:
    """(sig^2/2b) [e^{-2bL/sig^2} N(w(a - 2b sqrt(T)/sig)) - e^{bT} N(w a)], a = (L + (b + sig^2/2)T)/(sig sqrt T)."""
    sqT = math.sqrt(T)
    s2 = sig * sig
    a = (L + (b + 0.5 * s2) * T) / (sig * sqT)
    if b == 0.0:
        return -(L + 0.5 * s2 * T) * norm_cdf(w * a) - w * sig * sqT * norm_pdf(a)
    delta = 2.0 * b * sqT / sig
    n1 = norm_cdf(w * (a - delta))
    na = norm_cdf(w * a)
    g = _cdf_step(w * a, -w * delta) + math.expm1(-2.0 * b * L / s2) * n1 - math.expm1(b * T) * na
    return s2 / (2.0 * b) * g


@njit(cache=True, nogil=True)
def floating_one(call: bool, S: float, M: float, T: float, r: float, q: float, sig: float) -> float:
    if not (S > 0.0 and M > 0.0 and T >= 0.0 and sig > 0.0 and abs(r) < math.inf and abs(q) < math.inf
            and math.inf > S and math.inf > M and math.inf > T and sig < math.inf):
        return math.nan
    if (call and M > S) or ((not call) and M < S):
        return math.nan  # running minimum above spot / maximum below spot
    if T <= 0.0:
        return S - M if call else M - S
    b = r - q
    sqT = math.sqrt(T)
    dq = math.exp(-q * T)
    dr = math.exp(-r * T)
    a1 = (math.log(S / M) + (b + 0.5 * sig * sig) * T) / (sig * sqT)
    a2 = a1 - sig * sqT
    L = math.log(S / M)
    if call:
        v = S * dq * norm_cdf(a1) - M * dr * norm_cdf(a2) + S * dr * _term(-1.0, L, T, b, sig)
    else:
        v = M * dr * norm_cdf(-a2) - S * dq * norm_cdf(-a1) - S * dr * _term(1.0, L, T, b, sig)
    return max(v, 0.0)


@njit(cache=True, nogil=True)
def fixed_one(call: bool, S: float, K: float, M: float, T: float, r: float, q: float, sig: float) -> float:
    if not (S > 0.0 and K > 0.0 and M > 0.0 and T >= 0.0 and sig > 0.0 and abs(r) < math.inf
            and abs(q) < math.inf and math.inf > S and math.inf > K and math.inf > M and math.inf > T
            and sig < math.inf):
        return math.nan
    if (call and M < S) or ((not call) and M > S):
        return math.nan  # running maximum below spot / minimum above spot
    if T <= 0.0:
        return max(M - K, 0.0) if call else max(K - M, 0.0)
    b = r - q
    sqT = math.sqrt(T)
    st = sig * sqT
    dq = math.exp(-q * T)
    dr = math.exp(-r * T)
    if call:
        if K > M:
            d1 = (math.log(S / K) + (b + 0.5 * sig * sig) * T) / st
            v = S * dq * norm_cdf(d1) - K * dr * norm_cdf(d1 - st) - S * dr * _term(1.0, math.log(S / K), T, b, sig)
        else:
            e1 = (math.log(S / M) + (b + 0.5 * sig * sig) * T) / st
            v = dr * (M - K) + S * dq * norm_cdf(e1) - M * dr * norm_cdf(e1 - st) \
                - S * dr * _term(1.0, math.log(S / M), T, b, sig)
    elif K < M:
        d1 = (math.log(S / K) + (b + 0.5 * sig * sig) * T) / st
        v = K * dr * norm_cdf(-d1 + st) - S * dq * norm_cdf(-d1) + S * dr * _term(-1.0, math.log(S / K), T, b, sig)
    else:
        f1 = (math.log(S / M) + (b + 0.5 * sig * sig) * T) / st
        v = dr * (K - M) - S * dq * norm_cdf(-f1) + M * dr * norm_cdf(-f1 + st) \
            + S * dr * _term(-1.0, math.log(S / M), T, b, sig)
    return max(v, 0.0)


@njit(cache=True, nogil=True)
def _batch(fixed: bool, call: np.ndarray, S: np.ndarray, K: np.ndarray, M: np.ndarray, T: np.ndarray,
           r: np.ndarray, q: np.ndarray, sig: np.ndarray, out: np.ndarray) -> None:
    n = out.shape[0]
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    m0 = 1 if M.shape[0] > 1 else 0
    t0 = 1 if T.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    v0 = 1 if sig.shape[0] > 1 else 0
    for i in range(n):
        if fixed:
            out[i] = fixed_one(call[i * c0], S[i * s0], K[i * k0], M[i * m0], T[i * t0], r[i * r0], q[i * q0],
                               sig[i * v0])
        else:
            out[i] = floating_one(call[i * c0], S[i * s0], M[i * m0], T[i * t0], r[i * r0], q[i * q0], sig[i * v0])


def _run(fixed: bool, call: Any, S: Any, K: Any, M: Any, T: Any, r: Any, q: Any, sigma: Any) -> Any:
    shape, (c, s, k, m, t, rr, qq, v) = broadcast(as_flags(call), S, K, M, T, r, q, sigma,
                                                  names=("call", "S", "K", "extremum", "T", "r", "q", "sigma"))
    n = int(np.prod(shape))
    out = np.empty(n)
    _batch(fixed, c, s, k, m, t, rr, qq, v, out)
    bad = np.isnan(out)
    if bad.any():
        raise ValidationError(
            f"invalid lookback input at flat index {int(np.flatnonzero(bad)[0])}: need S, K, extremum, sigma > 0, "
            "T >= 0, finite r, q, and the running extremum on the right side of spot (min <= S for a floating "
            "call / fixed put, max >= S for a floating put / fixed call)")
    res = out.reshape(shape)
    return float(res) if shape == () else res


def lookback_floating(call: Any, S: Any, T: Any, r: Any, q: Any, sigma: Any, extremum: Any = None) -> Any:
    """Floating-strike lookback (vectorised). ``extremum``: running min (call) / max (put); None = fresh (S)."""
    return _run(False, call, S, 1.0, S if extremum is None else extremum, T, r, q, sigma)


def lookback_fixed(call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, sigma: Any, extremum: Any = None) -> Any:
    """Fixed-strike lookback (vectorised). ``extremum``: running max (call) / min (put); None = fresh (S)."""
    return _run(True, call, S, K, S if extremum is None else extremum, T, r, q, sigma)
