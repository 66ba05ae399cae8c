"""Options pricing: BSM and Black-76 with analytic Greeks, "Let's Be Rational" implied volatility,
American, barrier, Asian and lookback options, and NFO option chains.

Vectorised functions take NumPy arrays or scalars (broadcast together) and run Numba kernels compiled with
``cache=True``; ``*_scalar`` functions are the per-option fast path. Conventions and units: ``docs/options.md``.
"""

from __future__ import annotations

from shrivenquant.options.american import QDFP_SCHEMES, american_baw, american_qdfp
from shrivenquant.options.asian import (
    MonteCarloPrice,
    asian_arithmetic_mc,
    asian_geometric_continuous,
    asian_geometric_discrete,
    asian_turnbull_wakeman,
)
from shrivenquant.options.barrier import BARRIER_KINDS, barrier_price
from shrivenquant.options.chain import CHAIN_DTYPE, ChainAnalysis, OptionChain, build_chains, synthetic_forward
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
from shrivenquant.options.implied import (
    ImpliedVol,
    IVStatus,
    implied_vol_black76,
    implied_vol_black76_scalar,
    implied_vol_bsm,
    implied_vol_bsm_scalar,
)
from shrivenquant.options.lookback import lookback_fixed, lookback_floating
from shrivenquant.options.timing import IST, nse_expiry, trading_year_fraction, year_fraction, year_fraction_ns

__all__ = [
    "BARRIER_KINDS",
    "CHAIN_DTYPE",
    "GREEK_NAMES",
    "IST",
    "QDFP_SCHEMES",
    "ChainAnalysis",
    "Greeks",
    "GreeksScalar",
    "IVStatus",
    "ImpliedVol",
    "MonteCarloPrice",
    "OptionChain",
    "american_baw",
    "american_qdfp",
    "asian_arithmetic_mc",
    "asian_geometric_continuous",
    "asian_geometric_discrete",
    "asian_turnbull_wakeman",
    "barrier_price",
    "black76_greeks",
    "black76_greeks_scalar",
    "black76_price",
    "black76_price_scalar",
    "bsm_greeks",
    "bsm_greeks_scalar",
    "bsm_price",
    "bsm_price_scalar",
    "build_chains",
    "implied_vol_black76",
    "implied_vol_black76_scalar",
    "implied_vol_bsm",
    "implied_vol_bsm_scalar",
    "lookback_fixed",
    "lookback_floating",
    "nse_expiry",
    "synthetic_forward",
    "trading_year_fraction",
    "year_fraction",
    "year_fraction_ns",
]
