"""Directory layout of a catalog: hive-style partitions ``venue=V/instrument=S/date=YYYY-MM-DD``.

::

    <root>/
      _catalog.json                                    instrument table (ids, precisions, definitions)
      venue=BINANCE_USDM/
        instrument=BTCUSDT/
          date=2024-08-08/
            part-00000.parquet                         event records, in arrival order
            part-00001.parquet                         a later import appends a new part

The date is the UTC day of each record's ``ts_local`` (receive time: the order a recording was made
in). Files being written are named ``.part-NNNNN.parquet.tmp`` and renamed when complete; names
starting with ``.`` or ``_`` are ignored by readers (and by pyarrow's dataset discovery), so the
directory can also be opened with ``pyarrow.dataset.dataset(root, partitioning="hive")``.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DAY_NS", "PART_GLOB", "Partition", "day_of", "day_to_str", "next_part_index", "partition_dir",
           "scan_partitions", "str_to_day"]

DAY_NS = 86_400_000_000_000
PART_GLOB = "part-*.parquet"
_PART = re.compile(r"^part-(\d{5,})\.parquet$")
_EPOCH = _dt.date(1970, 1, 1)


def day_of(ts_ns: int) -> int:
    """Days since 1970-01-01 of a ns UTC timestamp (floor)."""
    return ts_ns // DAY_NS


def day_to_str(day: int) -> str:
    """``YYYY-MM-DD`` of a day number."""
    return (_EPOCH + _dt.timedelta(days=int(day))).isoformat()


def str_to_day(text: str) -> int:
    """The day number of ``YYYY-MM-DD``."""
    return (_dt.date.fromisoformat(text) - _EPOCH).days


def partition_dir(root: Path, venue: str, symbol: str, day: int) -> Path:
    """The directory of one (venue, instrument, day) partition."""
    return root / f"venue={venue}" / f"instrument={symbol}" / f"date={day_to_str(day)}"


def next_part_index(directory: Path) -> int:
    """The index of the next part file in a partition directory (0 if none)."""
    if not directory.is_dir():
        return 0
    used = [int(m.group(1)) for p in directory.iterdir() if (m := _PART.match(p.name))]
    tmp = [int(m.group(1)) for p in directory.iterdir()
           if p.name.startswith(".part-") and (m := _PART.match(p.name[1:].removesuffix(".tmp")))]
    return max(used + tmp, default=-1) + 1


@dataclass(frozen=True)
class Partition:
    """One stored (venue, instrument, day) partition and its part files in read order."""

    venue: str
    symbol: str
    day: int
    path: Path
    files: tuple[Path, ...]

    @property
    def date(self) -> str:
        """``YYYY-MM-DD``."""
        return day_to_str(self.day)


def _value(name: str, key: str) -> str | None:
    prefix = key + "="
    return name[len(prefix):] if name.startswith(prefix) else None


def scan_partitions(root: Path) -> list[Partition]:
    """Every partition under ``root`` with at least one complete part file, sorted by venue, symbol, day."""
    out: list[Partition] = []
    if not root.is_dir():
        return out
    for vdir in sorted(root.iterdir()):
        venue = _value(vdir.name, "venue")
        if venue is None or not vdir.is_dir():
            continue
        for idir in sorted(vdir.iterdir()):
            symbol = _value(idir.name, "instrument")
            if symbol is None or not idir.is_dir():
                continue
            for ddir in sorted(idir.iterdir()):
                date = _value(ddir.name, "date")
                if date is None or not ddir.is_dir():
                    continue
                files = sorted((p for p in ddir.iterdir() if _PART.match(p.name)),
                               key=lambda p: int(_PART.match(p.name).group(1)))  # type: ignore[union-attr]
                if files:
                    out.append(Partition(venue, symbol, str_to_day(date), ddir, tuple(files)))
    return out
