# ruff: noqa: N803, PLR0917  (finance notation: S, K, T, F; kernels take many scalars)
"""European options: Black-Scholes-Merton (continuous dividend yield) and Black-76, price and analytic Greeks.

Conventions (see ``docs/options.md``):

* Rates r and yield q are continuously compounded per year; T is a year fraction (:mod:`.timing`).
* **BSM** on spot S: ``C = S e^{-qT} N(d1) - K e^{-rT} N(d2)``, d1 = (ln(S/K) + (r - q + sigma^2/2) T)/(sigma sqrt T).
* **Black-76** on a futures price F, **discounted**: ``C = e^{-rT} (F N(d1) - K N(d2))``. Its Greeks hold F fixed:
  delta and gamma are with respect to F, rho = dV/dr = -T V, dividend rho is 0.
* Greeks are analytic. Base units: per 1.00 of S, sigma, r, q and per year of time; theta and charm are
  dV/dt as calendar time passes (negative for a long vanilla). ``theta="day"`` divides theta and charm by
  ``days_per_year`` (365 calendar days by default); ``vega="percent"`` and ``rho="percent"`` divide by 100
  (vega per vol point, rho and dividend rho per 1 % of rate). Second-order Greeks stay in base units.
* Degenerate inputs give the limits: T = 0 or sigma = 0 price the discounted forward intrinsic value, K = 0
  gives S e^{-qT} for a call. Invalid inputs (S <= 0, K < 0, T < 0, sigma < 0, NaN) raise
  :class:`~shrivenquant.errors.ValidationError`, or give NaN with ``check=False``.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np

from shrivenquant.errors import ValidationError
from shrivenquant.options import _black
from shrivenquant.options._arrays import as_flags, broadcast, first_bad

__all__ = [
    "GREEK_NAMES",
    "Greeks",
    "GreeksScalar",
    "black76_greeks",
    "black76_greeks_scalar",
    "black76_price",
    "black76_price_scalar",
    "bsm_greeks",
    "bsm_greeks_scalar",
    "bsm_price",
    "bsm_price_scalar",
]

_PARALLEL_MIN = 20_000  # smaller batches run the single-threaded kernels (faster to load and start)

GREEK_NAMES = ("price", "delta", "gamma", "vega", "theta", "rho", "dividend_rho",
               "vanna", "volga", "charm", "speed", "dual_delta", "dual_gamma")
"""Names of the rows of :attr:`Greeks.table`, in order (the first seven are price and first order)."""


class Greeks:
    """Prices and Greeks of a batch of options, each an array of the broadcast input shape.

    ``table`` is the underlying (rows, n) float64 array, rows in :data:`GREEK_NAMES` order (7 rows when only
    first-order Greeks were asked for). Second-order attributes are None then.
    """

    __slots__ = ("rho_unit", "shape", "table", "theta_unit", "vega_unit")

    def __init__(self, table: np.ndarray, shape: tuple[int, ...], theta_unit: str, vega_unit: str,
                 rho_unit: str) -> None:
        self.table = table
        self.shape = shape
        self.theta_unit = theta_unit
        self.vega_unit = vega_unit
        self.rho_unit = rho_unit

    def _row(self, k: int) -> np.ndarray | None:
        if k >= self.table.shape[0]:
            return None
        return self.table[k].reshape(self.shape)

    @property
    def price(self) -> np.ndarray:
        return self.table[0].reshape(self.shape)

    @property
    def delta(self) -> np.ndarray:
        return self.table[1].reshape(self.shape)

    @property
    def gamma(self) -> np.ndarray:
        return self.table[2].reshape(self.shape)

    @property
    def vega(self) -> np.ndarray:
        return self.table[3].reshape(self.shape)

    @property
    def theta(self) -> np.ndarray:
        return self.table[4].reshape(self.shape)

    @property
    def rho(self) -> np.ndarray:
        return self.table[5].reshape(self.shape)

    @property
    def dividend_rho(self) -> np.ndarray:
        return self.table[6].reshape(self.shape)

    @property
    def vanna(self) -> np.ndarray | None:
        return self._row(7)

    @property
    def volga(self) -> np.ndarray | None:
        return self._row(8)

    @property
    def charm(self) -> np.ndarray | None:
        return self._row(9)

    @property
    def speed(self) -> np.ndarray | None:
        return self._row(10)

    @property
    def dual_delta(self) -> np.ndarray | None:
        return self._row(11)

    @property
    def dual_gamma(self) -> np.ndarray | None:
        return self._row(12)

    def as_dict(self) -> dict[str, np.ndarray]:
        """Every computed row by name."""
        return {n: self.table[k].reshape(self.shape) for k, n in enumerate(GREEK_NAMES[: self.table.shape[0]])}

    def __repr__(self) -> str:
        return (f"Greeks(shape={self.shape}, rows={self.table.shape[0]}, theta per {self.theta_unit}, "
                f"vega per {self.vega_unit}, rho per {self.rho_unit})")


class GreeksScalar(msgspec.Struct, frozen=True):
    """Price and all Greeks of one option (base units: per 1.00 and per year; see the module docstring)."""

    price: float
    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float
    dividend_rho: float
    vanna: float
    volga: float
    charm: float
    speed: float
    dual_delta: float
    dual_gamma: float


def _units(theta: str, vega: str, rho: str, days_per_year: float) -> tuple[float, float, float]:
    if theta not in ("year", "day"):
        raise ValidationError(f"theta unit {theta!r}: expected 'year' or 'day'")
    if vega not in ("unit", "percent"):
        raise ValidationError(f"vega unit {vega!r}: expected 'unit' (per 1.00 of vol) or 'percent' (per vol point)")
    if rho not in ("unit", "percent"):
        raise ValidationError(f"rho unit {rho!r}: expected 'unit' (per 1.00 of rate) or 'percent' (per 1 %)")
    if not days_per_year > 0:
        raise ValidationError(f"days_per_year must be > 0, got {days_per_year!r}")
    return (1.0 / days_per_year if theta == "day" else 1.0, 0.01 if vega == "percent" else 1.0,
            0.01 if rho == "percent" else 1.0)


def _explain(i: int, S: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, q: np.ndarray,
             sig: np.ndarray, spot: str) -> str:
    def at(a: np.ndarray) -> float:
        return float(a[i if a.shape[0] > 1 else 0])

    s, k, t, rr, qq, v = at(S), at(K), at(T), at(r), at(q), at(sig)
    return (f"invalid option input at flat index {i}: {spot}={s!r} (> 0), K={k!r} (>= 0), T={t!r} (>= 0), "
            f"r={rr!r}, q={qq!r} (finite), sigma={v!r} (>= 0); pass check=False to get NaN instead")


def _greeks(call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, sigma: Any, b76: bool, second_order: bool,
            theta: str, vega: str, rho: str, days_per_year: float, check: bool, out: np.ndarray | None) -> Greeks:
    th, ve, rh = _units(theta, vega, rho, days_per_year)
    shape, (c, s, k, t, rr, qq, v) = broadcast(as_flags(call), S, K, T, r, q, sigma,
                                               names=("call", "S", "K", "T", "r", "q", "sigma"))
    n = int(np.prod(shape))
    rows = _black.N_ALL if second_order else _black.N_FIRST
    if out is None:
        out = np.empty((rows, n))
    elif not (isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (rows, n)
              and out.flags.c_contiguous and out.flags.writeable):
        raise ValidationError(f"out must be a writeable C-contiguous float64 array of shape {(rows, n)}")
    kernel = _black.greeks_batch if n >= _PARALLEL_MIN else _black.greeks_batch_serial
    if kernel(c, s, k, t, rr, qq, v, b76, out) and check:
        raise ValidationError(_explain(first_bad(np.isnan(out[0])), s, k, t, rr, qq, v, "F" if b76 else "S"))
    if th != 1.0:
        out[_black.THETA] *= th
        if second_order:
            out[_black.CHARM] *= th
    if ve != 1.0:
        out[_black.VEGA] *= ve
    if rh != 1.0:
        out[_black.RHO] *= rh
        out[_black.DIVIDEND_RHO] *= rh
    return Greeks(out, shape, theta, "1.00 of vol" if vega == "unit" else "vol point",
                  "1.00 of rate" if rho == "unit" else "1 %")


def bsm_greeks(call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, sigma: Any, *, second_order: bool = True,
               theta: str = "year", vega: str = "unit", rho: str = "unit", days_per_year: float = 365.0,
               check: bool = True, out: np.ndarray | None = None) -> Greeks:
    """BSM price and analytic Greeks, vectorised with broadcasting; calls and puts mixed via ``call``.

    Args:
        call: True/+1/'c' for calls, False/-1/'p' for puts (scalar or array).
        S, K, T, r, q, sigma: spot, strike, years to expiry, rate, dividend yield, volatility (arrays or scalars).
        second_order: also vanna, volga, charm, speed, dual delta, dual gamma.
        theta: 'year' or 'day' (theta and charm divided by ``days_per_year``).
        vega, rho: 'unit' (per 1.00) or 'percent' (per 1 %, i.e. divided by 100).
        out: optional preallocated C-contiguous float64 array of shape (13 or 7, n) to fill (no allocation);
            the returned :class:`Greeks` views it.
    """
    return _greeks(call, S, K, T, r, q, sigma, False, second_order, theta, vega, rho, days_per_year, check, out)


def black76_greeks(call: Any, F: Any, K: Any, T: Any, r: Any, sigma: Any, *, second_order: bool = True,
                   theta: str = "year", vega: str = "unit", rho: str = "unit", days_per_year: float = 365.0,
                   check: bool = True, out: np.ndarray | None = None) -> Greeks:
    """Black-76 (discounted, on futures F) price and analytic Greeks with F held fixed; see :func:`bsm_greeks`.

    Delta and gamma are with respect to F; rho = -T * price; dividend_rho is 0.
    """
    return _greeks(call, F, K, T, r, 0.0, sigma, True, second_order, theta, vega, rho, days_per_year, check, out)


def _price(call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, sigma: Any, b76: bool, check: bool) -> Any:
    shape, (c, s, k, t, rr, qq, v) = broadcast(as_flags(call), S, K, T, r, q, sigma,
                                               names=("call", "S", "K", "T", "r", "q", "sigma"))
    n = int(np.prod(shape))
    out = np.empty(n)
    kernel = _black.price_batch if n >= _PARALLEL_MIN else _black.price_batch_serial
    if kernel(c, s, k, t, rr, qq, v, b76, out) and check:
        raise ValidationError(_explain(first_bad(np.isnan(out)), s, k, t, rr, qq, v, "F" if b76 else "S"))
    res = out.reshape(shape)
    return float(res) if shape == () else res


def bsm_price(call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, sigma: Any, *, check: bool = True) -> Any:
    """BSM price (continuous dividend yield q), vectorised; a float when every input is a scalar.

    Relatively accurate for tiny out-of-the-money prices (down to ~1e-300, via the normalised Black function),
    never negative, and never below the intrinsic value of the forward.
    """
    return _price(call, S, K, T, r, q, sigma, False, check)


def black76_price(call: Any, F: Any, K: Any, T: Any, r: Any, sigma: Any, *, check: bool = True) -> Any:
    """Black-76 price, discounted with e^{-rT}, on futures price F; see :func:`bsm_price`."""
    return _price(call, F, K, T, r, 0.0, sigma, True, check)


def _scalar_check(value: float, S: float, K: float, T: float, r: float, q: float, sigma: float, spot: str) -> float:
    if math.isnan(value):
        raise ValidationError(_explain(0, np.array([S]), np.array([K]), np.array([T]), np.array([r]),
                                       np.array([q]), np.array([sigma]), spot))
    return value


def bsm_price_scalar(call: bool, S: float, K: float, T: float, r: float, q: float, sigma: float) -> float:
    """One BSM price (the fast scalar path, ~1 µs from Python); raises ValidationError on invalid input."""
    v = _black.price_one(1.0 if call else -1.0, S, K, T, r, q, sigma, False)
    return v if not math.isnan(v) else _scalar_check(v, S, K, T, r, q, sigma, "S")


def black76_price_scalar(call: bool, F: float, K: float, T: float, r: float, sigma: float) -> float:
    """One Black-76 price (discounted); raises ValidationError on invalid input."""
    v = _black.price_one(1.0 if call else -1.0, F, K, T, r, 0.0, sigma, True)
    return v if not math.isnan(v) else _scalar_check(v, F, K, T, r, 0.0, sigma, "F")


def bsm_greeks_scalar(call: bool, S: float, K: float, T: float, r: float, q: float, sigma: float) -> GreeksScalar:
    """Price and all Greeks of one BSM option, base units (per 1.00, per year)."""
    t = _black.greeks_scalar(1.0 if call else -1.0, S, K, T, r, q, sigma, False)
    if math.isnan(t[0]):
        _scalar_check(t[0], S, K, T, r, q, sigma, "S")
    return GreeksScalar(*t)


def black76_greeks_scalar(call: bool, F: float, K: float, T: float, r: float, sigma: float) -> GreeksScalar:
    """Price and all Greeks of one Black-76 option (F fixed), base units."""
    t = _black.greeks_scalar(1.0 if call else -1.0, F, K, T, r, 0.0, sigma, True)
    if math.isnan(t[0]):
        _scalar_check(t[0], F, K, T, r, 0.0, sigma, "F")
    return GreeksScalar(*t)
