# ruff: noqa: N803, N806, PLR0917  (finance notation: S, K, T, F; kernels take many scalars)
"""Numba kernels: the normalised Black function (Jäckel, "Let's Be Rational") and BSM/Black-76 price + Greeks.

Normalised Black function, x = ln(F/K), s = sigma*sqrt(T), h = x/s, t = s/2::

    b(x, s) = Phi(h + t) e^{x/2} - Phi(h - t) e^{-x/2}              (undiscounted call / sqrt(F K))
            = exp(-(h^2 + t^2)/2) / sqrt(2 pi) * [Y(h + t) - Y(h - t)],   Y = Phi / phi

For x > 0 the in-the-money call is the intrinsic 2 sinh(x/2) plus the out-of-the-money b(-x, s). The
out-of-the-money value is evaluated by one of four branches (Jäckel 2016, section 3): the asymptotic
expansion of Y for h < -10, a Taylor expansion in t for t < 2 eps^(1/16), the erfcx form (one exponential)
for h + t <= -1 and the plain Phi form near the money. Every branch is free of catastrophic cancellation,
so b keeps its relative accuracy down to 1e-300 and is never negative.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from shrivenquant.options._special import (
    DBL_EPSILON,
    ONE_OVER_SQRT2,
    ONE_OVER_SQRT_2PI,
    SQRT_PI_OVER_2,
    erfcx,
    norm_cdf,
)

#: small-t expansion threshold 2 eps^(1/16) (Jäckel)
TAU_SMALL_T = 2.0 * DBL_EPSILON ** (1.0 / 16.0)
#: out of the money, the textbook S e^{-qT} N(d1) - K e^{-rT} N(d2) is used only while it keeps more than 1/64
#: of its first term (at most 6 bits, ~7e-15 relative, lost to cancellation); below it the normalised Black takes over
CANCELLATION_LIMIT = 1.0 / 64.0
ASYMPTOTIC_H = -10.0

#: Rows of the Greeks output array (``out[k, i]``).
PRICE, DELTA, GAMMA, VEGA, THETA, RHO, DIVIDEND_RHO = 0, 1, 2, 3, 4, 5, 6
VANNA, VOLGA, CHARM, SPEED, DUAL_DELTA, DUAL_GAMMA = 7, 8, 9, 10, 11, 12
N_FIRST = 7
N_ALL = 13


@njit(cache=True, nogil=True)
def _asymptotic_otm(h: float, t: float) -> float:
    """b for h < -10, h + t < -10 + tau, from Y(z) ~ -sum_k (-1)^k (2k-1)!! z^-(2k+1) (A&S 26.2.12).

    With r = (h+t)(h-t), q = (h/r)^2, e = (t/h)^2 and n = 2k+1, the difference of the two series is
    Y(h+t) - Y(h-t) = 2 (t/r) sum_k (-1)^k (2k-1)!! q^k S_k(e),  S_k(e) = sum_{j odd <= n} C(n, j) e^((j-1)/2),
    whose inner sums have only positive terms (no cancellation between the two tails).
    """
    e = (t / h) * (t / h)
    r = (h + t) * (h - t)
    q = (h / r) * (h / r)
    total = 0.0
    dfact = 1.0  # (2k-1)!!
    qk = 1.0
    prev = math.inf
    for k in range(60):
        n = 2 * k + 1
        sk = 0.0
        c = float(n)  # C(n, 1)
        ep = 1.0
        for j in range(1, n + 1, 2):
            sk += c * ep
            c *= (n - j) * (n - j - 1) / ((j + 1.0) * (j + 2.0))
            ep *= e
        a = dfact * qk * sk
        if a > prev:
            break  # the asymptotic series started to diverge
        total += -a if k % 2 == 1 else a
        if a <= 1e-17 * total:
            break
        prev = a
        dfact *= n
        qk *= q
    b = ONE_OVER_SQRT_2PI * math.exp(-0.5 * (h * h + t * t)) * 2.0 * (t / r) * total
    return max(b, 0.0)


@njit(cache=True, nogil=True)
def _small_t_otm(h: float, t: float) -> float:
    """b for t < tau: Taylor series of Y(h+t) - Y(h-t) = 2 sum_{k odd} Y^(k)(h) t^k / k!, to t^13.

    Y' = 1 + h Y, so Y^(n+1) = h Y^(n) + n Y^(n-1).
    """
    y0 = SQRT_PI_OVER_2 * erfcx(-ONE_OVER_SQRT2 * h)
    y1 = 1.0 + h * y0
    ym, yc = y0, y1  # Y^(n-1), Y^(n)
    total = y1 * t
    tk = t
    fact = 1.0
    w = t * t
    for n in range(1, 13):
        yn = h * yc + n * ym  # Y^(n+1)
        ym, yc = yc, yn
        fact *= n + 1
        if (n + 1) % 2 == 1:
            tk *= w
            total += yc * tk / fact
    b = ONE_OVER_SQRT_2PI * math.exp(-0.5 * (h * h + t * t)) * 2.0 * total
    return max(b, 0.0)


@njit(cache=True, nogil=True)
def normalised_black_otm(x: float, s: float) -> float:
    """b(x, s) for x <= 0 (out of the money call), s >= 0; relatively accurate, never negative."""
    if s <= 0.0:
        return 0.0
    if x == -math.inf:
        return 0.0
    h = x / s
    t = 0.5 * s
    if h < ASYMPTOTIC_H and h + t < ASYMPTOTIC_H + TAU_SMALL_T:
        return _asymptotic_otm(h, t)
    if t < TAU_SMALL_T:
        return _small_t_otm(h, t)
    if h + t > -1.0:
        # near the money: the plain form is as accurate (measured <= 2.5e-14 relative against mpmath) and cheaper
        ex = math.exp(0.5 * x)
        return max(norm_cdf(h + t) * ex - norm_cdf(h - t) / ex, 0.0)
    # further out: Jäckel's erfcx form, one exponential instead of three (<= 2e-14 where the plain form
    # loses up to 5e-13 through exp(-z^2/2) inside Phi)
    b = 0.5 * math.exp(-0.5 * (h * h + t * t)) * (
        erfcx(-ONE_OVER_SQRT2 * (h + t)) - erfcx(-ONE_OVER_SQRT2 * (h - t)))
    return max(b, 0.0)


@njit(cache=True, nogil=True)
def normalised_intrinsic_call(x: float) -> float:
    """e^{x/2} - e^{-x/2} for x > 0, else 0."""
    if x <= 0.0:
        return 0.0
    return 2.0 * math.sinh(0.5 * x)


@njit(cache=True, nogil=True)
def normalised_black(x: float, s: float, w: float) -> float:
    """Normalised Black price (call w=+1, put w=-1): b(w x, s) by reciprocal-strike symmetry."""
    xx = w * x
    if xx > 0.0:
        return normalised_intrinsic_call(xx) + normalised_black_otm(-xx, s)
    return normalised_black_otm(xx, s)


@njit(cache=True, nogil=True)
def normalised_vega(x: float, s: float) -> float:
    """db/ds = exp(-(h^2 + t^2)/2) / sqrt(2 pi)."""
    if s <= 0.0:
        return ONE_OVER_SQRT_2PI if x == 0.0 else 0.0
    h = x / s
    t = 0.5 * s
    return ONE_OVER_SQRT_2PI * math.exp(-0.5 * (h * h + t * t))


@njit(cache=True, nogil=True)
def black_undiscounted(F: float, K: float, s: float, w: float) -> float:
    """Undiscounted Black price, total vol s = sigma sqrt(T); F > 0, K >= 0."""
    if K <= 0.0:
        return F if w > 0 else 0.0
    x = math.log(F / K)
    otm = math.sqrt(F) * math.sqrt(K) * normalised_black_otm(-abs(x), s)
    if w * x > 0.0:
        return w * (F - K) + otm  # intrinsic exactly as F - K: never below it
    return otm


@njit(cache=True, nogil=True)
def _invalid(S: float, K: float, T: float, r: float, q: float, sig: float) -> bool:
    return not (S > 0.0 and math.inf > S and K >= 0.0 and math.inf > K and T >= 0.0 and math.inf > T
                and sig >= 0.0 and sig < math.inf and abs(r) < math.inf and abs(q) < math.inf)


@njit(cache=True, nogil=True)
def greeks_one(w: float, S: float, K: float, T: float, r: float, q: float, sig: float, b76: bool,
               out: np.ndarray, i: int, nrows: int) -> None:
    """Price and Greeks of one option into ``out[:nrows, i]`` (rows: PRICE..DUAL_GAMMA).

    BSM on spot S with dividend yield q; Black-76 (``b76``) on futures S = F: q := r, rho = -T V (F fixed),
    dividend rho 0. Theta and charm are d/dt (calendar time passing) per year; vega/rho per 1.00.
    """
    if b76:
        q = r
    sqT = math.sqrt(T) if T >= 0.0 else math.nan
    s = sig * sqT
    # one cheap test admits every ordinary input; anything else (NaN, inf, T = 0, sigma = 0, K = 0, bad signs)
    # takes the careful path below
    if not (S > 0.0 and K > 0.0 and s > 0.0 and S + K + s + abs(r) + abs(q) < math.inf):
        _greeks_special(w, S, K, T, r, q, sig, b76, out, i, nrows)
        return
    dq = math.exp(-q * T)
    dr = math.exp(-r * T)
    b = r - q
    x = math.log(S / K) + b * T  # ln(F/K)
    _greeks_main(w, S, K, T, r, q, sig, b76, out, i, nrows, dq, dr, sqT, s, b, x)


@njit(cache=True, nogil=True)
def _greeks_special(w: float, S: float, K: float, T: float, r: float, q: float, sig: float, b76: bool,
                    out: np.ndarray, i: int, nrows: int) -> None:
    """Invalid input (NaN row) or a degenerate one: T = 0, sigma = 0 or K = 0 (limits of the formulas)."""
    if _invalid(S, K, T, r, q, sig):
        for k in range(nrows):
            out[k, i] = math.nan
        return
    dq = math.exp(-q * T)
    dr = math.exp(-r * T)
    sqT = math.sqrt(T)
    s = sig * sqT
    b = r - q
    if s <= 0.0 or K <= 0.0:
        # degenerate: T = 0, sigma = 0 or K = 0 -> forward intrinsic and its limits
        F = S * math.exp(b * T)
        diff = w * (F - K)
        atm = diff == 0.0
        ind = 1.0 if diff > 0.0 else (0.5 if atm else 0.0)
        pdf0 = ONE_OVER_SQRT_2PI if atm else 0.0
        out[0, i] = max(w * (S * dq - K * dr), 0.0) if diff > 0.0 else 0.0
        delta = w * dq * ind
        out[1, i] = delta
        out[2, i] = math.inf if atm else 0.0
        out[3, i] = S * dq * sqT * pdf0
        th = w * (q * S * dq - r * K * dr) * ind
        if atm and sig > 0.0:
            th = -math.inf
        out[4, i] = th
        rho = w * K * T * dr * ind
        drho = -w * S * T * dq * ind
        if b76:
            rho += drho
            drho = 0.0
        out[5, i] = rho
        out[6, i] = drho
        if nrows > N_FIRST:
            out[7, i] = dq * pdf0 * 0.5 * sqT
            out[8, i] = 0.0
            ch = q * delta
            if atm and b != 0.0:
                ch = -math.copysign(math.inf, b)
            out[9, i] = ch
            out[10, i] = -math.inf if atm else 0.0
            out[11, i] = -w * dr * ind
            out[12, i] = math.inf if atm else 0.0
        return
    _greeks_main(w, S, K, T, r, q, sig, b76, out, i, nrows, dq, dr, sqT, s, b, math.log(S / K) + b * T)


@njit(cache=True, nogil=True, inline="always")
def _greeks_main(w: float, S: float, K: float, T: float, r: float, q: float, sig: float, b76: bool,
                 out: np.ndarray, i: int, nrows: int, dq: float, dr: float, sqT: float, s: float, b: float,
                 x: float) -> None:
    d1 = x / s + 0.5 * s
    d2 = d1 - s
    nd1 = norm_cdf(w * d1)
    nd2 = norm_cdf(w * d2)
    pdf1 = ONE_OVER_SQRT_2PI * math.exp(-0.5 * d1 * d1)
    sdq = S * dq
    kdr = K * dr
    if w * x < 0.0 and not (w * (sdq * nd1 - kdr * nd2) > CANCELLATION_LIMIT * sdq * nd1):
        # out of the money with more than 6 bits cancelled: the cancellation-free normalised Black
        price = dr * math.sqrt(S * math.exp(b * T)) * math.sqrt(K) * normalised_black_otm(-abs(x), s)
    else:
        price = max(w * (sdq * nd1 - kdr * nd2), w * (sdq - kdr), 0.0)
    out[0, i] = price
    delta = w * dq * nd1
    out[1, i] = delta
    gamma = dq * pdf1 / (S * s)
    out[2, i] = gamma
    vega = sdq * pdf1 * sqT
    out[3, i] = vega
    out[4, i] = -sdq * pdf1 * sig / (2.0 * sqT) - w * r * kdr * nd2 + w * q * sdq * nd1
    rho = w * K * T * dr * nd2
    drho = -w * S * T * dq * nd1
    if b76:
        rho = -T * price
        drho = 0.0
    out[5, i] = rho
    out[6, i] = drho
    if nrows > N_FIRST:
        out[7, i] = -dq * pdf1 * d2 / sig
        out[8, i] = vega * d1 * d2 / sig
        out[9, i] = q * delta - dq * pdf1 * (b / s - d2 / (2.0 * T))
        out[10, i] = -gamma / S * (1.0 + d1 / s)
        out[11, i] = -w * dr * nd2
        out[12, i] = dr * ONE_OVER_SQRT_2PI * math.exp(-0.5 * d2 * d2) / (K * s)


@njit(cache=True, nogil=True, parallel=True)
def greeks_batch(call: np.ndarray, S: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray,
                 q: np.ndarray, sig: np.ndarray, b76: bool, out: np.ndarray) -> int:
    """Vectorised :func:`greeks_one`; each input is length n or 1 (broadcast); out has shape (rows, n)."""
    n = out.shape[1]
    nrows = out.shape[0]
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    t0 = 1 if T.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    v0 = 1 if sig.shape[0] > 1 else 0
    bad = 0
    for i in prange(n):
        w = 1.0 if call[i * c0] else -1.0
        greeks_one(w, S[i * s0], K[i * k0], T[i * t0], r[i * r0], q[i * q0], sig[i * v0], b76, out, i, nrows)
        if math.isnan(out[0, i]):
            bad += 1
    return bad


@njit(cache=True, nogil=True)
def greeks_batch_serial(call: np.ndarray, S: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray,
                 q: np.ndarray, sig: np.ndarray, b76: bool, out: np.ndarray) -> int:
    """Single-threaded twin (small batches load and start faster)."""
    n = out.shape[1]
    nrows = out.shape[0]
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    t0 = 1 if T.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    v0 = 1 if sig.shape[0] > 1 else 0
    bad = 0
    for i in range(n):
        w = 1.0 if call[i * c0] else -1.0
        greeks_one(w, S[i * s0], K[i * k0], T[i * t0], r[i * r0], q[i * q0], sig[i * v0], b76, out, i, nrows)
        if math.isnan(out[0, i]):
            bad += 1
    return bad


@njit(cache=True, nogil=True)
def price_one(w: float, S: float, K: float, T: float, r: float, q: float, sig: float, b76: bool) -> float:
    """Price only (BSM on spot, or Black-76 on futures S = F); NaN for invalid input.

    Never below the discounted forward intrinsic value; far out-of-the-money prices (w d1 < -2) come from the
    normalised Black function, relatively accurate down to ~1e-300.
    """
    if _invalid(S, K, T, r, q, sig):
        return math.nan
    if b76:
        q = r
    dq = math.exp(-q * T)
    dr = math.exp(-r * T)
    intrinsic = max(w * (S * dq - K * dr), 0.0)
    s = sig * math.sqrt(T)
    if s <= 0.0 or K <= 0.0:
        return intrinsic
    x = math.log(S / K) + (r - q) * T
    d1 = x / s + 0.5 * s
    sdq = S * dq
    if w * x < 0.0:
        nd1 = norm_cdf(w * d1)
        p = w * (sdq * nd1 - K * dr * norm_cdf(w * (d1 - s)))
        if p > CANCELLATION_LIMIT * sdq * nd1:
            return p
        # out of the money with more than 6 bits cancelled (deep tail, or tiny total vol): normalised Black
        return dr * math.sqrt(S * math.exp((r - q) * T)) * math.sqrt(K) * normalised_black_otm(-abs(x), s)
    return max(w * (sdq * norm_cdf(w * d1) - K * dr * norm_cdf(w * (d1 - s))), intrinsic)


@njit(cache=True, nogil=True, parallel=True)
def price_batch(call: np.ndarray, S: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray,
                q: np.ndarray, sig: np.ndarray, b76: bool, out: np.ndarray) -> int:
    n = out.shape[0]
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    t0 = 1 if T.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    v0 = 1 if sig.shape[0] > 1 else 0
    bad = 0
    for i in prange(n):
        w = 1.0 if call[i * c0] else -1.0
        v = price_one(w, S[i * s0], K[i * k0], T[i * t0], r[i * r0], q[i * q0], sig[i * v0], b76)
        out[i] = v
        if math.isnan(v):
            bad += 1
    return bad


@njit(cache=True, nogil=True)
def price_batch_serial(call: np.ndarray, S: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray,
                q: np.ndarray, sig: np.ndarray, b76: bool, out: np.ndarray) -> int:
    n = out.shape[0]
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    t0 = 1 if T.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    v0 = 1 if sig.shape[0] > 1 else 0
    bad = 0
    for i in range(n):
        w = 1.0 if call[i * c0] else -1.0
        v = price_one(w, S[i * s0], K[i * k0], T[i * t0], r[i * r0], q[i * q0], sig[i * v0], b76)
        out[i] = v
        if math.isnan(v):
            bad += 1
    return bad


@njit(cache=True, nogil=True)
def greeks_scalar(w: float, S: float, K: float, T: float, r: float, q: float, sig: float,
                  b76: bool) -> tuple[float, float, float, float, float, float, float, float, float, float, float,
                                      float, float]:
    """All 13 rows of :func:`greeks_one` for one option, as a tuple."""
    o = np.empty((N_ALL, 1))
    greeks_one(w, S, K, T, r, q, sig, b76, o, 0, N_ALL)
    return (o[0, 0], o[1, 0], o[2, 0], o[3, 0], o[4, 0], o[5, 0], o[6, 0], o[7, 0], o[8, 0], o[9, 0], o[10, 0],
            o[11, 0], o[12, 0])
