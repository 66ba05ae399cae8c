"""Executors of a sweep: serial, a process pool over memory-mapped data, Ray, or any
``concurrent.futures.Executor``."""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

import numpy as np

from shrivenquant.errors import MissingDependencyError, ShrivenQuantError, SweepError, ValidationError
from shrivenquant.sweep.data import SharedData

__all__ = ["run_process_pool", "run_ray", "run_serial", "run_with_executor"]

Strategy = Callable[[Any, Any], dict[str, Any]]


def _call(strategy: Strategy, config: Any, shared: SharedData) -> dict[str, Any]:
    """Run one configuration in this process (the data is mapped once per process)."""
    return strategy(config, shared.load())


def _init_worker(shared: SharedData) -> None:
    shared.load()  # map the files once, before the first task


def run_serial(strategy: Strategy, configs: Sequence[Any], shared: SharedData,
               on_done: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Every configuration in this process, in order."""
    out = []
    for i, c in enumerate(configs):
        out.append(_wrap(i, c, lambda c=c: _call(strategy, c, shared)))
        if on_done is not None:
            on_done(i)
    return out


def _wrap(i: int, config: Any, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except ShrivenQuantError as exc:
        raise SweepError(f"configuration {i} {config!r} failed: {exc}", index=i, config=config) from exc
    except Exception as exc:  # the strategy's own error, re-raised with the configuration named
        raise SweepError(f"configuration {i} {config!r} failed: {type(exc).__name__}: {exc}",
                         index=i, config=config) from exc


def _collect(futures: list[Future[dict[str, Any]]], configs: Sequence[Any], offset: int,
             on_done: Callable[[int], None] | None) -> list[dict[str, Any]]:
    out = []
    try:
        for k, f in enumerate(futures):
            i = k + offset
            out.append(_wrap(i, configs[i], f.result))
            if on_done is not None:
                on_done(i)
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    return out


def default_context() -> str:
    """``fork`` where available (workers inherit the parent's imports and compiled Numba functions), else
    ``spawn``."""
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def run_process_pool(strategy: Strategy, configs: Sequence[Any], shared: SharedData, *,
                     max_workers: int | None = None, mp_context: str | None = None, warm: bool = True,
                     on_done: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Configurations on a process pool; data mapped read-only in every worker.

    ``warm``: run the first configuration in this process before starting the pool, so that JIT
    compilation (Numba) and lazy imports happen once and forked workers inherit them warm (with
    ``spawn``, ``cache=True`` kernels load from the on-disk cache instead).
    """
    n_workers = max_workers if max_workers is not None else (os.cpu_count() or 1)
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValidationError(f"max_workers must be an int >= 1, got {max_workers!r}")
    ctx_name = mp_context or default_context()
    if ctx_name not in mp.get_all_start_methods():
        raise ValidationError(f"mp_context must be one of {mp.get_all_start_methods()}, got {ctx_name!r}")
    out: list[dict[str, Any]] = []
    start = 0
    if warm and configs:
        out.append(_wrap(0, configs[0], lambda: _call(strategy, configs[0], shared)))
        if on_done is not None:
            on_done(0)
        start = 1
    rest = configs[start:]
    if not rest:
        return out
    with ProcessPoolExecutor(max_workers=min(n_workers, len(rest)), mp_context=mp.get_context(ctx_name),
                             initializer=_init_worker, initargs=(shared,)) as pool:
        futures = [pool.submit(_call, strategy, c, shared) for c in rest]
        out.extend(_collect(futures, configs, start, on_done))
    return out


def run_with_executor(executor: Executor, strategy: Strategy, configs: Sequence[Any], shared: SharedData,
                      on_done: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Configurations on a caller's ``concurrent.futures.Executor`` (threads or processes; not shut down)."""
    futures = [executor.submit(_call, strategy, c, shared) for c in configs]
    return _collect(futures, configs, 0, on_done)


def _ray_call(strategy: Strategy, config: Any, data: Any) -> dict[str, Any]:
    return strategy(config, data)


def run_ray(strategy: Strategy, configs: Sequence[Any], shared: SharedData, *,
            on_done: Callable[[int], None] | None = None, **init: Any) -> list[dict[str, Any]]:
    """Configurations as Ray tasks. The data goes into Ray's shared-memory object store once
    (``ray.put``; workers on one node read it zero-copy), so it also reaches other nodes of a cluster.
    Ray is started with ``ray.init(**init)`` unless already initialised. Needs the ``ray`` extra."""
    try:
        ray = importlib.import_module("ray")
    except ImportError as exc:
        raise MissingDependencyError(
            "executor='ray' needs Ray: pip install 'shrivenquant[ray]' (or pip install ray)") from exc
    if not ray.is_initialized():
        ray.init(**init)
    data = shared.load()
    # plain ndarrays (not np.memmap, which would be pickled as a copy): Ray stores them out of band and
    # workers on the node map the object store's buffer read-only, zero-copy
    if isinstance(data, dict):
        data_ref = {k: ray.put(np.asarray(v)) for k, v in data.items()}  # refs resolve only at the top level
        remote = ray.remote(_ray_call_dict)
        refs = [remote.remote(strategy, c, list(data_ref), *data_ref.values()) for c in configs]
    else:
        remote = ray.remote(_ray_call)
        data_ref = ray.put(None if data is None else np.asarray(data))
        refs = [remote.remote(strategy, c, data_ref) for c in configs]
    out = []
    for i, r in enumerate(refs):
        out.append(_wrap(i, configs[i], lambda r=r: ray.get(r)))
        if on_done is not None:
            on_done(i)
    return out


def _ray_call_dict(strategy: Strategy, config: Any, keys: list[str], *arrays: Any) -> dict[str, Any]:
    return strategy(config, dict(zip(keys, arrays, strict=True)))
