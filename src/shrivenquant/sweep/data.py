"""Sweep data shared between worker processes through memory-mapped ``.npy`` files.

The parent writes each array once (``np.save``, or streamed from a catalog query with
``np.lib.format.open_memmap``); every worker maps the files read-only (``np.load(mmap_mode="r")``), so
the pages are shared through the OS page cache: no pickling of the data, no per-worker copy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import ValidationError

__all__ = ["CatalogData", "SharedData", "share_data"]


@dataclass(frozen=True)
class CatalogData:
    """Sweep data read from a catalog: ``Catalog(root).read_chunks(**filters)``, streamed into one
    memory-mapped file (memory stays flat while it is written)."""

    root: str
    filters: dict[str, Any] = field(default_factory=dict)

    def __init__(self, root: str | os.PathLike[str], **filters: Any) -> None:
        object.__setattr__(self, "root", os.fspath(root))
        object.__setattr__(self, "filters", dict(filters))


@dataclass(frozen=True)
class SharedData:
    """A picklable handle on the sweep's data: ``.npy`` paths (one array, a dict of arrays) or nothing."""

    kind: str  # "none", "array", "dict"
    paths: tuple[tuple[str, str], ...] = ()

    def load(self) -> Any:
        """The data as read-only memory maps (cached per process)."""
        got = _LOADED.get(self)
        if got is None:
            if self.kind == "none":
                got = None
            elif self.kind == "array":
                got = _map(self.paths[0][1])
            else:
                got = {k: _map(p) for k, p in self.paths}
            _LOADED.clear()  # one sweep's data at a time per worker
            _LOADED[self] = got
        return got


_LOADED: dict[SharedData, Any] = {}


def _map(path: str) -> np.ndarray:
    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    return arr


def _save(arr: Any, path: Path, what: str) -> str:
    if not isinstance(arr, np.ndarray):
        raise ValidationError(f"{what} must be a NumPy array, got {type(arr).__name__}")
    if arr.dtype.hasobject:
        raise ValidationError(f"{what} has an object dtype: it cannot be memory-mapped")
    np.save(path, arr, allow_pickle=False)
    return str(path)


def _from_catalog(src: CatalogData, path: Path) -> str:
    from shrivenquant.catalog import Catalog

    cat = Catalog(src.root, create=False)
    filters = dict(src.filters)
    n = sum(c.shape[0] for c in cat.read_chunks(**filters))  # first pass: count (flat memory)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=EVENT_DTYPE, shape=(n,))
    pos = 0
    for c in cat.read_chunks(**filters):
        out[pos:pos + c.shape[0]] = c
        pos += c.shape[0]
    out.flush()
    del out
    return str(path)


def share_data(data: Any, workdir: Path) -> SharedData:
    """Write ``data`` where workers can map it: None; an array; a ``.npy`` path (used in place); a
    :class:`CatalogData` query; or a mapping name -> any of the array forms."""
    if data is None:
        return SharedData("none")
    if isinstance(data, Mapping):
        if not data:
            raise ValidationError("data mapping is empty")
        paths = []
        for i, (k, v) in enumerate(data.items()):
            if not isinstance(k, str):
                raise ValidationError(f"data mapping keys must be strings, got {k!r}")
            paths.append((k, _one(v, workdir / f"data{i}.npy", f"data[{k!r}]")))
        return SharedData("dict", tuple(paths))
    return SharedData("array", (("", _one(data, workdir / "data.npy", "data")),))


def _one(value: Any, path: Path, what: str) -> str:
    if isinstance(value, CatalogData):
        return _from_catalog(value, path)
    if isinstance(value, (str, os.PathLike)):
        p = Path(value)
        if p.suffix != ".npy":
            raise ValidationError(f"{what}: {p} is not a .npy file (pass an array, a .npy path or CatalogData)")
        if not p.is_file():
            raise ValidationError(f"{what}: no such file: {p}")
        _map(str(p))  # fail here, not in every worker, if it is not a valid .npy
        return str(p.resolve())
    return _save(value, path, what)
