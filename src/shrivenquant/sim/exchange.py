"""The simulated exchange: a matching engine per venue over the project's L2 or L3 books.

One :class:`SimulatedExchange` holds, per instrument, the market's book (an :class:`OrderBook` for
market-by-price data, an :class:`OrderBookL3` for market-by-order data) and the strategy's working
orders. It is driven by market data (:meth:`on_book_message`, :meth:`on_trade`), by requests
(:meth:`submit`, :meth:`cancel`, :meth:`modify`, all stamped with the venue's receive time) and by the
clock (:meth:`expire`). What it says back are the OMS's venue events (``OrderAccepted``,
``OrderFilled``, ...) handed to ``emit(ts_delivered, event)`` with ``ts_delivered = ts + response latency``.

Matching rules (``docs/backtest.md`` has the full list):

* order types market, limit, stop-market, stop-limit; time in force GTC, IOC, FOK, GTD (DAY = GTC);
  post-only is rejected if it would cross; reduce-only is rejected if it would increase the position and
  its fills are capped at the position; display quantity: only the displayed slice fills per queue pass,
  and a refilled slice joins the back of the queue;
* the venue's rules from the :class:`Instrument`: tick, lot (size step), min/max quantity, min notional;
* aggressive orders walk the book level by level at the level prices (taker); liquidity the strategy
  took is not available again until the book changes (``consumed`` per level, reset by the next market
  data message for that instrument);
* resting orders (maker) on L2 data: queue position from a :mod:`~shrivenquant.sim.queue` model,
  advanced by trades at the price and by size decreases; a trade through the price, or the opposite
  best moving through it, fills the whole order at its price. On L3 data: exact FIFO, the orders ahead
  are the level's orders at entry; a fill of an order behind ours fills ours first;
* self-trade prevention when an aggressive order would reach one of the strategy's own resting orders:
  ``expire_maker`` (default: cancel the resting order), ``expire_taker`` (stop the taker before that
  price) or ``expire_both``;
* fees per fill from a :class:`~shrivenquant.oms.FeeModel` (maker / taker rates), exact integer
  arithmetic rounded half-even once to the fee currency.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from msgspec.structs import force_setattr as _force

from shrivenquant._native import sim_core as _sim_core
from shrivenquant._native.book import OrderBook
from shrivenquant._native.book_l3 import OrderBookL3
from shrivenquant._native.fixed import RAW_NULL, Money, Price, Quantity
from shrivenquant.core.enums import LiquiditySide, OrderSide, OrderType, TimeInForce
from shrivenquant.core.events import EventKind
from shrivenquant.core.instrument import Instrument, currency_for
from shrivenquant.core.order_events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderTriggered,
)
from shrivenquant.core.orders import Order
from shrivenquant.errors import ValidationError
from shrivenquant.oms.fees import FeeModel
from shrivenquant.oms.records import CancelRejected, ModifyRejected
from shrivenquant.sim.latency import ConstantLatency, LatencyModel
from shrivenquant.sim.queue import QueueModel, RiskAverseQueue

__all__ = ["STP_MODES", "SimOrder", "SimulatedExchange"]

STP_MODES = ("expire_maker", "expire_taker", "expire_both")

_BUY, _SELL = 1, 2
_MARKET, _LIMIT, _STOP_MARKET, _STOP_LIMIT = (int(OrderType.MARKET), int(OrderType.LIMIT),
                                              int(OrderType.STOP_MARKET), int(OrderType.STOP_LIMIT))
_GTC, _IOC, _FOK, _GTD = int(TimeInForce.GTC), int(TimeInForce.IOC), int(TimeInForce.FOK), int(TimeInForce.GTD)
_LEVEL, _CLEAR, _ADD, _MODIFY, _CANCEL, _FILL = (int(EventKind.LEVEL), int(EventKind.CLEAR), int(EventKind.ADD),
                                                 int(EventKind.MODIFY), int(EventKind.CANCEL), int(EventKind.FILL))
_MAKER, _TAKER = LiquiditySide.MAKER, LiquiditySide.TAKER
_SIDES = {_BUY: OrderSide.BUY, _SELL: OrderSide.SELL}
_SIDE_INT = {s: int(s) for s in OrderSide}
_TYPE_INT = {t: int(t) for t in OrderType}
_TIF_INT = {t: int(t) for t in TimeInForce}
_OT_MARKET, _TIF_IOC = OrderType.MARKET, TimeInForce.IOC
_TIF_INT[TimeInForce.DAY] = _GTC  # DAY works as GTC


class SimOrder:
    """The venue's view of one working order (raw ints at the instrument's precisions)."""

    __slots__ = ("ahead", "client_order_id", "cum_trade", "display", "expire", "filled", "front", "inst",
                 "instrument_id", "leaves", "order_side", "otype", "post_only", "price", "qty", "qty_obj",
                 "reduce_only", "shown", "side", "tif", "trigger", "venue_order_id")

    def __init__(self) -> None:
        self.ahead: dict[int, int] | None = None  # L3: order id -> qty of the orders in front

    def __repr__(self) -> str:
        return (f"SimOrder({self.client_order_id}, side={self.side}, type={self.otype}, price={self.price}, "
                f"leaves={self.leaves}, front={self.front})")


class _Market:
    """Per-instrument state: book, rules, working orders, consumed liquidity, position."""

    __slots__ = ("asks", "bids", "book", "consumed", "fee_cur", "fee_den", "fee_maker", "fee_scale",
                 "fee_taker", "fee_zero", "index", "inst", "l3", "last_trade", "max_qty", "min_notional", "min_qty",
                 "mult", "notional_scale", "position", "pp", "sp", "step", "stops", "tick")

    def __init__(self, index: int, inst: Instrument, book: OrderBook | OrderBookL3, fees: FeeModel | None) -> None:
        self.index = index
        self.inst = inst
        self.book = book
        self.l3 = isinstance(book, OrderBookL3)
        self.pp, self.sp = inst.price_precision, inst.size_precision
        self.tick = inst.price_tick.raw_at(self.pp)
        self.step = inst.size_step.raw_at(self.sp) * inst.lot_size
        self.min_qty = inst.min_qty.raw_at(self.sp) if inst.min_qty is not None else 0
        self.max_qty = inst.max_qty.raw_at(self.sp) if inst.max_qty is not None else 0
        mult = inst.multiplier
        self.mult = mult.raw
        self.notional_scale = 10 ** (self.pp + self.sp + mult.precision)
        mn = inst.min_notional
        # notional >= min  <=>  px*qty*mult * 10**mn_prec >= mn_raw * notional_scale
        self.min_notional = None if mn is None or mn.raw <= 0 else (mn.raw * self.notional_scale, 10 ** mn.precision)
        self.bids: dict[int, list[SimOrder]] = {}  # price -> resting buy orders, FIFO
        self.asks: dict[int, list[SimOrder]] = {}
        self.stops: list[SimOrder] = []
        self.consumed: dict[tuple[int, int], int] = {}
        self.position = 0
        self.last_trade = RAW_NULL
        if fees is None:
            fees = FeeModel(currency=inst.settlement or inst.quote)
        cur = currency_for(fees.currency)
        self.fee_cur = cur
        rm, rt = Fraction(Decimal(fees.maker_rate)), Fraction(Decimal(fees.taker_rate))
        if Fraction(Decimal(fees.per_contract)) or Fraction(Decimal(fees.fixed)):
            raise ValidationError("the simulated exchange supports maker/taker rates only (per_contract = fixed = 0)")
        den = rm.denominator * rt.denominator
        self.fee_maker = rm.numerator * rt.denominator  # rate = fee_x / fee_den
        self.fee_taker = rt.numerator * rm.denominator
        self.fee_den = den * self.notional_scale
        self.fee_scale = 10 ** cur.precision
        self.fee_zero = Money.from_raw(0, cur.precision, cur)  # immutable: shared by every fee-free fill

    def resting(self, side: int) -> dict[int, list[SimOrder]]:
        return self.bids if side == _BUY else self.asks


class SimulatedExchange:
    """Matching engine for one venue.

    Args:
        instruments: the venue's instruments; their position in this list is the ``instrument_id`` of the
            event records (the run's instrument table).
        book_type: ``"l2"`` (market-by-price) or ``"l3"`` (market-by-order), or one per instrument.
        queue_model: the L2 queue-position model (default :class:`RiskAverseQueue`).
        latency: response latency (venue event -> local receipt); entry latency is the caller's.
        fees: a :class:`FeeModel` (maker/taker rates) applied to every fill, or None for no fees.
        stp: self-trade prevention mode, one of :data:`STP_MODES`.
        emit: ``emit(ts_delivered, event)`` receives every venue event.
    """

    def __init__(self, instruments: Iterable[Instrument], *, book_type: str | Iterable[str] = "l2",
                 queue_model: QueueModel | None = None, latency: LatencyModel | None = None,
                 fees: FeeModel | None = None, stp: str = "expire_maker",
                 emit: Callable[[int, Any], None] | None = None, venue: str | None = None) -> None:
        insts = list(instruments)
        if not insts:
            raise ValidationError("a simulated exchange needs at least one instrument")
        kinds = [book_type] * len(insts) if isinstance(book_type, str) else list(book_type)
        if len(kinds) != len(insts) or any(k not in ("l2", "l3") for k in kinds):
            raise ValidationError(f"book_type must be 'l2' or 'l3' (one per instrument), got {book_type!r}")
        if stp not in STP_MODES:
            raise ValidationError(f"stp must be one of {STP_MODES}, got {stp!r}")
        self.venue = venue or insts[0].venue
        self.markets: list[_Market] = []
        self.by_id: dict[str, _Market] = {}
        for i, (inst, kind) in enumerate(zip(insts, kinds, strict=True)):
            book: OrderBook | OrderBookL3
            if kind == "l2":
                pp = inst.price_precision
                book = OrderBook(pp, inst.size_precision, inst.price_tick.raw_at(pp))
            else:
                book = OrderBookL3(inst.price_precision, inst.size_precision, strict=False)
            m = _Market(i, inst, book, fees)
            self.markets.append(m)
            self.by_id[inst.id] = m
        self.queue = queue_model if queue_model is not None else RiskAverseQueue()
        self.latency = latency if latency is not None else ConstantLatency()
        self.stp = stp
        self.emit: Callable[[int, Any], None] = emit if emit is not None else self._collect
        self.collected: list[tuple[int, Any]] = []
        self.orders: dict[str, SimOrder] = {}
        self._expiries: list[tuple[int, str]] = []
        self._next_venue_id = 1
        self._next_trade_id = 1
        self.n_working = 0  # resting + stop orders on all instruments
        self.fills = 0

    # ------------------------------------------------------------------ plumbing
    @property
    def latency(self) -> LatencyModel:
        """The response latency model (venue event -> local receipt)."""
        return self._latency

    @latency.setter
    def latency(self, model: LatencyModel) -> None:
        self._latency = model
        # a constant response latency is read as an int on the hot path (no method call per event)
        self._resp_const = model.response_ns if type(model) is ConstantLatency else None

    def _t(self, ts: int) -> int:
        c = self._resp_const
        return ts + c if c is not None else ts + self._latency.response(ts)

    def _collect(self, ts: int, event: Any) -> None:
        self.collected.append((ts, event))

    def book(self, instrument: int | str) -> OrderBook | OrderBookL3:
        """The exchange's book of an instrument (by table index or instrument id)."""
        return self._market(instrument).book

    def position_raw(self, instrument: int | str) -> int:
        """The exchange's view of the strategy's signed position (raw), used for reduce-only."""
        return self._market(instrument).position

    def _market(self, instrument: int | str) -> _Market:
        if isinstance(instrument, int):
            return self.markets[instrument]
        m = self.by_id.get(instrument)
        if m is None:
            raise ValidationError(f"instrument {instrument!r} is not traded on this simulated venue")
        return m

    @property
    def next_expiry(self) -> int:
        """Earliest GTD expiry of a working order (ns), or 2**63 - 1."""
        return self._expiries[0][0] if self._expiries else 9_223_372_036_854_775_807

    def _out(self, ts: int, cls: type, o: SimOrder, **kw: Any) -> None:
        """Emit a venue event. The values come from an order the exchange validated, so the event is built
        from a validated template by copy + ``force_setattr`` (~5x cheaper than the validating constructor)."""
        c = self._resp_const
        t = ts + c if c is not None else ts + self._latency.response(ts)
        tpl = _TEMPLATES.get(cls)
        if tpl is None:
            self.emit(t, cls(client_order_id=o.client_order_id, instrument_id=o.instrument_id, ts_event=ts,
                             ts_init=t, venue_order_id=o.venue_order_id, **kw))
            return
        e = tpl.__copy__()
        _force(e, "client_order_id", o.client_order_id)
        _force(e, "instrument_id", o.instrument_id)
        _force(e, "ts_event", ts)
        _force(e, "ts_init", t)
        _force(e, "venue_order_id", o.venue_order_id)
        for k, v in kw.items():
            _force(e, k, v)
        self.emit(t, e)

    def _reject(self, ts: int, order: Order, reason: str) -> None:
        t = self._t(ts)
        self.emit(t, OrderRejected(client_order_id=order.client_order_id, instrument_id=order.instrument_id,
                                   ts_event=ts, ts_init=t, reason=reason))

    # ------------------------------------------------------------------ requests
    # submit(order, ts): a new order reaches the venue at ts (venue time); native: a plain market IOC order on an
    # L2 market takes _submit_market_ioc, everything else _submit_general
    submit = _sim_core.submit

    def _submit_general(self, order: Order, ts: int) -> None:
        """A new order reaches the venue at ``ts`` (venue time): every check and order type."""
        m = self.by_id.get(order.instrument_id)
        if m is None:
            self._reject(ts, order, f"unknown instrument {order.instrument_id}")
            return
        if order.client_order_id in self.orders:
            self._reject(ts, order, "duplicate client order id")
            return
        if (order.order_type is _OT_MARKET and order.time_in_force is _TIF_IOC and not m.l3 and not order.reduce_only
                and order.display_qty is None):
            self._submit_market_ioc(m, order, ts)
            return
        o = SimOrder()
        o.client_order_id = order.client_order_id
        o.instrument_id = order.instrument_id
        o.inst = m.index
        side = order.side
        o.order_side = side
        o.side = _SIDE_INT[side]
        o.otype = _TYPE_INT[order.order_type]
        o.tif = _TIF_INT[order.time_in_force]
        pp, sp = m.pp, m.sp
        try:
            px = order.price
            o.price = None if px is None else px.raw if px.precision == pp else px.raw_at(pp)
            px = order.trigger_price
            o.trigger = None if px is None else px.raw if px.precision == pp else px.raw_at(pp)
            q = order.quantity
            if q.precision == sp:
                o.qty = q.raw
                o.qty_obj = q
            else:
                o.qty = q.raw_at(sp)
                o.qty_obj = None
            q = order.display_qty
            o.display = 0 if q is None else q.raw if q.precision == sp else q.raw_at(sp)
        except ValidationError as exc:
            self._reject(ts, order, f"price or quantity not at the instrument's precision: {exc}")
            return
        o.leaves, o.filled, o.front, o.cum_trade = o.qty, 0, 0, 0
        o.post_only, o.reduce_only = order.post_only, order.reduce_only
        o.expire = order.expire_time_ns if o.tif == _GTD else None
        o.shown = o.display if o.display else o.qty
        reason = self._rules(m, o)
        if reason is not None:
            self._reject(ts, order, reason)
            return
        if o.reduce_only and not self._reduces(m, o.side, 1):
            self._reject(ts, order, "reduce-only order would increase the position")
            return
        if o.otype in (_STOP_MARKET, _STOP_LIMIT):
            lt = m.last_trade
            if lt != RAW_NULL and (lt >= o.trigger if o.side == _BUY else lt <= o.trigger):
                self._reject(ts, order, "stop order would trigger immediately")
                return
        if o.expire is not None and o.expire <= ts:
            self._reject(ts, order, "GTD expiry time is in the past")
            return
        if o.post_only and self._crosses(m, o.side, o.price):
            self._reject(ts, order, "post-only order would cross the book")
            return
        o.venue_order_id = str(self._next_venue_id)
        self._next_venue_id += 1
        self.orders[o.client_order_id] = o
        c = self._resp_const
        t = ts + c if c is not None else ts + self._latency.response(ts)
        e = _ACCEPTED_TPL.__copy__()
        _force(e, "client_order_id", o.client_order_id)
        _force(e, "instrument_id", o.instrument_id)
        _force(e, "ts_event", ts)
        _force(e, "ts_init", t)
        _force(e, "venue_order_id", o.venue_order_id)
        self.emit(t, e)
        if o.otype in (_STOP_MARKET, _STOP_LIMIT):
            m.stops.append(o)
            self.n_working += 1
            if o.expire is not None:
                heapq.heappush(self._expiries, (o.expire, o.client_order_id))
            return
        if o.otype == _MARKET and o.tif != _FOK and not o.reduce_only and not m.l3:
            # fast path (what _execute -> _take do for this case): no own resting order on the opposite
            # side to prevent a self-trade with, and the best level holds the whole order
            b = m.book
            if o.side == _BUY:
                own, opp, p, q = m.asks, _SELL, b.best_ask_price_raw, b.best_ask_qty_raw
            else:
                own, opp, p, q = m.bids, _BUY, b.best_bid_price_raw, b.best_bid_qty_raw
            if not own and p != RAW_NULL:
                consumed = m.consumed
                key = (opp, p)
                used = consumed.get(key, 0)
                if q - used >= o.leaves:
                    consumed[key] = used + o.leaves
                    self._fill(m, o, p, o.leaves, ts, _TAKER)
                    del self.orders[o.client_order_id]
                    return
        self._execute(m, o, ts)

    # a plain market IOC order (no reduce-only, no display, an L2 market): the same checks, ids, events and
    # fills as the general path, with the fields and checks such an order cannot need left out (native)
    _submit_market_ioc = _sim_core.submit_market_ioc

    def _execute(self, m: _Market, o: SimOrder, ts: int) -> None:
        """Match an accepted (or just triggered) market/limit order; rest or end the remainder."""
        limit = o.price if o.otype in (_LIMIT, _STOP_LIMIT) else None
        if o.tif == _FOK and self._available(m, o.side, limit, o.leaves) < o.leaves:
            self._end(m, o, ts, OrderExpired)
            return
        if limit is None or self._crosses(m, o.side, limit):
            self._take(m, o, limit, ts)
        if o.leaves == 0:
            self.orders.pop(o.client_order_id, None)
            return
        if limit is None or o.tif in (_IOC, _FOK):
            self._end(m, o, ts, OrderCanceled if o.tif != _FOK else OrderExpired)
            return
        self._rest(m, o)
        if o.expire is not None:
            heapq.heappush(self._expiries, (o.expire, o.client_order_id))

    def cancel(self, client_order_id: str, ts: int, instrument_id: str | None = None) -> None:
        """A cancel request reaches the venue at ``ts``."""
        o = self.orders.get(client_order_id)
        if o is None:
            t = self._t(ts)
            self.emit(t, CancelRejected(client_order_id=client_order_id, reason="unknown order", ts=t))
            return
        self._end(self.markets[o.inst], o, ts, OrderCanceled)

    def modify(self, client_order_id: str, ts: int, quantity: Quantity | None = None, price: Price | None = None,
               trigger_price: Price | None = None) -> None:
        """An amend request reaches the venue at ``ts``: a price change or a quantity increase loses the
        queue position; a quantity decrease keeps it."""
        o = self.orders.get(client_order_id)
        t = self._t(ts)
        if o is None:
            self.emit(t, ModifyRejected(client_order_id=client_order_id, reason="unknown order", ts=t))
            return
        m = self.markets[o.inst]
        new_px = price.raw_at(m.pp) if price is not None else o.price
        new_qty = quantity.raw_at(m.sp) if quantity is not None else o.qty
        new_trig = trigger_price.raw_at(m.pp) if trigger_price is not None else o.trigger
        if new_qty <= o.filled:
            self.emit(t, ModifyRejected(client_order_id=client_order_id,
                                        reason="new quantity is not above the filled quantity", ts=t))
            return
        if new_px is not None and new_px % m.tick:
            self.emit(t, ModifyRejected(client_order_id=client_order_id, reason="price not on the tick", ts=t))
            return
        if new_qty % m.step:
            self.emit(t, ModifyRejected(client_order_id=client_order_id, reason="quantity not on the lot", ts=t))
            return
        resting = o.otype in (_LIMIT, _STOP_LIMIT) and o in m.resting(o.side).get(o.price, ())
        if resting and new_px != o.price and o.post_only and self._crosses(m, o.side, new_px):
            self.emit(t, ModifyRejected(client_order_id=client_order_id,
                                        reason="post-only order would cross the book", ts=t))
            return
        lose = new_px != o.price or new_qty > o.qty
        if resting and lose:
            self._unrest(m, o)
        o.price, o.trigger = new_px, new_trig
        o.leaves = new_qty - o.filled
        o.qty = new_qty
        o.qty_obj = None
        if o.display == 0:
            o.shown = o.leaves
        else:
            o.shown = min(o.shown, o.leaves)
        self._out(ts, OrderModified, o, quantity=quantity, price=price, trigger_price=trigger_price)
        if resting:
            if lose:
                if self._crosses(m, o.side, o.price):
                    self._take(m, o, o.price, ts)
                if o.leaves:
                    self._rest(m, o)
                else:
                    self.orders.pop(o.client_order_id, None)
            elif o.front > self._level_qty(m, o.side, o.price):
                o.front = self._level_qty(m, o.side, o.price)

    def expire(self, ts: int) -> None:
        """Expire every GTD order whose time is <= ``ts``."""
        ex = self._expiries
        while ex and ex[0][0] <= ts:
            when, coid = heapq.heappop(ex)
            o = self.orders.get(coid)
            if o is not None and o.expire == when:
                self._end(self.markets[o.inst], o, when, OrderExpired)

    # ------------------------------------------------------------------ rules
    def _rules(self, m: _Market, o: SimOrder) -> str | None:
        if o.qty % m.step or o.display % m.step:
            return f"quantity {o.qty} / display {o.display} (raw) is not a multiple of the lot {m.step}"
        if o.qty < m.min_qty:
            return f"quantity below the minimum {m.inst.min_qty}"
        if m.max_qty and o.qty > m.max_qty:
            return f"quantity above the maximum {m.inst.max_qty}"
        for px in (o.price, o.trigger):
            if px is not None and (px <= 0 or px % m.tick):
                return f"price {px} (raw) is not a positive multiple of the tick {m.tick}"
        if m.min_notional is not None:
            px = o.price if o.price is not None else o.trigger
            if px is None:
                px = self._best(m, _SELL if o.side == _BUY else _BUY)
            if px is not None and px * o.qty * m.mult * m.min_notional[1] < m.min_notional[0]:
                return f"notional below the minimum {m.inst.min_notional}"
        return None

    def _reduces(self, m: _Market, side: int, qty: int) -> bool:
        return (m.position > 0 and side == _SELL) or (m.position < 0 and side == _BUY)

    @staticmethod
    def _best(m: _Market, side: int) -> int | None:
        b = m.book
        px = b.best_bid_price_raw if side == _BUY else b.best_ask_price_raw
        return None if px == RAW_NULL else px

    def _crosses(self, m: _Market, side: int, price: int | None) -> bool:
        if price is None:
            return True
        b = m.book
        if side == _BUY:
            a = b.best_ask_price_raw
            return a != RAW_NULL and a <= price
        bb = b.best_bid_price_raw
        return bb != RAW_NULL and bb >= price

    @staticmethod
    def _level_qty(m: _Market, side: int, price: int) -> int:
        return m.book.qty_at(side, price)

    def _levels(self, m: _Market, side: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The opposite-side levels an aggressive order on ``side`` meets, best first."""
        b = m.book
        if m.l3:
            bp, bq, ap, aq = b.to_l2(n)
        else:
            bp, bq, ap, aq = b.depth(n)
        return (ap, aq) if side == _BUY else (bp, bq)

    def _walk(self, m: _Market, side: int, limit: int | None) -> Iterable[tuple[int, int]]:
        """(price, available qty) of the opposite levels within ``limit``, net of consumed liquidity."""
        n, seen = 32, 0
        opp = _SELL if side == _BUY else _BUY
        consumed = m.consumed
        while True:
            px, qty = self._levels(m, side, n)
            for p, q in zip(px[seen:].tolist(), qty[seen:].tolist(), strict=True):
                if limit is not None and (p > limit if side == _BUY else p < limit):
                    return
                avail = q - consumed.get((opp, p), 0)
                if avail > 0:
                    yield p, avail
            if px.size < n:
                return
            seen = px.size
            n *= 4

    def _available(self, m: _Market, side: int, limit: int | None, want: int) -> int:
        got = 0
        stop = self._stp_price(m, side, limit)
        for p, avail in self._walk(m, side, limit):
            if stop is not None and self.stp != "expire_maker" and (p >= stop if side == _BUY else p <= stop):
                break
            got += avail
            if got >= want:
                break
        return got

    def _stp_price(self, m: _Market, side: int, limit: int | None) -> int | None:
        """Best price of the strategy's own opposite resting orders the taker could reach, or None."""
        own = m.asks if side == _BUY else m.bids
        if not own:
            return None
        best = min(own) if side == _BUY else max(own)
        if limit is not None and (best > limit if side == _BUY else best < limit):
            return None
        return best

    def _take(self, m: _Market, o: SimOrder, limit: int | None, ts: int) -> None:
        side = o.side
        stop = self._stp_price(m, side, limit)
        if stop is not None:
            if self.stp in ("expire_maker", "expire_both"):
                own = m.asks if side == _BUY else m.bids
                for p in sorted(own, reverse=side != _BUY):
                    if limit is not None and (p > limit if side == _BUY else p < limit):
                        break
                    for r in list(own.get(p, ())):
                        self._end(m, r, ts, OrderExpired)
            if self.stp == "expire_maker":
                stop = None
        opp = _SELL if side == _BUY else _BUY
        consumed = m.consumed
        if stop is None and not o.reduce_only and not m.l3:  # fast path: the best level fills the order
            b = m.book
            if side == _BUY:
                p, q = b.best_ask_price_raw, b.best_ask_qty_raw
            else:
                p, q = b.best_bid_price_raw, b.best_bid_qty_raw
            if p != RAW_NULL and (limit is None or (p <= limit if side == _BUY else p >= limit)):
                key = (opp, p)
                avail = q - consumed.get(key, 0)
                if avail >= o.leaves:
                    consumed[key] = consumed.get(key, 0) + o.leaves
                    self._fill(m, o, p, o.leaves, ts, _TAKER)
                    return
        for p, avail in list(self._walk(m, side, limit)):
            if stop is not None and (p >= stop if side == _BUY else p <= stop):
                break
            q = min(avail, o.leaves)
            if o.reduce_only:
                q = min(q, abs(m.position)) if self._reduces(m, side, q) else 0
                if q == 0:
                    break
            key = (opp, p)
            consumed[key] = consumed.get(key, 0) + q
            self._fill(m, o, p, q, ts, _TAKER)
            if o.leaves == 0:
                return
        if stop is not None and o.leaves and self.stp in ("expire_taker", "expire_both"):
            o.tif = _IOC  # the remainder is expired by the caller (never rests against its own order)

    def _rest(self, m: _Market, o: SimOrder) -> None:
        levels = m.resting(o.side)
        level = levels.get(o.price)
        if level is None:
            levels[o.price] = [o]
        else:
            level.append(o)
        self.n_working += 1
        if m.l3:
            ids, qtys = m.book.level_orders(o.side, o.price)
            o.ahead = dict(zip(ids.tolist(), qtys.tolist(), strict=True))
            o.front = sum(o.ahead.values())
        else:
            o.front = m.book.qty_at(o.side, o.price)
        o.cum_trade = 0

    def _unrest(self, m: _Market, o: SimOrder) -> None:
        if o.otype in (_STOP_MARKET, _STOP_LIMIT) and o in m.stops:
            m.stops.remove(o)
            self.n_working -= 1
            return
        levels = m.resting(o.side)
        level = levels.get(o.price)
        if level is not None and o in level:
            level.remove(o)
            self.n_working -= 1
            if not level:
                del levels[o.price]

    def _end(self, m: _Market, o: SimOrder, ts: int, cls: type) -> None:
        self._unrest(m, o)
        self.orders.pop(o.client_order_id, None)
        self._out(ts, cls, o)

    # fill qty of o at price (raw) and emit the OrderFilled, built from a validated template (see _out): every
    # value comes from a validated order (native)
    _fill = _sim_core.fill

    def _maker_fill(self, m: _Market, o: SimOrder, qty: int, ts: int) -> None:
        """Fill a resting order for up to ``qty`` at its price (respecting display and reduce-only)."""
        q = min(qty, o.leaves, o.shown)
        if o.reduce_only:
            q = min(q, abs(m.position)) if self._reduces(m, o.side, q) else 0
            if q == 0:
                self._end(m, o, ts, OrderExpired)
                return
        if q <= 0:
            return
        o.shown -= q
        self._fill(m, o, o.price, q, ts, _MAKER)
        if o.leaves == 0:
            self._unrest(m, o)
            self.orders.pop(o.client_order_id, None)
        elif o.shown == 0:  # iceberg refill: a new slice joins the back of the queue
            o.shown = min(o.display, o.leaves) if o.display else o.leaves
            o.front = m.book.qty_at(o.side, o.price)
            if o.ahead is not None:
                ids, qtys = m.book.level_orders(o.side, o.price)
                o.ahead = dict(zip(ids.tolist(), qtys.tolist(), strict=True))

    # ------------------------------------------------------------------ market data
    # on_book_message(instrument, records, start, stop, ts): apply one market-data message (records start:stop of
    # records) to the book at ts, then update queue positions and fill resting orders the book moved through.
    # Native: the consumed-liquidity reset and the message without resting orders; the rest is _book_message
    on_book_message = _sim_core.on_book_message

    def _book_message(self, m: _Market, records: np.ndarray, start: int, stop: int, ts: int) -> None:
        """:meth:`on_book_message` for a market with resting orders."""
        if m.l3:
            self._l3_message(m, records[start:stop], ts)
            return
        book = m.book
        bids, asks = m.bids, m.asks
        touched: dict[tuple[int, int], int] = {}
        kinds = records["kind"][start:stop]
        sides = records["side"][start:stop]
        prices = records["price"][start:stop]
        for k, s, p in zip(kinds.tolist(), sides.tolist(), prices.tolist(), strict=True):
            if k == _LEVEL and ((s == _BUY and p in bids) or (s == _SELL and p in asks)):
                key = (s, p)
                if key not in touched:
                    touched[key] = book.qty_at(s, p)
            elif k == _CLEAR:
                for lv, sd in ((bids, _BUY), (asks, _SELL)):
                    for p2 in lv:
                        touched.setdefault((sd, p2), book.qty_at(sd, p2))
        book.apply_events_range(records, start, stop)
        model = self.queue
        for (s, p), prev in touched.items():
            new = book.qty_at(s, p)
            for o in (bids if s == _BUY else asks).get(p, ()):
                o.front = model.depth(o.front, o.cum_trade, prev, new)
                o.cum_trade = 0
        self._cross_fills(m, ts)

    def _cross_fills(self, m: _Market, ts: int) -> None:
        """Resting orders the opposite best has moved through are filled at their price."""
        book = m.book
        if m.bids:
            a = book.best_ask_price_raw
            if a != RAW_NULL:
                for p in sorted((p for p in m.bids if p >= a), reverse=True):
                    for o in list(m.bids.get(p, ())):
                        while o.leaves and o.client_order_id in self.orders:
                            before = o.leaves
                            self._maker_fill(m, o, o.leaves, ts)
                            if o.leaves == before:
                                break
        if m.asks:
            b = book.best_bid_price_raw
            if b != RAW_NULL:
                for p in sorted(p for p in m.asks if p <= b):
                    for o in list(m.asks.get(p, ())):
                        while o.leaves and o.client_order_id in self.orders:
                            before = o.leaves
                            self._maker_fill(m, o, o.leaves, ts)
                            if o.leaves == before:
                                break

    def _l3_message(self, m: _Market, recs: np.ndarray, ts: int) -> None:
        book = m.book
        for i in range(recs.size):
            r = recs[i]
            k = int(r["kind"])
            oid = int(r["order_id"])
            if k in (_CANCEL, _MODIFY, _FILL):
                info = book.order(oid)
                if info is not None:
                    side, px, _qty = info
                    own = m.resting(side).get(px)
                    if own:
                        for o in list(own):
                            ahead = o.ahead
                            if ahead is None:
                                continue
                            if oid in ahead:
                                if k == _CANCEL:
                                    del ahead[oid]
                                elif k == _FILL:
                                    left = ahead[oid] - int(r["qty"])
                                    if left > 0:
                                        ahead[oid] = left
                                    else:
                                        del ahead[oid]
                                elif int(r["price"]) != px or int(r["qty"]) > ahead[oid]:
                                    del ahead[oid]  # moved or grew: lost priority
                                else:
                                    ahead[oid] = int(r["qty"])
                                o.front = sum(ahead.values())
                            elif k == _FILL:
                                # an order behind ours executed: FIFO says ours was hit first
                                self._maker_fill(m, o, int(r["qty"]), ts)
            book.apply_events(recs[i:i + 1])
        self._cross_fills(m, ts)

    # on_trade(instrument, aggressor, price, qty, ts): a public trade print: advances queues (L2), fills orders it
    # went through, triggers stops. Native: the last trade price, and nothing more when no order is concerned;
    # else _trade
    on_trade = _sim_core.on_trade

    def _trade(self, m: _Market, aggressor: int, price: int, qty: int, ts: int) -> None:
        """:meth:`on_trade` when resting orders on the side it can reach, or stops, exist."""
        if not m.l3:
            if aggressor == _SELL and m.bids:
                for p in sorted((p for p in m.bids if p >= price), reverse=True):
                    for o in list(m.bids.get(p, ())):
                        self._trade_at(m, o, p, price, qty, ts)
            elif aggressor == _BUY and m.asks:
                for p in sorted(p for p in m.asks if p <= price):
                    for o in list(m.asks.get(p, ())):
                        self._trade_at(m, o, p, price, qty, ts)
        if m.stops:
            for o in list(m.stops):
                if (o.side == _BUY and price >= o.trigger) or (o.side == _SELL and price <= o.trigger):
                    m.stops.remove(o)
                    self.n_working -= 1
                    self._out(ts, OrderTriggered, o)
                    o.otype = _MARKET if o.otype == _STOP_MARKET else _LIMIT
                    if o.otype == _MARKET and o.tif == _GTD:
                        o.tif = _GTC
                    self._execute(m, o, ts)

    def _trade_at(self, m: _Market, o: SimOrder, p: int, price: int, qty: int,  # noqa: PLR0917
                  ts: int) -> None:
        if p != price:  # the trade went through our price: we were ahead of it
            self._maker_fill(m, o, o.leaves, ts)
            return
        o.front -= qty
        o.cum_trade += qty
        if o.front < 0:
            q = (-o.front) // m.step * m.step  # whole lots (a sub-lot remainder is not a fill)
            o.front = 0  # at the head of the queue (an iceberg refill below re-queues at the back)
            if q:
                self._maker_fill(m, o, q, ts)

    def on_time(self, ts: int) -> None:
        """Advance the venue clock: expire GTD orders due at or before ``ts``."""
        if self._expiries and self._expiries[0][0] <= ts:
            self.expire(ts)


def _template(cls: type, **kw: Any) -> Any:
    return cls(client_order_id="T", instrument_id="T.SIM", ts_event=0, ts_init=0, venue_order_id="1", **kw)


_TEMPLATES: dict[type, Any] = {
    OrderAccepted: _template(OrderAccepted),
    OrderCanceled: _template(OrderCanceled),
    OrderExpired: _template(OrderExpired),
    OrderTriggered: _template(OrderTriggered),
    OrderFilled: _template(OrderFilled, trade_id="T", order_side=OrderSide.BUY, last_qty=Quantity("1"),
                           last_px=Price("1"), fee=Money("0", "USDT"), liquidity_side=LiquiditySide.MAKER),
}


_FILL_TPL = _TEMPLATES[OrderFilled]
_ACCEPTED_TPL = _TEMPLATES[OrderAccepted]


def _round_half_even(n: int, d: int) -> int:
    q, r = divmod(n, d)
    twice = 2 * r
    if twice > d or (twice == d and q % 2 == 1):
        q += 1
    return q


_sim_core.configure(_ACCEPTED_TPL, _FILL_TPL, _MAKER, _TAKER, _MARKET, _IOC, RAW_NULL, _round_half_even, _OT_MARKET,
                    _TIF_IOC, SimOrder, _Market)
