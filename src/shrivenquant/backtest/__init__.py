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
    "recording_events",
    "run",
]
