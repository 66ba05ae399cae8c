"""Sweeps over the backtest engine: a grid of :class:`~shrivenquant.backtest.BacktestConfig` variations,
each run by ``shrivenquant.backtest.run`` in a worker, with the market data decoded once and shared
memory-mapped.

Grid keys: a dotted path (``"venue.taker_fee"``, ``"strategy.name"``, ``"data.seed"``) is that field of the
config; a plain name is a top-level field if the config has one (``"initial_balance"``, ``"sample_ns"``),
else a strategy parameter (``"offset_ticks"`` = ``strategy.params.offset_ticks``). Every segment down to a
free-form mapping must name a field: a typo is an error, not a silently ignored key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from shrivenquant.errors import ValidationError
from shrivenquant.sweep.core import sweep
from shrivenquant.sweep.data import CatalogData
from shrivenquant.sweep.grid import expand_grid
from shrivenquant.sweep.result import SweepResult

__all__ = ["DEFAULT_METRICS", "BacktestRunner", "apply_point", "backtest_sweep"]

#: Scalar figures of ``BacktestResult.summary()`` a run reports by default.
DEFAULT_METRICS: tuple[str, ...] = ("pnl", "max_drawdown", "orders", "fills", "maker_fills", "taker_fills",
                                    "denied", "rejected", "equity_end", "events")


def _as_config(config: Any) -> Any:
    from shrivenquant.backtest import BacktestConfig, load_config

    if isinstance(config, BacktestConfig):
        return config
    if isinstance(config, (str, os.PathLike)):
        return load_config(Path(config))
    if isinstance(config, Mapping):
        try:
            return msgspec.convert(dict(config), BacktestConfig)
        except msgspec.ValidationError as exc:
            raise ValidationError(f"backtest config: {exc}") from None
    raise ValidationError(f"base must be a BacktestConfig, a mapping or a TOML path, got {type(config).__name__}")


def apply_point(base: Any, point: Mapping[str, Any]) -> Any:
    """``base`` (a BacktestConfig) with the grid point's values set (see the module docstring)."""
    from shrivenquant.backtest import BacktestConfig
    from shrivenquant.core.serialization import dec_hook, enc_hook

    doc = msgspec.to_builtins(base, enc_hook=enc_hook)
    for key, value in point.items():
        if "." in key:
            path = key.split(".")
        elif key in BacktestConfig.__struct_fields__:
            path = [key]  # a top-level field (initial_balance, sample_ns, ...)
        else:
            path = ["strategy", "params", key]
        _check_path(key, path, BacktestConfig)
        node = doc
        for part in path[:-1]:
            nxt = node.get(part) if isinstance(node, dict) else None
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise ValidationError(f"grid key {key!r}: {part!r} is not a section of the config")
            node = nxt
        node[path[-1]] = msgspec.to_builtins(value, enc_hook=enc_hook)
    try:
        return msgspec.convert(doc, BacktestConfig, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"grid point {dict(point)}: {exc}") from None


def _check_path(key: str, path: list[str], root: type) -> None:
    """Every segment down to a free-form mapping must be a field of its config struct (msgspec would
    ignore an unknown key of a struct that does not forbid them: a silent no-op sweep)."""
    t: Any = root
    for part in path:
        if not (isinstance(t, type) and issubclass(t, msgspec.Struct)):
            return  # inside a dict (strategy params, risk, venues): free-form
        fields = {f.name: f.type for f in msgspec.structs.fields(t)}
        if part not in fields:
            raise ValidationError(f"grid key {key!r}: {part!r} is not a field of {t.__name__} "
                                  f"(fields: {', '.join(sorted(fields))})")
        t = fields[part]


class BacktestRunner:
    """A picklable ``strategy(point, data)`` for :func:`~shrivenquant.sweep.sweep` that runs one backtest.

    Args:
        base: the configuration every grid point modifies (BacktestConfig, mapping or TOML path).
        instruments: the run's instrument table (``instrument_id`` -> Instrument) when ``data`` is given
            to the sweep; None: each run loads the config's own data section.
        metrics: the ``summary()`` figures to report (scalars).
    """

    def __init__(self, base: Any, *, instruments: Sequence[Any] | None = None,
                 metrics: Sequence[str] = DEFAULT_METRICS) -> None:
        self.base = _as_config(base)
        self.instruments = list(instruments) if instruments is not None else None
        self.metrics = tuple(metrics)
        if not self.metrics:
            raise ValidationError("metrics must name at least one summary figure")

    def __call__(self, point: Mapping[str, Any], data: Any) -> dict[str, Any]:
        from shrivenquant.backtest import run

        cfg = apply_point(self.base, point)
        if data is None:
            result = run(cfg)
        else:
            if self.instruments is None:
                raise ValidationError("BacktestRunner got data but no instrument table (instruments=)")
            result = run(cfg, data=(data, self.instruments))
        summary = result.summary()
        missing = [m for m in self.metrics if m not in summary]
        if missing:
            raise ValidationError(f"metrics {missing} are not in the run summary ({sorted(summary)})")
        return {m: summary[m] for m in self.metrics}


def _catalog_instruments(src: CatalogData) -> list[Any]:
    from shrivenquant.catalog import Catalog

    cat = Catalog(src.root, create=False)
    out = []
    for e in cat.instruments:
        if e.instrument is None:
            raise ValidationError(f"catalog instrument {e.key} has no definition (tick, lot, currencies): import it "
                                  "with instruments (e.g. --exchange-info) to backtest on it")
        out.append(e.instrument)
    return out


def backtest_sweep(base: Any, grid: Mapping[str, Any] | Sequence[Mapping[str, Any]], data: Any = None, *,
                   instruments: Sequence[Any] | None = None, metrics: Sequence[str] = DEFAULT_METRICS,
                   **options: Any) -> SweepResult:
    """Sweep backtests: ``grid`` over ``base``; one row per point with the :data:`DEFAULT_METRICS` (or
    ``metrics``).

    ``data``: None loads the config's data section once here (recordings decoded and synchronised, or the
    generated stream) and shares it; a :class:`CatalogData` query (its instrument table must hold full
    definitions); or an EVENT_DTYPE array with ``instruments``. ``options`` go to :func:`sweep`
    (``executor``, ``max_workers``, ...).
    """
    from shrivenquant.backtest.config import load_data

    cfg = _as_config(base)
    for point in expand_grid(grid)[1]:
        apply_point(cfg, point)  # a bad key or value fails here, before any worker starts
    if data is None:
        events, insts = load_data(cfg.data)
        data, instruments = events, insts
    elif isinstance(data, CatalogData):
        if instruments is None:
            instruments = _catalog_instruments(data)
    elif isinstance(data, np.ndarray) and instruments is None:
        raise ValidationError("an event array needs its instrument table: instruments=[...]")
    runner = BacktestRunner(cfg, instruments=instruments, metrics=metrics)
    return sweep(runner, grid, data, **options)
