"""Special functions for the pricers (Numba): normal cdf/pdf, scaled erfc, inverse normal cdf.

* ``norm_cdf(z) = erfc(-z/sqrt(2))/2``: relatively accurate in the lower tail down to ~1e-308 (the
  relative error grows like z^2 * eps from rounding ``z/sqrt(2)``: ~3e-13 at z = -38).
* ``erfcx(x) = exp(x^2) erfc(x)`` without overflow: ``exp`` of the exact (Dekker) square times
  ``erfc`` below 26, the asymptotic series above (Abramowitz & Stegun 7.1.23).
* ``inverse_norm_cdf``: Wichura's AS241 (PPND16), ~1e-16 relative.
"""

from __future__ import annotations

import math

from numba import njit

SQRT2 = 1.4142135623730950488016887242097
ONE_OVER_SQRT2 = 0.70710678118654752440084436210485
SQRT_2PI = 2.5066282746310005024157652848110
ONE_OVER_SQRT_2PI = 0.39894228040143267793994605993438
SQRT_PI_OVER_2 = 1.2533141373155002512078826424055
ONE_OVER_SQRT_PI = 0.56418958354775628694807945156077
DBL_EPSILON = 2.220446049250313e-16
DBL_MIN = 2.2250738585072014e-308
DBL_MAX = 1.7976931348623157e308


@njit(cache=True, nogil=True)
def norm_pdf(z: float) -> float:
    return ONE_OVER_SQRT_2PI * math.exp(-0.5 * z * z)


@njit(cache=True, nogil=True)
def norm_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z * ONE_OVER_SQRT2)


@njit(cache=True, nogil=True)
def exact_square(x: float) -> tuple[float, float]:
    """(p, e) with p + e == x*x exactly (Dekker's product)."""
    c = 134217729.0 * x
    xh = c - (c - x)
    xl = x - xh
    p = x * x
    e = ((xh * xh - p) + 2.0 * xh * xl) + xl * xl
    return p, e


@njit(cache=True, nogil=True)
def erfcx(x: float) -> float:
    """exp(x^2) * erfc(x), relatively accurate for all x (inf for x < -26.6)."""
    if x < 0.5:
        return math.exp(x * x) * math.erfc(x)
    if x < 26.0:
        p, e = exact_square(x)
        return math.exp(p) * (1.0 + e) * math.erfc(x)
    # asymptotic: 1/(x sqrt(pi)) * sum_k (-1)^k (2k-1)!! / (2x^2)^k
    w = 1.0 / (2.0 * x * x)
    term = 1.0
    total = 1.0
    k = 1
    while k < 30:
        term *= -(2.0 * k - 1.0) * w
        total += term
        if abs(term) < 1e-17 * total:
            break
        k += 1
    return ONE_OVER_SQRT_PI / x * total


@njit(cache=True, nogil=True)
def inverse_norm_cdf(u: float) -> float:
    """Phi^{-1}(u) by Wichura's AS241 (PPND16); -inf at 0, +inf at 1, NaN outside [0, 1]."""
    if not (u >= 0.0 and u <= 1.0):
        return math.nan
    if u == 0.0:
        return -math.inf
    if u == 1.0:
        return math.inf
    q = u - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (((((((2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r + 6.7265770927008700853e4) * r
                   + 4.5921953931549871457e4) * r + 1.3731693765509461125e4) * r + 1.9715909503065514427e3) * r
                + 1.3314166789178437745e2) * r + 3.3871328727963666080e0)
        den = (((((((5.2264952788528545610e3 * r + 2.8729085735721942674e4) * r + 3.9307895800092710610e4) * r
                   + 2.1213794301586595867e4) * r + 5.3941960214247511077e3) * r + 6.8718700749205790830e2) * r
                + 4.2313330701600911252e1) * r + 1.0)
        return q * num / den
    r = u if q < 0.0 else 1.0 - u
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        num = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1) * r
                   + 1.27045825245236838258e0) * r + 3.64784832476320460504e0) * r + 5.76949722146069140550e0) * r
                + 4.63033784615654529590e0) * r + 1.42343711074968357734e0)
        den = (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2) * r
                   + 1.48103976427480074590e-1) * r + 6.89767334985100004550e-1) * r + 1.67638483018380384940e0) * r
                + 2.05319162663775882187e0) * r + 1.0)
    else:
        r -= 5.0
        num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3) * r
                   + 2.65321895265761230930e-2) * r + 2.96560571828504891230e-1) * r + 1.78482653991729133580e0) * r
                + 5.46378491116411436990e0) * r + 6.65790464350110377720e0)
        den = (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5) * r
                   + 7.86869131145613259100e-4) * r + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r
                + 5.99832206555887937690e-1) * r + 1.0)
    val = num / den
    return -val if q < 0.0 else val
