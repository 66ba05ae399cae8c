"""Numba mode: the whole backtest loop (book, simulated exchange, latency, strategy) in one ``@njit`` kernel
over the event arrays, hftbacktest style, for research speed.

The strategy is a *quoting* function, itself ``@njit``, called after every book message of the traded
instrument::

    @njit
    def quote(params, ts, best_bid, best_ask, bid_qty, ask_qty, position, tick, out):
        out[0] = bid price (raw); out[1] = ask price; out[2] = 1 to quote the bid (0 not); out[3] = same for ask

The kernel keeps one post-only GTC order per side exactly as the Python
:class:`~shrivenquant.backtest.strategies.MarketMaker` does (a quote whose price changed is canceled; the
replacement goes out after the cancel is confirmed), and models the venue exactly as the Python engine and
:class:`~shrivenquant.sim.SimulatedExchange` do for such orders: constant entry and response latencies,
requests and venue events ordered by (time, sequence), post-only rejection on arrival, the risk-averse
queue model (trades at the price advance the queue; the level shrinking below the order moves it), fills
when a trade or the book goes through the price. :func:`mm_quote` is the Python ``MarketMaker``'s rule, so
both modes give the same fills on the same data (``tests/test_backtest_numba.py``).

A second kernel runs *takers* (:func:`run_numba_taker`): an ``@njit`` function ``take(...)`` called after every
book message may send a market (IOC) order on either side, reduce-only or not; the venue applies the Python
exchange's rules to it (lot, min/max quantity, min notional, reduce-only, the book walked level by level,
liquidity taken not available again until the next book message). :func:`imbalance_take` is the Python
``ImbalanceTaker``'s rule, so both modes give the same fills. Both kernels take constant or interpolated
latencies (:class:`~shrivenquant.sim.InterpolatedLatency`'s exact integer rule) and the quoting kernel the
risk-averse, ``power<n>`` and ``log`` queue models.

The L2 book is a dense ladder of ``ladder`` ticks (default 2**18) centred on the first price; levels
outside it are ignored and counted (``out_of_range``): size it so the top of book stays inside. Orders
bypass the OMS and risk engine (research mode); fees are computed after the loop with the exchange's exact
integer rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from shrivenquant.backtest.engine import FILL_DTYPE
from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import ValidationError

__all__ = ["NumbaResult", "imbalance_take", "kernel_for", "ladder_depth_sum", "mm_quote", "run_numba",
           "run_numba_taker", "taker_kernel_for"]

_NULL = np.iinfo(np.int64).min


@njit(cache=True, nogil=True)
def mm_quote(params: np.ndarray, ts: int, best_bid: int, best_ask: int, bid_qty: int, ask_qty: int,  # noqa: PLR0917
             position: int, tick: int, out: np.ndarray) -> None:
    """The :class:`MarketMaker` rule; ``params = [offset_ticks, skew_qty, max_position]`` (raw ints)."""
    offset, skew_qty, max_pos = params[0], params[1], params[2]
    skew = position // skew_qty
    bid = best_bid - (offset + skew) * tick
    ask = best_ask + (offset - skew) * tick
    bid = min(bid, best_ask - tick)
    ask = max(ask, best_bid + tick)
    out[0] = bid
    out[1] = ask
    out[2] = 1 if position < max_pos else 0
    out[3] = 1 if -position < max_pos else 0


@njit(cache=True, nogil=True)
def _apply_level(bq: np.ndarray, aq: np.ndarray, best: np.ndarray, side: int, idx: int,  # noqa: PLR0917
                 q: int) -> None:
    n = bq.shape[0]
    if side == 1:
        bq[idx] = q
        if q > 0:
            if best[0] < 0 or idx > best[0]:
                best[0] = idx
        elif idx == best[0]:
            j = idx - 1
            while j >= 0 and bq[j] == 0:
                j -= 1
            best[0] = j
    else:
        aq[idx] = q
        if q > 0:
            if best[1] < 0 or idx < best[1]:
                best[1] = idx
        elif idx == best[1]:
            j = idx + 1
            while j < n and aq[j] == 0:
                j += 1
            best[1] = j if j < n else -1


@njit(cache=True, nogil=True)
def _prob_front(queue_kind: int, n: float, front: int, cum_trade: int, prev_qty: int,  # noqa: PLR0917
                new_qty: int) -> int:
    """:meth:`ProbQueue.depth` (``queue_kind`` 1: ``f(x) = x**n``, 2: ``log(1 + x)``), the same float
    operations in the same order, rounded half to even like Python's ``round``."""
    chg = prev_qty - new_qty - cum_trade
    if chg <= 0:
        return new_qty if new_qty < front else front
    back = prev_qty - front
    b = float(max(back, 0))
    f = float(max(front, 0))
    if queue_kind == 1:
        fb = b**n
        ff = f**n
    else:
        fb = math.log1p(b)
        ff = math.log1p(f)
    p = fb / (fb + ff) if fb + ff > 0 else 1.0
    if not math.isfinite(p):
        p = 1.0
    est = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
    r = math.floor(est)
    d = est - r
    if d > 0.5 or (d == 0.5 and r % 2 == 1):
        r += 1.0
    est_raw = int(r)
    est_raw = min(est_raw, new_qty)
    return max(est_raw, 0)


@njit(cache=True, nogil=True)
def _lat_at(lat: np.ndarray, row: int, ts: int) -> int:
    """Latency at ``ts`` from ``lat`` = rows (sample times, entry, response): :class:`InterpolatedLatency`'s
    exact integer interpolation (floor), flat outside; one sample = a constant latency."""
    t = lat[0]
    v = lat[row]
    if t.shape[0] == 1:
        return v[0]
    i = np.searchsorted(t, ts, side="right")
    if i == 0:
        return v[0]
    if i == t.shape[0]:
        return v[-1]
    t0 = t[i - 1]
    t1 = t[i]
    if t1 == t0:
        return v[i]
    return v[i - 1] + (v[i] - v[i - 1]) * (ts - t0) // (t1 - t0)


def _latency_table(latency: Any, entry_ns: int, response_ns: int) -> np.ndarray:
    """The kernels' latency rows (times, entry, response) from a latency model or two constants. Requests
    and venue events stay in FIFO order only if ``t + latency(t)`` never decreases: a model whose latency
    falls faster than time passes is refused."""
    from shrivenquant.sim.latency import ConstantLatency, InterpolatedLatency

    if latency is None:
        if entry_ns < 0 or response_ns < 0:
            raise ValidationError("latencies must be >= 0 ns")
        return np.array([[0], [entry_ns], [response_ns]], dtype=np.int64)
    if isinstance(latency, ConstantLatency):
        return np.array([[0], [latency.entry_ns], [latency.response_ns]], dtype=np.int64)
    if not isinstance(latency, InterpolatedLatency):
        raise ValidationError(f"the Numba mode takes a ConstantLatency or InterpolatedLatency, got {latency!r}")
    t, e, r = latency._ts, latency._entry, latency._response  # read only
    dt = np.diff(t)
    for v in (e, r):
        dv = np.diff(v)
        if ((dt > 0) & (dv < -dt)).any() or ((dt == 0) & (dv < 0)).any():
            raise ValidationError("the latency falls faster than time passes somewhere: requests would overtake "
                                  "each other, which the Numba mode's FIFO queues do not model (use the Python engine)")
        if t.size > 1 and float(np.abs(dv).max()) * float(dt.max()) >= 2.0**62:
            raise ValidationError("latency samples too far apart for the Numba mode's int64 interpolation")
    return np.ascontiguousarray(np.vstack((t, e, r)), dtype=np.int64)


@njit(cache=True, nogil=True)
def _push(q: np.ndarray, tail: int, t: int, seq: int, typ: int, num: int, px: int, qty: int, sd: int,  # noqa: PLR0917
          ts_event: int, vid: int) -> None:
    row = q[tail % q.shape[0]]
    row[0] = t
    row[1] = seq
    row[2] = typ
    row[3] = num
    row[4] = px
    row[5] = qty
    row[6] = sd
    row[7] = ts_event
    row[8] = vid


@njit(cache=True, nogil=True)
def _loop(kind, side, price, qty, flags, ts_local, iid, instrument, tick, step, order_qty,  # noqa: PLR0917
          lat, ladder, queue_kind, queue_n, params, fills):  # pragma: no cover - compiled
    n = kind.shape[0]
    half = ladder // 2
    bq = np.zeros(ladder, np.int64)
    aq = np.zeros(ladder, np.int64)
    best = np.full(2, -1, np.int64)
    base = np.int64(0)
    have_base = False
    out_of_range = 0
    # working orders at the venue: order number (-1 free), side, price, leaves, queue front, venue id
    cap = 8
    overflow = 0
    x_num = np.full(cap, -1, np.int64)
    x_side = np.zeros(cap, np.int64)
    x_px = np.zeros(cap, np.int64)
    x_leaves = np.zeros(cap, np.int64)
    x_front = np.zeros(cap, np.int64)
    x_vid = np.zeros(cap, np.int64)
    x_cum = np.zeros(cap, np.int64)  # trade quantity at the order's price since its level last changed
    x_prev = np.zeros(cap, np.int64)  # level size before the current book message
    x_touch = np.zeros(cap, np.bool_)  # a record of the current message is at the order's level
    # FIFO queues of rows (t, seq, type, order number, px, qty, side, ts_event, venue id):
    # requests (type 0 submit, 1 cancel) and venue events (0 accepted, 1 rejected, 2 canceled, 3 filled,
    # 4 cancel rejected); with constant latencies each queue is already in time order
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
    s_num = np.full(2, -1, np.int64)  # the strategy's order per side (0 bid, 1 ask)
    s_px = np.zeros(2, np.int64)
    s_filled = np.zeros(2, np.int64)
    s_cancel = np.zeros(2, np.bool_)
    position = 0
    n_fills = 0
    n_orders = 0
    out = np.zeros(4, np.int64)
    start = 0
    last_ts = ts_local[n - 1] if n > 0 else 0
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
                typ = row[2]
                num = row[3]
                px = row[4]
                sd = row[6]
                seq += 1
                if typ == 0:  # a post-only GTC limit order arrives
                    crosses = False
                    if sd == 1:
                        crosses = best[1] >= 0 and base + best[1] * tick <= px
                    else:
                        crosses = best[0] >= 0 and base + best[0] * tick >= px
                    if crosses:
                        _push(sq, sq_tail, t + _lat_at(lat, 2, t), seq, 1, num, px, 0, sd, t, 0)
                        sq_tail += 1
                    else:
                        _push(sq, sq_tail, t + _lat_at(lat, 2, t), seq, 0, num, px, 0, sd, t, next_vid)
                        sq_tail += 1
                        placed = False
                        for k in range(cap):
                            if x_num[k] < 0:
                                placed = True
                                x_num[k] = num
                                x_side[k] = sd
                                x_px[k] = px
                                x_leaves[k] = order_qty
                                x_vid[k] = next_vid
                                idx = (px - base) // tick
                                lq = 0
                                if 0 <= idx < ladder:
                                    lq = bq[idx] if sd == 1 else aq[idx]
                                x_front[k] = lq
                                x_cum[k] = 0
                                break
                        if not placed:
                            overflow += 1
                        next_vid += 1
                else:  # a cancel arrives
                    found = -1
                    for k in range(cap):
                        if x_num[k] == num:
                            found = k
                            break
                    if found >= 0:
                        _push(sq, sq_tail, t + _lat_at(lat, 2, t), seq, 2, num, px, 0, sd, t, x_vid[found])
                        x_num[found] = -1
                    else:
                        _push(sq, sq_tail, t + _lat_at(lat, 2, t), seq, 4, num, px, 0, sd, t, 0)
                    sq_tail += 1
            else:
                row = sq[sq_head % qcap]
                sq_head += 1
                typ = row[2]
                num = row[3]
                if typ == 3:
                    q = row[5]
                    position += q if row[6] == 1 else -q
                    if n_fills >= fills.shape[0]:
                        overflow += 1
                        continue
                    f = fills[n_fills]
                    f["ts"] = row[7]
                    f["instrument"] = instrument
                    f["side"] = row[6]
                    f["liquidity"] = 1
                    f["price"] = row[4]
                    f["qty"] = q
                    f["order"] = row[8]
                    n_fills += 1
                for k in range(2):
                    if s_num[k] == num:
                        if typ == 3:
                            s_filled[k] += row[5]
                            if s_filled[k] >= order_qty:
                                s_num[k] = -1
                        elif typ in {1, 2}:
                            s_num[k] = -1
        if rq_tail - rq_head >= qcap - 16 or sq_tail - sq_head >= qcap - 16:
            overflow += 1  # more requests/events in flight than the ring holds: stop (reported as an error)
            break
        if final:
            break
        if iid[s] != instrument:
            continue
        k0 = kind[s]
        if k0 == 7:  # trades: queue advance at the price, fills through it
            for j in range(s, e):
                tpx = price[j]
                tq = qty[j]
                agg = side[j]
                for k in range(cap):
                    if x_num[k] < 0:
                        continue
                    hit = (agg == 2 and x_side[k] == 1 and x_px[k] >= tpx) or (
                        agg == 1 and x_side[k] == 2 and x_px[k] <= tpx)
                    if not hit:
                        continue
                    fq = 0
                    if x_px[k] != tpx:
                        fq = x_leaves[k]
                    else:
                        x_front[k] -= tq
                        x_cum[k] += tq
                        if x_front[k] < 0:
                            fq = min(-x_front[k], x_leaves[k]) // step * step  # whole lots
                            x_front[k] = 0
                    if fq > 0:
                        x_leaves[k] -= fq
                        seq += 1
                        _push(sq, sq_tail, ts + _lat_at(lat, 2, ts), seq, 3, x_num[k], x_px[k], fq, x_side[k], ts,
                              x_vid[k])
                        sq_tail += 1
                        if x_leaves[k] == 0:
                            x_num[k] = -1
            continue
        if not ((1 <= k0 <= 6) or (k0 == 0 and flags[s] & 8)):
            continue
        # ---- 2. apply the book message (probabilistic queue models see the level sizes before and after it)
        if queue_kind != 0:
            working = False
            for k in range(cap):
                x_touch[k] = False
                if x_num[k] >= 0:
                    working = True
                    idx = (x_px[k] - base) // tick
                    lq = 0
                    if 0 <= idx < ladder:
                        lq = bq[idx] if x_side[k] == 1 else aq[idx]
                    x_prev[k] = lq
            if working:
                for j in range(s, e):
                    kj = kind[j]
                    if kj in {1, 2}:
                        for k in range(cap):
                            if x_num[k] >= 0 and (kj == 2 or (side[j] == x_side[k] and price[j] == x_px[k])):
                                x_touch[k] = True
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
        # risk-averse queue, then resting orders the book moved through (bids first, then asks)
        for sd in (1, 2):
            for k in range(cap):
                if x_num[k] < 0 or x_side[k] != sd:
                    continue
                idx = (x_px[k] - base) // tick
                lq = 0
                if 0 <= idx < ladder:
                    lq = bq[idx] if sd == 1 else aq[idx]
                if queue_kind == 0:
                    x_front[k] = min(x_front[k], lq)
                elif x_touch[k]:
                    x_front[k] = _prob_front(queue_kind, queue_n, x_front[k], x_cum[k], x_prev[k], lq)
                    x_cum[k] = 0
                else:
                    x_front[k] = min(x_front[k], lq)
                if sd == 1:
                    through = best[1] >= 0 and base + best[1] * tick <= x_px[k]
                else:
                    through = best[0] >= 0 and base + best[0] * tick >= x_px[k]
                if through:
                    seq += 1
                    _push(sq, sq_tail, ts + _lat_at(lat, 2, ts), seq, 3, x_num[k], x_px[k], x_leaves[k], sd, ts,
                          x_vid[k])
                    sq_tail += 1
                    x_leaves[k] = 0
                    x_num[k] = -1
        # ---- 3. the strategy
        if best[0] < 0 or best[1] < 0:
            continue
        bb = base + best[0] * tick
        ba = base + best[1] * tick
        mm_quote(params, ts, bb, ba, bq[best[0]], aq[best[1]], position, tick, out)
        for k in range(2):
            px = out[k]
            allowed = out[2 + k] != 0
            if s_num[k] < 0:
                if allowed:
                    num = next_num
                    next_num += 1
                    n_orders += 1
                    s_num[k] = num
                    s_px[k] = px
                    s_filled[k] = 0
                    s_cancel[k] = False
                    seq += 1
                    _push(rq, rq_tail, ts + _lat_at(lat, 1, ts), seq, 0, num, px, 0, 1 + k, ts, 0)
                    rq_tail += 1
            elif not s_cancel[k] and (s_px[k] != px or not allowed):
                s_cancel[k] = True
                seq += 1
                _push(rq, rq_tail, ts + _lat_at(lat, 1, ts), seq, 1, s_num[k], s_px[k], 0, 1 + k, ts, 0)
                rq_tail += 1
    return n_fills, n_orders, out_of_range, position, overflow


_KERNELS: dict[Any, Any] = {}


def kernel_for(quote: Any) -> Any:
    """The loop kernel with ``quote`` in place of :func:`mm_quote` (compiled once per process and function;
    only the built-in kernel is cached on disk)."""
    k = _KERNELS.get(quote)
    if k is None:
        import types

        py = _loop.py_func
        g = dict(py.__globals__)
        g["mm_quote"] = quote
        k = njit(nogil=True)(types.FunctionType(py.__code__, g, "_loop_custom"))
        _KERNELS[quote] = k
    return k


class NumbaResult:
    """Fills (:data:`~shrivenquant.backtest.engine.FILL_DTYPE`, fees filled in), orders sent, final
    position (raw), levels outside the ladder, events and wall seconds of the kernel."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def run_numba(events: np.ndarray, instrument: Any, *, instrument_id: int = 0, qty: int,
              params: np.ndarray | None = None, quote: Any = None, entry_latency_ns: int = 0,
              response_latency_ns: int = 0, maker_fee: str = "0", fee_currency: str | None = None,
              ladder: int = 1 << 18, max_fills: int | None = None, queue: str = "risk_averse",
              latency: Any = None) -> NumbaResult:
    """Run the Numba-mode market maker over ``events`` (records of a synchronised book stream).

    ``quote`` is an ``@njit`` quoting function (default :func:`mm_quote`, with
    ``params = [offset_ticks, skew_qty, max_position]`` raw); ``qty`` the raw order size; ``queue`` the L2
    queue model by name, as in :class:`~shrivenquant.backtest.VenueConfig` (``risk_averse``, ``power<n>``,
    ``log``); ``latency`` a :class:`~shrivenquant.sim.ConstantLatency` or
    :class:`~shrivenquant.sim.InterpolatedLatency` (overrides the two constants).
    """
    import time

    from shrivenquant.oms.fees import FeeModel
    from shrivenquant.sim.exchange import _Market, _round_half_even

    if events.dtype != EVENT_DTYPE:
        raise ValidationError(f"expected an EVENT_DTYPE array, got dtype {events.dtype}")
    if qty <= 0 or ladder < 16:
        raise ValidationError("run_numba needs qty > 0 and ladder >= 16")
    lat = _latency_table(latency, entry_latency_ns, response_latency_ns)
    if params is None:
        params = np.array([0, qty, 10 * qty], dtype=np.int64)
    params = np.ascontiguousarray(params, dtype=np.int64)
    tick = instrument.price_tick.raw_at(instrument.price_precision)
    step = instrument.size_step.raw_at(instrument.size_precision) * instrument.lot_size
    if qty % step:
        raise ValidationError(f"qty {qty} (raw) is not a multiple of the lot {step}")
    from shrivenquant.backtest.engine import queue_model_from_name

    queue_model_from_name(queue)  # validates the name
    if queue == "risk_averse":
        queue_kind, queue_n = 0, 0.0
    elif queue == "log":
        queue_kind, queue_n = 2, 0.0
    else:  # power<n>, parsed as the Python engine parses it
        queue_kind, queue_n = 1, float(queue[5:] or 2)
    fills = np.zeros(max_fills if max_fills is not None else 2 * events.size + 16, FILL_DTYPE)
    t0 = time.perf_counter()
    args = (events["kind"], events["side"], events["price"], events["qty"], events["flags"], events["ts_local"],
            events["instrument_id"], np.uint32(instrument_id), np.int64(tick), np.int64(step), np.int64(qty),
            lat, np.int64(ladder))
    kernel = _loop if quote is None or quote is mm_quote else kernel_for(quote)
    n_fills, n_orders, oor, pos, overflow = kernel(*args, np.int64(queue_kind), np.float64(queue_n), params, fills)
    wall = time.perf_counter() - t0
    if overflow:
        raise ValidationError(f"{overflow} orders, fills or in-flight messages exceeded the Numba venue's "
                              "capacity (8 working orders, max_fills fills, 4,080 messages in flight)")
    fills = fills[:n_fills].copy()
    fees = FeeModel(currency=fee_currency or instrument.settlement or instrument.quote, maker_rate=maker_fee)
    m = _Market(0, instrument, None, fees)  # type: ignore[arg-type]
    fills["fee_precision"] = m.fee_cur.precision
    for r in range(fills.size):
        notional = int(fills["price"][r]) * int(fills["qty"][r]) * m.mult
        fills["fee"][r] = _round_half_even(notional * m.fee_maker * m.fee_scale, m.fee_den)
    return NumbaResult(fills=fills, orders=int(n_orders), position=int(pos), out_of_range=int(oor),
                       events=int(events.size), wall_seconds=wall)


# ---------------------------------------------------------------------------------------------------- takers
@njit(cache=True, nogil=True)
def ladder_depth_sum(q: np.ndarray, best: int, levels: int, step: int) -> int:
    """Sum of the ``levels`` best non-empty levels of one side of a ladder, from index ``best`` in direction
    ``step`` (-1 bids, +1 asks); 0 if the side is empty (``best < 0``)."""
    s = 0
    c = 0
    j = best
    n = q.shape[0]
    while 0 <= j < n and c < levels:
        if q[j] > 0:
            s += q[j]
            c += 1
        j += step
    return s


@njit(cache=True, nogil=True)
def imbalance_take(params: np.ndarray, fparams: np.ndarray, state: np.ndarray, ts: int,  # noqa: PLR0917
                   bq: np.ndarray, aq: np.ndarray, best_bid: int, best_ask: int, base: int, tick: int,
                   position: int, out: np.ndarray) -> None:
    """The :class:`ImbalanceTaker` rule (market orders). ``params = [qty, levels, max_position,
    cooldown_ns]`` (raw ints), ``fparams = [threshold]``; ``state[0]`` is the time the next order may go out."""
    out[0] = 0
    out[3] = 0
    if ts < state[0]:
        return
    b = ladder_depth_sum(bq, best_bid, params[1], -1)
    a = ladder_depth_sum(aq, best_ask, params[1], 1)
    if b + a == 0:
        return
    imb = (b - a) / (b + a)
    qty = params[0]
    max_pos = params[2]
    thr = fparams[0]
    if imb >= thr and position + qty <= max_pos:
        out[0], out[1], out[2] = 1, qty, 0
    elif imb <= -thr and position - qty >= -max_pos:
        out[0], out[1], out[2] = 2, qty, 0
    elif position > 0 and imb < 0:
        out[0], out[1], out[2] = 2, position, 1
    elif position < 0 and imb > 0:
        out[0], out[1], out[2] = 1, -position, 1
    else:
        return
    state[0] = ts + params[3]


@njit(cache=True, nogil=True)
def _taker_loop(kind, side, price, qty, flags, ts_local, iid, instrument, tick, step, min_qty,  # noqa: PLR0917
                max_qty, mn_a, mn_b, mult, lat, ladder, params, fparams, state,
                fills):  # pragma: no cover
    n = kind.shape[0]
    half = ladder // 2
    bq = np.zeros(ladder, np.int64)
    aq = np.zeros(ladder, np.int64)
    best = np.full(2, -1, np.int64)
    base = np.int64(0)
    have_base = False
    out_of_range = 0
    overflow = 0
    # liquidity the strategy took per ladder index (bids, asks) since the last book message
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
    xpos = 0  # the venue's view of the position (reduce-only)
    position = 0  # the strategy's view: fills received
    n_fills = 0
    n_orders = 0
    out = np.zeros(4, np.int64)
    start = 0
    last_ts = ts_local[n - 1] if n > 0 else 0
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
            if use_r:  # a market (IOC) order reaches the venue: rules, then walk the opposite side
                row = rq[rq_head % qcap]
                rq_head += 1
                t = row[0]
                num = row[3]
                reduce = row[4] != 0
                oq = row[5]
                sd = row[6]
                limit = row[8]  # 0: market; else an IOC limit price
                reject = oq % step != 0 or oq < min_qty or (max_qty > 0 and oq > max_qty)
                if not reject and limit != 0 and (limit < 0 or limit % tick != 0):
                    reject = True
                if not reject and mn_a > 0:  # min notional at the limit, or the opposite best (exact ints)
                    ob = best[1] if sd == 1 else best[0]
                    if limit != 0 or ob >= 0:
                        opx = limit if limit != 0 else base + ob * tick
                        if float(opx) * float(oq) * float(mult) * float(mn_b) < 9.0e18:
                            reject = opx * oq * mult * mn_b < mn_a
                if not reject and reduce and not ((xpos > 0 and sd == 2) or (xpos < 0 and sd == 1)):
                    reject = True
                seq += 1
                if reject:
                    _push(sq, sq_tail, t + _lat_at(lat, 2, t), seq, 1, num, 0, 0, sd, t, 0)
                    sq_tail += 1
                    continue
                vid = next_vid
                next_vid += 1
                _push(sq, sq_tail, t + _lat_at(lat, 2, t), seq, 0, num, 0, 0, sd, t, vid)
                sq_tail += 1
                leaves = oq
                j = best[1] if sd == 1 else best[0]
                while 0 <= j < ladder and leaves > 0:
                    if limit != 0 and ((sd == 1 and base + j * tick > limit) or (sd == 2 and base + j * tick < limit)):
                        break
                    lvl = aq[j] if sd == 1 else bq[j]
                    used = ca[j] if sd == 1 else cb[j]
                    avail = lvl - used
                    if avail > 0:
                        q = min(avail, leaves)
                        if reduce:
                            reduces = (xpos > 0 and sd == 2) or (xpos < 0 and sd == 1)
                            q = min(q, abs(xpos)) if reduces else 0
                            if q == 0:
                                break
                        if used == 0:
                            if n_t < tcap:
                                t_idx[n_t] = j if sd == 2 else -1 - j
                                n_t += 1
                            else:
                                overflow += 1
                        if sd == 1:
                            ca[j] += q
                        else:
                            cb[j] += q
                        leaves -= q
                        xpos += q if sd == 1 else -q
                        seq += 1
                        _push(sq, sq_tail, t + _lat_at(lat, 2, t), seq, 3, num, base + j * tick, q, sd, t, vid)
                        sq_tail += 1
                    j += 1 if sd == 1 else -1
                if leaves > 0:
                    seq += 1
                    _push(sq, sq_tail, t + _lat_at(lat, 2, t), seq, 2, num, 0, 0, sd, t, vid)
                    sq_tail += 1
            else:
                row = sq[sq_head % qcap]
                sq_head += 1
                if row[2] == 3:
                    q = row[5]
                    position += q if row[6] == 1 else -q
                    if n_fills >= fills.shape[0]:
                        overflow += 1
                        continue
                    f = fills[n_fills]
                    f["ts"] = row[7]
                    f["instrument"] = instrument
                    f["side"] = row[6]
                    f["liquidity"] = 2
                    f["price"] = row[4]
                    f["qty"] = q
                    f["order"] = row[8]
                    n_fills += 1
        if rq_tail - rq_head >= qcap - 16 or sq_tail - sq_head >= qcap - 16:
            overflow += 1
            break
        if final:
            break
        if iid[s] != instrument:
            continue
        k0 = kind[s]
        if not ((1 <= k0 <= 6) or (k0 == 0 and flags[s] & 8)):
            continue
        # a book message: the liquidity taken comes back, then the message is applied
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
        mm_take(params, fparams, state, ts, bq, aq, best[0], best[1], base, tick, position, out)
        if out[0] != 0:
            num = next_num
            next_num += 1
            n_orders += 1
            seq += 1
            _push(rq, rq_tail, ts + _lat_at(lat, 1, ts), seq, 0, num, out[2], out[1], out[0], ts, out[3])
            rq_tail += 1
    return n_fills, n_orders, out_of_range, position, overflow


mm_take = imbalance_take  # the name the taker kernel calls (replaced by taker_kernel_for)
_TAKER_KERNELS: dict[Any, Any] = {}


def taker_kernel_for(take: Any) -> Any:
    """The taker kernel with ``take`` in place of :func:`imbalance_take` (compiled once per process)."""
    k = _TAKER_KERNELS.get(take)
    if k is None:
        import types

        py = _taker_loop.py_func
        g = dict(py.__globals__)
        g["mm_take"] = take
        k = njit(nogil=True)(types.FunctionType(py.__code__, g, "_taker_loop_custom"))
        _TAKER_KERNELS[take] = k
    return k


def run_numba_taker(events: np.ndarray, instrument: Any, *, instrument_id: int = 0, params: np.ndarray,
                    fparams: np.ndarray | None = None, take: Any = None, entry_latency_ns: int = 0,
                    response_latency_ns: int = 0, taker_fee: str = "0", fee_currency: str | None = None,
                    ladder: int = 1 << 18, max_fills: int | None = None, latency: Any = None) -> NumbaResult:
    """Run a Numba-mode taker over ``events``: after every book message the ``@njit`` function ``take(params,
    fparams, state, ts, bid_qty_ladder, ask_qty_ladder, best_bid_index, best_ask_index, base, tick, position,
    out)`` may send one market or IOC limit order: ``out = [side (0 none, 1 buy, 2 sell), qty raw,
    reduce_only, limit price raw (0: market)]``; ``state`` is an int64 array of 8 slots the function keeps
    between calls; the price of ladder index ``j`` is ``base + j * tick`` (an index is -1 when that side is
    empty; ``ladder_depth_sum`` sums the best levels). The venue applies the
    Python exchange's rules for such orders: lot / min / max quantity (a rejected order is reported as
    such), reduce-only against the venue's position (rejected if it would not reduce, fills capped), the
    book walked level by level at the level prices up to the limit, liquidity taken not available again until
    the next book message, the unfilled rest canceled, the price tick, the minimum notional (at the limit, or
    the opposite best for a market order). Default
    ``take``: :func:`imbalance_take`, the :class:`ImbalanceTaker` rule, so both modes give the same fills
    (``tests/test_backtest_numba.py``). ``latency``: as in :func:`run_numba`."""
    import time

    from shrivenquant.oms.fees import FeeModel
    from shrivenquant.sim.exchange import _Market, _round_half_even

    if events.dtype != EVENT_DTYPE:
        raise ValidationError(f"expected an EVENT_DTYPE array, got dtype {events.dtype}")
    if ladder < 16:
        raise ValidationError("run_numba_taker needs ladder >= 16")
    lat = _latency_table(latency, entry_latency_ns, response_latency_ns)
    params = np.ascontiguousarray(params, dtype=np.int64)
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
    state = np.zeros(8, np.int64)
    t0 = time.perf_counter()
    args = (events["kind"], events["side"], events["price"], events["qty"], events["flags"], events["ts_local"],
            events["instrument_id"], np.uint32(instrument_id), np.int64(tick), np.int64(step), np.int64(min_qty),
            np.int64(max_qty), np.int64(mn_a), np.int64(mn_b), np.int64(probe.mult), lat,
            np.int64(ladder))
    kernel = _taker_loop if take is None or take is imbalance_take else taker_kernel_for(take)
    n_fills, n_orders, oor, pos, overflow = kernel(*args, params, fparams, state, fills)
    wall = time.perf_counter() - t0
    if overflow:
        raise ValidationError(f"{overflow} fills or in-flight messages exceeded the Numba venue's capacity "
                              "(max_fills fills, 4,080 messages in flight, 4,096 levels taken per book message)")
    fills = fills[:n_fills].copy()
    fees = FeeModel(currency=fee_currency or instrument.settlement or instrument.quote, taker_rate=taker_fee)
    m = _Market(0, instrument, None, fees)  # type: ignore[arg-type]
    fills["fee_precision"] = m.fee_cur.precision
    for r in range(fills.size):
        notional = int(fills["price"][r]) * int(fills["qty"][r]) * m.mult
        fills["fee"][r] = _round_half_even(notional * m.fee_taker * m.fee_scale, m.fee_den)
    return NumbaResult(fills=fills, orders=int(n_orders), position=int(pos), out_of_range=int(oor),
                       events=int(events.size), wall_seconds=wall)
