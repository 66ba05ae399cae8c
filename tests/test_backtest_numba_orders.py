"""The Numba general order API sees the same fills as the Python engine (OMS + simulated exchange)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numba import njit

from shrivenquant.backtest import BacktestEngine, Strategy, VenueConfig, generated_events
from shrivenquant.backtest.numba_orders import (
    K_CANCEL,
    K_LIMIT,
    K_MARKET,
    K_MODIFY,
    T_GTC,
    T_IOC,
    T_MARKET,
    T_POST_ONLY,
    run_numba_orders,
)
from shrivenquant.errors import ValidationError

CAP = 32


@njit(cache=True, nogil=True)
def cross_rest_cancel(ts, bq, aq, bb, ba, base, tick, position, orders, params, fparams, state, req):
    """Crossing limits that partly take and partly rest, cancels of stale resting orders, market orders to
    cut the position, IOC limits, post-only orders at the opposite best (rejected) and at the own best."""
    if bb < 0 or ba < 0:
        return 0
    bpx = base + bb * tick
    apx = base + ba * tick
    qty, max_pos, cooldown, cross, stale = params[0], params[1], params[2], params[3], params[4]
    n = 0
    for k in range(orders.shape[0]):
        if orders[k, 0] == 2 and (orders[k, 6] == T_GTC or orders[k, 6] == T_POST_ONLY):
            px = orders[k, 3]
            sd = orders[k, 2]
            stale_px = (sd == 1 and px < bpx - stale * tick) or (sd == 2 and px > apx + stale * tick)
            if stale_px and n < req.shape[0]:
                req[n, 0] = K_CANCEL
                req[n, 5] = orders[k, 1]
                n += 1
    if ts < state[0] or n >= req.shape[0]:
        return n
    c = state[1]
    bqty = bq[bb]
    aqty = aq[ba]
    sd = 0
    px = 0
    if bqty > 2 * aqty and position + qty <= max_pos:
        sd = 1
        px = apx + cross * tick
        own = bpx
        opp = apx
    elif aqty > 2 * bqty and position - qty >= -max_pos:
        sd = 2
        px = bpx - cross * tick
        own = apx
        opp = bpx
    elif position > max_pos // 2 or position < -(max_pos // 2):
        req[n, 0] = K_MARKET
        req[n, 1] = 2 if position > 0 else 1
        req[n, 3] = qty
        state[0] = ts + cooldown
        return n + 1
    else:
        return n
    m = c % 5
    req[n, 0] = K_LIMIT
    req[n, 1] = sd
    req[n, 3] = qty
    if m <= 1:
        req[n, 2] = px
        req[n, 4] = T_GTC
    elif m == 2:
        req[n, 2] = px
        req[n, 4] = T_IOC
    elif m == 3:
        req[n, 2] = opp
        req[n, 4] = T_POST_ONLY
    else:
        req[n, 2] = own
        req[n, 4] = T_POST_ONLY
    state[1] = c + 1
    state[0] = ts + cooldown
    return n + 1


@njit(cache=True, nogil=True)
def take_profit(ts, side, price, qty, order_id, liquidity, bq, aq, bb, ba, base, tick, position,
                orders, params, fparams, state, req):
    """On a maker fill: a GTC limit on the other side ``params[5]`` ticks away for the filled quantity (if more
    than 8 slots of the table are free)."""
    if liquidity != 1:
        return 0
    free = 0
    for k in range(orders.shape[0]):
        if orders[k, 0] == 0:
            free += 1
    if free <= 8:
        return 0
    req[0, 0] = K_LIMIT
    req[0, 1] = 2 if side == 1 else 1
    req[0, 2] = price + params[5] * tick if side == 1 else price - params[5] * tick
    req[0, 3] = qty
    req[0, 4] = T_GTC
    return 1


def _python_strategy(qty: int, max_pos: int, cooldown: int, cross: int, stale: int, tick: int,
                     tp: int | None = None) -> Strategy:
    from shrivenquant._native.fixed import RAW_NULL
    from shrivenquant.core.enums import TimeInForce
    from shrivenquant.core.order_events import OrderAccepted, OrderFilled
    from shrivenquant.oms.records import CancelRejected

    class CrossRestCancel(Strategy):
        """:func:`cross_rest_cancel` written against the Python engine (same slot table, same decisions)."""

        def __init__(self) -> None:
            self.slots: list[list[Any]] = [[0, None, 0, 0, 0, 0, 0] for _ in range(CAP)]
            self.by_id: dict[str, list[Any]] = {}
            self.next_ok = 0
            self.count = 0
            self.orders = 0

        def _new(self, coid: str, sd: int, px: int, typ: int) -> None:
            slot = next(s for s in self.slots if s[0] == 0)
            slot[:] = [1, coid, sd, px, qty, 0, typ]
            self.by_id[coid] = slot
            self.orders += 1

        def on_book(self, ctx: Any, instrument: int) -> None:
            book = ctx.books[instrument]
            bpx, apx = book.best_bid_price_raw, book.best_ask_price_raw
            if RAW_NULL in (bpx, apx):
                return
            for s in self.slots:
                if s[0] == 2 and s[6] in (T_GTC, T_POST_ONLY) and (
                        (s[2] == 1 and s[3] < bpx - stale * tick) or (s[2] == 2 and s[3] > apx + stale * tick)):
                    s[0] = 3
                    ctx.cancel(s[1])
            if ctx.now < self.next_ok:
                return
            pos = ctx.position_raw(instrument)
            bqty, aqty = book.best_bid_qty_raw, book.best_ask_qty_raw
            if bqty > 2 * aqty and pos + qty <= max_pos:
                sd, px, own, opp = 1, apx + cross * tick, bpx, apx
            elif aqty > 2 * bqty and pos - qty >= -max_pos:
                sd, px, own, opp = 2, bpx - cross * tick, apx, bpx
            elif pos > max_pos // 2 or pos < -(max_pos // 2):
                mo = ctx.market(instrument, 2 if pos > 0 else 1, qty)
                self._new(mo.client_order_id, 2 if pos > 0 else 1, 0, T_MARKET)
                self.next_ok = ctx.now + cooldown
                return
            else:
                return
            m = self.count % 5
            if m <= 1:
                mo = ctx.limit(instrument, sd, px, qty)
                self._new(mo.client_order_id, sd, px, T_GTC)
            elif m == 2:
                mo = ctx.limit(instrument, sd, px, qty, tif=TimeInForce.IOC)
                self._new(mo.client_order_id, sd, px, T_IOC)
            else:
                p = opp if m == 3 else own
                mo = ctx.limit(instrument, sd, p, qty, post_only=True)
                self._new(mo.client_order_id, sd, p, T_POST_ONLY)
            self.count += 1
            self.next_ok = ctx.now + cooldown

        def on_order_event(self, ctx: Any, event: Any) -> None:
            s = self.by_id.get(event.client_order_id)
            if s is None:
                return
            if isinstance(event, OrderAccepted):
                if s[0] == 1:
                    s[0] = 2
            elif isinstance(event, OrderFilled):
                s[5] += event.last_qty.raw
                if s[5] >= s[4]:
                    self._free(s)
            elif isinstance(event, CancelRejected):
                if s[0] == 3:
                    s[0] = 2
            else:  # canceled, rejected, expired
                self._free(s)

        def _free(self, s: list[Any]) -> None:
            del self.by_id[s[1]]
            s[0] = 0

    class WithTakeProfit(CrossRestCancel):
        """:func:`take_profit` as the Python engine's ``on_fill``."""

        def on_fill(self, ctx: Any, event: Any) -> None:
            from shrivenquant.core.enums import LiquiditySide, OrderSide

            if event.liquidity_side != LiquiditySide.MAKER or sum(1 for s in self.slots if s[0] == 0) <= 8:
                return
            assert tp is not None
            sd = 1 if event.order_side == OrderSide.BUY else 2
            px = event.last_px.raw + tp * tick if sd == 1 else event.last_px.raw - tp * tick
            q = event.last_qty.raw
            mo = ctx.limit(0, 3 - sd, px, q)
            slot = next(s for s in self.slots if s[0] == 0)
            slot[:] = [1, mo.client_order_id, 3 - sd, px, q, 0, T_GTC]
            self.by_id[mo.client_order_id] = slot
            self.orders += 1

    return CrossRestCancel() if tp is None else WithTakeProfit()


@pytest.fixture(scope="module")
def stream() -> tuple[np.ndarray, list[Any]]:
    ev, insts, _ = generated_events(6000, seed=3)
    return ev, insts


def _both(ev: np.ndarray, insts: list[Any], k: int, params: list[int], entry: int, resp: int,
          latency: Any = None) -> tuple[Any, Any, Any]:
    inst = insts[k]
    tick = inst.price_tick.raw_at(inst.price_precision)
    strat = _python_strategy(*params, tick)
    venue = {inst.venue: VenueConfig(entry_latency_ns=entry, response_latency_ns=resp, maker_fee="-0.0001",
                                     taker_fee="0.0004")}
    py = BacktestEngine(insts, strat, venues=venue, latency=latency).run(ev)
    nb = run_numba_orders(ev, inst, cross_rest_cancel, instrument_id=k, params=np.array(params),
                          entry_latency_ns=entry, response_latency_ns=resp, latency=latency, maker_fee="-0.0001",
                          taker_fee="0.0004", max_orders=CAP)
    return py, nb, strat


@pytest.mark.parametrize(("entry", "resp"), [(0, 0), (1_000_000, 2_000_000), (3_000_000, 0)])
def test_python_and_numba_agree_with_a_fill_callback(stream: tuple[np.ndarray, list[Any]], entry: int,
                                                     resp: int) -> None:
    """``on_fill`` (a take-profit order after every maker fill) beside the book rule: the same fills and
    orders as the Python engine's ``on_fill``."""
    ev, insts = stream
    inst = insts[0]
    tick = inst.price_tick.raw_at(inst.price_precision)
    params = [600, 3000, 20_000_000, 0, 3, 2]
    strat = _python_strategy(*params[:5], tick, tp=params[5])
    venue = {inst.venue: VenueConfig(entry_latency_ns=entry, response_latency_ns=resp, maker_fee="-0.0001",
                                     taker_fee="0.0004")}
    py = BacktestEngine(insts, strat, venues=venue).run(ev)
    nb = run_numba_orders(ev, inst, cross_rest_cancel, on_fill=take_profit, params=np.array(params),
                          entry_latency_ns=entry, response_latency_ns=resp, maker_fee="-0.0001", taker_fee="0.0004",
                          max_orders=CAP)
    base = run_numba_orders(ev, inst, cross_rest_cancel, params=np.array(params), entry_latency_ns=entry,
                            response_latency_ns=resp, maker_fee="-0.0001", taker_fee="0.0004", max_orders=CAP)
    assert py.fills.size > 20
    assert nb.orders == strat.orders == len(py.orders)
    assert nb.orders > base.orders  # the callback sent orders
    assert nb.fills.tobytes() == py.fills.tobytes()


def _statuses(py: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for o in py.orders:
        out[o["status"]] = out.get(o["status"], 0) + 1
    return out


@pytest.mark.parametrize(("params", "entry", "resp"), [
    ([600, 3000, 20_000_000, 0, 3], 0, 0),
    ([600, 3000, 20_000_000, 1, 3], 1_000_000, 2_000_000),
    ([1000, 4000, 5_000_000, 0, 1], 5_000_000, 0),
    ([300, 1500, 0, 2, 2], 250_000, 750_000),
])
def test_python_and_numba_general_orders_fills_are_identical(stream: tuple[np.ndarray, list[Any]],
                                                             params: list[int], entry: int, resp: int) -> None:
    ev, insts = stream
    py, nb, strat = _both(ev, insts, 0, params, entry, resp)
    f = py.fills
    assert f.size > 20
    assert nb.orders == strat.orders == len(py.orders)  # the same decisions
    assert nb.fills.tobytes() == f.tobytes()  # every field: time, side, price, qty, liquidity, fee, venue id
    st = _statuses(py)
    # the run exercises what it claims: maker and taker fills, rests, cancels, rejections
    assert (f["liquidity"] == 1).any() and (f["liquidity"] == 2).any()
    assert nb.rejected == st.get("REJECTED", 0) > 0
    assert nb.canceled == st.get("CANCELED", 0) > 0
    assert nb.expired == st.get("EXPIRED", 0)
    # an order that both took and rested: one venue id with taker and maker fills
    both = set(f["order"][f["liquidity"] == 1].tolist()) & set(f["order"][f["liquidity"] == 2].tolist())
    assert both


def test_python_and_numba_general_orders_agree_with_interpolated_latency(
        stream: tuple[np.ndarray, list[Any]]) -> None:
    from shrivenquant.sim.latency import InterpolatedLatency

    ev, insts = stream
    t0, t1 = int(ev["ts_local"][0]), int(ev["ts_local"][-1])
    ts = np.linspace(t0, t1, 5).astype(np.int64)
    lat = InterpolatedLatency(ts, np.array([200_000, 3_000_000, 1_000_000, 4_500_000, 2_000_000]),
                              np.array([1_500_000, 0, 2_500_000, 600_000, 900_000]))
    py, nb, _ = _both(ev, insts, 0, [600, 3000, 10_000_000, 1, 2], 0, 0, latency=lat)
    assert py.fills.size > 20
    assert nb.fills.tobytes() == py.fills.tobytes()


@pytest.mark.slow
def test_python_and_numba_general_orders_agree_on_a_real_recording(shared_data: Path) -> None:
    rec = shared_data / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
    info = shared_data / "binance-cryptofeed" / "BINANCE_FUTURES.0.gz"
    if not rec.exists() or not info.exists():
        pytest.skip("real Binance recording or exchangeInfo capture not present")
    from shrivenquant.backtest import recording_events
    from shrivenquant.venues.binance.exchange_info import load_exchange_info

    ev, table = recording_events([str(rec)], load_exchange_info(info))
    k = next(i for i, inst in enumerate(table) if inst is not None and inst.symbol == "BTCUSDT")
    ev = ev[ev["instrument_id"] == k]
    py, nb, strat = _both(ev, table, k, [2, 20, 50_000_000, 1, 2], 1_000_000, 1_000_000)
    f = py.fills
    assert f.size > 100
    assert nb.orders == strat.orders
    assert nb.fills.tobytes() == f.tobytes()
    assert (f["liquidity"] == 1).any() and (f["liquidity"] == 2).any()


# ------------------------------------------------------------------------------------------------ edge cases
FORCED_CANCEL = 9  # a scripted cancel sent even when the strategy knows the order is done
# A scripted strategy: params rows (message index, kind, side, price offset in ticks from the own best
# (buy: best bid; sell: best ask) or the opposite best for a crossing order, qty, type, target request row)


@njit(cache=True, nogil=True)
def scripted(ts, bq, aq, bb, ba, base, tick, position, orders, params, fparams, state, req):
    """``params`` reshaped (n, 6): (call number, kind, side, price ticks from the opposite best, qty, type);
    a cancel's ``qty`` column is the index of the scripted submit whose order it cancels. ``state[0]`` counts
    calls; ``state[8 + i]`` is the id of scripted row ``i``."""
    call = state[0]
    state[0] = call + 1
    if bb < 0 or ba < 0:
        return 0
    n = 0
    rows = params.shape[0] // 6
    for i in range(rows):
        r = params[6 * i:6 * i + 6]
        if r[0] != call:
            continue
        if r[1] == K_CANCEL or r[1] == FORCED_CANCEL:
            target = state[8 + r[4]]
            live = False
            for k in range(orders.shape[0]):
                if orders[k, 1] == target and (orders[k, 0] == 1 or orders[k, 0] == 2):
                    live = True
            if not live and r[1] == K_CANCEL:
                continue  # the strategy knows the order is done (or already being canceled)
            req[n, 0] = K_CANCEL
            req[n, 5] = target
        elif r[1] == K_MODIFY:  # (call, K_MODIFY, side of the target, price ticks, target row, new qty or 0)
            target = state[8 + r[4]]
            ok = False
            for k in range(orders.shape[0]):
                if orders[k, 1] == target and orders[k, 0] == 2 and (r[5] == 0 or r[5] > orders[k, 5]):
                    ok = True
            if not ok:
                continue  # not accepted and idle (or the new quantity is not above what it has filled)
            opp = base + (ba if r[2] == 1 else bb) * tick
            req[n, 0] = K_MODIFY
            req[n, 5] = target
            req[n, 2] = opp + r[3] * tick if r[2] == 1 else opp - r[3] * tick
            req[n, 3] = r[5]
        else:
            opp = base + (ba if r[2] == 1 else bb) * tick
            req[n, 0] = r[1]
            req[n, 1] = r[2]
            req[n, 2] = opp + r[3] * tick if r[2] == 1 else opp - r[3] * tick
            req[n, 3] = r[4]
            req[n, 4] = r[5]
            req[n, 5] = 0
        n += 1
        if r[1] != K_CANCEL and r[1] != FORCED_CANCEL and r[1] != K_MODIFY:
            state[8 + i] = -n  # patched below with the id the kernel assigns
    return n


def _scripted_python(rows: list[tuple[int, int, int, int, int, int]], tick: int) -> Strategy:
    from shrivenquant._native.fixed import RAW_NULL
    from shrivenquant.core.enums import TimeInForce

    class Scripted(Strategy):
        def __init__(self) -> None:
            self.call = 0
            self.ids: dict[int, str] = {}
            self.modifies = 0

        def on_book(self, ctx: Any, instrument: int) -> None:
            call = self.call
            self.call += 1
            book = ctx.books[instrument]
            bpx, apx = book.best_bid_price_raw, book.best_ask_price_raw
            if RAW_NULL in (bpx, apx):
                return
            for i, (c, kind, sd, off, q, typ) in enumerate(rows):
                if c != call:
                    continue
                if kind == K_CANCEL:
                    mo = ctx.om.order(self.ids[q])
                    if not mo.is_done and mo.status.name not in ("PENDING_CANCEL", "PENDING_UPDATE"):
                        ctx.cancel(self.ids[q])
                    continue
                opp = apx if sd == 1 else bpx
                px = opp + off * tick if sd == 1 else opp - off * tick
                if kind == K_MODIFY:
                    mo = ctx.om.order(self.ids[q])
                    if mo.status.name in ("ACCEPTED", "PARTIALLY_FILLED") and (typ == 0 or typ > mo.filled_raw):
                        ctx.modify(self.ids[q], price_raw=px, qty_raw=typ or None)
                        self.modifies += 1
                    continue
                if kind == K_MARKET:
                    mo = ctx.market(instrument, sd, q)
                elif typ == T_IOC:
                    mo = ctx.limit(instrument, sd, px, q, tif=TimeInForce.IOC)
                else:
                    mo = ctx.limit(instrument, sd, px, q, post_only=typ == T_POST_ONLY)
                self.ids[i] = mo.client_order_id

    return Scripted()


def py_modifies(py: Any) -> int:
    """Modify requests the Python strategy sent."""
    return int(py.strategy.modifies)


def _run_scripted(ev: np.ndarray, insts: list[Any], rows: list[tuple[int, int, int, int, int, int]], entry: int,
                  resp: int) -> tuple[Any, Any]:
    inst = insts[0]
    tick = inst.price_tick.raw_at(inst.price_precision)
    venue = {inst.venue: VenueConfig(entry_latency_ns=entry, response_latency_ns=resp, maker_fee="-0.0001",
                                     taker_fee="0.0004")}
    strat = _scripted_python(rows, tick)
    py = BacktestEngine(insts, strat, venues=venue).run(ev)
    py.strategy = strat
    nb = run_numba_orders(ev, inst, scripted_ids, params=np.array(rows, dtype=np.int64).ravel(),
                          entry_latency_ns=entry, response_latency_ns=resp, maker_fee="-0.0001",
                          taker_fee="0.0004", state_size=8 + len(rows))
    return py, nb


@njit(cache=True, nogil=True)
def scripted_ids(ts, bq, aq, bb, ba, base, tick, position, orders, params, fparams, state,
                 req):
    """:func:`scripted`, then the ids the kernel will assign: submits get consecutive ids from ``state[1] + 1``
    in request order (the kernel numbers every submit it is sent)."""
    n = scripted(ts, bq, aq, bb, ba, base, tick, position, orders, params, fparams, state, req)
    rows = params.shape[0] // 6
    for i in range(rows):
        if state[8 + i] < 0:
            r = -state[8 + i] - 1
            k = 0
            for j in range(r):
                if req[j, 0] == K_LIMIT or req[j, 0] == K_MARKET:
                    k += 1
            state[8 + i] = state[1] + 1 + k
    for j in range(n):
        if req[j, 0] == K_LIMIT or req[j, 0] == K_MARKET:
            state[1] += 1
    return n


def test_cancel_of_a_filled_order_in_flight_is_rejected_and_ioc_remainder_canceled(
        stream: tuple[np.ndarray, list[Any]]) -> None:
    """A crossing GTC far through the book fills at once; a cancel sent before its fill is received races
    the fill and is rejected by the venue (CancelRejected). An IOC for more than the book holds within its
    limit takes what is there and the remainder is canceled. A post-only at the opposite best is rejected."""
    ev, insts = stream
    rows = [
        (5, K_LIMIT, 1, 50, 10, T_GTC),  # buy 10 up to 50 ticks through the ask: fills at once (taker)
        (6, K_CANCEL, 0, 0, 0, 0),  # cancel it one message later, before its fill arrived (latency): rejected
        (20, K_LIMIT, 2, 0, 100_000, T_IOC),  # sell IOC at the bid for more than the level: remainder canceled
        (30, K_LIMIT, 1, 0, 10, T_POST_ONLY),  # post-only at the ask: would cross, rejected
        (40, K_MARKET, 2, 0, 10, T_MARKET),
    ]
    py, nb = _run_scripted(ev, insts, rows, 2_000_000, 50_000_000)
    assert py.fills.size >= 3
    assert nb.fills.tobytes() == py.fills.tobytes()
    st = _statuses(py)
    assert nb.cancel_rejected == 1
    assert nb.rejected == st.get("REJECTED", 0) == 1
    assert nb.canceled == st.get("CANCELED", 0) == 1  # the IOC remainder
    ioc = py.orders[1]
    assert ioc["status"] == "CANCELED" and 0 < ioc["filled_raw"] < ioc["quantity_raw"]


@pytest.mark.parametrize("seed", range(6))
def test_seeded_scripts_agree(stream: tuple[np.ndarray, list[Any]], seed: int) -> None:
    """Random scripts of submits (every type, passive and crossing) and cancels of earlier submits, at random
    message numbers and latencies: the same fills, order for order, as the Python engine."""
    ev, insts = stream
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, int, int, int]] = []
    subs: list[tuple[int, int]] = []  # (row index, call)
    call = 10
    for _ in range(40):
        call += int(rng.integers(0, 30))
        if subs and rng.random() < 0.3:
            i, c0 = subs.pop(int(rng.integers(0, len(subs))))
            if call > c0:
                rows.append((call, K_CANCEL, 0, 0, i, 0))
                continue
        if subs and rng.random() < 0.5:  # re-price (0-3 ticks through, or passive) and/or re-size a submit
            i, c0 = subs[int(rng.integers(0, len(subs)))]
            if call > c0:
                new_q = int(rng.choice([0, 5, 20, 40]))
                rows.append((call, K_MODIFY, rows[i][2], int(rng.integers(-6, 3)), i, new_q))
                continue
        kind = K_MARKET if rng.random() < 0.15 else K_LIMIT
        typ = T_MARKET if kind == K_MARKET else int(rng.choice([T_GTC, T_GTC, T_IOC, T_POST_ONLY]))
        off = int(rng.integers(-8, 3))
        rows.append((call, kind, int(rng.integers(1, 3)), off, int(rng.integers(1, 8)) * 5, typ))
        if typ in (T_GTC, T_POST_ONLY):
            subs.append((len(rows) - 1, call))
    entry, resp = int(rng.integers(0, 5)) * 1_000_000, int(rng.integers(0, 5)) * 1_000_000
    py, nb = _run_scripted(ev, insts, rows, entry, resp)
    st = _statuses(py)
    assert py.fills.size > 3
    assert nb.modified + nb.modify_rejected == py_modifies(py)
    assert nb.fills.tobytes() == py.fills.tobytes()
    assert nb.accepted + nb.rejected == len(py.orders)
    assert nb.rejected == st.get("REJECTED", 0)
    assert nb.canceled == st.get("CANCELED", 0) > 0
    assert nb.expired == st.get("EXPIRED", 0)  # self-trade prevention (expire_maker) on both sides alike


def test_capacity_and_bad_cancel_are_clear_errors(stream: tuple[np.ndarray, list[Any]]) -> None:
    ev, insts = stream
    # more resting orders than the table holds
    rows = [(10 + i, K_LIMIT, 1, -20, 5, T_GTC) for i in range(5)]
    with pytest.raises(ValidationError, match="order table"):
        run_numba_orders(ev, insts[0], scripted_ids, params=np.array(rows).ravel(), max_orders=4,
                         state_size=8 + len(rows))
    # a cancel of an order the strategy no longer has (its fill was received: the OMS refuses it too)
    rows = [(5, K_LIMIT, 1, 50, 10, T_GTC), (60, FORCED_CANCEL, 0, 0, 0, 0)]
    with pytest.raises(ValidationError, match="cancel of an order"):
        run_numba_orders(ev, insts[0], scripted_ids, params=np.array(rows).ravel(), state_size=10)
    with pytest.raises(ValidationError, match="EVENT_DTYPE"):
        run_numba_orders(np.zeros(3), insts[0], scripted_ids)


def test_modify_reprices_takes_and_requeues_like_the_exchange(stream: tuple[np.ndarray, list[Any]]) -> None:
    """A passive GTC buy is re-priced (it loses its place: back of the new level) and cut to a smaller
    quantity (SimulatedExchange.modify keeps the place for a pure cut), cut again, then re-priced to the ask:
    it takes what is there and the rest rests as a maker order. Same fills and counts as the Python
    exchange (the OMS applies OrderModified to the Python twin, the kernel to the order table)."""
    ev, insts = stream
    rows = [
        (10, K_LIMIT, 1, -8, 3000, T_GTC),  # buy 3000 eight ticks under the ask: rests
        (30, K_MODIFY, 1, -6, 0, 2500),  # two ticks up and cut to 2500: back of the new level
        (60, K_MODIFY, 1, -6, 0, 2000),  # cut again at the same price: keeps its place
        (90, K_MODIFY, 1, 0, 0, 0),  # re-price to the ask: takes what is there, rests the rest
    ]
    py, nb = _run_scripted(ev, insts, rows, 1_000_000, 1_000_000)
    f = py.fills
    assert nb.fills.tobytes() == f.tobytes()
    assert nb.modified == 3 == py_modifies(py)
    assert nb.modify_rejected == 0
    assert set(f["order"].tolist()) == {1}
    assert (f["liquidity"] == 2).any() and (f["liquidity"] == 1).any()  # took, then rested and was hit
    assert int(f["qty"].sum()) == 2000 == py.orders[0]["quantity_raw"]  # the cut quantity, not the original
