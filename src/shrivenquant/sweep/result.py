"""The result of a sweep: one row per configuration, parameters then metrics, in grid order."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from shrivenquant.errors import ValidationError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["SweepResult"]

_SCALARS = (bool, int, float, str, type(None))


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, _SCALARS):
        raise ValidationError(f"{where}: metric values must be scalars (int, float, bool, str, None), "
                              f"got {type(value).__name__}")
    return value


class SweepResult:
    """Rows of ``(parameters..., metrics...)``, one per grid point, in grid order.

    Attributes:
        params: parameter names (the grid's).
        metrics: metric names (the keys of the first result; every result has the same keys).
        columns: ``name -> list of values`` for every column (parameters first).
        elapsed: wall seconds the sweep took.
        executor: the executor's name.
    """

    def __init__(self, params: Sequence[str], points: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]],
                 *, elapsed: float = 0.0, executor: str = "") -> None:
        if len(points) != len(results):
            raise ValidationError(f"{len(points)} points but {len(results)} results")
        self.params = tuple(params)
        metrics: tuple[str, ...] = tuple(results[0]) if results else ()
        for m in metrics:
            if not isinstance(m, str):
                raise ValidationError(f"metric names must be strings, got {m!r}")
            if m in self.params:
                raise ValidationError(f"metric {m!r} has the name of a grid parameter")
        cols: dict[str, list[Any]] = {name: [p[name] for p in points] for name in self.params}
        for m in metrics:
            cols[m] = []
        for i, (p, r) in enumerate(zip(points, results, strict=True)):
            if not isinstance(r, dict):
                raise ValidationError(f"configuration {i} {p}: the strategy returned {type(r).__name__}, "
                                      "expected a dict metric -> value")
            if tuple(r) != metrics and set(r) != set(metrics):
                raise ValidationError(f"configuration {i} {p}: metrics {sorted(r)} differ from configuration 0's "
                                      f"{sorted(metrics)}")
            for m in metrics:
                cols[m].append(_scalar(r[m], f"configuration {i} {p}, metric {m!r}"))
        self.metrics = metrics
        self.columns = cols
        self.elapsed = elapsed
        self.executor = executor

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def rows(self) -> list[dict[str, Any]]:
        """One dict per configuration (parameters and metrics)."""
        names = list(self.columns)
        return [{n: self.columns[n][i] for n in names} for i in range(len(self))]

    def to_dict(self) -> dict[str, list[Any]]:
        """The dict-of-columns form (a copy)."""
        return {k: list(v) for k, v in self.columns.items()}

    def to_arrow(self) -> pa.Table:
        """The table as a ``pyarrow.Table`` (types inferred per column)."""
        import pyarrow as pa

        return pa.table(self.columns)

    def best(self, metric: str, *, maximize: bool = True) -> dict[str, Any]:
        """The row with the highest (``maximize``) or lowest value of ``metric``; NaN and None never win;
        ties go to the first in grid order."""
        if metric not in self.metrics:
            raise ValidationError(f"unknown metric {metric!r} (metrics: {list(self.metrics)})")
        vals = self.columns[metric]
        best_i = None
        for i, v in enumerate(vals):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if best_i is None or (v > vals[best_i] if maximize else v < vals[best_i]):
                best_i = i
        if best_i is None:
            raise ValidationError(f"metric {metric!r} has no comparable value")
        return self.rows()[best_i]

    def __repr__(self) -> str:
        return f"SweepResult({len(self)} rows, params={list(self.params)}, metrics={list(self.metrics)})"
