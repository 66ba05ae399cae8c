"""Catalog: chunked reads keep memory flat however long the range (peak bytes measured, not timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from shrivenquant.catalog import Catalog, CatalogInstrument
from shrivenquant.catalog.layout import DAY_NS
from shrivenquant.core.events import EVENT_DTYPE

T0 = 1_723_075_200_000_000_000
PER_DAY = 60_000
INST = CatalogInstrument(venue="SYN", symbol="SYN1", price_precision=2, size_precision=3)

# Reads the range in a fresh interpreter and reports the peaks: NumPy allocations (tracemalloc), Arrow's
# memory pool high-water mark, and the RSS high-water mark grown during the read.
PROBE = r"""
import json, resource, sys, tracemalloc
import numpy as np, pyarrow as pa
from shrivenquant.catalog import Catalog
root, days = sys.argv[1], int(sys.argv[2])
cat = Catalog(root, create=False)
# warm up: the modules a read imports on first use
it = cat.read_chunks(end=%(t0)d + %(day)d, chunk_size=%(chunk)d)
next(it)
it.close()
del it
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
n = 0
total = 0
for chunk in cat.read_chunks(end=%(t0)d + days * %(day)d, chunk_size=%(chunk)d):
    n += chunk.shape[0]
    total += int(chunk["qty"].sum(dtype=np.int64) & 0xFFFF)
peak = tracemalloc.get_traced_memory()[1]
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"n": n, "numpy_peak": peak, "arrow_peak": pa.default_memory_pool().max_memory(),
                  "rss_growth_kb": rss1 - rss0}))
"""
CHUNK = 1 << 14


def _synthetic_day(day: int) -> np.ndarray:
    rng = np.random.default_rng(day)
    ev = np.zeros(PER_DAY, dtype=EVENT_DTYPE)
    ev["ts_local"] = T0 + day * DAY_NS + np.sort(rng.integers(0, DAY_NS, PER_DAY))
    ev["ts_event"] = ev["ts_local"] - 1_000_000
    ev["price"] = 6_000_000 + np.cumsum(rng.integers(-5, 6, PER_DAY))
    ev["qty"] = rng.integers(1, 10_000, PER_DAY)
    ev["seq"] = np.arange(PER_DAY, dtype=np.uint64) + day * PER_DAY
    ev["kind"] = 1
    ev["side"] = rng.integers(1, 3, PER_DAY)
    return ev


def _probe(root: Path, days: int) -> dict[str, int]:
    code = PROBE % {"t0": T0, "day": DAY_NS, "chunk": CHUNK}
    out = subprocess.run([sys.executable, "-c", code, str(root), str(days)], capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout)


def test_chunked_read_memory_is_flat_in_range_length(tmp_path: Path) -> None:
    days = 8
    cat = Catalog(tmp_path)
    cat.write((_synthetic_day(d) for d in range(days)), [INST])  # streamed write, one day at a time
    short = _probe(tmp_path, 2)
    long = _probe(tmp_path, days)
    assert short["n"] == 2 * PER_DAY and long["n"] == days * PER_DAY
    data_bytes = days * PER_DAY * EVENT_DTYPE.itemsize  # 30.7 MB in the long range
    chunk_bytes = CHUNK * EVENT_DTYPE.itemsize
    # the long range reads 4x the data; every peak stays within a few chunks of the short range's
    assert long["numpy_peak"] <= short["numpy_peak"] + 2 * chunk_bytes, (short, long)
    assert long["numpy_peak"] <= 8 * chunk_bytes, long
    assert long["arrow_peak"] <= short["arrow_peak"] * 1.5 + 4 * chunk_bytes, (short, long)
    assert long["rss_growth_kb"] * 1024 < data_bytes / 4, (short, long)
