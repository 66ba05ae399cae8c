"""``sweep(strategy, grid, data, executor=...)``: run a strategy over a parameter grid in parallel."""

from __future__ import annotations

import pickle
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import msgspec

from shrivenquant.errors import MissingDependencyError, SweepError, ValidationError
from shrivenquant.sweep.data import _LOADED, share_data
from shrivenquant.sweep.executors import run_process_pool, run_ray, run_serial, run_with_executor
from shrivenquant.sweep.grid import expand_grid
from shrivenquant.sweep.result import SweepResult

__all__ = ["MissingDependencyError", "SweepError", "make_configs", "sweep"]


def make_configs(points: Sequence[dict[str, Any]], base: Any = None) -> list[Any]:
    """The configurations handed to the strategy: each grid point alone (a dict), merged over a ``base``
    mapping (``{**base, **point}``), or applied to a ``msgspec.Struct`` base with
    ``msgspec.structs.replace`` (its ``__post_init__`` validation runs per point)."""
    if base is None:
        return [dict(p) for p in points]
    if isinstance(base, msgspec.Struct):
        fields = set(base.__struct_fields__)
        unknown = sorted({k for p in points for k in p} - fields)
        if unknown:
            raise ValidationError(f"grid parameters {unknown} are not fields of {type(base).__name__} "
                                  f"(fields: {sorted(fields)})")
        try:
            return [msgspec.structs.replace(base, **p) for p in points]
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"a grid point is not a valid {type(base).__name__}: {exc}") from exc
    if isinstance(base, Mapping):
        return [{**base, **p} for p in points]
    raise ValidationError(f"base must be a mapping or a msgspec.Struct, got {type(base).__name__}")


def _backtest_base(strategy: Any, base: Any) -> Any:
    """The backtest config to sweep when ``strategy`` is a backtest strategy class or a BacktestConfig, else
    None (the backtest package is only looked at if it is already imported: a strategy class or config
    from it implies it is)."""
    bt = sys.modules.get("shrivenquant.backtest.config")
    st = sys.modules.get("shrivenquant.backtest.strategy")
    if bt is not None and isinstance(strategy, bt.BacktestConfig):
        if base is not None:
            raise ValidationError("base must be None when strategy is a BacktestConfig (it is the base)")
        return strategy
    if st is not None and isinstance(strategy, type) and issubclass(strategy, st.Strategy):
        from shrivenquant.sweep.backtest import _as_config

        cfg = _as_config(base if base is not None else {})
        name = f"{strategy.__module__}:{strategy.__qualname__}"
        return msgspec.structs.replace(cfg, strategy=msgspec.structs.replace(cfg.strategy, name=name))
    return None


def sweep(strategy: Callable[[Any, Any], Mapping[str, Any]], grid: Mapping[str, Any] | Sequence[Mapping[str, Any]],
          data: Any = None, *, executor: str | Executor = "process", base: Any = None, max_workers: int | None = None,
          mp_context: str | None = None, warm: bool = True, progress: bool = False,
          workdir: str | Path | None = None, ray_init: Mapping[str, Any] | None = None) -> SweepResult:
    """Run ``strategy(config, data) -> {metric: value}`` for every point of ``grid``; one table back.

    Args:
        strategy: a picklable callable (a module-level function or an instance of a module-level
            class) returning a dict of scalar metrics, the same keys for every configuration. Or a
            backtest: a :class:`~shrivenquant.backtest.Strategy` subclass (``base``: the rest of its
            :class:`~shrivenquant.backtest.BacktestConfig`, as a mapping or config) or a whole
            ``BacktestConfig``; each point then runs ``shrivenquant.backtest.run`` and reports
            :data:`~shrivenquant.sweep.backtest.DEFAULT_METRICS` (see :func:`~shrivenquant.sweep.backtest_sweep`).
        grid: ``{"name": [values, ...]}`` (Cartesian product, last name fastest) or a list of points.
        data: what every run reads: an array (e.g. EVENT_DTYPE records), a ``.npy`` path,
            :class:`~shrivenquant.sweep.CatalogData`, a mapping name -> any of these, or None. Written
            once to ``.npy`` files and memory-mapped read-only by every worker (shared page cache).
        executor: ``"process"`` (default: a process pool), ``"serial"`` (this process, in order),
            ``"ray"`` (Ray tasks; the ``ray`` extra), or any ``concurrent.futures.Executor``.
        base: a mapping or ``msgspec.Struct`` every point is applied to (see :func:`make_configs`).
        max_workers: pool size (default: CPU count).
        mp_context: ``"fork"`` (default where available), ``"forkserver"`` or ``"spawn"``.
        warm: process pool only: run the first configuration here first, so JIT compilation and imports
            happen once and forked workers start warm.
        progress: print ``done/total`` to stderr as configurations finish.
        workdir: where to write the shared data files (default: a temporary directory, removed after).
        ray_init: keyword arguments of ``ray.init`` when Ray is not initialised yet.

    Returns:
        A :class:`SweepResult`: rows in grid order whatever the executor, so a sweep is deterministic
        whenever the strategy is.

    Raises:
        ValidationError: a bad grid, data, executor or result; SweepError: a configuration failed (the
        strategy's exception chained); MissingDependencyError: ``executor="ray"`` without Ray.
    """
    backtest_base = _backtest_base(strategy, base)
    if backtest_base is not None:
        from shrivenquant.sweep.backtest import backtest_sweep

        return backtest_sweep(backtest_base, grid, data, executor=executor, max_workers=max_workers,
                              mp_context=mp_context, warm=warm, progress=progress, workdir=workdir,
                              ray_init=ray_init)
    if not callable(strategy):
        raise ValidationError(f"strategy must be callable as strategy(config, data), got {type(strategy).__name__}")
    names, points = expand_grid(grid)
    configs = make_configs(points, base)
    if not (isinstance(executor, Executor) or executor in ("process", "serial", "ray")):
        raise ValidationError(f"executor must be 'process', 'serial', 'ray' or a concurrent.futures.Executor, "
                              f"got {executor!r}")
    if executor in ("process", "ray"):
        try:
            pickle.dumps(strategy)
        except Exception as exc:  # pickling errors come as several types (PicklingError, AttributeError, ...)
            raise ValidationError(
                f"strategy {strategy!r} cannot be pickled for executor={executor!r}: use a module-level function "
                f"or an instance of a module-level class ({type(exc).__name__}: {exc})") from exc
    own_dir = workdir is None
    wd = Path(tempfile.mkdtemp(prefix="sq-sweep-")) if own_dir else Path(workdir)  # type: ignore[arg-type]
    if not own_dir:
        wd.mkdir(parents=True, exist_ok=True)
    total = len(configs)
    done = [0]

    def on_done(_: int) -> None:
        done[0] += 1
        if progress:
            sys.stderr.write(f"\rsweep: {done[0]}/{total}")
            if done[0] == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    t0 = time.perf_counter()
    try:
        shared = share_data(data, wd)
        if isinstance(executor, Executor):
            results = run_with_executor(executor, strategy, configs, shared, on_done)
            name = type(executor).__name__
        elif executor == "serial":
            results = run_serial(strategy, configs, shared, on_done)
            name = "serial"
        elif executor == "process":
            results = run_process_pool(strategy, configs, shared, max_workers=max_workers, mp_context=mp_context,
                                       warm=warm, on_done=on_done)
            name = "process"
        else:
            results = run_ray(strategy, configs, shared, on_done=on_done, **dict(ray_init or {}))
            name = "ray"
    finally:
        _LOADED.clear()  # drop this process's maps of the data
        if own_dir:
            shutil.rmtree(wd, ignore_errors=True)
    return SweepResult(names, points, [dict(r) if isinstance(r, Mapping) else r for r in results],
                       elapsed=time.perf_counter() - t0, executor=name)
