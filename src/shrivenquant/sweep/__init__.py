"""Parameter sweeps: ``sweep(strategy, grid, data, executor=...)`` runs configurations in parallel (a
process pool over memory-mapped data by default, Ray optionally) and returns one table.

See ``docs/catalog.md`` (section "Sweeps").
"""

from shrivenquant.sweep.core import MissingDependencyError, SweepError, make_configs, sweep
from shrivenquant.sweep.data import CatalogData, SharedData, share_data
from shrivenquant.sweep.grid import expand_grid
from shrivenquant.sweep.result import SweepResult

__all__ = [
    "CatalogData",
    "MissingDependencyError",
    "SharedData",
    "SweepError",
    "SweepResult",
    "expand_grid",
    "make_configs",
    "share_data",
    "sweep",
]
