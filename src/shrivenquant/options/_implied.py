# ruff: noqa: N803, N806, PLR0917  (finance notation: S, K, T, F; kernels take many scalars)
"""Numba kernels: implied Black volatility by Jäckel's "Let's Be Rational" (2016).

The normalised out-of-the-money call price beta in (0, e^{x/2}), x = ln(F/K) <= 0, is inverted for
s = sigma sqrt(T) in four zones split at s_l < s_c = sqrt(2|x|) < s_h. Each zone has an initial guess from a
rational cubic interpolation (Delbourgo–Gregory) of a transformed objective: in the lowest zone of
f_lower(beta) = 2 pi/sqrt(27) |x| Phi(-|x|/(sqrt(3) s))^3 (whose inverse is explicit), in the two middle zones
of s(beta) directly, in the highest zone of f_upper(beta) = Phi(-s/2). Then at most two third-order
Householder steps on an objective chosen per zone (ln b in the lowest zone, ln(b_max - b) in the highest,
b itself otherwise) give the attainable float64 accuracy.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from shrivenquant.options._black import normalised_black_otm
from shrivenquant.options._special import DBL_EPSILON, DBL_MAX, DBL_MIN, inverse_norm_cdf, norm_cdf

#: status codes of the implied-volatility solvers (mirrored by :class:`shrivenquant.options.IVStatus`)
OK, BELOW_INTRINSIC, ABOVE_MAXIMUM, NEGATIVE_PRICE, AT_INTRINSIC, EXPIRED, INVALID_INPUT, UNDERFLOW = range(8)

MAX_ITERATIONS = 2
#: batches below this size run single-threaded (the threaded kernel costs ~1 s to load on first use)
PARALLEL_MIN = 20_000
_SQRT3 = 1.7320508075688772935274463415059
_SQRT_ONE_OVER_THREE = 0.57735026918962576450914878050196
_TWO_PI_OVER_SQRT27 = 1.2091995761561452337293855050948
_PI_OVER_SIX = 0.52359877559829887307710723054658
_TWO_PI = 6.2831853071795864769252867665590
_SQRT_PI_OVER_TWO = 1.2533141373155002512078826424055
_ONE_OVER_SQRT_2PI = 0.39894228040143267793994605993438
_R_MIN = -(1.0 - math.sqrt(DBL_EPSILON))
_R_MAX = 2.0 / (DBL_EPSILON * DBL_EPSILON)


@njit(cache=True, nogil=True)
def _vega(x: float, s: float) -> float:
    if x == 0.0:
        return _ONE_OVER_SQRT_2PI * math.exp(-0.125 * s * s)
    if s <= 0.0:
        return 0.0
    h = x / s
    t = 0.5 * s
    return _ONE_OVER_SQRT_2PI * math.exp(-0.5 * (h * h + t * t))


@njit(cache=True, nogil=True)
def _hh_factor(newton: float, halley: float, hh3: float) -> float:
    return (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton / 6.0))


@njit(cache=True, nogil=True)
def _rc_interp(x: float, xl: float, xr: float, yl: float, yr: float, dl: float, dr: float, r: float) -> float:
    """Delbourgo–Gregory rational cubic with control parameter r (r -> inf: linear)."""
    h = xr - xl
    if abs(h) <= 0.0:
        return 0.5 * (yl + yr)
    t = (x - xl) / h
    if r >= _R_MAX:
        return yr * t + yl * (1.0 - t)
    omt = 1.0 - t
    t2 = t * t
    omt2 = omt * omt
    return (yr * t2 * t + (r * yr - h * dr) * t2 * omt + (r * yl + h * dl) * t * omt2 + yl * omt2 * omt) / (
        1.0 + (r - 3.0) * t * omt)


@njit(cache=True, nogil=True)
def _r_min(dl: float, dr: float, slope: float, prefer_shape: bool) -> float:
    monotonic = dl * slope >= 0.0 and dr * slope >= 0.0
    convex = dl <= slope <= dr
    concave = dl >= slope >= dr
    if not monotonic and not convex and not concave:
        return _R_MIN
    r1 = -DBL_MAX
    r2 = -DBL_MAX
    if monotonic:
        if abs(slope) >= DBL_MIN:
            r1 = (dr + dl) / slope
        elif prefer_shape:
            r1 = _R_MAX
    if convex or concave:
        a = slope - dl
        b = dr - slope
        if abs(a) >= DBL_MIN and abs(b) >= DBL_MIN:
            r2 = max(abs((dr - dl) / b), abs((dr - dl) / a))
        elif prefer_shape:
            r2 = _R_MAX
    elif monotonic and prefer_shape:
        r2 = _R_MAX
    return max(_R_MIN, r1, r2)


@njit(cache=True, nogil=True)
def _r_fit_left(xl: float, xr: float, yl: float, yr: float, dl: float, dr: float, d2l: float,
                prefer_shape: bool) -> float:
    """Control parameter matching the second derivative at the left end, floored for shape preservation."""
    h = xr - xl
    num = 0.5 * h * d2l + (dr - dl)
    den = (yr - yl) / h - dl
    if abs(num) < DBL_MIN:
        r = 0.0
    elif abs(den) < DBL_MIN:
        r = _R_MAX if num > 0.0 else _R_MIN
    else:
        r = num / den
    return max(r, _r_min(dl, dr, (yr - yl) / h, prefer_shape))


@njit(cache=True, nogil=True)
def _r_fit_right(xl: float, xr: float, yl: float, yr: float, dl: float, dr: float, d2r: float,
                 prefer_shape: bool) -> float:
    h = xr - xl
    num = 0.5 * h * d2r + (dr - dl)
    den = dr - (yr - yl) / h
    if abs(num) < DBL_MIN:
        r = 0.0
    elif abs(den) < DBL_MIN:
        r = _R_MAX if num > 0.0 else _R_MIN
    else:
        r = num / den
    return max(r, _r_min(dl, dr, (yr - yl) / h, prefer_shape))


@njit(cache=True, nogil=True)
def _f_lower(x: float, s: float) -> tuple[float, float, float]:
    """f_lower(beta(s)) and its first two derivatives with respect to beta."""
    ax = abs(x)
    z = _SQRT_ONE_OVER_THREE * ax / s
    y = z * z
    s2 = s * s
    Phi = norm_cdf(-z)
    phi = _ONE_OVER_SQRT_2PI * math.exp(-0.5 * z * z)
    fpp = _PI_OVER_SIX * y / (s2 * s) * Phi * (
        8.0 * _SQRT3 * s * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * Phi / phi) * math.exp(2.0 * y + 0.25 * s2)
    Phi2 = Phi * Phi
    fp = _TWO_PI * y * Phi2 * math.exp(y + 0.125 * s2)
    f = _TWO_PI_OVER_SQRT27 * ax * (Phi2 * Phi)
    return f, fp, fpp


@njit(cache=True, nogil=True)
def _inv_f_lower(x: float, f: float) -> float:
    if f <= 0.0:
        return 0.0
    return abs(x / (_SQRT3 * inverse_norm_cdf((f / (_TWO_PI_OVER_SQRT27 * abs(x))) ** (1.0 / 3.0))))


@njit(cache=True, nogil=True)
def _f_upper(x: float, s: float) -> tuple[float, float, float]:
    f = norm_cdf(-0.5 * s)
    w = (x / s) * (x / s)
    fp = -0.5 * math.exp(0.5 * w)
    fpp = _SQRT_PI_OVER_TWO * math.exp(w + 0.125 * s * s) * w / s
    return f, fp, fpp


@njit(cache=True, nogil=True)
def normalised_iv_otm(beta: float, x: float, n_iter: int) -> float:
    """s = sigma sqrt(T) with b(x, s) = beta for an out-of-the-money call: x <= 0, 0 < beta < e^{x/2}."""
    b_max = math.exp(0.5 * x)
    it = 0
    reversals = 0
    f = -DBL_MAX
    ds = -DBL_MAX
    ds_prev = 0.0
    s_left = DBL_MIN
    s_right = DBL_MAX
    s_c = math.sqrt(abs(2.0 * x))
    b_c = normalised_black_otm(x, s_c)
    v_c = _vega(x, s_c)
    # zone: 0 lowest (objective ln b), 3 highest (objective ln(b_max - b)), else b itself
    if beta < b_c:
        s_l = s_c - b_c / v_c
        b_l = normalised_black_otm(x, s_l)
        if beta < b_l:
            fl, dfl, d2fl = _f_lower(x, s_l)
            r_ll = _r_fit_right(0.0, b_l, 0.0, fl, 1.0, dfl, d2fl, True)
            f = _rc_interp(beta, 0.0, b_l, 0.0, fl, 1.0, dfl, r_ll)
            if not (f > 0.0):
                tt = beta / b_l
                f = (fl * tt + b_l * (1.0 - tt)) * tt
            s = _inv_f_lower(x, f)
            s_right = s_l
            while it < n_iter and abs(ds) > DBL_EPSILON * s:
                if ds * ds_prev < 0.0:
                    reversals += 1
                if it > 0 and (reversals == 3 or not (s > s_left and s < s_right)):
                    s = 0.5 * (s_left + s_right)
                    if s_right - s_left <= DBL_EPSILON * s:
                        break
                    reversals = 0
                    ds = 0.0
                ds_prev = ds
                b = normalised_black_otm(x, s)
                bp = _vega(x, s)
                if b > beta and s < s_right:
                    s_right = s
                elif b < beta and s > s_left:
                    s_left = s
                if b <= 0.0 or bp <= 0.0:
                    ds = 0.5 * (s_left + s_right) - s
                else:
                    ln_b = math.log(b)
                    ln_beta = math.log(beta)
                    bpob = bp / b
                    h = x / s
                    b_halley = h * h / s - s / 4.0
                    newton = (ln_beta - ln_b) * ln_b / ln_beta / bpob
                    halley = b_halley - bpob * (1.0 + 2.0 / ln_b)
                    b_hh3 = b_halley * b_halley - 3.0 * (h / s) * (h / s) - 0.25
                    hh3 = b_hh3 + 2.0 * bpob * bpob * (1.0 + 3.0 / ln_b * (1.0 + 1.0 / ln_b)) \
                        - 3.0 * b_halley * bpob * (1.0 + 2.0 / ln_b)
                    ds = newton * _hh_factor(newton, halley, hh3)
                ds = max(-0.5 * s, ds)
                s += ds
                it += 1
            return s
        v_l = _vega(x, s_l)
        r_lm = _r_fit_right(b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, 0.0, False)
        s = _rc_interp(beta, b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, r_lm)
        s_left = s_l
        s_right = s_c
    else:
        s_h = s_c + (b_max - b_c) / v_c if v_c > DBL_MIN else s_c
        b_h = normalised_black_otm(x, s_h)
        if beta <= b_h:
            v_h = _vega(x, s_h)
            r_hm = _r_fit_left(b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, 0.0, False)
            s = _rc_interp(beta, b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, r_hm)
            s_left = s_c
            s_right = s_h
        else:
            fu, dfu, d2fu = _f_upper(x, s_h)
            if d2fu > -math.sqrt(DBL_MAX) and d2fu < math.sqrt(DBL_MAX):
                r_hh = _r_fit_left(b_h, b_max, fu, 0.0, dfu, -0.5, d2fu, True)
                f = _rc_interp(beta, b_h, b_max, fu, 0.0, dfu, -0.5, r_hh)
            if f <= 0.0:
                hh = b_max - b_h
                tt = (beta - b_h) / hh
                f = (fu * (1.0 - tt) + 0.5 * hh * tt) * (1.0 - tt)
            s = -2.0 * inverse_norm_cdf(f)
            s_left = s_h
            if beta > 0.5 * b_max:
                while it < n_iter and abs(ds) > DBL_EPSILON * s:
                    if ds * ds_prev < 0.0:
                        reversals += 1
                    if it > 0 and (reversals == 3 or not (s > s_left and s < s_right)):
                        s = 0.5 * (s_left + s_right)
                        if s_right - s_left <= DBL_EPSILON * s:
                            break
                        reversals = 0
                        ds = 0.0
                    ds_prev = ds
                    b = normalised_black_otm(x, s)
                    bp = _vega(x, s)
                    if b > beta and s < s_right:
                        s_right = s
                    elif b < beta and s > s_left:
                        s_left = s
                    if b >= b_max or bp <= DBL_MIN:
                        ds = 0.5 * (s_left + s_right) - s
                    else:
                        bmb = b_max - b
                        g = math.log((b_max - beta) / bmb)
                        gp = bp / bmb
                        b_halley = (x / s) * (x / s) / s - s / 4.0
                        b_hh3 = b_halley * b_halley - 3.0 * (x / (s * s)) * (x / (s * s)) - 0.25
                        newton = -g / gp
                        halley = b_halley + gp
                        hh3 = b_hh3 + gp * (2.0 * gp + 3.0 * b_halley)
                        ds = newton * _hh_factor(newton, halley, hh3)
                    ds = max(-0.5 * s, ds)
                    s += ds
                    it += 1
                return s
    while it < n_iter and abs(ds) > DBL_EPSILON * s:
        if ds * ds_prev < 0.0:
            reversals += 1
        if it > 0 and (reversals == 3 or not (s > s_left and s < s_right)):
            s = 0.5 * (s_left + s_right)
            if s_right - s_left <= DBL_EPSILON * s:
                break
            reversals = 0
            ds = 0.0
        ds_prev = ds
        b = normalised_black_otm(x, s)
        bp = _vega(x, s)
        if b > beta and s < s_right:
            s_right = s
        elif b < beta and s > s_left:
            s_left = s
        newton = (beta - b) / bp
        halley = (x / s) * (x / s) / s - s / 4.0
        hh3 = halley * halley - 3.0 * (x / (s * s)) * (x / (s * s)) - 0.25
        ds = max(-0.5 * s, newton * _hh_factor(newton, halley, hh3))
        s += ds
        it += 1
    return s


@njit(cache=True, nogil=True)
def implied_black_one(price: float, F: float, K: float, T: float, w: float, n_iter: int) -> tuple[float, int]:
    """(sigma, status) from an undiscounted Black price; sigma is NaN unless status == OK."""
    if not (F > 0.0 and math.inf > F and K > 0.0 and math.inf > K and T >= 0.0 and math.inf > T
            and not math.isnan(price) and abs(price) < math.inf):
        return math.nan, INVALID_INPUT
    if price < 0.0:
        return math.nan, NEGATIVE_PRICE
    if T <= 0.0:
        return math.nan, EXPIRED
    intrinsic = max(w * (F - K), 0.0)
    if price < intrinsic:
        # within rounding of the intrinsic value on the natural scale (e.g. S e^{-qT} - K e^{-rT} undiscounted
        # again carries an error of a few ulps of F): no time value left, not an arbitrage
        if intrinsic - price <= 4.0 * DBL_EPSILON * max(F, K):
            return math.nan, AT_INTRINSIC
        return math.nan, BELOW_INTRINSIC
    if price >= (F if w > 0 else K):
        return math.nan, ABOVE_MAXIMUM
    x = math.log(F / K)
    if w * x > 0.0:
        # in the money: the out-of-the-money counterpart by put-call parity
        beta = (price - intrinsic) / (math.sqrt(F) * math.sqrt(K))
        w = -w
    else:
        beta = price / (math.sqrt(F) * math.sqrt(K))
    if w < 0.0:
        x = -x
    # now an out-of-the-money call: x <= 0
    if beta <= 0.0:
        return math.nan, AT_INTRINSIC
    if beta < DBL_MIN:
        return math.nan, UNDERFLOW
    if beta >= math.exp(0.5 * x):
        return math.nan, ABOVE_MAXIMUM
    s = normalised_iv_otm(beta, x, n_iter)
    if not (s > 0.0 and s < math.inf):
        return math.nan, AT_INTRINSIC if s == 0.0 else UNDERFLOW
    return s / math.sqrt(T), OK


@njit(cache=True, nogil=True)
def implied_one(price: float, S: float, K: float, T: float, r: float, q: float, w: float, b76: bool,
                n_iter: int) -> tuple[float, int]:
    """(sigma, status) from a discounted BSM (spot S, yield q) or Black-76 (futures S) price."""
    if not (abs(r) < math.inf and abs(q) < math.inf and T >= 0.0 and math.inf > T):
        return math.nan, INVALID_INPUT
    dr = math.exp(-r * T)
    F = S if b76 else S * math.exp((r - q) * T)
    return implied_black_one(price / dr, F, K, T, w, n_iter)


@njit(cache=True, nogil=True, parallel=True)
def implied_batch(price: np.ndarray, call: np.ndarray, S: np.ndarray, K: np.ndarray, T: np.ndarray,
                  r: np.ndarray, q: np.ndarray, b76: bool, n_iter: int, out: np.ndarray,
                  status: np.ndarray) -> None:
    n = out.shape[0]
    p0 = 1 if price.shape[0] > 1 else 0
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    t0 = 1 if T.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    for i in prange(n):
        w = 1.0 if call[i * c0] else -1.0
        v, st = implied_one(price[i * p0], S[i * s0], K[i * k0], T[i * t0], r[i * r0], q[i * q0], w, b76, n_iter)
        out[i] = v
        status[i] = st




@njit(cache=True, nogil=True)
def implied_batch_serial(price: np.ndarray, call: np.ndarray, S: np.ndarray, K: np.ndarray, T: np.ndarray,
                  r: np.ndarray, q: np.ndarray, b76: bool, n_iter: int, out: np.ndarray,
                  status: np.ndarray) -> None:
    n = out.shape[0]
    p0 = 1 if price.shape[0] > 1 else 0
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    t0 = 1 if T.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    for i in range(n):
        w = 1.0 if call[i * c0] else -1.0
        v, st = implied_one(price[i * p0], S[i * s0], K[i * k0], T[i * t0], r[i * r0], q[i * q0], w, b76, n_iter)
        out[i] = v
        status[i] = st

