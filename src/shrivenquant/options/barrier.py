# ruff: noqa: N803, N806, PLR0917  (finance notation: S, K, H, T; kernels take many scalars)
"""Single-barrier options, continuous monitoring: Reiner–Rubinstein (1991) as in Haug (2007), section 4.17.1.

All eight types: ``down-in``, ``down-out``, ``up-in``, ``up-out`` calls and puts, with a cash ``rebate``:
a knock-in pays the rebate **at expiry** if the barrier was never hit; a knock-out pays it **at the hit**.

Already breached (spot at or beyond the barrier: S <= H for down, S >= H for up, touching counts): a
knock-in is the vanilla European, a knock-out is worth the rebate now. At T = 0 an unbreached knock-out pays
the intrinsic value and an unbreached knock-in the rebate. Discrete monitoring is not modelled (shift the
barrier by Broadie–Glasserman's exp(+-0.5826 sigma sqrt(dt)) yourself if needed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from shrivenquant.errors import ValidationError
from shrivenquant.options._arrays import as_flags, broadcast
from shrivenquant.options._black import price_one
from shrivenquant.options._special import norm_cdf

__all__ = ["BARRIER_KINDS", "barrier_price"]

BARRIER_KINDS = {"down-in": 0, "down-out": 1, "up-in": 2, "up-out": 3}


@njit(cache=True, nogil=True)
def barrier_one(kind: int, call: bool, S: float, K: float, H: float, T: float, r: float, q: float, sig: float,
                rebate: float) -> float:
    if not (S > 0.0 and K >= 0.0 and H > 0.0 and T >= 0.0 and sig > 0.0 and rebate >= 0.0
            and abs(r) < math.inf and abs(q) < math.inf and math.inf > S and math.inf > K and math.inf > H
            and math.inf > T and sig < math.inf and rebate < math.inf):
        return math.nan
    down = kind <= 1
    knock_in = kind in (0, 2)
    w = 1.0 if call else -1.0
    breached = S <= H if down else S >= H
    if breached:
        if knock_in:
            return price_one(w, S, K, T, r, q, sig, False)
        return rebate
    if T <= 0.0:
        return rebate if knock_in else max(w * (S - K), 0.0)
    b = r - q
    sqT = math.sqrt(T)
    st = sig * sqT
    mu = (b - 0.5 * sig * sig) / (sig * sig)
    lam = math.sqrt(mu * mu + 2.0 * r / (sig * sig))
    eta = 1.0 if down else -1.0
    phi = w
    hs = H / S
    x1 = math.log(S / K) / st + (1.0 + mu) * st if K > 0.0 else math.inf
    x2 = math.log(S / H) / st + (1.0 + mu) * st
    y1 = math.log(H * H / (S * K)) / st + (1.0 + mu) * st if K > 0.0 else math.inf
    y2 = math.log(H / S) / st + (1.0 + mu) * st
    z = math.log(H / S) / st + lam * st
    dq = math.exp(-q * T)
    dr = math.exp(-r * T)
    p2m1 = hs ** (2.0 * (mu + 1.0))
    p2m = hs ** (2.0 * mu)
    A = phi * S * dq * norm_cdf(phi * x1) - phi * K * dr * norm_cdf(phi * x1 - phi * st)
    B = phi * S * dq * norm_cdf(phi * x2) - phi * K * dr * norm_cdf(phi * x2 - phi * st)
    C = phi * S * dq * p2m1 * norm_cdf(eta * y1) - phi * K * dr * p2m * norm_cdf(eta * y1 - eta * st)
    D = phi * S * dq * p2m1 * norm_cdf(eta * y2) - phi * K * dr * p2m * norm_cdf(eta * y2 - eta * st)
    E = rebate * dr * (norm_cdf(eta * x2 - eta * st) - p2m * norm_cdf(eta * y2 - eta * st)) if rebate > 0.0 else 0.0
    F = rebate * (hs ** (mu + lam) * norm_cdf(eta * z) + hs ** (mu - lam) * norm_cdf(eta * z - 2.0 * eta * lam * st)) \
        if rebate > 0.0 else 0.0
    above = K > H
    if kind == 0:  # down-in
        v = (C + E if above else A - B + D + E) if call else (B - C + D + E if above else A + E)
    elif kind == 2:  # up-in
        v = (A + E if above else B - C + D + E) if call else (A - B + D + E if above else C + E)
    elif kind == 1:  # down-out
        v = (A - C + F if above else B - D + F) if call else (A - B + C - D + F if above else F)
    elif call:  # up-out call
        v = F if above else A - B + C - D + F
    else:  # up-out put
        v = B - D + F if above else A - C + F
    return max(v, 0.0)


@njit(cache=True, nogil=True)
def _batch(kind: int, call: np.ndarray, S: np.ndarray, K: np.ndarray, H: np.ndarray, T: np.ndarray,
           r: np.ndarray, q: np.ndarray, sig: np.ndarray, rebate: np.ndarray, out: np.ndarray) -> None:
    n = out.shape[0]
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    h0 = 1 if H.shape[0] > 1 else 0
    t0 = 1 if T.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    v0 = 1 if sig.shape[0] > 1 else 0
    b0 = 1 if rebate.shape[0] > 1 else 0
    for i in range(n):
        out[i] = barrier_one(kind, call[i * c0], S[i * s0], K[i * k0], H[i * h0], T[i * t0], r[i * r0], q[i * q0],
                             sig[i * v0], rebate[i * b0])


def barrier_price(kind: str, call: Any, S: Any, K: Any, H: Any, T: Any, r: Any, q: Any, sigma: Any,
                  rebate: Any = 0.0) -> Any:
    """Price of continuously monitored single-barrier options (vectorised over every numeric argument).

    Args:
        kind: ``"down-in"``, ``"down-out"``, ``"up-in"`` or ``"up-out"``.
        call: True/'c' for calls, False/'p' for puts (scalar or array).
        H: barrier level; rebate: cash paid at expiry (knock-in never triggered) or at the hit (knock-out).
    """
    if kind not in BARRIER_KINDS:
        raise ValidationError(f"barrier kind {kind!r}: expected one of {', '.join(BARRIER_KINDS)}")
    shape, (c, s, k, h, t, rr, qq, v, rb) = broadcast(
        as_flags(call), S, K, H, T, r, q, sigma, rebate,
        names=("call", "S", "K", "H", "T", "r", "q", "sigma", "rebate"))
    n = int(np.prod(shape))
    out = np.empty(n)
    _batch(BARRIER_KINDS[kind], c, s, k, h, t, rr, qq, v, rb, out)
    bad = np.isnan(out)
    if bad.any():
        raise ValidationError(f"invalid barrier option input at flat index {int(np.flatnonzero(bad)[0])}: need "
                              "S, H, sigma > 0, K, T, rebate >= 0, finite r and q")
    res = out.reshape(shape)
    return float(res) if shape == () else res
