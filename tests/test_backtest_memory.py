"""Memory stays flat: ten consecutive backtests in one process grow its RSS by at most 5 % (measured in a
fresh interpreter, after the first run has warmed caches and imports)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import gc, os
from shrivenquant.backtest import BacktestEngine, MarketMaker, VenueConfig, generated_events

ev, insts, _ = generated_events(6000, seed=9)
venue = {insts[0].venue: VenueConfig(entry_latency_ns=1_000_000, response_latency_ns=1_000_000,
                                     maker_fee="-0.0001")}
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * page
out = []
for _ in range(10):
    r = BacktestEngine(insts, MarketMaker(qty=10, skew_qty=20, max_position=100), venues=venue).run(ev)
    assert r.fills.size > 100
    del r
    gc.collect()
    out.append(rss())
print(" ".join(map(str, out)))
"""


def test_ten_backtests_keep_rss_flat() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    rss = [int(x) for x in proc.stdout.split()]
    assert len(rss) == 10
    growth = (rss[-1] - rss[0]) / rss[0]
    assert growth <= 0.05, f"RSS after each run (bytes): {rss}"
