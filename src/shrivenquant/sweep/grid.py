"""Parameter grids: a mapping of name -> values (the Cartesian product, in order) or explicit points."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shrivenquant.errors import ValidationError

__all__ = ["expand_grid"]


def _values(name: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(
            values, (Sequence, np.ndarray, range)):
        raise ValidationError(f"grid[{name!r}] must be a list, tuple, range or 1-D array of values, "
                              f"got {type(values).__name__} {values!r:.60}")
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValidationError(f"grid[{name!r}] must be 1-D, got shape {values.shape}")
        out = values.tolist()
    else:
        out = list(values)
    if not out:
        raise ValidationError(f"grid[{name!r}] has no values")
    return out


def expand_grid(grid: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """``(parameter names, points)`` of a grid.

    A mapping ``{"a": [1, 2], "b": [0.1, 0.2]}`` gives the Cartesian product, the last name varying
    fastest (``itertools.product`` order). A sequence of mappings gives exactly those points; they must
    all name the same parameters. Raises :class:`ValidationError` on an empty grid, an empty or non-list
    value, a non-string or empty name, or points with different names.
    """
    if isinstance(grid, Mapping):
        if not grid:
            raise ValidationError("grid has no parameters")
        names = tuple(grid)
        for n in names:
            if not isinstance(n, str) or not n:
                raise ValidationError(f"grid parameter names must be non-empty strings, got {n!r}")
        lists = [_values(n, grid[n]) for n in names]
        return names, [dict(zip(names, combo, strict=True)) for combo in itertools.product(*lists)]
    if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence):
        raise ValidationError(f"grid must be a mapping name -> values or a list of points, got {type(grid).__name__}")
    if not grid:
        raise ValidationError("grid has no points")
    points = []
    names_0: tuple[str, ...] | None = None
    for i, p in enumerate(grid):
        if not isinstance(p, Mapping):
            raise ValidationError(f"grid point {i} must be a mapping name -> value, got {type(p).__name__}")
        names = tuple(p)
        for n in names:
            if not isinstance(n, str) or not n:
                raise ValidationError(f"grid point {i}: parameter names must be non-empty strings, got {n!r}")
        if names_0 is None:
            names_0 = names
        elif set(names) != set(names_0):
            raise ValidationError(f"grid point {i} names {sorted(names)}, point 0 names {sorted(names_0)}")
        points.append({n: p[n] for n in names_0})
    assert names_0 is not None
    return names_0, points
