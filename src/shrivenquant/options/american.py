# ruff: noqa: N803, N806, PLR0917  (finance notation: S, K, T; kernels take many scalars)
"""American options with a continuous dividend yield: Barone-Adesi–Whaley (fast) and Andersen–Lake–Offengenden.

* :func:`american_baw` — Barone-Adesi & Whaley (1987) quadratic approximation, critical price by Newton
  (Haug, "The Complete Guide to Option Pricing Formulas", 2nd ed., 3.1). Errors of up to ~1e-2 of spot.
* :func:`american_qdfp` — Andersen, Lake & Offengenden (2016), "High-performance American option pricing":
  the put exercise boundary B(tau) solves the fixed point (their FP-A form)
  ``B = K e^{-(r-q) tau} N(tau, B) / D(tau, B)``,
  ``N = Phi(d-(tau, B/K)) + r int_0^tau e^{ru} Phi(d-(tau-u, B(tau)/B(u))) du``,
  ``D = Phi(d+(tau, B/K)) + q int_0^tau e^{qu} Phi(d+(tau-u, B(tau)/B(u))) du``,
  iterated (Jacobi) on Chebyshev–Lobatto nodes in sqrt(tau) with H = ln(B/X)^2 interpolated, X = K min(1, r/q);
  integrals by Gauss–Legendre after u = tau - tau (1+y)^2/4; each sweep is a Jacobi–Newton step using the
  derivative of the non-integral terms (ALO section 5.3). The price is the European plus Kim's early
  exercise premium ``int_0^T [r K e^{-r(T-u)} Phi(-d-) - q S e^{-q(T-u)} Phi(-d+)](T-u, S/B(u)) du``.
  Schemes (:data:`QDFP_SCHEMES`) agree with QuantLib's high-precision ``QdFpAmericanEngine`` to ~1.2e-6
  (fast), ~4e-7 (accurate, default) and ~1e-7 (high) of spot.
* Calls use the McDonald–Schroder symmetry C(S, K, r, q) = P(K, S, q, r).
* Degenerate cases: a call with q <= 0 and a put with r <= 0 are never exercised early (European); a put
  with q < r < 0 has two exercise boundaries and is rejected (ValidationError).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import njit, prange

from shrivenquant.errors import ValidationError
from shrivenquant.options._arrays import as_flags, broadcast
from shrivenquant.options._black import price_one
from shrivenquant.options._special import norm_cdf, norm_pdf

__all__ = ["QDFP_SCHEMES", "american_baw", "american_qdfp"]

#: (Chebyshev nodes, fixed-point sweeps, boundary quadrature points, premium quadrature points) and the measured
#: max error against QuantLib's high-precision QdFp on 30 random options (docs/options.md)
QDFP_SCHEMES = {
    "fast": (10, 5, 20, 128),  # ~1.5e-6 of spot, ~50 us
    "accurate": (16, 10, 32, 128),  # ~4e-7 of spot, ~0.23 ms
    "high": (24, 12, 48, 128),  # ~1e-7 of spot, ~0.75 ms
}


@njit(cache=True, nogil=True)
def _euro_put(S: float, K: float, T: float, r: float, q: float, sig: float) -> float:
    return price_one(-1.0, S, K, T, r, q, sig, False)


@njit(cache=True, nogil=True)
def _baw_put_critical(K: float, T: float, r: float, q: float, sig: float) -> tuple[float, float]:
    """(S**, q1): the BAW critical price of the put and its exponent."""
    b = r - q
    s2 = sig * sig
    M = 2.0 * r / s2
    N = 2.0 * b / s2
    kk = -math.expm1(-r * T)
    q1 = 0.5 * (-(N - 1.0) - math.sqrt((N - 1.0) ** 2 + 4.0 * M / kk))
    q1_inf = 0.5 * (-(N - 1.0) - math.sqrt((N - 1.0) ** 2 + 4.0 * M))
    s_inf = K / (1.0 - 1.0 / q1_inf)
    sqT = math.sqrt(T)
    h1 = (b * T - 2.0 * sig * sqT) * K / (K - s_inf)
    si = s_inf + (K - s_inf) * math.exp(h1)
    dbr = math.exp((b - r) * T)
    for _ in range(100):
        d1 = (math.log(si / K) + (b + 0.5 * s2) * T) / (sig * sqT)
        lhs = K - si
        rhs = _euro_put(si, K, T, r, q, sig) - (1.0 - dbr * norm_cdf(-d1)) * si / q1
        bi = -dbr * norm_cdf(-d1) * (1.0 - 1.0 / q1) - (1.0 + dbr * norm_pdf(d1) / (sig * sqT)) / q1
        si_new = (K - rhs + bi * si) / (1.0 + bi)
        if abs(lhs - rhs) <= 1e-14 * K or not (si_new > 0.0):
            break
        si = si_new
    return si, q1


@njit(cache=True, nogil=True)
def baw_put(S: float, K: float, T: float, r: float, q: float, sig: float) -> float:
    if T <= 0.0 or sig <= 0.0 or r <= 0.0:
        e = _euro_put(S, K, T, r, q, sig)
        return max(e, K - S) if r > 0.0 else e
    sc, q1 = _baw_put_critical(K, T, r, q, sig)
    if sc >= S:
        return K - S
    d1 = (math.log(sc / K) + (r - q + 0.5 * sig * sig) * T) / (sig * math.sqrt(T))
    a1 = -(sc / q1) * (1.0 - math.exp(-q * T) * norm_cdf(-d1))
    return _euro_put(S, K, T, r, q, sig) + a1 * (S / sc) ** q1


@njit(cache=True, nogil=True)
def baw_call(S: float, K: float, T: float, r: float, q: float, sig: float) -> float:
    """BAW call (not via symmetry: the approximation is not symmetric); European when q <= 0."""
    b = r - q
    if T <= 0.0 or sig <= 0.0 or b >= r:
        e = price_one(1.0, S, K, T, r, q, sig, False)
        return max(e, S - K) if b < r else e
    s2 = sig * sig
    M = 2.0 * r / s2
    N = 2.0 * b / s2
    kk = -math.expm1(-r * T)
    q2 = 0.5 * (-(N - 1.0) + math.sqrt((N - 1.0) ** 2 + 4.0 * M / kk))
    q2_inf = 0.5 * (-(N - 1.0) + math.sqrt((N - 1.0) ** 2 + 4.0 * M))
    s_inf = K / (1.0 - 1.0 / q2_inf)
    sqT = math.sqrt(T)
    h2 = -(b * T + 2.0 * sig * sqT) * K / (s_inf - K)
    si = K + (s_inf - K) * (1.0 - math.exp(h2))
    dbr = math.exp((b - r) * T)
    for _ in range(100):
        d1 = (math.log(si / K) + (b + 0.5 * s2) * T) / (sig * sqT)
        lhs = si - K
        rhs = price_one(1.0, si, K, T, r, q, sig, False) + (1.0 - dbr * norm_cdf(d1)) * si / q2
        bi = dbr * norm_cdf(d1) * (1.0 - 1.0 / q2) + (1.0 - dbr * norm_pdf(d1) / (sig * sqT)) / q2
        si_new = (K + rhs - bi * si) / (1.0 - bi)
        if abs(lhs - rhs) <= 1e-14 * K or not (si_new > 0.0):
            break
        si = si_new
    if si <= S:
        return S - K
    d1 = (math.log(si / K) + (b + 0.5 * s2) * T) / (sig * sqT)
    a2 = (si / q2) * (1.0 - dbr * norm_cdf(d1))
    return price_one(1.0, S, K, T, r, q, sig, False) + a2 * (S / si) ** q2


@njit(cache=True, nogil=True)
def _cheb_matrix(m: int) -> np.ndarray:
    """M with c = M h: Chebyshev–Lobatto coefficients of values h at z_i = cos(pi i/(m-1)) (halved ends)."""
    n = m - 1
    mat = np.empty((m, m))
    for k in range(m):
        for i in range(m):
            w = 0.5 if i in (0, n) else 1.0
            v = 2.0 * w * math.cos(math.pi * k * i / n) / n
            mat[k, i] = 0.5 * v if k in (0, n) else v
    return mat


@njit(cache=True, nogil=True)
def _cheb_coeffs(mat: np.ndarray, h: np.ndarray, c: np.ndarray) -> None:
    m = h.shape[0]
    for k in range(m):
        acc = 0.0
        for i in range(m):
            acc += mat[k, i] * h[i]
        c[k] = acc


@njit(cache=True, nogil=True)
def _cheb_eval(c: np.ndarray, z: float) -> float:
    """Clenshaw evaluation of sum_k c_k T_k(z)."""
    b1 = 0.0
    b2 = 0.0
    for k in range(c.shape[0] - 1, 0, -1):
        b0 = 2.0 * z * b1 - b2 + c[k]
        b2 = b1
        b1 = b0
    return z * b1 - b2 + c[0]


@njit(cache=True, nogil=True)
def _boundary(c: np.ndarray, X: float, sqT: float, u: float) -> float:
    z = 2.0 * math.sqrt(max(u, 0.0)) / sqT - 1.0
    h = _cheb_eval(c, min(max(z, -1.0), 1.0))
    return X * math.exp(-math.sqrt(max(h, 0.0)))


@njit(cache=True, nogil=True)
def _dpm(tau: float, z: float, b: float, sig: float, sign: float) -> float:
    """d+- (tau, z) = (ln z + (b +- sigma^2/2) tau) / (sigma sqrt tau)."""
    return (math.log(z) + (b + sign * 0.5 * sig * sig) * tau) / (sig * math.sqrt(tau))


@njit(cache=True, nogil=True)
def qdfp_put(S: float, K: float, T: float, r: float, q: float, sig: float, n_nodes: int, n_iter: int,
             gx: np.ndarray, gw: np.ndarray, px: np.ndarray, pw: np.ndarray) -> float:
    """American put by the Andersen–Lake–Offengenden fixed point; NaN for the two-boundary case q < r < 0."""
    if T <= 0.0 or sig <= 0.0:
        return max(_euro_put(S, K, T, r, q, sig), K - S)
    if r <= 0.0:
        if q < r:
            return math.nan
        return _euro_put(S, K, T, r, q, sig)
    b = r - q
    X = K * min(1.0, r / q) if q > 0.0 else K
    sqT = math.sqrt(T)
    m = n_nodes
    tau = np.empty(m)
    B = np.empty(m)
    H = np.empty(m)
    c = np.empty(m)
    for i in range(m):
        xi = 0.5 * sqT * (1.0 + math.cos(math.pi * i / (m - 1)))
        tau[i] = xi * xi
    tau[m - 1] = 0.0
    cmat = _cheb_matrix(m)
    # initial boundary: BAW critical prices per node, capped at X
    for i in range(m):
        if tau[i] <= 0.0:
            B[i] = X
        else:
            sc, _ = _baw_put_critical(K, tau[i], r, q, sig)
            B[i] = min(sc, X) if sc > 0.0 else 0.5 * X
        H[i] = math.log(B[i] / X) ** 2
    _cheb_coeffs(cmat, H, c)
    newB = np.empty(m)
    # everything in the boundary integrals that does not move between sweeps, per (node i, point j):
    # weights with e^{ru} / e^{qu}, the Chebyshev coordinate of u, 1/(sigma sqrt(tau - u)) and the drifts;
    # ln(B(tau)/B(u)) = ln(B(tau)/X) + sqrt(H(u)) then needs no exp or log inside the sweeps
    nq = gx.shape[0]
    wn = np.zeros((m, nq))
    wd = np.zeros((m, nq))
    zc = np.zeros((m, nq))
    isd = np.zeros((m, nq))
    dmn = np.zeros((m, nq))
    dpl = np.zeros((m, nq))
    half_s2 = 0.5 * sig * sig
    for i in range(m):
        t = tau[i]
        for j in range(nq):
            y = gx[j]
            sj = t * (1.0 + y) * (1.0 + y) * 0.25  # tau - u
            if t <= 0.0 or sj <= 0.0:
                continue
            u = t - sj
            jac = 0.5 * t * (1.0 + y)
            wn[i, j] = gw[j] * jac * math.exp(r * u)
            wd[i, j] = gw[j] * jac * math.exp(q * u)
            zc[i, j] = min(max(2.0 * math.sqrt(max(u, 0.0)) / sqT - 1.0, -1.0), 1.0)
            isd[i, j] = 1.0 / (sig * math.sqrt(sj))
            dmn[i, j] = (b - half_s2) * sj
            dpl[i, j] = (b + half_s2) * sj
    for _ in range(n_iter):
        for i in range(m):
            t = tau[i]
            if t <= 0.0:
                newB[i] = X
                continue
            bt = B[i]
            dm = _dpm(t, bt / K, b, sig, -1.0)
            dp = _dpm(t, bt / K, b, sig, 1.0)
            nn = norm_cdf(dm)
            dd = norm_cdf(dp)
            sst = bt * sig * math.sqrt(t)
            dn = norm_pdf(dm) / sst  # d/dB of the non-integral terms (ALO's Jacobi-Newton approximation)
            ddd = norm_pdf(dp) / sst
            ni = 0.0
            di = 0.0
            lbx = math.log(bt / X)
            for j in range(nq):
                if wn[i, j] == 0.0:
                    continue
                lz = lbx + math.sqrt(max(_cheb_eval(c, zc[i, j]), 0.0))  # ln(B(tau)/B(u))
                ni += wn[i, j] * norm_cdf((lz + dmn[i, j]) * isd[i, j])
                di += wd[i, j] * norm_cdf((lz + dpl[i, j]) * isd[i, j])
            nn += r * ni
            dd += q * di
            kb = K * math.exp(-b * t)
            f = kb * nn / dd
            fp = kb * (dn / dd - nn * ddd / (dd * dd))
            # Jacobi-Newton step on B - f(B) = 0 (Andersen-Lake-Offengenden 2016, section 5.3)
            nb = bt + (f - bt) / (1.0 - fp) if fp < 0.9 else f
            if not (nb > 0.0):
                nb = f
            newB[i] = min(max(nb, 1e-12 * K), X)
        for i in range(m):
            B[i] = newB[i]
            H[i] = math.log(B[i] / X) ** 2
        _cheb_coeffs(cmat, H, c)
    if B[0] >= S:
        return K - S
    prem = 0.0
    for j in range(px.shape[0]):
        xi = 0.5 * sqT * (1.0 + px[j])
        u = xi * xi
        t = T - u
        jac = xi * sqT
        if t <= 0.0 or u <= 0.0:
            continue
        bu = _boundary(c, X, sqT, u)
        z = S / bu
        f = r * K * math.exp(-r * t) * norm_cdf(-_dpm(t, z, b, sig, -1.0)) \
            - q * S * math.exp(-q * t) * norm_cdf(-_dpm(t, z, b, sig, 1.0))
        prem += pw[j] * jac * f
    return max(_euro_put(S, K, T, r, q, sig) + prem, K - S)


@njit(cache=True, nogil=True, parallel=True)
def _batch(method: int, call: np.ndarray, S: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray,
           q: np.ndarray, sig: np.ndarray, n_nodes: int, n_iter: int, gx: np.ndarray, gw: np.ndarray,
           px: np.ndarray, pw: np.ndarray, out: np.ndarray) -> None:
    n = out.shape[0]
    c0 = 1 if call.shape[0] > 1 else 0
    s0 = 1 if S.shape[0] > 1 else 0
    k0 = 1 if K.shape[0] > 1 else 0
    t0 = 1 if T.shape[0] > 1 else 0
    r0 = 1 if r.shape[0] > 1 else 0
    q0 = 1 if q.shape[0] > 1 else 0
    v0 = 1 if sig.shape[0] > 1 else 0
    for i in prange(n):
        s, k, t, rr, qq, v = S[i * s0], K[i * k0], T[i * t0], r[i * r0], q[i * q0], sig[i * v0]
        if not (s > 0.0 and k > 0.0 and t >= 0.0 and v >= 0.0 and abs(rr) < math.inf and abs(qq) < math.inf
                and s < math.inf and k < math.inf and t < math.inf and v < math.inf):
            out[i] = math.nan
            continue
        if method == 0:
            out[i] = baw_call(s, k, t, rr, qq, v) if call[i * c0] else baw_put(s, k, t, rr, qq, v)
            continue
        if not call[i * c0]:
            a, bb, ra, qa = s, k, rr, qq
        else:  # McDonald–Schroder: C(S, K, r, q) = P(K, S, q, r)
            a, bb, ra, qa = k, s, qq, rr
        out[i] = qdfp_put(a, bb, t, ra, qa, v, n_nodes, n_iter, gx, gw, px, pw)


@functools.lru_cache(maxsize=16)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [-1, 1] (cached; read-only arrays)."""
    x, w = np.polynomial.legendre.leggauss(n)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def _run(method: int, call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, sigma: Any, nodes: int,
         iterations: int, quad: int, price_quad: int) -> Any:
    if nodes < 4 or iterations < 1 or quad < 4 or price_quad < 4:
        raise ValidationError("QdFp scheme needs nodes >= 4, iterations >= 1, quadrature orders >= 4")
    shape, (c, s, k, t, rr, qq, v) = broadcast(as_flags(call), S, K, T, r, q, sigma,
                                               names=("call", "S", "K", "T", "r", "q", "sigma"))
    gx, gw = gauss_legendre(quad)
    px, pw = gauss_legendre(price_quad)
    n = int(np.prod(shape))
    out = np.empty(n)
    _batch(method, c, s, k, t, rr, qq, v, nodes, iterations, gx, gw, px, pw, out)
    bad = np.isnan(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])

        def at(a: np.ndarray) -> float:
            return float(a[i if a.shape[0] > 1 else 0])

        raise ValidationError(
            f"American option at flat index {i} cannot be priced: S={at(s)}, K={at(k)}, T={at(t)}, r={at(rr)}, "
            f"q={at(qq)}, sigma={at(v)} (need S, K > 0, T, sigma >= 0; a put with q < r < 0 / call with "
            f"r < q < 0 has two exercise boundaries, not supported)")
    res = out.reshape(shape)
    return float(res) if shape == () else res


def american_baw(call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, sigma: Any) -> Any:
    """Barone-Adesi–Whaley American price (vectorised; fast, ~1e-3..1e-2 of spot error)."""
    return _run(0, call, S, K, T, r, q, sigma, 4, 1, 4, 4)


def american_qdfp(call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, sigma: Any, *, scheme: str = "accurate",
                  nodes: int | None = None, iterations: int | None = None, quad: int | None = None,
                  price_quad: int | None = None) -> Any:
    """American price by the Andersen–Lake–Offengenden fixed point (vectorised).

    ``scheme``: ``"fast"`` (~1.2e-6 of spot), ``"accurate"`` (~4e-7, default) or ``"high"`` (~1e-7), see
    :data:`QDFP_SCHEMES`; any of ``nodes`` (Chebyshev nodes of the boundary), ``iterations`` (Jacobi–Newton
    sweeps), ``quad`` and ``price_quad`` (Gauss–Legendre points of the boundary and premium integrals) overrides it.
    """
    if scheme not in QDFP_SCHEMES:
        raise ValidationError(f"QdFp scheme {scheme!r}: expected one of {', '.join(QDFP_SCHEMES)}")
    n0, i0, q0, p0 = QDFP_SCHEMES[scheme]
    return _run(1, call, S, K, T, r, q, sigma, nodes or n0, iterations or i0, quad or q0, price_quad or p0)
