# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=True, embedsignature=True, autotestdict=False, annotation_typing=False, auto_pickle=False
"""Native scheduling core of the backtest engine (``shrivenquant.backtest.engine``).

:class:`EngineCore` owns the engine's timer heap (items ``(time, sequence, kind, payload)``: kind 0 a
request reaching the exchange, 1 a venue event reaching the OMS, 2 a strategy timer), runs the items due
in ``(time, sequence)`` order (:meth:`EngineCore.run_due`) and delivers venue events to the OMS, the
engine's fill bookkeeping and the strategy (:meth:`EngineCore.deliver`): the same order of operations as
the Python methods it replaces.
"""

from heapq import heappop, heappush

from cpython.list cimport PyList_GET_SIZE
from sq_slots cimport slot_offset as _offset, slot_put as _put

from shrivenquant._native.fixed import Quantity
from shrivenquant.core.enums import TimeInForce


cdef class EngineCore:
    """The engine's heap, sequence counter and event delivery (see the module docstring)."""

    cdef object engine, heap, exchanges, om_apply, strategy, ctx, filled_type, buy_side
    cdef object iid, pos, cash, mult, fee_total, fills, pow10, pow10f
    cdef long long seq
    cdef public bint on_order_event, on_fill

    def __init__(self, engine: object, heap: list, filled_type: type, buy_side: object, pow10: list,
                 pow10f: list) -> None:
        self.engine = engine
        self.heap = heap
        self.seq = 0
        self.filled_type = filled_type
        self.buy_side = buy_side
        self.pow10 = pow10
        self.pow10f = pow10f
        self.on_order_event = False
        self.on_fill = False

    def bind(self) -> None:
        """Read the engine's parts (call once its OMS, exchanges and bookkeeping lists exist)."""
        e = self.engine
        self.exchanges = e._exchange_list
        self.om_apply = e.om.apply
        self.strategy = e.strategy
        self.ctx = e.ctx
        self.iid = e._iid
        self.pos = e._pos
        self.cash = e._cash
        self.mult = e._mult
        self.fee_total = e._fee_total
        self.fills = e._fills

    def push(self, ts: object, kind: object, payload: object) -> None:
        """Schedule ``payload`` of ``kind`` at ``ts`` (after everything already scheduled at ``ts``)."""
        self.seq += 1
        heappush(self.heap, (ts, self.seq, kind, payload))

    def schedule_action(self, ts: object, action: object) -> None:
        """A request reaching the exchange at ``ts``: ``action(ts)``."""
        self.seq += 1
        heappush(self.heap, (ts, self.seq, 0, action))

    def deliver_later(self, ts: object, event: object) -> None:
        """A venue event reaching the OMS at ``ts``."""
        self.seq += 1
        heappush(self.heap, (ts, self.seq, 1, event))

    def run_due(self, ts: object) -> None:
        """Run every item due at or before ``ts`` in (time, sequence) order, with the exchanges' GTD
        expiries due before and after each."""
        heap = self.heap
        exchanges = self.exchanges
        eng = self.engine
        for ex in exchanges:
            if ex._expiries and ex.next_expiry <= ts:
                ex.expire(ts)
        while PyList_GET_SIZE(heap) and (<tuple>heap[0])[0] <= ts:
            t, _, kind, payload = <tuple>heappop(heap)
            if t > eng.now:
                eng.now = t
            if kind == 1:
                self.deliver(payload)
            elif kind == 0:
                payload(t)
            else:
                self.strategy.on_timer(self.ctx, t, payload)
            for ex in exchanges:
                if ex._expiries and ex.next_expiry <= t:
                    ex.expire(t)

    def deliver(self, event: object) -> None:
        """A venue event reaches the OMS (``om.apply``), then the engine's fill bookkeeping and the strategy."""
        self.om_apply(event)
        if type(event) is self.filled_type:
            k = self.iid[event.instrument_id]
            q = event.last_qty.raw
            signed = q if event.order_side is self.buy_side else -q
            pos = self.pos
            cash = self.cash
            pos[k] += signed
            cash[k] -= signed * event.last_px.raw * self.mult[k]
            fee = event.fee
            fraw = fee.raw
            if fraw:
                fprec = fee.precision
                code = fee.currency.code
                totals = self.fee_total
                totals[code] = totals.get(code, 0) + fraw * self.pow10[18 - fprec]
                e = self.engine
                e._fee_float += fraw / self.pow10f[fprec]
            # the fill table is built from the (immutable) events at the end of the run
            self.fills.append(event)
            if self.on_order_event:
                self.strategy.on_order_event(self.ctx, event)
            if self.on_fill:
                self.strategy.on_fill(self.ctx, event)
        elif self.on_order_event:
            self.strategy.on_order_event(self.ctx, event)


# ---------------------------------------------------------------- the strategy's market order helper
cdef object _MARKET_TPL = None
cdef object _SIDE = None
cdef object _TRUE = True
cdef Py_ssize_t _O_COID, _O_IID, _O_SIDE, _O_QTY, _O_TS, _O_RO
_IOC = TimeInForce.IOC


def configure_orders(market_tpl: object, sides: dict) -> None:
    """The validated market IOC order template and the side map of ``shrivenquant.backtest.strategy``."""
    global _MARKET_TPL, _SIDE, _O_COID, _O_IID, _O_SIDE, _O_QTY, _O_TS, _O_RO
    c = type(market_tpl)
    _O_COID, _O_IID, _O_SIDE = _offset(c, "client_order_id"), _offset(c, "instrument_id"), _offset(c, "side")
    _O_QTY, _O_TS, _O_RO = _offset(c, "quantity"), _offset(c, "ts_init"), _offset(c, "reduce_only")
    _MARKET_TPL, _SIDE = market_tpl, sides


def market(ctx: object, instrument: object, side: object, qty_raw: object, *, reduce_only: object = False,
           tif: object = _IOC) -> object:
    """Submit a market order (raw quantity)."""
    meta = ctx._meta[instrument]
    if meta is None or tif is not _IOC or type(qty_raw) is not int or qty_raw <= 0:
        return ctx._market_general(instrument, side, qty_raw, reduce_only=reduce_only, tif=tif)
    iid, _pp, sp = <tuple>meta
    i = ctx._next_id
    ctx._next_id = i + 1
    o = _MARKET_TPL.__copy__()
    _put(o, _O_COID, f"{ctx._prefix}{i}")
    _put(o, _O_IID, iid)
    _put(o, _O_SIDE, _SIDE[side])
    _put(o, _O_QTY, Quantity.from_raw(qty_raw, sp))
    _put(o, _O_TS, ctx._engine.now)
    if reduce_only:
        _put(o, _O_RO, _TRUE)
    return ctx.om.submit(o)
