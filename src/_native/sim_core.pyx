# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=True, embedsignature=True, autotestdict=False, annotation_typing=False, auto_pickle=False
"""Native parts of the simulated exchange (``shrivenquant.sim.exchange``).

* :class:`SimOrder` (the venue's view of a working order) and :class:`MarketBase` (the fields of the
  per-instrument state) as native structs;
* :func:`submit_market_ioc` and :func:`fill`: the exchange's plain market IOC submit path and its fill, the
  same checks, ids, events and state changes as the Python methods they replace (``SimulatedExchange.
  _submit_market_ioc`` / ``_fill`` are these functions). Venue events are built from validated templates
  by a copy and direct slot stores (what ``msgspec.structs.force_setattr`` does, without a call per field).
"""

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF

from functools import partial

from shrivenquant._native.fixed import Money, Price, Quantity

from shrivenquant.errors import ValidationError

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        const char *name
        int type
        Py_ssize_t offset
        int flags

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member

DEF _BUY = 1
DEF _SELL = 2


cdef class SimOrder:
    """The venue's view of one working order (raw ints at the instrument's precisions)."""

    cdef public object ahead, client_order_id, cum_trade, display, expire, filled, front, inst, instrument_id
    cdef public object leaves, order_side, otype, post_only, price, qty, qty_obj, reduce_only, shown, side, tif
    cdef public object trigger, venue_order_id

    # every field starts as None (``ahead``, on L3: order id -> qty of the orders in front)

    def __repr__(self) -> str:
        return (f"SimOrder({self.client_order_id}, side={self.side}, type={self.otype}, price={self.price}, "
                f"leaves={self.leaves}, front={self.front})")


cdef class MarketBase:
    """The fields of the exchange's per-instrument state (``shrivenquant.sim.exchange._Market``)."""

    cdef public object asks, bids, book, consumed, fee_cur, fee_den, fee_maker, fee_scale, fee_taker, fee_zero
    cdef public object index, inst, l3, last_trade, max_qty, min_notional, min_qty, mult, notional_scale
    cdef public object position, pp, sp, step, stops, tick


cdef class ExchangeBase:
    """The fields of :class:`shrivenquant.sim.SimulatedExchange` its native submit path reads and writes (the
    Python subclass holds the rest)."""

    cdef public object by_id, markets, orders, emit, fills, _next_venue_id, _next_trade_id, _resp_const, _latency


# ---------------------------------------------------------------- event templates
cdef object _ACC_TPL = None
cdef object _FILL_TPL = None
cdef object _TAKER = None
cdef object _MAKER = None
cdef object _MARKET = None
cdef object _IOC = None
cdef object _RAW_NULL = None
cdef object _OT_MARKET = None
cdef object _TIF_IOC = None
cdef object _round_half_even = None
cdef Py_ssize_t _A_COID, _A_IID, _A_TS, _A_TSI, _A_VID
cdef Py_ssize_t _F_COID, _F_IID, _F_TS, _F_TSI, _F_VID, _F_TID, _F_SIDE, _F_QTY, _F_PX, _F_FEE, _F_LIQ


cdef Py_ssize_t _offset(type cls, str name) except -1:
    for k in cls.__mro__:
        d = k.__dict__.get(name)
        if d is not None:
            if type(d).__name__ != "member_descriptor":
                break
            m = (<PyMemberDescrObject *>d).d_member
            if m.type != 16 and m.type != 6:  # T_OBJECT_EX / T_OBJECT
                break
            return m.offset
    raise TypeError(f"{cls.__name__}.{name} is not an object slot")


def configure(accepted_tpl: object, fill_tpl: object, maker: object, taker: object, market: object, ioc: object,
              raw_null: object, round_half_even: object, ot_market: object, tif_ioc: object) -> None:
    """The exchange's validated event templates and constants (called once by ``shrivenquant.sim.exchange``)."""
    global _ACC_TPL, _FILL_TPL, _TAKER, _MAKER, _MARKET, _IOC, _RAW_NULL, _round_half_even, _OT_MARKET, _TIF_IOC
    global _A_COID, _A_IID, _A_TS, _A_TSI, _A_VID
    global _F_COID, _F_IID, _F_TS, _F_TSI, _F_VID, _F_TID, _F_SIDE, _F_QTY, _F_PX, _F_FEE, _F_LIQ
    a, f = type(accepted_tpl), type(fill_tpl)
    _A_COID, _A_IID, _A_TS, _A_TSI, _A_VID = (_offset(a, "client_order_id"), _offset(a, "instrument_id"),
                                              _offset(a, "ts_event"), _offset(a, "ts_init"),
                                              _offset(a, "venue_order_id"))
    _F_COID, _F_IID, _F_TS, _F_TSI, _F_VID = (_offset(f, "client_order_id"), _offset(f, "instrument_id"),
                                              _offset(f, "ts_event"), _offset(f, "ts_init"),
                                              _offset(f, "venue_order_id"))
    _F_TID, _F_SIDE, _F_QTY, _F_PX, _F_FEE, _F_LIQ = (_offset(f, "trade_id"), _offset(f, "order_side"),
                                                      _offset(f, "last_qty"), _offset(f, "last_px"),
                                                      _offset(f, "fee"), _offset(f, "liquidity_side"))
    _ACC_TPL, _FILL_TPL, _MAKER, _TAKER, _MARKET, _IOC = accepted_tpl, fill_tpl, maker, taker, market, ioc
    _RAW_NULL, _round_half_even = raw_null, round_half_even
    _OT_MARKET, _TIF_IOC = ot_market, tif_ioc


cdef inline void _put(object obj, Py_ssize_t off, object value) noexcept:
    """Store ``value`` in the slot at ``off`` of a struct nobody else holds yet (a fresh template copy)."""
    cdef PyObject **slot = <PyObject **>((<char *><PyObject *>obj) + off)
    cdef PyObject *old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject *>value
    Py_XDECREF(old)


cdef inline object _resp_time(ExchangeBase ex, object ts):
    c = ex._resp_const
    return ts + c if c is not None else ts + ex._latency.response(ts)


def fill(ExchangeBase ex, MarketBase m, SimOrder o, price: object, qty: object, ts: object, liq: object) -> None:
    """``SimulatedExchange._fill``: fill ``qty`` of ``o`` at ``price`` (raw), emit the ``OrderFilled``."""
    o.leaves -= qty
    o.filled += qty
    m.position += qty if o.side == _BUY else -qty
    rate = m.fee_maker if liq is _MAKER else m.fee_taker
    if rate:
        cur = m.fee_cur
        fee = Money.from_raw(_round_half_even(price * qty * m.mult * rate * m.fee_scale, m.fee_den),
                             cur.precision, cur)
    else:
        fee = m.fee_zero
    tid = ex._next_trade_id
    ex._next_trade_id = tid + 1
    ex.fills += 1
    t = _resp_time(ex, ts)
    e = _FILL_TPL.__copy__()
    _put(e, _F_COID, o.client_order_id)
    _put(e, _F_IID, o.instrument_id)
    _put(e, _F_TS, ts)
    _put(e, _F_TSI, t)
    _put(e, _F_VID, o.venue_order_id)
    _put(e, _F_TID, f"S{tid}")
    _put(e, _F_SIDE, o.order_side)
    _put(e, _F_QTY, o.qty_obj if qty == o.qty and o.qty_obj is not None else Quantity.from_raw(qty, m.sp))
    _put(e, _F_PX, Price.from_raw(price, m.pp))
    _put(e, _F_FEE, fee)
    _put(e, _F_LIQ, liq)
    ex.emit(t, e)


def submit_market_ioc(ExchangeBase ex, MarketBase m, order: object, ts: object) -> None:
    """``SimulatedExchange._submit_market_ioc``: a plain market IOC order (no reduce-only, no display, an L2
    market) with the fields and checks such an order cannot need left out; the same checks, ids, events and
    fills as the general path."""
    q = order.quantity
    sp = m.sp
    if q.precision == sp:
        qty = q.raw
        qobj = q
    else:
        try:
            qty = q.raw_at(sp)
        except ValidationError as exc:
            ex._reject(ts, order, f"price or quantity not at the instrument's precision: {exc}")
            return
        qobj = None
    cdef SimOrder o = SimOrder.__new__(SimOrder)
    coid = order.client_order_id
    o.client_order_id = coid
    o.instrument_id = order.instrument_id
    side = order.side
    o.order_side = side
    cdef long sd = side
    o.side = sd
    o.price = o.trigger = None
    o.qty = o.leaves = qty
    o.qty_obj = qobj
    o.display = o.filled = 0
    # the lot / min / max quantity rules inline (no price, no display); _rules says which rule failed, and
    # checks the min notional
    if qty % m.step or qty < m.min_qty or (m.max_qty and qty > m.max_qty) or m.min_notional is not None:
        reason = ex._rules(m, o)
        if reason is not None:
            ex._reject(ts, order, reason)
            return
    if order.post_only and ex._crosses(m, sd, None):
        ex._reject(ts, order, "post-only order would cross the book")
        return
    n = ex._next_venue_id
    vid = str(n)
    o.venue_order_id = vid
    ex._next_venue_id = n + 1
    orders = ex.orders
    orders[coid] = o
    t = _resp_time(ex, ts)
    e = _ACC_TPL.__copy__()
    _put(e, _A_COID, coid)
    _put(e, _A_IID, o.instrument_id)
    _put(e, _A_TS, ts)
    _put(e, _A_TSI, t)
    _put(e, _A_VID, vid)
    ex.emit(t, e)
    # fast path (what _execute -> _take do for this case): no own resting order on the opposite side to
    # prevent a self-trade with, and the best level holds the whole order
    b = m.book
    if sd == _BUY:
        own, opp, p, avail = m.asks, _SELL, b.best_ask_price_raw, b.best_ask_qty_raw
    else:
        own, opp, p, avail = m.bids, _BUY, b.best_bid_price_raw, b.best_bid_qty_raw
    if not own and p != _RAW_NULL:
        consumed = m.consumed
        key = (opp, p)
        used = consumed.get(key, 0)
        if avail - used >= qty:
            consumed[key] = used + qty
            ex._fill(m, o, p, qty, ts, _TAKER)
            del orders[coid]
            return
    # the general path: the rest of the fields, then match
    o.inst = m.index
    o.otype, o.tif = _MARKET, _IOC
    o.front = o.cum_trade = 0
    o.post_only, o.reduce_only = order.post_only, False
    o.expire = None
    o.shown = qty
    ex._execute(m, o, ts)


def submit(ExchangeBase ex, order: object, ts: object) -> None:
    """A new order reaches the venue at ``ts`` (venue time): a plain market IOC order on an L2 market goes to
    the market IOC path, everything else (and every rejection) to ``SimulatedExchange._submit_general``."""
    m = ex.by_id.get(order.instrument_id)
    if m is None or order.client_order_id in ex.orders:
        ex._submit_general(order, ts)  # rejects it
        return
    if (order.order_type is _OT_MARKET and order.time_in_force is _TIF_IOC and not (<MarketBase>m).l3
            and not order.reduce_only and order.display_qty is None):
        ex._submit_market_ioc(m, order, ts)
        return
    ex._submit_general(order, ts)


def venue_submit(venue: object, order: object) -> None:
    """``SimulatedVenue.submit``: the order (a managed order) reaches the exchange entry latency after now."""
    t = venue._now()
    c = venue._entry_const
    venue._schedule(t + c if c is not None else t + venue._latency.entry(t), partial(venue._ex_submit, order.order))


def on_book_message(ExchangeBase ex, instrument: object, records: object, start: object, stop: object,
                    ts: object) -> None:
    """``SimulatedExchange.on_book_message``: the consumed liquidity is reset, a message for a market without
    resting orders goes straight to the book, anything else to ``_book_message``."""
    cdef MarketBase m = ex.markets[instrument]
    if m.consumed:
        m.consumed.clear()
    if not (m.bids or m.asks):
        if not m.l3:
            m.book.apply_events_range(records, start, stop)
        else:
            m.book.apply_events(records[start:stop])
        return
    ex._book_message(m, records, start, stop, ts)


def on_trade(ExchangeBase ex, instrument: object, aggressor: object, price: object, qty: object, ts: object) -> None:
    """``SimulatedExchange.on_trade``: the last trade price is kept; resting orders the trade can reach and
    stops go to ``_trade``."""
    cdef MarketBase m = ex.markets[instrument]
    m.last_trade = price
    if m.stops or (not m.l3 and ((aggressor == _SELL and m.bids) or (aggressor == _BUY and m.asks))):
        ex._trade(m, aggressor, price, qty, ts)
