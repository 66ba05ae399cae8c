# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=True, embedsignature=True, autotestdict=False, annotation_typing=False, auto_pickle=False
"""Native parts of the simulated exchange (``shrivenquant.sim.exchange``).

* :func:`submit_market_ioc` and :func:`fill`: the exchange's plain market IOC submit path and its fill, the
  same checks, ids, events and state changes as the Python methods they replace (``SimulatedExchange.
  _submit_market_ioc`` / ``_fill`` are these functions). Venue events are built from validated templates
  by a copy and direct slot stores (what ``msgspec.structs.force_setattr`` does, without a call per field);
* the prefixes of ``on_book_message`` / ``on_trade`` (nothing to do in Python for a market without resting
  orders or stops).

The exchange's ``SimOrder`` and ``_Market`` stay Python classes with ``__slots__`` (Python code reads their
fields at slot speed); this module reads and writes those slots at the offsets their member descriptors give
(:func:`configure`), after checking the object's exact type.
"""

from sq_slots cimport slot_get as _get, slot_offset as _offset, slot_put as _put

from functools import partial

from shrivenquant._native.fixed import Money, Price, Quantity

from shrivenquant.errors import ValidationError

DEF _BUY = 1
DEF _SELL = 2


# ---------------------------------------------------------------- slots of the exchange's Python classes
cdef type _ORDER_T = None     # shrivenquant.sim.exchange.SimOrder
cdef type _MARKET_T = None    # shrivenquant.sim.exchange._Market
# SimOrder slots
cdef Py_ssize_t _O_COID, _O_IID, _O_OSIDE, _O_SIDE, _O_PRICE, _O_TRIG, _O_QTY, _O_LEAVES, _O_QOBJ, _O_DISPLAY
cdef Py_ssize_t _O_FILLED, _O_VID, _O_INST, _O_OTYPE, _O_TIF, _O_FRONT, _O_CUM, _O_POST, _O_RO, _O_EXPIRE
cdef Py_ssize_t _O_SHOWN, _O_AHEAD
# _Market slots
cdef Py_ssize_t _M_SP, _M_PP, _M_STEP, _M_MINQ, _M_MAXQ, _M_MINN, _M_BOOK, _M_ASKS, _M_BIDS, _M_CONS, _M_INDEX
cdef Py_ssize_t _M_POS, _M_FMAKER, _M_FTAKER, _M_FCUR, _M_MULT, _M_FSCALE, _M_FDEN, _M_FZERO, _M_L3, _M_STOPS
cdef Py_ssize_t _M_LAST


cdef inline int _check(object m, object o) except -1:
    if type(m) is not _MARKET_T or (o is not None and type(o) is not _ORDER_T):
        raise TypeError(f"expected the exchange's _Market and SimOrder, got {type(m).__name__}, {type(o).__name__}")
    return 0


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


def configure(accepted_tpl: object, fill_tpl: object, maker: object, taker: object, market: object, ioc: object,
              raw_null: object, round_half_even: object, ot_market: object, tif_ioc: object, order_type: type,
              market_type: type) -> None:
    """The exchange's validated event templates, constants, and its ``SimOrder`` / ``_Market`` classes (called
    once by ``shrivenquant.sim.exchange``)."""
    global _ORDER_T, _MARKET_T, _O_COID, _O_IID, _O_OSIDE, _O_SIDE, _O_PRICE, _O_TRIG, _O_QTY, _O_LEAVES, _O_QOBJ
    global _O_DISPLAY, _O_FILLED, _O_VID, _O_INST, _O_OTYPE, _O_TIF, _O_FRONT, _O_CUM, _O_POST, _O_RO, _O_EXPIRE
    global _O_SHOWN, _O_AHEAD
    global _M_SP, _M_PP, _M_STEP, _M_MINQ, _M_MAXQ, _M_MINN, _M_BOOK, _M_ASKS, _M_BIDS, _M_CONS, _M_INDEX, _M_POS
    global _M_FMAKER, _M_FTAKER, _M_FCUR, _M_MULT, _M_FSCALE, _M_FDEN, _M_FZERO, _M_L3, _M_STOPS, _M_LAST
    o, k = order_type, market_type
    _O_COID, _O_IID, _O_OSIDE, _O_SIDE = (_offset(o, "client_order_id"), _offset(o, "instrument_id"),
                                          _offset(o, "order_side"), _offset(o, "side"))
    _O_PRICE, _O_TRIG, _O_QTY, _O_LEAVES = (_offset(o, "price"), _offset(o, "trigger"), _offset(o, "qty"),
                                            _offset(o, "leaves"))
    _O_QOBJ, _O_DISPLAY, _O_FILLED, _O_VID = (_offset(o, "qty_obj"), _offset(o, "display"), _offset(o, "filled"),
                                              _offset(o, "venue_order_id"))
    _O_INST, _O_OTYPE, _O_TIF, _O_FRONT = (_offset(o, "inst"), _offset(o, "otype"), _offset(o, "tif"),
                                           _offset(o, "front"))
    _O_CUM, _O_POST, _O_RO, _O_EXPIRE = (_offset(o, "cum_trade"), _offset(o, "post_only"), _offset(o, "reduce_only"),
                                         _offset(o, "expire"))
    _O_SHOWN, _O_AHEAD = _offset(o, "shown"), _offset(o, "ahead")
    _M_SP, _M_PP, _M_STEP, _M_MINQ = _offset(k, "sp"), _offset(k, "pp"), _offset(k, "step"), _offset(k, "min_qty")
    _M_MAXQ, _M_MINN, _M_BOOK, _M_ASKS = (_offset(k, "max_qty"), _offset(k, "min_notional"), _offset(k, "book"),
                                          _offset(k, "asks"))
    _M_BIDS, _M_CONS, _M_INDEX, _M_POS = (_offset(k, "bids"), _offset(k, "consumed"), _offset(k, "index"),
                                          _offset(k, "position"))
    _M_FMAKER, _M_FTAKER, _M_FCUR, _M_MULT = (_offset(k, "fee_maker"), _offset(k, "fee_taker"),
                                              _offset(k, "fee_cur"), _offset(k, "mult"))
    _M_FSCALE, _M_FDEN, _M_FZERO, _M_L3 = (_offset(k, "fee_scale"), _offset(k, "fee_den"), _offset(k, "fee_zero"),
                                           _offset(k, "l3"))
    _M_STOPS, _M_LAST = _offset(k, "stops"), _offset(k, "last_trade")
    _ORDER_T, _MARKET_T = order_type, market_type
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


cdef inline object _resp_time(object ex, object ts):
    c = ex._resp_const
    return ts + c if c is not None else ts + ex._latency.response(ts)


def fill(ex: object, m: object, o: object, price: object, qty: object, ts: object, liq: object) -> None:
    """``SimulatedExchange._fill``: fill ``qty`` of ``o`` at ``price`` (raw), emit the ``OrderFilled``."""
    _check(m, o)
    _put(o, _O_LEAVES, _get(o, _O_LEAVES) - qty)
    _put(o, _O_FILLED, _get(o, _O_FILLED) + qty)
    _put(m, _M_POS, _get(m, _M_POS) + (qty if _get(o, _O_SIDE) == _BUY else -qty))
    rate = _get(m, _M_FMAKER) if liq is _MAKER else _get(m, _M_FTAKER)
    if rate:
        cur = _get(m, _M_FCUR)
        fee = Money.from_raw(_round_half_even(price * qty * _get(m, _M_MULT) * rate * _get(m, _M_FSCALE),
                                              _get(m, _M_FDEN)), cur.precision, cur)
    else:
        fee = _get(m, _M_FZERO)
    tid = ex._next_trade_id
    ex._next_trade_id = tid + 1
    ex.fills += 1
    t = _resp_time(ex, ts)
    qobj = _get(o, _O_QOBJ)
    e = _FILL_TPL.__copy__()
    _put(e, _F_COID, _get(o, _O_COID))
    _put(e, _F_IID, _get(o, _O_IID))
    _put(e, _F_TS, ts)
    _put(e, _F_TSI, t)
    _put(e, _F_VID, _get(o, _O_VID))
    _put(e, _F_TID, f"S{tid}")
    _put(e, _F_SIDE, _get(o, _O_OSIDE))
    _put(e, _F_QTY, qobj if qty == _get(o, _O_QTY) and qobj is not None else Quantity.from_raw(qty, _get(m, _M_SP)))
    _put(e, _F_PX, Price.from_raw(price, _get(m, _M_PP)))
    _put(e, _F_FEE, fee)
    _put(e, _F_LIQ, liq)
    ex.emit(t, e)


def submit_market_ioc(ex: object, m: object, order: object, ts: object) -> None:
    """``SimulatedExchange._submit_market_ioc``: a plain market IOC order (no reduce-only, no display, an L2
    market) with the fields and checks such an order cannot need left out; the same checks, ids, events and
    fills as the general path."""
    _check(m, None)
    q = order.quantity
    sp = _get(m, _M_SP)
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
    o = _ORDER_T.__new__(_ORDER_T)
    _put(o, _O_AHEAD, None)
    coid = order.client_order_id
    iid = order.instrument_id
    _put(o, _O_COID, coid)
    _put(o, _O_IID, iid)
    side = order.side
    _put(o, _O_OSIDE, side)
    cdef long sd = side
    _put(o, _O_SIDE, sd)
    _put(o, _O_PRICE, None)
    _put(o, _O_TRIG, None)
    _put(o, _O_QTY, qty)
    _put(o, _O_LEAVES, qty)
    _put(o, _O_QOBJ, qobj)
    _put(o, _O_DISPLAY, 0)
    _put(o, _O_FILLED, 0)
    # the lot / min / max quantity rules inline (no price, no display); _rules says which rule failed, and
    # checks the min notional
    max_qty = _get(m, _M_MAXQ)
    if (qty % _get(m, _M_STEP) or qty < _get(m, _M_MINQ) or (max_qty and qty > max_qty)
            or _get(m, _M_MINN) is not None):
        reason = ex._rules(m, o)
        if reason is not None:
            ex._reject(ts, order, reason)
            return
    if order.post_only and ex._crosses(m, sd, None):
        ex._reject(ts, order, "post-only order would cross the book")
        return
    n = ex._next_venue_id
    vid = str(n)
    _put(o, _O_VID, vid)
    ex._next_venue_id = n + 1
    orders = ex.orders
    orders[coid] = o
    t = _resp_time(ex, ts)
    e = _ACC_TPL.__copy__()
    _put(e, _A_COID, coid)
    _put(e, _A_IID, iid)
    _put(e, _A_TS, ts)
    _put(e, _A_TSI, t)
    _put(e, _A_VID, vid)
    ex.emit(t, e)
    # fast path (what _execute -> _take do for this case): no own resting order on the opposite side to
    # prevent a self-trade with, and the best level holds the whole order
    b = _get(m, _M_BOOK)
    if sd == _BUY:
        own, opp, p, avail = _get(m, _M_ASKS), _SELL, b.best_ask_price_raw, b.best_ask_qty_raw
    else:
        own, opp, p, avail = _get(m, _M_BIDS), _BUY, b.best_bid_price_raw, b.best_bid_qty_raw
    if not own and p != _RAW_NULL:
        consumed = _get(m, _M_CONS)
        key = (opp, p)
        used = consumed.get(key, 0)
        if avail - used >= qty:
            consumed[key] = used + qty
            ex._fill(m, o, p, qty, ts, _TAKER)
            del orders[coid]
            return
    # the general path: the rest of the fields, then match
    _put(o, _O_INST, _get(m, _M_INDEX))
    _put(o, _O_OTYPE, _MARKET)
    _put(o, _O_TIF, _IOC)
    _put(o, _O_FRONT, 0)
    _put(o, _O_CUM, 0)
    _put(o, _O_POST, order.post_only)
    _put(o, _O_RO, False)
    _put(o, _O_EXPIRE, None)
    _put(o, _O_SHOWN, qty)
    ex._execute(m, o, ts)


def submit(ex: object, order: object, ts: object) -> None:
    """A new order reaches the venue at ``ts`` (venue time): a plain market IOC order on an L2 market goes to
    the market IOC path, everything else (and every rejection) to ``SimulatedExchange._submit_general``."""
    m = ex.by_id.get(order.instrument_id)
    if m is None or order.client_order_id in ex.orders:
        ex._submit_general(order, ts)  # rejects it
        return
    if (order.order_type is _OT_MARKET and order.time_in_force is _TIF_IOC and not _get(m, _M_L3)
            and not order.reduce_only and order.display_qty is None):
        ex._submit_market_ioc(m, order, ts)
        return
    ex._submit_general(order, ts)


def venue_submit(venue: object, order: object) -> None:
    """``SimulatedVenue.submit``: the order (a managed order) reaches the exchange entry latency after now."""
    t = venue._now()
    c = venue._entry_const
    venue._schedule(t + c if c is not None else t + venue._latency.entry(t), partial(venue._ex_submit, order.order))


def on_book_message(ex: object, instrument: object, records: object, start: object, stop: object,
                    ts: object) -> None:
    """``SimulatedExchange.on_book_message``: the consumed liquidity is reset, a message for a market without
    resting orders goes straight to the book, anything else to ``_book_message``."""
    m = ex.markets[instrument]
    _check(m, None)
    consumed = _get(m, _M_CONS)
    if consumed:
        consumed.clear()
    if not (_get(m, _M_BIDS) or _get(m, _M_ASKS)):
        if not _get(m, _M_L3):
            _get(m, _M_BOOK).apply_events_range(records, start, stop)
        else:
            _get(m, _M_BOOK).apply_events(records[start:stop])
        return
    ex._book_message(m, records, start, stop, ts)


def on_trade(ex: object, instrument: object, aggressor: object, price: object, qty: object, ts: object) -> None:
    """``SimulatedExchange.on_trade``: the last trade price is kept; resting orders the trade can reach and
    stops go to ``_trade``."""
    m = ex.markets[instrument]
    _check(m, None)
    _put(m, _M_LAST, price)
    if _get(m, _M_STOPS) or (not _get(m, _M_L3) and ((aggressor == _SELL and _get(m, _M_BIDS))
                                                     or (aggressor == _BUY and _get(m, _M_ASKS)))):
        ex._trade(m, aggressor, price, qty, ts)
