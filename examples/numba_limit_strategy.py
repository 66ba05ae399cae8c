"""A Numba-mode strategy with the general order API: limit orders that cross and rest, cancels, market orders.

The rule below (our own) reads the top of book: when one side's best level is much thicker than the other,
it sends a limit order at the thin side's price (it takes what is there and the rest of it rests as a
maker order), cancels its resting orders once the market has moved away from them, and cuts an inventory
beyond half its limit with a market order. The kernel compiles the rule into the loop (book, venue,
latencies); ``run_numba_orders`` returns the fills with the exchange's maker / taker fees.

Run: python examples/numba_limit_strategy.py
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from shrivenquant.backtest import generated_events
from shrivenquant.backtest.numba_orders import K_CANCEL, K_LIMIT, K_MARKET, T_GTC, run_numba_orders


@njit(cache=True)
def thin_side_taker(ts, bq, aq, bb, ba, base, tick, position, orders, params, fparams, state, req):  # noqa: PLR0917
    if bb < 0 or ba < 0:
        return 0
    qty, max_pos, cooldown, stale = params[0], params[1], params[2], params[3]
    bid, ask = base + bb * tick, base + ba * tick
    n = 0
    for k in range(orders.shape[0]):  # cancel accepted resting orders the market moved away from
        if orders[k, 0] == 2 and n < req.shape[0] - 1:
            far = orders[k, 3] < bid - stale * tick if orders[k, 2] == 1 else orders[k, 3] > ask + stale * tick
            if far:
                req[n, 0] = K_CANCEL
                req[n, 5] = orders[k, 1]
                n += 1
    if ts < state[0]:
        return n
    if bq[bb] > 2 * aq[ba] and position + qty <= max_pos:
        req[n, 0], req[n, 1], req[n, 2], req[n, 3], req[n, 4] = K_LIMIT, 1, ask, qty, T_GTC
    elif aq[ba] > 2 * bq[bb] and position - qty >= -max_pos:
        req[n, 0], req[n, 1], req[n, 2], req[n, 3], req[n, 4] = K_LIMIT, 2, bid, qty, T_GTC
    elif abs(position) > max_pos // 2:
        req[n, 0], req[n, 1], req[n, 3] = K_MARKET, 2 if position > 0 else 1, qty
    else:
        return n
    state[0] = ts + cooldown
    return n + 1


def main() -> None:
    events, table, _ = generated_events(20_000, seed=3)
    inst = table[0]
    params = np.array([600, 3000, 20_000_000, 1])  # qty, max position (raw), cooldown ns, stale ticks
    t0 = time.perf_counter()
    for _ in range(2):  # the first call compiles the kernel around thin_side_taker
        r = run_numba_orders(events, inst, thin_side_taker, params=params, entry_latency_ns=1_000_000,
                             response_latency_ns=1_000_000, maker_fee="-0.0001", taker_fee="0.0004")
    f = r.fills
    maker = int((f["liquidity"] == 1).sum())
    print(f"{r.orders} orders: {r.accepted} accepted, {r.rejected} rejected, {r.canceled} canceled; "
          f"{f.size} fills ({maker} maker, {f.size - maker} taker), position {r.position} (raw)")
    print(f"fees (raw at precision {int(f['fee_precision'][0]) if f.size else 0}): {int(f['fee'].sum())}; "
          f"{r.events / r.wall_seconds / 1e6:.1f} M events/s in the kernel "
          f"(both calls, with compilation: {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
