"""Numba mode with a general order API (hftbacktest style): one ``@njit`` strategy function, called after
every book message of the traded instrument, reads the book, its own orders and its position and writes
requests (limit GTC / IOC / post-only, market IOC, cancel, modify) into a preallocated request array; the kernel
runs the book, the venue and the latencies in the same compiled loop.

The strategy function (and, optionally, a fill callback with the same request API: ``on_fill`` of
:func:`run_numba_orders`)::

    @njit
    def strategy(ts, bq, aq, best_bid_idx, best_ask_idx, base, tick, position, orders, params, fparams,
                 state, req) -> int   # the number of requests written to req[0:n]

* ``bq`` / ``aq``: the bid / ask ladders (raw quantities); the price of index ``j`` is ``base + j * tick``;
  an index is -1 when that side is empty;
* ``position``: the fills the strategy has received (raw, signed);
* ``orders``: the strategy's order table, ``(capacity, 7)`` int64, one row per slot: ``O_STATUS`` (0 free,
  1 sent, 2 accepted, 3 cancel sent, 4 modify sent), ``O_ID`` (the order's id, from 1), ``O_SIDE`` (1 buy, 2 sell),
  ``O_PRICE`` (raw; 0 for a market order), ``O_QTY``, ``O_FILLED`` (fills received), ``O_TYPE`` (one of
  ``T_GTC``, ``T_IOC``, ``T_POST_ONLY``, ``T_MARKET``). A slot is freed when the order's last event (fully
  filled, canceled, rejected, expired) is received;
* ``req``: ``(max_requests, 6)`` int64: ``R_KIND`` (``K_LIMIT``, ``K_MARKET``, ``K_CANCEL``, ``K_MODIFY``),
  ``R_SIDE``, ``R_PRICE``, ``R_QTY``, ``R_TYPE`` (for a limit: ``T_GTC`` / ``T_IOC`` / ``T_POST_ONLY``),
  ``R_ID`` (the order to cancel or modify; for a submit the kernel writes the new order's id there). A
  modify (of an accepted GTC / post-only order, status 2) gives the new price and / or quantity (0 keeps
  it); the table takes the new terms when ``OrderModified`` is received;
* ``state``: an int64 array (``state_size`` slots) the function keeps between calls; ``params`` int64 and
  ``fparams`` float64 are the user's parameters.

The venue follows :class:`~shrivenquant.sim.SimulatedExchange` for these order types, event for event:
requests reach it ``entry latency`` after they were sent, its events reach the strategy ``response latency``
later (constant or :class:`~shrivenquant.sim.InterpolatedLatency`), all ordered by (time, sequence);
lot / min / max quantity, tick, min notional (at the limit price; the opposite best for a market order);
post-only rejected if it would cross; a crossing limit or a market order first expires the strategy's own
opposite resting orders it could reach (self-trade prevention ``expire_maker``), then walks the book level by
level at the level prices (taker), liquidity taken not available again until the next book message; the
remainder of a market or IOC order is canceled, that of a GTC limit rests (maker) in the risk-averse L2 queue
(trades at the price advance it, the level shrinking below it moves it, a trade or the opposite best through
the price fills it whole). A cancel of an order the venue no longer has is rejected (``CancelRejected``).
A modify follows ``SimulatedExchange.modify``: rejected (``ModifyRejected``) if the order is gone, the new
quantity is not above the venue's filled quantity, off the tick or lot, or a post-only order's new price
would cross; a new price or a larger quantity loses the queue place (a crossing new price takes first, with
self-trade prevention, then the rest rests at the back), a smaller quantity keeps it.
Fees: the exchange's exact integer rule (maker / taker rate, rounded half even once), after the loop.

Capacities are fixed before the loop (no allocation inside it): ``max_orders`` open orders (the strategy's
table and the venue's), ``max_requests`` per call, 4,080 messages in flight, ``max_fills``; exceeding one,
or a cancel / modify of an order not in the table (or with a cancel or modify already pending), stops the
run with a
:class:`~shrivenquant.errors.ValidationError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from shrivenquant.backtest.engine import FILL_DTYPE
from shrivenquant.backtest.numba_mode import NumbaResult, _apply_level, _lat_at, _latency_table, _push
from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import ValidationError

__all__ = ["K_CANCEL", "K_LIMIT", "K_MARKET", "K_MODIFY", "O_FILLED", "O_ID", "O_PRICE", "O_QTY", "O_SIDE", "O_STATUS",
           "O_TYPE", "R_ID", "R_KIND", "R_PRICE", "R_QTY", "R_SIDE", "R_TYPE", "T_GTC", "T_IOC", "T_MARKET",
           "T_POST_ONLY", "orders_kernel_for", "run_numba_orders"]

# order table columns
O_STATUS, O_ID, O_SIDE, O_PRICE, O_QTY, O_FILLED, O_TYPE = 0, 1, 2, 3, 4, 5, 6
# request columns and kinds
R_KIND, R_SIDE, R_PRICE, R_QTY, R_TYPE, R_ID = 0, 1, 2, 3, 4, 5
K_LIMIT, K_MARKET, K_CANCEL, K_MODIFY = 1, 2, 3, 4
# order types
T_GTC, T_IOC, T_POST_ONLY, T_MARKET = 0, 1, 2, 3

# venue event types in the event queue
_EV_ACCEPTED, _EV_REJECTED, _EV_CANCELED, _EV_MAKER_FILL, _EV_CANCEL_REJECTED, _EV_EXPIRED, _EV_TAKER_FILL = (
    0, 1, 2, 3, 4, 5, 6)
_EV_MODIFIED, _EV_MODIFY_REJECTED = 7, 8
# error bits returned by the kernel
_ERR_FILLS, _ERR_QUEUE, _ERR_TABLE, _ERR_VENUE, _ERR_CANCEL, _ERR_REQUEST, _ERR_TAKEN = 1, 2, 4, 8, 16, 32, 64


@njit(cache=True, nogil=True)
def _noop_strategy(ts, bq, aq, bb, ba, base, tick, position, orders, params, fparams, state,  # noqa: PLR0917
                   req):  # pragma: no cover - compiled
    return 0


@njit(cache=True, nogil=True)
def _noop_on_fill(ts, side, price, qty, order_id, liquidity, bq, aq, bb, ba, base, tick,  # noqa: PLR0917
                  position, orders, params, fparams, state, req):  # pragma: no cover - compiled
    return 0


@njit(cache=True, nogil=True)
def _collect(x_num, x_side, x_px, x_rseq, hw, sd, bound, buf):  # noqa: PLR0917  # pragma: no cover
    """Slots of resting orders on side ``sd`` at or through ``bound`` (bids: price >= bound, asks: price <=
    bound) into ``buf``, best price first, FIFO (rest sequence) within a price: the exchange's order."""
    n = 0
    for k in range(hw):
        if x_num[k] < 0 or x_side[k] != sd or x_rseq[k] < 0:
            continue
        if (sd == 1 and x_px[k] < bound) or (sd == 2 and x_px[k] > bound):
            continue
        j = n
        while j > 0:
            o = buf[j - 1]
            if sd == 1:
                later = x_px[o] < x_px[k] or (x_px[o] == x_px[k] and x_rseq[o] > x_rseq[k])
            else:
                later = x_px[o] > x_px[k] or (x_px[o] == x_px[k] and x_rseq[o] > x_rseq[k])
            if not later:
                break
            buf[j] = o
            j -= 1
        buf[j] = k
        n += 1
    return n


@njit(cache=True, nogil=True)
def _expire_makers(x_num, x_side, x_px, x_rseq, x_vid, hw, osd, bound, buf, sq, sq_tail, seq, rt,  # noqa: PLR0917
                   t):  # pragma: no cover
    """Self-trade prevention ``expire_maker``: the resting orders of side ``osd`` at or through ``bound`` leave
    the book (an EXPIRED event each, at ``rt``, in the exchange's order). Returns (sq_tail, seq, removed)."""
    m = _collect(x_num, x_side, x_px, x_rseq, hw, osd, bound, buf)
    for c in range(m):
        k = buf[c]
        seq += 1
        _push(sq, sq_tail, rt, seq, _EV_EXPIRED, x_num[k], 0, 0, osd, t, x_vid[k])
        sq_tail += 1
        x_num[k] = -1
        x_rseq[k] = -1
    return sq_tail, seq, m


@njit(cache=True, nogil=True)
def _send(req, nr, orders, rq, rq_tail, seq, next_num, n_orders, et, ts):  # noqa: PLR0917  # pragma: no cover
    """The strategy's ``nr`` requests into the request ring (sent at ``ts``, due at ``et``); returns the new
    ring tail, sequence, next order id, submit count and error bits."""
    err = 0
    cap = orders.shape[0]
    for r in range(nr):
        rk = req[r, 0]
        if rk == K_CANCEL:
            target = req[r, 5]
            slot = -1
            for k in range(cap):
                if orders[k, 0] != 0 and orders[k, 1] == target:
                    slot = k
                    break
            if slot < 0 or orders[slot, 0] == 3 or orders[slot, 0] == 4:
                err |= _ERR_CANCEL
                break
            orders[slot, 0] = 3
            seq += 1
            _push(rq, rq_tail, et, seq, 1, target, 0, 0, orders[slot, 2], ts, 0)
            rq_tail += 1
            continue
        if rk == K_MODIFY:
            target = req[r, 5]
            slot = -1
            for k in range(cap):
                if orders[k, 0] != 0 and orders[k, 1] == target:
                    slot = k
                    break
            if slot < 0 or orders[slot, 0] != 2 or orders[slot, 6] == 3 or orders[slot, 6] == 1:
                err |= _ERR_CANCEL
                break
            npx = req[r, 2]
            nq = req[r, 3]
            if npx < 0 or nq < 0 or (npx == 0 and nq == 0) or (nq != 0 and nq <= orders[slot, 5]):
                err |= _ERR_REQUEST
                break
            orders[slot, 0] = 4
            seq += 1
            _push(rq, rq_tail, et, seq, 2, target, npx, nq, orders[slot, 2], ts, 0)
            rq_tail += 1
            continue
        sd = req[r, 1]
        if rk not in {K_LIMIT, K_MARKET} or sd not in {1, 2} or req[r, 3] <= 0 or (
                rk == K_LIMIT and not (0 <= req[r, 4] <= 2)):
            err |= _ERR_REQUEST
            break
        slot = -1
        for k in range(cap):
            if orders[k, 0] == 0:
                slot = k
                break
        if slot < 0:
            err |= _ERR_TABLE
            break
        num = next_num
        next_num += 1
        n_orders += 1
        otype = req[r, 4] if rk == K_LIMIT else 3
        opx = req[r, 2] if rk == K_LIMIT else 0
        orders[slot, 0] = 1
        orders[slot, 1] = num
        orders[slot, 2] = sd
        orders[slot, 3] = opx
        orders[slot, 4] = req[r, 3]
        orders[slot, 5] = 0
        orders[slot, 6] = otype
        req[r, 5] = num
        seq += 1
        _push(rq, rq_tail, et, seq, 0, num, opx, req[r, 3], sd, ts, otype)
        rq_tail += 1
    return rq_tail, seq, next_num, n_orders, err


@njit(cache=True, nogil=True)
def _walk_book(aq, bq, ca, cb, t_idx, n_t, tcap, sq, sq_tail, seq, err, base, tick, ladder,  # noqa: PLR0917
               j, sd, limit_px, is_mkt, leaves, rt, num, t, vid):  # pragma: no cover
    """An order of side ``sd`` takes from the ladder from index ``j`` (the best opposite level) outwards, up to
    ``limit_px`` (no limit when ``is_mkt``), only what this message's earlier takers left (``ca``/``cb``); each
    level taken is pushed as a TAKER_FILL event and its first use noted in ``t_idx``. Returns (leaves, n_t,
    sq_tail, seq, err)."""
    while 0 <= j < ladder and leaves > 0:
        lpx = base + j * tick
        if not is_mkt and ((sd == 1 and lpx > limit_px) or (sd == 2 and lpx < limit_px)):
            break
        lvl = aq[j] if sd == 1 else bq[j]
        used = ca[j] if sd == 1 else cb[j]
        avail = lvl - used
        if avail > 0:
            q = min(avail, leaves)
            if used == 0:
                if n_t < tcap:
                    t_idx[n_t] = j if sd == 2 else -1 - j
                    n_t += 1
                else:
                    err |= _ERR_TAKEN
            if sd == 1:
                ca[j] += q
            else:
                cb[j] += q
            leaves -= q
            seq += 1
            _push(sq, sq_tail, rt, seq, _EV_TAKER_FILL, num, lpx, q, sd, t, vid)
            sq_tail += 1
        j += 1 if sd == 1 else -1
    return leaves, n_t, sq_tail, seq, err


@njit(cache=True, nogil=True)
def _orders_loop(kind, side, price, qty, flags, ts_local, iid, instrument, tick, step, min_qty,  # noqa: PLR0917
                 max_qty, mn_a, mn_b, mult, lat, ladder, params, fparams, state, orders, req,
                 fills, stats, fill_cb):  # pragma: no cover - compiled
    n = kind.shape[0]
    half = ladder // 2
    bq = np.zeros(ladder, np.int64)
    aq = np.zeros(ladder, np.int64)
    best = np.full(2, -1, np.int64)
    base = np.int64(0)
    have_base = False
    out_of_range = 0
    err = 0
    cap = orders.shape[0]
    # the venue's working orders: order id (-1 free), side, price (0 market), leaves, queue front, venue id,
    # rest sequence (-1 not resting)
    x_num = np.full(cap, -1, np.int64)
    x_side = np.zeros(cap, np.int64)
    x_px = np.zeros(cap, np.int64)
    x_leaves = np.zeros(cap, np.int64)
    x_front = np.zeros(cap, np.int64)
    x_vid = np.zeros(cap, np.int64)
    x_rseq = np.full(cap, -1, np.int64)
    x_qty = np.zeros(cap, np.int64)
    x_post = np.zeros(cap, np.bool_)
    hw = 0  # slots in use are below hw
    n_rest = 0
    rseq = 0
    buf = np.zeros(cap, np.int64)
    # liquidity taken per ladder index since the last book message
    cb = np.zeros(ladder, np.int64)
    ca = np.zeros(ladder, np.int64)
    tcap = 1 << 12
    t_idx = np.zeros(tcap, np.int64)
    n_t = 0
    qcap = 1 << 12
    rq = np.zeros((qcap, 9), np.int64)
    rq_head = 0
    rq_tail = 0
    sq = np.zeros((qcap, 9), np.int64)
    sq_head = 0
    sq_tail = 0
    seq = 0
    next_num = 1
    next_vid = 1
    position = 0
    n_fills = 0
    n_orders = 0
    start = 0
    last_ts = ts_local[n - 1] if n > 0 else 0
    now = ts_local[0] if n > 0 else 0  # the engine's clock: max of the times of what ran so far
    i = -1
    while True:
        i += 1
        final = i >= n
        if not final and not flags[i] & 1:
            continue
        s = start
        e = i + 1
        start = e
        ts = last_ts if final else ts_local[s]
        # ---- 1. due requests and venue events, in (time, sequence) order
        while True:
            r_ok = rq_head < rq_tail and rq[rq_head % qcap, 0] <= ts
            s_ok = sq_head < sq_tail and sq[sq_head % qcap, 0] <= ts
            if not r_ok and not s_ok:
                break
            use_r = r_ok
            if r_ok and s_ok:
                a0 = rq[rq_head % qcap, 0]
                b0 = sq[sq_head % qcap, 0]
                use_r = a0 < b0 or (a0 == b0 and rq[rq_head % qcap, 1] < sq[sq_head % qcap, 1])
            if use_r:
                row = rq[rq_head % qcap]
                rq_head += 1
                t = row[0]
                now = max(now, t)
                typ = row[2]
                num = row[3]
                rt = t + _lat_at(lat, 2, t)
                if typ == 2:  # a modify reaches the venue: SimulatedExchange.modify's rules and order
                    found = -1
                    for k in range(hw):
                        if x_num[k] == num:
                            found = k
                            break
                    seq += 1
                    if found < 0:
                        _push(sq, sq_tail, rt, seq, _EV_MODIFY_REJECTED, num, 0, 0, 0, t, 0)
                        sq_tail += 1
                        continue
                    k = found
                    sd = x_side[k]
                    npx = row[4] if row[4] != 0 else x_px[k]
                    nq = row[5] if row[5] != 0 else x_qty[k]
                    filled = x_qty[k] - x_leaves[k]
                    crosses = False
                    if sd == 1:
                        crosses = best[1] >= 0 and base + best[1] * tick <= npx
                    else:
                        crosses = best[0] >= 0 and base + best[0] * tick >= npx
                    if nq <= filled or npx % tick != 0 or nq % step != 0 or (
                            npx != x_px[k] and x_post[k] and crosses):
                        _push(sq, sq_tail, rt, seq, _EV_MODIFY_REJECTED, num, 0, 0, sd, t, 0)
                        sq_tail += 1
                        continue
                    lose = npx != x_px[k] or nq > x_qty[k]
                    x_px[k] = npx
                    x_leaves[k] = nq - filled
                    x_qty[k] = nq
                    _push(sq, sq_tail, rt, seq, _EV_MODIFIED, num, row[4], row[5], sd, t, x_vid[k])
                    sq_tail += 1
                    idx = (npx - base) // tick
                    lq = 0
                    if 0 <= idx < ladder:
                        lq = bq[idx] if sd == 1 else aq[idx]
                    if not lose:
                        x_front[k] = min(x_front[k], lq)
                        continue
                    x_rseq[k] = -1  # leaves the queue
                    n_rest -= 1
                    if crosses:
                        if n_rest > 0:
                            osd = 2 if sd == 1 else 1
                            sq_tail, seq, m = _expire_makers(x_num, x_side, x_px, x_rseq, x_vid, hw, osd, npx, buf,
                                                             sq, sq_tail, seq, rt, t)
                            n_rest -= m
                        leaves, n_t, sq_tail, seq, err = _walk_book(
                            aq, bq, ca, cb, t_idx, n_t, tcap, sq, sq_tail, seq, err, base, tick, ladder,
                            best[1] if sd == 1 else best[0], sd, npx, False, x_leaves[k], rt, num, t, x_vid[k])
                        x_leaves[k] = leaves
                    if x_leaves[k] == 0:
                        x_num[k] = -1
                    else:
                        x_front[k] = lq
                        x_rseq[k] = rseq
                        rseq += 1
                        n_rest += 1
                    continue
                if typ == 1:  # a cancel reaches the venue
                    found = -1
                    for k in range(hw):
                        if x_num[k] == num:
                            found = k
                            break
                    seq += 1
                    if found >= 0:
                        _push(sq, sq_tail, rt, seq, _EV_CANCELED, num, 0, 0, x_side[found], t, x_vid[found])
                        if x_rseq[found] >= 0:
                            n_rest -= 1
                        x_num[found] = -1
                        x_rseq[found] = -1
                    else:
                        _push(sq, sq_tail, rt, seq, _EV_CANCEL_REJECTED, num, 0, 0, 0, t, 0)
                    sq_tail += 1
                    continue
                # a new order reaches the venue: the exchange's rules, in its order
                px = row[4]
                oq = row[5]
                sd = row[6]
                otype = row[8]
                is_mkt = otype == 3
                reject = oq % step != 0 or oq < min_qty or (max_qty > 0 and oq > max_qty)
                if not reject and not is_mkt and (px <= 0 or px % tick != 0):
                    reject = True
                if not reject and mn_a > 0:
                    ob = best[1] if sd == 1 else best[0]
                    if not is_mkt or ob >= 0:
                        npx = px if not is_mkt else base + ob * tick
                        if float(npx) * float(oq) * float(mult) * float(mn_b) < 9.0e18:
                            reject = npx * oq * mult * mn_b < mn_a
                crosses = False
                if is_mkt:
                    crosses = True
                elif sd == 1:
                    crosses = best[1] >= 0 and base + best[1] * tick <= px
                else:
                    crosses = best[0] >= 0 and base + best[0] * tick >= px
                if not reject and otype == 2 and crosses:
                    reject = True
                seq += 1
                if reject:
                    _push(sq, sq_tail, rt, seq, _EV_REJECTED, num, 0, 0, sd, t, 0)
                    sq_tail += 1
                    continue
                slot = -1
                for k in range(cap):
                    if x_num[k] < 0:
                        slot = k
                        break
                if slot < 0:
                    err |= _ERR_VENUE
                    break
                hw = max(hw, slot + 1)
                vid = next_vid
                next_vid += 1
                x_num[slot] = num
                x_side[slot] = sd
                x_px[slot] = px
                x_leaves[slot] = oq
                x_qty[slot] = oq
                x_post[slot] = otype == 2
                x_vid[slot] = vid
                x_rseq[slot] = -1
                _push(sq, sq_tail, rt, seq, _EV_ACCEPTED, num, 0, 0, sd, t, vid)
                sq_tail += 1
                if crosses:
                    # self-trade prevention (expire_maker): own opposite resting orders within the limit
                    if n_rest > 0:
                        osd = 2 if sd == 1 else 1
                        bound = px
                        if is_mkt:
                            bound = (1 << 62) if sd == 1 else -(1 << 62)
                        sq_tail, seq, m = _expire_makers(x_num, x_side, x_px, x_rseq, x_vid, hw, osd, bound, buf, sq,
                                                         sq_tail, seq, rt, t)
                        n_rest -= m
                    leaves, n_t, sq_tail, seq, err = _walk_book(
                        aq, bq, ca, cb, t_idx, n_t, tcap, sq, sq_tail, seq, err, base, tick, ladder,
                        best[1] if sd == 1 else best[0], sd, px, is_mkt, oq, rt, num, t, vid)
                    x_leaves[slot] = leaves
                if x_leaves[slot] == 0:
                    x_num[slot] = -1
                elif is_mkt or otype == 1:
                    seq += 1
                    _push(sq, sq_tail, rt, seq, _EV_CANCELED, num, 0, 0, sd, t, vid)
                    sq_tail += 1
                    x_num[slot] = -1
                else:  # rests at the back of its level
                    idx = (px - base) // tick
                    lq = 0
                    if 0 <= idx < ladder:
                        lq = bq[idx] if sd == 1 else aq[idx]
                    x_front[slot] = lq
                    x_rseq[slot] = rseq
                    rseq += 1
                    n_rest += 1
            else:  # a venue event reaches the strategy
                row = sq[sq_head % qcap]
                sq_head += 1
                now = max(now, row[0])
                typ = row[2]
                num = row[3]
                slot = -1
                for k in range(cap):
                    if orders[k, 0] != 0 and orders[k, 1] == num:
                        slot = k
                        break
                if typ not in {_EV_MAKER_FILL, _EV_TAKER_FILL}:
                    stats[typ] += 1  # counted when the strategy receives it, as the OMS does
                if typ == _EV_ACCEPTED:
                    if slot >= 0 and orders[slot, 0] == 1:
                        orders[slot, 0] = 2
                elif typ in {_EV_MAKER_FILL, _EV_TAKER_FILL}:
                    q = row[5]
                    position += q if row[6] == 1 else -q
                    if slot >= 0:
                        orders[slot, 5] += q
                        if orders[slot, 5] >= orders[slot, 4]:
                            orders[slot, 0] = 0
                    if n_fills >= fills.shape[0]:
                        err |= _ERR_FILLS
                        continue
                    f = fills[n_fills]
                    f["ts"] = row[7]
                    f["instrument"] = instrument
                    f["side"] = row[6]
                    f["liquidity"] = 1 if typ == _EV_MAKER_FILL else 2
                    f["price"] = row[4]
                    f["qty"] = q
                    f["order"] = row[8]
                    n_fills += 1
                    if fill_cb:  # the strategy's fill callback: it may send requests now
                        nr = user_on_fill(now, row[6], row[4], q, num, 1 if typ == _EV_MAKER_FILL else 2, bq, aq,
                                          best[0], best[1], base, tick, position, orders, params, fparams, state,
                                          req)
                        if nr < 0 or nr > req.shape[0]:
                            err |= _ERR_REQUEST
                            break
                        rq_tail, seq, next_num, n_orders, e2 = _send(req, nr, orders, rq, rq_tail, seq, next_num,
                                                                     n_orders, now + _lat_at(lat, 1, now), now)
                        if e2:
                            err |= e2
                            break
                elif typ == _EV_CANCEL_REJECTED:
                    if slot >= 0 and orders[slot, 0] == 3:
                        orders[slot, 0] = 2
                elif typ == _EV_MODIFIED:
                    if slot >= 0:
                        if row[4] != 0:
                            orders[slot, 3] = row[4]
                        if row[5] != 0:
                            orders[slot, 4] = row[5]
                        if orders[slot, 0] == 4:
                            orders[slot, 0] = 2
                elif typ == _EV_MODIFY_REJECTED:
                    if slot >= 0 and orders[slot, 0] == 4:
                        orders[slot, 0] = 2
                elif slot >= 0:  # rejected, canceled, expired: the order's last event
                    orders[slot, 0] = 0
        if err or rq_tail - rq_head >= qcap - 16 or sq_tail - sq_head >= qcap - 16:
            if not err:
                err |= _ERR_QUEUE
            break
        if final:
            break
        now = ts
        if iid[s] != instrument:
            continue
        k0 = kind[s]
        if k0 == 7:  # trades: queue advance at the price, fills through it
            if n_rest == 0:
                continue
            for j in range(s, e):
                if side[j] != 1 and side[j] != 2:
                    continue  # no aggressor side: the exchange does nothing with it
                tpx = price[j]
                tq = qty[j]
                osd = 1 if side[j] == 2 else 2
                m = _collect(x_num, x_side, x_px, x_rseq, hw, osd, tpx, buf)
                for c in range(m):
                    k = buf[c]
                    fq = 0
                    if x_px[k] != tpx:
                        fq = x_leaves[k]
                    else:
                        x_front[k] -= tq
                        if x_front[k] < 0:
                            fq = min(-x_front[k], x_leaves[k]) // step * step
                            x_front[k] = 0
                    if fq > 0:
                        x_leaves[k] -= fq
                        seq += 1
                        _push(sq, sq_tail, ts + _lat_at(lat, 2, ts), seq, _EV_MAKER_FILL, x_num[k], x_px[k], fq,
                              osd, ts, x_vid[k])
                        sq_tail += 1
                        if x_leaves[k] == 0:
                            x_num[k] = -1
                            x_rseq[k] = -1
                            n_rest -= 1
            continue
        if not ((1 <= k0 <= 6) or (k0 == 0 and flags[s] & 8)):
            continue
        # ---- 2. a book message: the liquidity taken comes back, the message is applied, queues and fills
        for k in range(n_t):
            x = t_idx[k]
            if x >= 0:
                cb[x] = 0
            else:
                ca[-1 - x] = 0
        n_t = 0
        for j in range(s, e):
            kj = kind[j]
            if kj == 1:
                if not have_base:
                    base = price[j] - half * tick
                    have_base = True
                idx = (price[j] - base) // tick
                if 0 <= idx < ladder:
                    _apply_level(bq, aq, best, side[j], idx, qty[j])
                else:
                    out_of_range += 1
            elif kj == 2:
                if side[j] != 2:
                    bq[:] = 0
                    best[0] = -1
                if side[j] != 1:
                    aq[:] = 0
                    best[1] = -1
        if n_rest > 0:
            for k in range(hw):
                if x_num[k] < 0 or x_rseq[k] < 0:
                    continue
                idx = (x_px[k] - base) // tick
                lq = 0
                if 0 <= idx < ladder:
                    lq = bq[idx] if x_side[k] == 1 else aq[idx]
                x_front[k] = min(x_front[k], lq)
            # resting orders the opposite best moved through fill whole at their price: bids, then asks
            for sd in (1, 2):
                ob = best[1] if sd == 1 else best[0]
                if ob < 0:
                    continue
                m = _collect(x_num, x_side, x_px, x_rseq, hw, sd, base + ob * tick, buf)
                for c in range(m):
                    k = buf[c]
                    seq += 1
                    _push(sq, sq_tail, ts + _lat_at(lat, 2, ts), seq, _EV_MAKER_FILL, x_num[k], x_px[k],
                          x_leaves[k], sd, ts, x_vid[k])
                    sq_tail += 1
                    x_leaves[k] = 0
                    x_num[k] = -1
                    x_rseq[k] = -1
                    n_rest -= 1
        # ---- 3. the strategy
        nr = user_strategy(ts, bq, aq, best[0], best[1], base, tick, position, orders, params, fparams, state,
                           req)
        if nr < 0 or nr > req.shape[0]:
            err |= _ERR_REQUEST
            break
        et = ts + _lat_at(lat, 1, ts)
        rq_tail, seq, next_num, n_orders, e2 = _send(req, nr, orders, rq, rq_tail, seq, next_num, n_orders, et, ts)
        err |= e2
        if err:
            break
    return n_fills, n_orders, out_of_range, position, err


user_strategy = _noop_strategy  # the names the kernel calls (replaced by orders_kernel_for)
user_on_fill = _noop_on_fill
_ORDER_KERNELS: dict[Any, Any] = {}


def orders_kernel_for(strategy: Any, on_fill: Any = None) -> Any:
    """The general-order kernel with the ``@njit`` functions ``strategy`` (and ``on_fill``) compiled in (once
    per process and pair of functions)."""
    key = (strategy, on_fill)
    k = _ORDER_KERNELS.get(key)
    if k is None:
        import types

        py = _orders_loop.py_func
        g = dict(py.__globals__)
        g["user_strategy"] = strategy
        g["user_on_fill"] = on_fill if on_fill is not None else _noop_on_fill
        k = njit(nogil=True)(types.FunctionType(py.__code__, g, "_orders_loop_custom"))
        _ORDER_KERNELS[key] = k
    return k


_ERRORS = ((_ERR_FILLS, "more fills than max_fills"), (_ERR_QUEUE, "more than 4,080 messages in flight"),
           (_ERR_TABLE, "a submit with every slot of the strategy's order table (max_orders) in use"),
           (_ERR_VENUE, "more working orders at the venue than max_orders"),
           (_ERR_CANCEL, "a cancel of an order that is not in the strategy's table or already being canceled or "
                         "modified, or a modify of an order that is not accepted (status 2) and resting"),
           (_ERR_REQUEST, "a malformed request (kind, side, qty > 0, type) or a request count outside "
                          "0..max_requests"),
           (_ERR_TAKEN, "more than 4,096 levels taken between two book messages"))


def run_numba_orders(events: np.ndarray, instrument: Any, strategy: Any, *, on_fill: Any = None,
                     instrument_id: int = 0,
                     params: np.ndarray | None = None, fparams: np.ndarray | None = None, state_size: int = 16,
                     entry_latency_ns: int = 0, response_latency_ns: int = 0, latency: Any = None,
                     maker_fee: str = "0", taker_fee: str = "0", fee_currency: str | None = None,
                     max_orders: int = 64, max_requests: int = 16, ladder: int = 1 << 18,
                     max_fills: int | None = None) -> NumbaResult:
    """Run the ``@njit`` ``strategy`` (see the module docstring) over ``events`` with the general order API.

    ``on_fill``: an optional ``@njit`` function ``on_fill(ts, side, price, qty, order_id, liquidity (1 maker,
    2 taker), bq, aq, best_bid_idx, best_ask_idx, base, tick, position, orders, params, fparams, state, req)
    -> int`` called when a fill reaches the strategy (after the table and position took it; ``ts`` = its
    arrival time), writing requests as ``strategy`` does (the Python engine's ``on_fill``).

    Returns a :class:`~shrivenquant.backtest.numba_mode.NumbaResult`: ``fills`` (:data:`FILL_DTYPE`, fees
    filled in; ``order`` is the venue order id), ``orders`` (submits sent), ``position`` (raw), ``state``
    (the strategy's state array), ``orders_table`` (the final order table), ``accepted``, ``rejected``,
    ``canceled``, ``expired`` (self-trade prevention) and ``cancel_rejected`` counts, ``out_of_range``,
    ``events``, ``wall_seconds``. Raises :class:`ValidationError` when a capacity is exceeded or the strategy
    sends a malformed request or a cancel of an order it does not have open.
    """
    import time

    from shrivenquant.oms.fees import FeeModel
    from shrivenquant.sim.exchange import _Market, _round_half_even

    if events.dtype != EVENT_DTYPE:
        raise ValidationError(f"expected an EVENT_DTYPE array, got dtype {events.dtype}")
    if ladder < 16 or max_orders < 1 or max_requests < 1 or state_size < 1:
        raise ValidationError("run_numba_orders needs ladder >= 16, max_orders >= 1, max_requests >= 1, "
                              "state_size >= 1")
    lat = _latency_table(latency, entry_latency_ns, response_latency_ns)
    params = np.ascontiguousarray(params if params is not None else np.zeros(1), dtype=np.int64)
    fparams = np.ascontiguousarray(fparams if fparams is not None else np.zeros(1), dtype=np.float64)
    sp = instrument.size_precision
    tick = instrument.price_tick.raw_at(instrument.price_precision)
    step = instrument.size_step.raw_at(sp) * instrument.lot_size
    min_qty = instrument.min_qty.raw_at(sp) if instrument.min_qty is not None else 0
    max_qty = instrument.max_qty.raw_at(sp) if instrument.max_qty is not None else 0
    probe = _Market(0, instrument, None, None)  # type: ignore[arg-type]
    mn_a, mn_b = probe.min_notional if probe.min_notional is not None else (0, 1)
    if mn_a >= 2**63 or mn_b >= 2**63:
        raise ValidationError("the instrument's minimum notional does not fit the Numba venue's int64 arithmetic")
    fills = np.zeros(max_fills if max_fills is not None else 2 * events.size + 16, FILL_DTYPE)
    state = np.zeros(state_size, np.int64)
    orders = np.zeros((max_orders, 7), np.int64)
    req = np.zeros((max_requests, 6), np.int64)
    stats = np.zeros(9, np.int64)
    kernel = orders_kernel_for(strategy, on_fill)
    t0 = time.perf_counter()
    n_fills, n_orders, oor, pos, err = kernel(
        events["kind"], events["side"], events["price"], events["qty"], events["flags"], events["ts_local"],
        events["instrument_id"], np.uint32(instrument_id), np.int64(tick), np.int64(step), np.int64(min_qty),
        np.int64(max_qty), np.int64(mn_a), np.int64(mn_b), np.int64(probe.mult), lat, np.int64(ladder), params,
        fparams, state, orders, req, fills, stats, on_fill is not None)
    wall = time.perf_counter() - t0
    if err:
        what = "; ".join(msg for bit, msg in _ERRORS if err & bit)
        raise ValidationError(f"the Numba order kernel stopped: {what}")
    fills = fills[:n_fills].copy()
    fees = FeeModel(currency=fee_currency or instrument.settlement or instrument.quote, maker_rate=maker_fee,
                    taker_rate=taker_fee)
    m = _Market(0, instrument, None, fees)  # type: ignore[arg-type]
    fills["fee_precision"] = m.fee_cur.precision
    for r in range(fills.size):
        notional = int(fills["price"][r]) * int(fills["qty"][r]) * m.mult
        rate = m.fee_maker if fills["liquidity"][r] == 1 else m.fee_taker
        fills["fee"][r] = _round_half_even(notional * rate * m.fee_scale, m.fee_den)
    return NumbaResult(fills=fills, orders=int(n_orders), position=int(pos), out_of_range=int(oor),
                       events=int(events.size), wall_seconds=wall, state=state, orders_table=orders,
                       accepted=int(stats[_EV_ACCEPTED]), rejected=int(stats[_EV_REJECTED]),
                       canceled=int(stats[_EV_CANCELED]), expired=int(stats[_EV_EXPIRED]),
                       cancel_rejected=int(stats[_EV_CANCEL_REJECTED]), modified=int(stats[_EV_MODIFIED]),
                       modify_rejected=int(stats[_EV_MODIFY_REJECTED]))
