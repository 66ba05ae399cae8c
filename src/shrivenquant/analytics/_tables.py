"""Column containers shared by the microstructure results: NumPy arrays out, pyarrow / pandas / polars on demand.

pyarrow, pandas and polars are imported only inside the conversion methods.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

__all__ = ["Columns"]


class Columns(msgspec.Struct, frozen=True):
    """Equal-length NumPy columns; subclasses name them. Timestamps (fields starting with ``ts``) are int64
    ns since the epoch, UTC."""

    def columns(self) -> dict[str, np.ndarray]:
        """The columns by name, in field order."""
        return {f: getattr(self, f) for f in self.__struct_fields__}

    def __len__(self) -> int:
        first = self.__struct_fields__[0]
        return len(getattr(self, first))

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` (timestamps as ``timestamp[ns, UTC]``)."""
        import pyarrow as pa

        arrays = {}
        for name, col in self.columns().items():
            if name.startswith("ts"):
                arrays[name] = pa.array(col, type=pa.timestamp("ns", tz="UTC"))
            else:
                arrays[name] = pa.array(col)
        return pa.table(arrays)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` (needs pandas; timestamps as UTC datetimes)."""
        import pandas as pd

        data = {}
        for name, col in self.columns().items():
            data[name] = pd.to_datetime(col, unit="ns", utc=True) if name.startswith("ts") else col
        return pd.DataFrame(data)

    def to_polars(self) -> Any:
        """A ``polars.DataFrame`` (needs polars)."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())
