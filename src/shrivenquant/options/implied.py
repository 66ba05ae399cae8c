# ruff: noqa: N803, PLR0917  (finance notation: S, K, T, F; the usual positional option signature)
"""Implied volatility by Jäckel's "Let's Be Rational": float64-attainable accuracy in two Householder steps.

A price with no valid volatility gives NaN and a status code saying why (:class:`IVStatus`), never 0:

* ``NEGATIVE_PRICE``; ``BELOW_INTRINSIC`` (undiscounted price below max(w (F - K), 0));
* ``ABOVE_MAXIMUM`` (call >= discounted F, put >= discounted K: no finite volatility);
* ``AT_INTRINSIC``: the price carries no time value in float64 (price == intrinsic), so every small vol fits;
* ``EXPIRED``: T == 0; ``INVALID_INPUT``: F or S <= 0, K <= 0, T < 0, NaN; ``UNDERFLOW``: the normalised
  time value is subnormal (< 2.2e-308 of sqrt(F K)), beyond float64.

BSM prices are converted to Black on the forward F = S e^{(r-q)T} (undiscounted by e^{rT}); Black-76 takes F.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

import numpy as np

from shrivenquant.errors import ValidationError
from shrivenquant.options import _implied
from shrivenquant.options._arrays import as_flags, broadcast

__all__ = [
    "IVStatus",
    "ImpliedVol",
    "implied_vol_black76",
    "implied_vol_black76_scalar",
    "implied_vol_bsm",
    "implied_vol_bsm_scalar",
]


class IVStatus(enum.IntEnum):
    """Why an implied volatility is NaN (``OK``: a valid vol was found)."""

    OK = _implied.OK
    BELOW_INTRINSIC = _implied.BELOW_INTRINSIC
    ABOVE_MAXIMUM = _implied.ABOVE_MAXIMUM
    NEGATIVE_PRICE = _implied.NEGATIVE_PRICE
    AT_INTRINSIC = _implied.AT_INTRINSIC
    EXPIRED = _implied.EXPIRED
    INVALID_INPUT = _implied.INVALID_INPUT
    UNDERFLOW = _implied.UNDERFLOW


class ImpliedVol(NamedTuple):
    """Implied volatilities (NaN where none exists) and their :class:`IVStatus` codes (int8), same shape."""

    vol: Any
    status: Any


def _solve(price: Any, call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, b76: bool, iterations: int) -> ImpliedVol:
    if iterations < 1:
        raise ValidationError(f"iterations must be >= 1, got {iterations}")
    shape, (p, c, s, k, t, rr, qq) = broadcast(price, as_flags(call), S, K, T, r, q,
                                               names=("price", "call", "S", "K", "T", "r", "q"))
    n = int(np.prod(shape))
    vol = np.empty(n)
    status = np.empty(n, dtype=np.int8)
    kernel = _implied.implied_batch if n >= _implied.PARALLEL_MIN else _implied.implied_batch_serial
    kernel(p, c, s, k, t, rr, qq, b76, iterations, vol, status)
    if shape == ():
        return ImpliedVol(float(vol[0]), IVStatus(int(status[0])))
    return ImpliedVol(vol.reshape(shape), status.reshape(shape))


def implied_vol_bsm(price: Any, call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, *,
                    iterations: int = _implied.MAX_ITERATIONS) -> ImpliedVol:
    """BSM implied volatility of discounted option prices (spot S, dividend yield q), vectorised.

    Returns ``ImpliedVol(vol, status)``; vol is NaN wherever status != ``IVStatus.OK``.
    """
    return _solve(price, call, S, K, T, r, q, False, iterations)


def implied_vol_black76(price: Any, call: Any, F: Any, K: Any, T: Any, r: Any, *,
                        iterations: int = _implied.MAX_ITERATIONS) -> ImpliedVol:
    """Black-76 implied volatility of discounted prices of options on a futures price F, vectorised."""
    return _solve(price, call, F, K, T, r, 0.0, True, iterations)


def implied_vol_bsm_scalar(price: float, call: bool, S: float, K: float, T: float, r: float,
                           q: float) -> tuple[float, int]:
    """One BSM implied vol: ``(vol, status)``; vol NaN unless status == 0 (``IVStatus.OK``)."""
    return _implied.implied_one(price, S, K, T, r, q, 1.0 if call else -1.0, False, _implied.MAX_ITERATIONS)


def implied_vol_black76_scalar(price: float, call: bool, F: float, K: float, T: float, r: float) -> tuple[float, int]:
    """One Black-76 implied vol: ``(vol, status)``."""
    return _implied.implied_one(price, F, K, T, r, 0.0, 1.0 if call else -1.0, True, _implied.MAX_ITERATIONS)

