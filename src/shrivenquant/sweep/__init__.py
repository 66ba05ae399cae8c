"""Parameter sweeps: ``sweep(strategy, grid, data, executor=...)`` runs configurations in parallel (a
process pool over memory-mapped data by default, Ray optionally) and returns one table.

See ``docs/catalog.md`` (section "Sweeps"). The package itself is callable, so the top-level
``shrivenquant.sweep(...)`` (resolved lazily to this package) is :func:`sweep`.
"""

import sys as _sys
import types as _types
from typing import Any as _Any

from shrivenquant.sweep.backtest import DEFAULT_METRICS, BacktestRunner, apply_point, backtest_sweep
from shrivenquant.sweep.core import MissingDependencyError, SweepError, make_configs, sweep
from shrivenquant.sweep.data import CatalogData, SharedData, share_data
from shrivenquant.sweep.grid import expand_grid
from shrivenquant.sweep.result import SweepResult

__all__ = [
    "DEFAULT_METRICS",
    "BacktestRunner",
    "CatalogData",
    "MissingDependencyError",
    "SharedData",
    "SweepError",
    "SweepResult",
    "apply_point",
    "backtest_sweep",
    "expand_grid",
    "make_configs",
    "share_data",
    "sweep",
]


class _CallableModule(_types.ModuleType):
    """This package's module type: calling it calls :func:`sweep`."""

    def __call__(self, *args: _Any, **kwargs: _Any) -> SweepResult:
        return sweep(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
