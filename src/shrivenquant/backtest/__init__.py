"""Backtesting: a deterministic event loop over recorded or generated market data, Python strategies
through the OMS and risk engine against the simulated exchange, a Numba mode, and ``run(config)``.
"""

from shrivenquant.backtest.config import BacktestConfig, DataConfig, StrategyConfig, load_config, run
from shrivenquant.backtest.data import (
    as_chunks,
    binance_book_events,
    generated_events,
    merge_sources,
    recording_events,
)
from shrivenquant.backtest.engine import FILL_DTYPE, BacktestEngine, BacktestResult, VenueConfig
from shrivenquant.backtest.strategies import ImbalanceTaker, MarketMaker
from shrivenquant.backtest.strategy import Bar, Context, Strategy

__all__ = [
    "FILL_DTYPE",
    "BacktestConfig",
    "BacktestEngine",
    "BacktestResult",
    "Bar",
    "Context",
    "DataConfig",
    "ImbalanceTaker",
    "MarketMaker",
    "Strategy",
    "StrategyConfig",
    "VenueConfig",
    "as_chunks",
    "binance_book_events",
    "generated_events",
    "load_config",
    "merge_sources",
    "orders_kernel_for",
    "recording_events",
    "run",
    "run_numba_orders",
]


_NUMBA_ORDERS = frozenset({"orders_kernel_for", "run_numba_orders"})


def __getattr__(name: str) -> object:
    """The Numba order API is imported on first use (importing numba is not cheap)."""
    if name in _NUMBA_ORDERS:
        from shrivenquant.backtest import numba_orders

        return getattr(numba_orders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
