"""Benchmark harness: cases with same-run baselines, timed as compiled loops.

A :class:`Case` is one thing being measured, with :class:`Variant`s: the shrivenquant implementation
and one or more baselines (plain ints, ``decimal``, a peer library). Every variant's statement is
compiled into the same loop shape (``for _ in range(n): <stmt>``) so loop overhead is identical, and
the reported figure is CPU time per operation, loop included. Ratios are target / baseline, measured
in the same process run. Subprocess variants (import time) run fresh interpreters instead.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Case", "Measurement", "Variant", "compile_loop", "measure_variant", "missing", "shared_data_dir"]


@dataclass(frozen=True)
class Variant:
    """One implementation of a case.

    Attributes:
        label: what is timed, e.g. ``"Price + Price"``.
        stmt: the Python statement timed once per operation (loop variants), or the code a fresh
            interpreter runs (``kind="import"``).
        setup: returns the globals the statement needs (built once, outside the timing).
        role: ``"target"`` (shrivenquant) or ``"baseline"``.
        requires: a module that must be importable, else the variant is reported as skipped.
        kind: ``"loop"`` (CPU time of the calling thread), ``"wall"`` (the same loop timed by the wall
            clock, for targets that use more than one thread: other jobs on the machine count too) or
            ``"import"`` (wall time of ``stmt`` in a fresh interpreter).
        data: a path under the shared data folder (:func:`shared_data_dir`) the variant reads; the
            variant is skipped when it is absent.
    """

    label: str
    stmt: str
    setup: Callable[[], dict[str, Any]] = dict
    role: str = "baseline"
    requires: str | None = None
    kind: str = "loop"
    data: str | None = None


@dataclass(frozen=True)
class Case:
    """A measured operation with its variants; ``budget_ns`` is the goal for the target, if any."""

    name: str
    title: str
    variants: tuple[Variant, ...]
    ops_per_stmt: int = 1
    budget_ns: float | None = None
    unit: str = "ns/op"
    loops: int = 200_000
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class Measurement:
    """Result of one variant: per-op CPU time (best and median over repeats) or import time."""

    case: str
    label: str
    role: str
    best: float | None
    median: float | None
    unit: str
    skipped: str | None = None


def shared_data_dir() -> Path:
    """The real-data folder: ``$SHRIVENQUANT_DATA``, else ``../shared/data`` from the working directory."""
    env = os.environ.get("SHRIVENQUANT_DATA")
    return Path(env) if env else Path.cwd().parent / "shared" / "data"


def missing(variant: Variant) -> str | None:
    """Why ``variant`` cannot run here (a missing module or data file), or None."""
    if not available(variant.requires):
        return f"{variant.requires} not installed"
    if variant.data is not None and not (shared_data_dir() / variant.data).exists():
        return f"data {variant.data} not found under {shared_data_dir()}"
    return None


def available(module: str | None) -> bool:
    """True if ``module`` can be imported (without importing it)."""
    if module is None:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def compile_loop(stmt: str, env: dict[str, Any]) -> Callable[[int], None]:
    """A function ``f(n)`` running ``stmt`` n times with ``env``'s names as fast locals."""
    names = sorted(env)
    unpack = "".join(f"    {k} = __env[{k!r}]\n" for k in names)
    src = f"def __make(__env):\n{unpack}    def __loop(__n):\n"
    src += f"        for __i in range(__n):\n            {stmt}\n    return __loop\n"
    ns: dict[str, Any] = {}
    exec(compile(src, f"<bench {stmt!r}>", "exec"), ns)
    return ns["__make"](env)


def _time_loop(fn: Callable[[int], None], n: int, repeat: int, clock: Callable[[], int] = time.thread_time_ns
               ) -> list[float]:
    out = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        fn(min(n, 1000))  # warm up (at most 1000 iterations)
        for _ in range(repeat):
            t0 = clock()
            fn(n)
            out.append((clock() - t0) / n)
    finally:
        if gc_was:
            gc.enable()
    return out


def import_time_us(code: str) -> float:
    """Wall µs that a fresh interpreter spends running ``code`` (an import statement), children included.

    Timed inside the child with ``perf_counter_ns`` around the statement, so interpreter start-up is
    excluded: the same figure as ``-X importtime``'s cumulative column for the top-level module.
    """
    probe = (
        "import time as __t\n__s = __t.perf_counter_ns()\n"
        f"{code}\n"
        "print((__t.perf_counter_ns() - __s) / 1000.0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"import benchmark {code!r} failed: {proc.stderr[-2000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def measure_variant(case: Case, variant: Variant, *, scale: float = 1.0, repeat: int = 7) -> Measurement:
    """Measure one variant; a missing optional dependency gives a skipped measurement."""
    why = missing(variant)
    if why is not None:
        return Measurement(case.name, variant.label, variant.role, None, None, case.unit, skipped=why)
    if variant.kind == "import":
        samples = [import_time_us(variant.stmt) / 1000.0
                   for _ in range(max(3, repeat // 2))]
        return Measurement(case.name, variant.label, variant.role, min(samples), statistics.median(samples), "ms")
    env = variant.setup()
    fn = compile_loop(variant.stmt, env)
    n = max(1, int(case.loops * scale))
    clock = time.perf_counter_ns if variant.kind == "wall" else time.thread_time_ns
    samples = [s / case.ops_per_stmt for s in _time_loop(fn, n, repeat, clock)]
    return Measurement(case.name, variant.label, variant.role, min(samples), statistics.median(samples), case.unit)
