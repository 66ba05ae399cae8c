"""Options pricing: BSM and Black-76 with analytic Greeks, "Let's Be Rational" implied volatility,
American, barrier, Asian and lookback options, and NFO option chains.

Vectorised functions take NumPy arrays or scalars (broadcast together) and run Numba kernels compiled with
``cache=True``; ``*_scalar`` functions are the per-option fast path. Conventions and units: ``docs/options.md``.
"""

from __future__ import annotations

from shrivenquant.options.european import (
    GREEK_NAMES,
    Greeks,
    GreeksScalar,
    black76_greeks,
    black76_greeks_scalar,
    black76_price,
    black76_price_scalar,
    bsm_greeks,
    bsm_greeks_scalar,
    bsm_price,
    bsm_price_scalar,
)

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
