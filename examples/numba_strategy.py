"""A Numba-mode strategy: the whole loop (book, venue, latency, strategy) in one @njit kernel.

The quoting rule below is our own (quote one tick inside the spread when it is wide, else join the best,
with inventory skew); the kernel compiles it in. The built-in rule (``mm_quote``) is the Python
``MarketMaker``'s, and both modes give the same fills on the same data.

Run: python examples/numba_strategy.py
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from shrivenquant.backtest import BacktestEngine, MarketMaker, VenueConfig, generated_events
from shrivenquant.backtest.numba_mode import run_numba


@njit(cache=True)
def inside_quote(params, ts, best_bid, best_ask, bid_qty, ask_qty, position, tick, out):  # noqa: PLR0917
    skew = position // params[1]
    improve = tick if best_ask - best_bid > 2 * tick else 0
    out[0] = min(best_bid + improve - skew * tick, best_ask - tick)
    out[1] = max(best_ask - improve - skew * tick, best_bid + tick)
    out[2] = 1 if position < params[2] else 0
    out[3] = 1 if -position < params[2] else 0


def main() -> None:
    events, table, _ = generated_events(20_000, seed=3)
    inst = table[0]
    t0 = time.perf_counter()
    for _ in range(2):  # the first call compiles the kernel around inside_quote
        own = run_numba(events, inst, qty=10, params=np.array([0, 20, 100]), quote=inside_quote,
                        entry_latency_ns=1_000_000, response_latency_ns=1_000_000, maker_fee="-0.0001")
    print(f"custom quote: {own.fills.size} fills, position {own.position}, "
          f"{own.events / own.wall_seconds / 1e6:.1f} M events/s in the kernel "
          f"(both calls, with compilation: {time.perf_counter() - t0:.1f} s)")
    nb = run_numba(events, inst, qty=10, params=np.array([0, 20, 100]), entry_latency_ns=1_000_000,
                   response_latency_ns=1_000_000, maker_fee="-0.0001")
    venue = {inst.venue: VenueConfig(entry_latency_ns=1_000_000, response_latency_ns=1_000_000, maker_fee="-0.0001")}
    py = BacktestEngine(table, MarketMaker(qty=10, skew_qty=20, max_position=100), venues=venue).run(events)
    same = nb.fills.tobytes() == py.fills.tobytes()
    print(f"built-in rule: Numba {nb.fills.size} fills in {nb.wall_seconds * 1e3:.1f} ms, Python engine "
          f"{py.fills.size} fills in {py.wall_seconds * 1e3:.1f} ms; identical: {same}")


if __name__ == "__main__":
    main()
