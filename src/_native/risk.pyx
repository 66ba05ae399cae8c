# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: binding=False, embedsignature=True, autotestdict=False, annotation_typing=False
"""Native pre-trade risk engine: :class:`RiskEngine`.

All arguments are raw int64: prices at the instrument's price precision, quantities at its size
precision, money (notional, credit, margin, balance, PnL) at the engine's money precision, timestamps in
ns supplied by the caller. Instruments and strategies are dense indices (0..n-1); the Python layer
(:mod:`shrivenquant.risk`) maps ids and names to them and builds the engine from a validated config.
The checks run in C (``sq_risk.h``); a check returns 0 (accepted, and counted toward every limit at
once) or a reason code (:class:`shrivenquant.risk.RejectReason`). See ``docs/risk.md``.
"""

cimport cython
cimport numpy as cnp
from libc.stdint cimport int16_t, int64_t, int32_t, uint8_t, INT64_MAX
from libc.stdlib cimport calloc, free

import numpy as _np

from shrivenquant.errors import ValidationError as _ValidationError

cnp.import_array()

cdef extern from "sq_risk.h" nogil:
    const int64_t SQ_RK_NONE, SQ_RK_ORDER_CAP, SQ_RK_SUM_CAP
    const int SQ_RK_OK, SQ_RK_INVALID_ORDER, SQ_RK_UNKNOWN_ORDER, SQ_RK_NREASONS
    const int SQ_RK_ACTIVE, SQ_RK_REDUCING, SQ_RK_HALTED
    const int SQ_RK_KILL_OFF, SQ_RK_KILL_MANUAL, SQ_RK_KILL_EXEC
    const int SQ_RK_COLLAR_OFF, SQ_RK_COLLAR_BPS, SQ_RK_COLLAR_TICKS
    const int SQ_RK_EV_UNKNOWN, SQ_RK_EV_AUTO_KILL, SQ_RK_EV_BREAKER, SQ_RK_EV_INVALID
    const int SQ_RK_OP_NEW, SQ_RK_OP_MODIFY, SQ_RK_OP_CANCEL, SQ_RK_OP_ACCEPTED, SQ_RK_OP_REJECTED
    const int SQ_RK_OP_CANCELED, SQ_RK_OP_FILLED, SQ_RK_OP_MARK, SQ_RK_OP_REFERENCE, SQ_RK_OP_BALANCE
    ctypedef struct sq_rk_msg:
        int64_t ts
        int64_t order_id
        int64_t price
        int64_t qty
        int32_t instrument
        int32_t strategy
        uint8_t op
        uint8_t side
    ctypedef struct sq_rk_ring:
        int64_t limit
        int64_t window
        int64_t full
    ctypedef struct sq_rk_map:
        int64_t *keys
        int64_t *vals
        int64_t mask
        int64_t n
    ctypedef struct sq_rk_inst:
        int64_t tick, lot, min_qty, max_qty, min_notional, max_notional
        int64_t collar_unit, buy_up, buy_down, sell_up, sell_down
        int64_t max_net, max_gross, max_open, margin_bps, num, den, restricted
        int64_t ref, buy_lo, buy_hi, sell_lo, sell_hi, mark
        int64_t net_pos, gross_pos, open_buy, open_sell, n_open, pos_margin
    ctypedef struct sq_rk_strat:
        int64_t killed, state, cause
        int64_t max_notional, credit_limit, max_open
        sq_rk_ring orders, modifies, cancels, execs
        int64_t otr_x1000, otr_min
        int64_t daily_limit, daily_action, dd_limit, dd_action
        int64_t open_notional, n_open, msgs, trades, realized, unrealized, day_base, peak
    ctypedef struct sq_rk_pos:
        int64_t pos, open_buy, open_sell, upnl
    ctypedef struct sq_rk_order:
        int64_t id, price, leaves
        int32_t inst, strat
        signed char side, margin_free, market, acked
    ctypedef struct sq_rk:
        int64_t ni, ns
        sq_rk_inst *inst
        sq_rk_strat *strat
        sq_rk_pos *pos
        int64_t killed, state, cause
        int64_t credit_limit, max_open, daily_limit, daily_action, dd_limit, dd_action
        int64_t margin_on, balance
        int64_t open_notional, order_margin, pos_margin, n_open, realized, unrealized, day_base, peak
        sq_rk_order *win
        int64_t win_mask, win_n, win_hi
        sq_rk_map ids
        sq_rk_order *pool
        int64_t pool_cap
        int64_t dup_window
        int64_t rejects[29]
        int64_t checks
        int64_t last_value, last_limit, last_scope, last_index
    int sq_rk_init_win(sq_rk *rk, int64_t ni, int64_t ns, int64_t win)
    sq_rk_order *sq_rk_find_order(sq_rk *rk, int64_t id)
    void sq_rk_free(sq_rk *rk)
    int sq_rk_ring_init(sq_rk_ring *r, int64_t limit, int64_t window)
    void sq_rk_set_reference(sq_rk *rk, int64_t i, int64_t ref)
    void sq_rk_config_changed(sq_rk *rk)
    int sq_rk_check_new(sq_rk *rk, int64_t i, int64_t s, int side, int64_t px, int64_t qty, int64_t ts, int64_t id)
    int sq_rk_check_modify(sq_rk *rk, int64_t id, int64_t px, int64_t qty, int64_t ts)
    int sq_rk_check_cancel(sq_rk *rk, int64_t id, int64_t ts)
    int sq_rk_on_fill(sq_rk *rk, int64_t id, int64_t i, int64_t s, int side, int64_t px, int64_t qty, int64_t ts)
    int sq_rk_on_mark(sq_rk *rk, int64_t i, int64_t px)
    int sq_rk_on_accepted(sq_rk *rk, int64_t id)
    int sq_rk_on_done(sq_rk *rk, int64_t id)
    int64_t sq_rk_process(sq_rk *rk, const sq_rk_msg *m, int64_t k, int64_t n, int16_t *res, int audit,
                          int *pending)
    int64_t sq_rk_release_all(sq_rk *rk, int64_t s)
    void sq_rk_pos_margin(sq_rk *rk, sq_rk_inst *IN)
    void sq_rk_inst_ready(sq_rk_inst *IN)
    int sq_rk_breakers_account(sq_rk *rk)
    int sq_rk_breakers_strat(sq_rk_strat *S)
    void sq_rk_reset_day(sq_rk *rk)
    void sq_rk_reset(sq_rk *rk)
    void sq_rk_otr_ready(sq_rk_strat *S)
    int64_t sq_rk_map_find(const sq_rk_map *m, int64_t key)
    int64_t sq_rk_notional(const sq_rk_inst *IN, int64_t px, int64_t qty)

#: Number of reason codes (0 = accepted).
N_REASONS = SQ_RK_NREASONS

#: Reason names by code (``REASON_NAMES[code]``); mirrored by :class:`shrivenquant.risk.RejectReason`.
REASON_NAMES = (
    "ACCEPTED", "INVALID_ORDER", "UNKNOWN_ORDER", "KILL_SWITCH_GLOBAL", "KILL_SWITCH_STRATEGY",
    "REPEATED_EXECUTION", "RESTRICTED_INSTRUMENT", "TRADING_HALTED", "REDUCE_ONLY", "DAILY_LOSS_LIMIT",
    "DRAWDOWN_LIMIT", "DUPLICATE_ORDER_ID", "NO_REFERENCE_PRICE", "TICK_SIZE", "LOT_SIZE", "MIN_QTY",
    "MAX_ORDER_QTY", "PRICE_COLLAR", "MIN_NOTIONAL", "MAX_ORDER_NOTIONAL", "MAX_OPEN_ORDERS", "CREDIT_LIMIT",
    "POSITION_LIMIT_NET", "POSITION_LIMIT_GROSS", "MARGIN", "ORDER_TO_TRADE_RATIO", "ORDER_RATE",
    "MODIFY_RATE", "CANCEL_RATE",
)

_WHAT = (
    "accepted",
    "invalid order (side must be 1 or 2, quantity > 0, price >= 0, order id > 0, known instrument and strategy)",
    "unknown order id (not working)",
    "the global kill switch is on",
    "the strategy's kill switch is on",
    "the strategy was disabled by the repeated-execution throttle",
    "the instrument is restricted",
    "trading is halted",
    "reduce-only state: the order would not reduce the position",
    "the daily loss breaker has tripped",
    "the drawdown breaker has tripped",
    "duplicate client order id",
    "no reference price for the price collar or a market order",
    "price is not a multiple of the tick",
    "quantity is not a multiple of the lot",
    "quantity below the minimum",
    "quantity above the maximum order quantity",
    "price outside the collar around the reference price",
    "notional below the minimum",
    "notional above the maximum order notional",
    "too many open orders",
    "credit limit: open-order notional plus this order above the limit",
    "net position after a full fill above the limit",
    "gross position after a full fill above the limit",
    "margin needed above equity (balance + unrealized PnL)",
    "order-to-trade ratio above the limit",
    "order rate above the limit",
    "modify rate above the limit",
    "cancel rate above the limit",
)

_SCOPES = ("order", "instrument", "strategy", "account")
_STATE_NAMES = ("ACTIVE", "REDUCING", "HALTED")
_CAUSE_NAMES = ("MANUAL", "DAILY_LOSS", "DRAWDOWN")

#: Batch record layout (``RISK_OP_DTYPE`` in :mod:`shrivenquant.risk`): 48 bytes.
RECORD_FIELDS = (
    ("ts", "<i8"), ("order_id", "<i8"), ("price", "<i8"), ("qty", "<i8"), ("instrument", "<i4"),
    ("strategy", "<i4"), ("op", "u1"), ("side", "u1"), ("reserved", "V6"),
)


def reason_name(code: int) -> str:
    """The name of reason ``code`` (``"ACCEPTED"`` for 0)."""
    if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < SQ_RK_NREASONS:
        raise _ValidationError(f"reason code must be an int from 0 to {SQ_RK_NREASONS - 1}, got {code!r}")
    return REASON_NAMES[code]


cdef inline int64_t _lim(object v, str what) except? -1:
    """A maximum: None -> off (INT64_MAX); else an int >= 0."""
    if v is None:
        return SQ_RK_NONE
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > INT64_MAX:
        raise _ValidationError(f"{what} must be an int from 0 to 2**63 - 1 or None, got {v!r}")
    return <int64_t>v


cdef inline int64_t _nonneg(object v, str what) except? -1:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > INT64_MAX:
        raise _ValidationError(f"{what} must be an int from 0 to 2**63 - 1, got {v!r}")
    return <int64_t>v


cdef inline int64_t _pos(object v, str what) except? -1:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1 or v > INT64_MAX:
        raise _ValidationError(f"{what} must be an int from 1 to 2**63 - 1, got {v!r}")
    return <int64_t>v


cdef inline int64_t _action(object v, str what) except? -1:
    if v not in (1, 2):
        raise _ValidationError(f"{what} must be 1 (REDUCING) or 2 (HALTED), got {v!r}")
    return <int64_t>v


@cython.final
@cython.auto_pickle(False)
cdef class RiskEngine:
    """The pre-trade gate and the exposure it tracks, in C.

    Args:
        n_instruments: number of instruments (indices 0..n-1).
        n_strategies: number of strategies / accounts (indices 0..n-1).
        order_window: the most slots (a power of two) of the direct-mapped window that holds the working orders
            of the usual increasing ids inline (by ``id % slots``); it starts at 1,024 slots (or ``order_window``
            if smaller) and doubles when a new id's slot still holds an older working order, up to
            ``order_window``; beyond that, other ids and orders still working when a newer id needs their slot live
            in a hash table (same results, slower). 32,768 slots take 2 MB (64 bytes each), allocated at once; only
            the slots in use are touched.

    Every limit starts off; :meth:`configure_instrument`, :meth:`configure_strategy` and
    :meth:`configure_account` set them (raw ints, None = off). Orders: :meth:`check` (new),
    :meth:`check_modify`, :meth:`check_cancel` return 0 or a reason code; an accepted new order or modify
    counts toward every limit at once. OMS updates: :meth:`on_accepted`, :meth:`on_rejected`,
    :meth:`on_canceled`, :meth:`on_fill`, :meth:`on_mark`, :meth:`set_reference`, :meth:`set_balance`.
    :meth:`process` runs a batch of such records in one call with the same results as one by one.

    Hooks (Python callables, None by default, never called on the accept path):
    ``audit_hook(reason, op, order_id, instrument, strategy, side, price, qty, ts)`` on every reject;
    ``kill_hook(strategy, order_ids)`` when a kill switch turns on (``strategy`` -1: global) with the
    working order ids to cancel; ``breaker_hook(strategy, state, cause)`` when a breaker changes a state.
    """

    cdef sq_rk rk
    cdef bint _ready
    cdef int64_t *_seen_state
    cdef int64_t *_seen_kill
    cdef object _audit, _kill, _breaker

    def __cinit__(self, *args, **kwargs):
        self._ready = False

    def __init__(self, n_instruments: int, n_strategies: int = 1, *, order_window: int = 32768) -> None:
        cdef int64_t ni = _pos(n_instruments, "n_instruments")
        cdef int64_t ns = _pos(n_strategies, "n_strategies")
        if ni > 1_000_000 or ns > 100_000 or ni * ns > 50_000_000:
            raise _ValidationError(f"too many instruments x strategies: {ni} x {ns}")
        cdef int64_t win = _pos(order_window, "order_window")
        if win > 1 << 24 or win & (win - 1):
            raise _ValidationError(f"order_window must be a power of two <= 2**24, got {order_window!r}")
        if self._ready:
            sq_rk_free(&self.rk)
            free(self._seen_state)
            free(self._seen_kill)
        if sq_rk_init_win(&self.rk, ni, ns, win) != 0:
            sq_rk_free(&self.rk)
            raise MemoryError("RiskEngine: out of memory")
        self._seen_state = <int64_t *>calloc(ns + 1, sizeof(int64_t))
        self._seen_kill = <int64_t *>calloc(ns + 1, sizeof(int64_t))
        if self._seen_state == NULL or self._seen_kill == NULL:
            raise MemoryError("RiskEngine: out of memory")
        self._ready = True

    def __dealloc__(self):
        if self._ready:
            sq_rk_free(&self.rk)
        free(self._seen_state)
        free(self._seen_kill)

    # ------------------------------------------------------------------------------ configuration

    @property
    def n_instruments(self) -> int:
        """Number of instruments."""
        return self.rk.ni

    @property
    def n_strategies(self) -> int:
        """Number of strategies."""
        return self.rk.ns

    cdef int64_t _inst(self, object i) except -1:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.rk.ni:
            raise _ValidationError(f"instrument must be an index from 0 to {self.rk.ni - 1}, got {i!r}")
        return <int64_t>i

    cdef int64_t _strat(self, object s) except -2:
        """-1 for None (global / account), else a strategy index."""
        if s is None:
            return -1
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < self.rk.ns:
            raise _ValidationError(f"strategy must be None or an index from 0 to {self.rk.ns - 1}, got {s!r}")
        return <int64_t>s

    def configure_instrument(
        self, instrument, *, tick=1, lot=1, min_qty=0, max_qty=None, min_notional=0, max_notional=None,
        restricted=False, collar_unit=0, buy_up=None, buy_down=None, sell_up=None, sell_down=None,
        max_net=None, max_gross=None, max_open=None, margin_bps=10000, notional_num=1, notional_den=1,
    ) -> None:
        """Set instrument ``instrument``'s rules (raw ints; None = off).

        ``tick`` (raw price) and ``lot`` (raw qty) are the grids; ``collar_unit`` 0 off, 1 basis points,
        2 ticks, with the band per side (``buy_up``: how far above the reference a buy may be, ...);
        ``max_net`` / ``max_gross`` are raw quantities; money is ``price * qty * notional_num /
        notional_den`` at the money precision; ``margin_bps`` is the initial margin rate (10000 = 100 %).
        """
        cdef int64_t i = self._inst(instrument)
        cdef sq_rk_inst *IN = &self.rk.inst[i]
        cdef int64_t unit
        sq_rk_config_changed(&self.rk)  # the batch path's envelopes are built again (before any field changes)
        if collar_unit not in (0, 1, 2):
            raise _ValidationError(f"collar_unit must be 0 (off), 1 (bps) or 2 (ticks), got {collar_unit!r}")
        unit = collar_unit
        bands = [_lim(buy_up, "buy_up"), _lim(buy_down, "buy_down"), _lim(sell_up, "sell_up"),
                 _lim(sell_down, "sell_down")]
        if unit == SQ_RK_COLLAR_BPS:
            for b, name in ((bands[1], "buy_down"), (bands[3], "sell_down")):
                if b != SQ_RK_NONE and b >= 10000:
                    raise _ValidationError(f"{name} must be < 10000 bps (a band below zero), got {b}")
        values = (_pos(tick, "tick"), _pos(lot, "lot"), _nonneg(min_qty, "min_qty"), _lim(max_qty, "max_qty"),
                  _nonneg(min_notional, "min_notional"), _lim(max_notional, "max_notional"),
                  _lim(max_net, "max_net"), _lim(max_gross, "max_gross"), _lim(max_open, "max_open"),
                  _nonneg(margin_bps, "margin_bps"), _pos(notional_num, "notional_num"),
                  _pos(notional_den, "notional_den"))
        IN.tick, IN.lot, IN.min_qty, IN.max_qty, IN.min_notional, IN.max_notional = values[:6]
        IN.max_net, IN.max_gross, IN.max_open, IN.margin_bps, IN.num, IN.den = values[6:]
        IN.max_qty = min(IN.max_qty, SQ_RK_ORDER_CAP)
        IN.max_notional = min(IN.max_notional, SQ_RK_ORDER_CAP)
        IN.max_gross = min(IN.max_gross, SQ_RK_SUM_CAP)
        IN.restricted = 1 if restricted else 0
        IN.collar_unit = unit
        IN.buy_up, IN.buy_down, IN.sell_up, IN.sell_down = bands
        sq_rk_inst_ready(IN)
        sq_rk_set_reference(&self.rk, i, IN.ref)
        sq_rk_pos_margin(&self.rk, IN)

    def configure_strategy(
        self, strategy, *, max_notional=None, credit_limit=None, max_open=None,
        order_limit=None, order_window_ns=0, modify_limit=None, modify_window_ns=0,
        cancel_limit=None, cancel_window_ns=0, exec_limit=None, exec_window_ns=0,
        otr_x1000=None, otr_min_messages=0, daily_loss=None, daily_loss_action=2,
        drawdown=None, drawdown_action=2,
    ) -> None:
        """Set strategy ``strategy``'s limits (raw money / counts / ns; None = off).

        ``*_limit`` with ``*_window_ns``: at most that many messages in any window (now - window, now];
        ``exec_limit``: more fills than that in the window disables the strategy until :meth:`reset_kill`.
        ``otr_x1000``: the order-to-trade ratio cap times 1000, enforced once the strategy has sent
        ``otr_min_messages`` messages since the day started. Breaker actions: 1 REDUCING, 2 HALTED.
        """
        cdef int64_t s = self._strat(strategy)
        if s < 0:
            raise _ValidationError("strategy must be an index, got None")
        cdef sq_rk_strat *S = &self.rk.strat[s]
        sq_rk_config_changed(&self.rk)  # the batch path's envelopes are built again (before any field changes)
        rings = []
        for lim, win, name in ((order_limit, order_window_ns, "order"), (modify_limit, modify_window_ns, "modify"),
                               (cancel_limit, cancel_window_ns, "cancel"), (exec_limit, exec_window_ns, "exec")):
            if lim is None:
                rings.append((0, 0))
                continue
            if _pos(lim, f"{name}_limit") > 10_000_000:
                raise _ValidationError(f"{name}_limit must be <= 10,000,000, got {lim}")
            rings.append((<int64_t>lim, _pos(win, f"{name}_window_ns")))
        S.max_notional = _lim(max_notional, "max_notional")
        S.credit_limit = min(_lim(credit_limit, "credit_limit"), SQ_RK_SUM_CAP)
        S.max_open = _lim(max_open, "max_open")
        S.otr_x1000 = -1 if otr_x1000 is None else _pos(otr_x1000, "otr_x1000")
        S.otr_min = _nonneg(otr_min_messages, "otr_min_messages")
        sq_rk_otr_ready(S)
        S.daily_limit = _lim(daily_loss, "daily_loss")
        S.daily_action = _action(daily_loss_action, "daily_loss_action")
        S.dd_limit = _lim(drawdown, "drawdown")
        S.dd_action = _action(drawdown_action, "drawdown_action")
        if (sq_rk_ring_init(&S.orders, rings[0][0], rings[0][1]) != 0
                or sq_rk_ring_init(&S.modifies, rings[1][0], rings[1][1]) != 0
                or sq_rk_ring_init(&S.cancels, rings[2][0], rings[2][1]) != 0
                or sq_rk_ring_init(&S.execs, rings[3][0], rings[3][1]) != 0):
            raise MemoryError("RiskEngine: out of memory")

    def configure_account(
        self, *, credit_limit=None, max_open=None, daily_loss=None, daily_loss_action=2, drawdown=None,
        drawdown_action=2, margin=False, balance=0, duplicate_window_ns=0,
    ) -> None:
        """Set the account-wide limits (raw money; None = off).

        ``margin``: check margin against ``balance`` + unrealized PnL; ``duplicate_window_ns``: a client
        order id seen within this window is a duplicate even after its order is done (0: only working ids).
        """
        sq_rk_config_changed(&self.rk)  # the batch path's envelopes are built again (before any field changes)
        self.rk.credit_limit = min(_lim(credit_limit, "credit_limit"), SQ_RK_SUM_CAP)
        self.rk.max_open = _lim(max_open, "max_open")
        self.rk.daily_limit = _lim(daily_loss, "daily_loss")
        self.rk.daily_action = _action(daily_loss_action, "daily_loss_action")
        self.rk.dd_limit = _lim(drawdown, "drawdown")
        self.rk.dd_action = _action(drawdown_action, "drawdown_action")
        if isinstance(balance, bool) or not isinstance(balance, int) or abs(balance) > INT64_MAX:
            raise _ValidationError(f"balance must be a raw int64, got {balance!r}")
        self.rk.balance = balance
        self.rk.dup_window = _nonneg(duplicate_window_ns, "duplicate_window_ns")
        self.rk.margin_on = 1 if margin else 0
        for i in range(self.rk.ni):
            sq_rk_pos_margin(&self.rk, &self.rk.inst[i])

    # ------------------------------------------------------------------------------ the checks

    def check(self, int64_t instrument, int64_t strategy, int side, int64_t price, int64_t qty, int64_t ts,
              int64_t order_id) -> int:
        """Check a new order: 0 (accepted, counted at once) or a reason code.

        ``side`` 1 buy / 2 sell; ``price`` raw (0: a market order, valued at the reference price);
        ``qty`` raw > 0; ``ts`` ns; ``order_id`` > 0, unique among working orders.
        """
        cdef int r = sq_rk_check_new(&self.rk, instrument, strategy, side, price, qty, ts, order_id)
        if r != 0:
            if r < 0:
                raise MemoryError("RiskEngine: out of memory")
            if self._audit is not None:
                self._audit(r, SQ_RK_OP_NEW, order_id, instrument, strategy, side, price, qty, ts)
        return r

    def check_modify(self, int64_t order_id, int64_t price, int64_t qty, int64_t ts) -> int:
        """Check a modify of working order ``order_id`` to ``price`` / working ``qty``: 0 (applied) or a reason."""
        cdef int r = sq_rk_check_modify(&self.rk, order_id, price, qty, ts)
        if r != 0 and self._audit is not None:
            self._audit_order(r, SQ_RK_OP_MODIFY, order_id, price, qty, ts)
        return r

    def check_cancel(self, int64_t order_id, int64_t ts) -> int:
        """Check a cancel request (the cancel throttle): 0 or a reason. Exposure is released by :meth:`on_canceled`."""
        cdef int r = sq_rk_check_cancel(&self.rk, order_id, ts)
        if r != 0 and self._audit is not None:
            self._audit_order(r, SQ_RK_OP_CANCEL, order_id, 0, 0, ts)
        return r

    cdef _audit_order(self, int r, int op, int64_t order_id, int64_t price, int64_t qty, int64_t ts):
        cdef sq_rk_order *o = sq_rk_find_order(&self.rk, order_id)
        if o != NULL:
            self._audit(r, op, order_id, o.inst, o.strat, o.side, price, qty, ts)
        else:
            self._audit(r, op, order_id, -1, -1, 0, price, qty, ts)

    # ------------------------------------------------------------------------------ OMS updates

    def on_accepted(self, int64_t order_id) -> int:
        """The venue accepted the order: 0, or UNKNOWN_ORDER if it is not working."""
        return sq_rk_on_accepted(&self.rk, order_id)

    def on_rejected(self, int64_t order_id) -> int:
        """The venue rejected the order: its exposure is released. 0 or UNKNOWN_ORDER."""
        return sq_rk_on_done(&self.rk, order_id)

    def on_canceled(self, int64_t order_id) -> int:
        """The order was canceled or expired: its remaining exposure is released. 0 or UNKNOWN_ORDER."""
        return sq_rk_on_done(&self.rk, order_id)

    def release_all(self, strategy=None) -> int:
        """The venue canceled every working order (of ``strategy``, or all): cancel-on-disconnect, mass cancel,
        end of session. Releases their exposure; returns how many were released."""
        return sq_rk_release_all(&self.rk, self._strat(strategy))

    def on_fill(self, int64_t order_id, int64_t instrument, int64_t strategy, int side, int64_t price, int64_t qty,
                int64_t ts) -> int:
        """A fill of ``qty`` at ``price``: 0, or UNKNOWN_ORDER if the order is not working (the position still moves).

        A working order's own instrument, strategy and side are used; for an unknown id the given ones are.
        Updates positions, realized and unrealized PnL, the execution throttle and the breakers.
        """
        cdef int ev = sq_rk_on_fill(&self.rk, order_id, instrument, strategy, side, price, qty, ts)
        if ev & SQ_RK_EV_INVALID:
            raise _ValidationError(
                f"on_fill: invalid fill (qty {qty} and price {price} must be > 0; for an unknown order id the "
                f"instrument {instrument}, strategy {strategy} and side {side} must be valid)")
        if ev & (SQ_RK_EV_AUTO_KILL | SQ_RK_EV_BREAKER):
            self._notify()
        return SQ_RK_UNKNOWN_ORDER if ev & SQ_RK_EV_UNKNOWN else 0

    def on_mark(self, int64_t instrument, int64_t price) -> None:
        """A new mark price (raw > 0): unrealized PnL, position margin and the breakers are updated."""
        if not 0 <= instrument < self.rk.ni or price <= 0:
            raise _ValidationError(f"on_mark: instrument index and price > 0 expected, got {instrument}, {price}")
        if sq_rk_on_mark(&self.rk, instrument, price) & SQ_RK_EV_BREAKER:
            self._notify()

    def set_reference(self, int64_t instrument, int64_t price) -> None:
        """Set the reference price (raw > 0) of the price collar and of market orders."""
        if not 0 <= instrument < self.rk.ni or price <= 0:
            raise _ValidationError(
                f"set_reference: instrument index and price > 0 expected, got {instrument}, {price}")
        sq_rk_set_reference(&self.rk, instrument, price)

    def set_balance(self, int64_t balance) -> None:
        """Set the account balance (raw money) used by the margin check."""
        self.rk.balance = balance

    @property
    def balance(self) -> int:
        """The account balance (raw money)."""
        return self.rk.balance

    def reset_day(self) -> None:
        """Start a new trading day: PnL baselines, drawdown peaks and order-to-trade counters restart.

        Trading states and kill switches stay as they are (reset them explicitly).
        """
        sq_rk_reset_day(&self.rk)

    # ------------------------------------------------------------------------------ kill switch and states

    def reset(self) -> None:
        """Back to the state right after configuration, as a freshly built and configured engine: no working
        orders; positions, PnL, marks, day baselines and peaks zero; trading states ACTIVE; kill switches off;
        the order / modify / cancel / execution windows, the duplicate-id memory (ids may start again from 1
        and timestamps from any value), the order-to-trade counters, the reject counters, :attr:`checks` and
        the last reject cleared. Kept: every ``configure_*`` setting, the reference prices (collar centres) and
        the balance. No hook is called. Allocates nothing."""
        sq_rk_reset(&self.rk)
        cdef int64_t s
        for s in range(self.rk.ns + 1):
            self._seen_state[s] = 0
            self._seen_kill[s] = 0

    def kill(self, strategy=None) -> None:
        """Turn the kill switch on (``strategy`` None: global). New orders and modifies are rejected until
        :meth:`reset_kill`; the kill hook is called with the working order ids to cancel."""
        cdef int64_t s = self._strat(strategy)
        if s < 0:
            self.rk.killed = SQ_RK_KILL_MANUAL
        else:
            self.rk.strat[s].killed = SQ_RK_KILL_MANUAL
        self._seen_kill[s + 1] = 1
        if self._kill is not None:
            self._kill(s, self.working_orders(strategy))

    def reset_kill(self, strategy=None) -> None:
        """Turn the kill switch off (manual reset: also re-enables a strategy stopped by the execution throttle)."""
        cdef int64_t s = self._strat(strategy)
        if s < 0:
            self.rk.killed = SQ_RK_KILL_OFF
        else:
            self.rk.strat[s].killed = SQ_RK_KILL_OFF
        self._seen_kill[s + 1] = 0

    def kill_state(self, strategy=None) -> int:
        """0 off, 1 manual kill, 2 disabled by the repeated-execution throttle."""
        cdef int64_t s = self._strat(strategy)
        return self.rk.killed if s < 0 else self.rk.strat[s].killed

    def set_trading_state(self, state: int, strategy=None) -> None:
        """Set the trading state (0 ACTIVE, 1 REDUCING, 2 HALTED) by hand; the cause becomes MANUAL."""
        cdef int64_t s = self._strat(strategy)
        if state not in (0, 1, 2):
            raise _ValidationError(f"state must be 0 (ACTIVE), 1 (REDUCING) or 2 (HALTED), got {state!r}")
        if s < 0:
            self.rk.state = state
            self.rk.cause = 0
        else:
            self.rk.strat[s].state = state
            self.rk.strat[s].cause = 0
        self._seen_state[s + 1] = state

    def trading_state(self, strategy=None) -> tuple:
        """``(state, cause)``: state 0 ACTIVE / 1 REDUCING / 2 HALTED; cause 0 MANUAL / 1 DAILY_LOSS / 2 DRAWDOWN."""
        cdef int64_t s = self._strat(strategy)
        if s < 0:
            return (self.rk.state, self.rk.cause)
        return (self.rk.strat[s].state, self.rk.strat[s].cause)

    cdef _notify(self):
        """Call the kill / breaker hooks for states that changed inside the engine."""
        cdef int64_t s, st
        for s in range(-1, self.rk.ns):
            st = self.rk.state if s < 0 else self.rk.strat[s].state
            if st != self._seen_state[s + 1]:
                self._seen_state[s + 1] = st
                if self._breaker is not None:
                    self._breaker(s, st, self.rk.cause if s < 0 else self.rk.strat[s].cause)
            if s >= 0 and self.rk.strat[s].killed == SQ_RK_KILL_EXEC and not self._seen_kill[s + 1]:
                self._seen_kill[s + 1] = 1
                if self._kill is not None:
                    self._kill(s, self.working_orders(s))

    # ------------------------------------------------------------------------------ hooks

    @property
    def audit_hook(self):
        """Called with ``(reason, op, order_id, instrument, strategy, side, price, qty, ts)`` on every reject."""
        return self._audit

    @audit_hook.setter
    def audit_hook(self, hook) -> None:
        if hook is not None and not callable(hook):
            raise _ValidationError(f"audit_hook must be callable or None, got {hook!r}")
        self._audit = hook

    @property
    def kill_hook(self):
        """Called with ``(strategy, order_ids)`` when a kill switch turns on (strategy -1: global)."""
        return self._kill

    @kill_hook.setter
    def kill_hook(self, hook) -> None:
        if hook is not None and not callable(hook):
            raise _ValidationError(f"kill_hook must be callable or None, got {hook!r}")
        self._kill = hook

    @property
    def breaker_hook(self):
        """Called with ``(strategy, state, cause)`` when a breaker changes a trading state (strategy -1: account)."""
        return self._breaker

    @breaker_hook.setter
    def breaker_hook(self, hook) -> None:
        if hook is not None and not callable(hook):
            raise _ValidationError(f"breaker_hook must be callable or None, got {hook!r}")
        self._breaker = hook

    # ------------------------------------------------------------------------------ batch

    def process(self, records) -> cnp.ndarray:
        """Run a batch of records (``RISK_OP_DTYPE``) in order in one native call.

        Returns an int16 array: for NEW / MODIFY / CANCEL the check's result (0 or a reason), for
        ACCEPTED / REJECTED / CANCELED / FILLED 0 or UNKNOWN_ORDER, for MARK / REFERENCE / BALANCE 0.
        The results and the final state equal calling the per-record methods one by one (hooks included).
        A malformed record (unknown op, bad index or price for MARK / REFERENCE / FILLED) raises
        :class:`ValidationError` naming its index; the records before it have been applied.
        """
        cdef cnp.ndarray arr
        if not isinstance(records, cnp.ndarray) or records.dtype.itemsize != 48 or records.dtype.names is None \
                or records.dtype.names[:8] != ("ts", "order_id", "price", "qty", "instrument", "strategy", "op",
                                               "side"):
            raise _ValidationError("records must be a NumPy array of RISK_OP_DTYPE (48-byte records)")
        arr = <cnp.ndarray>records
        if cnp.PyArray_NDIM(arr) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(arr) or not cnp.PyArray_ISALIGNED(arr):
            raise _ValidationError("records must be 1-D, contiguous and aligned: use np.ascontiguousarray(records)")
        cdef int64_t n = cnp.PyArray_DIM(arr, 0), k
        out = _np.zeros(n, dtype=_np.int16)
        if n == 0:
            return out
        cdef const sq_rk_msg *m = <const sq_rk_msg *>cnp.PyArray_DATA(arr)
        cdef short[::1] res = out
        cdef int r, ev, op, pending = 0
        cdef bint hooks = self._audit is not None or self._kill is not None or self._breaker is not None
        cdef sq_rk *rk = &self.rk
        k = 0
        while k < n:
            # the C runner takes every record it can (checks and order updates, no hooks); this loop takes
            # the rest one at a time: fills, marks, references, balances, audited rejects, errors
            k = sq_rk_process(rk, m, k, n, <int16_t *>&res[0], self._audit is not None, &pending)
            if k >= n:
                break
            if pending == 2:
                raise MemoryError("RiskEngine: out of memory")
            if pending == 1:
                op = m[k].op
                r = res[k]
                if op == SQ_RK_OP_NEW:
                    self._audit(r, op, m[k].order_id, m[k].instrument, m[k].strategy, m[k].side, m[k].price,
                                m[k].qty, m[k].ts)
                elif op == SQ_RK_OP_MODIFY:
                    self._audit_order(r, op, m[k].order_id, m[k].price, m[k].qty, m[k].ts)
                else:
                    self._audit_order(r, op, m[k].order_id, 0, 0, m[k].ts)
                k += 1
                continue
            op = m[k].op
            r = 0
            if op == SQ_RK_OP_NEW:
                r = sq_rk_check_new(rk, m[k].instrument, m[k].strategy, m[k].side, m[k].price, m[k].qty,
                                    m[k].ts, m[k].order_id)
                if r < 0:
                    raise MemoryError("RiskEngine: out of memory")
                if r != 0 and self._audit is not None:
                    self._audit(r, op, m[k].order_id, m[k].instrument, m[k].strategy, m[k].side, m[k].price,
                                m[k].qty, m[k].ts)
            elif op == SQ_RK_OP_MODIFY:
                r = sq_rk_check_modify(rk, m[k].order_id, m[k].price, m[k].qty, m[k].ts)
                if r != 0 and self._audit is not None:
                    self._audit_order(r, op, m[k].order_id, m[k].price, m[k].qty, m[k].ts)
            elif op == SQ_RK_OP_CANCEL:
                r = sq_rk_check_cancel(rk, m[k].order_id, m[k].ts)
                if r != 0 and self._audit is not None:
                    self._audit_order(r, op, m[k].order_id, 0, 0, m[k].ts)
            elif op == SQ_RK_OP_ACCEPTED:
                r = sq_rk_on_accepted(rk, m[k].order_id)
            elif op == SQ_RK_OP_REJECTED or op == SQ_RK_OP_CANCELED:
                r = sq_rk_on_done(rk, m[k].order_id)
            elif op == SQ_RK_OP_FILLED:
                ev = sq_rk_on_fill(rk, m[k].order_id, m[k].instrument, m[k].strategy, m[k].side, m[k].price,
                                   m[k].qty, m[k].ts)
                if ev & SQ_RK_EV_INVALID:
                    raise _ValidationError(f"process: record {k} is an invalid fill")
                if hooks and ev & (SQ_RK_EV_AUTO_KILL | SQ_RK_EV_BREAKER):
                    self._notify()
                elif ev & (SQ_RK_EV_AUTO_KILL | SQ_RK_EV_BREAKER):
                    self._sync_seen()
                r = SQ_RK_UNKNOWN_ORDER if ev & SQ_RK_EV_UNKNOWN else 0
            elif op == SQ_RK_OP_MARK or op == SQ_RK_OP_REFERENCE:
                if m[k].instrument < 0 or m[k].instrument >= rk.ni or m[k].price <= 0:
                    raise _ValidationError(f"process: record {k} needs an instrument index and a price > 0")
                if op == SQ_RK_OP_REFERENCE:
                    sq_rk_set_reference(rk, m[k].instrument, m[k].price)
                elif sq_rk_on_mark(rk, m[k].instrument, m[k].price) & SQ_RK_EV_BREAKER:
                    if hooks:
                        self._notify()
                    else:
                        self._sync_seen()
            elif op == SQ_RK_OP_BALANCE:
                rk.balance = m[k].qty
            else:
                raise _ValidationError(f"process: record {k} has an unknown op {op}")
            res[k] = <short>r
            k += 1
        return out

    cdef _sync_seen(self):
        cdef int64_t s
        for s in range(-1, self.rk.ns):
            self._seen_state[s + 1] = self.rk.state if s < 0 else self.rk.strat[s].state
            if s >= 0 and self.rk.strat[s].killed == SQ_RK_KILL_EXEC:
                self._seen_kill[s + 1] = 1

    # ------------------------------------------------------------------------------ reading

    def reject_counts(self) -> cnp.ndarray:
        """Rejects per reason code (int64 array of length N_REASONS; index 0 is unused)."""
        out = _np.zeros(SQ_RK_NREASONS, dtype=_np.int64)
        cdef int64_t[::1] v = out
        cdef int k
        for k in range(SQ_RK_NREASONS):
            v[k] = self.rk.rejects[k]
        return out

    @property
    def checks(self) -> int:
        """Number of checks run (new orders, modifies, cancels)."""
        return self.rk.checks

    def last_reject(self) -> tuple:
        """``(value, limit, scope, index)`` of the last reject: the observed value and the limit it broke,
        the scope (0 order, 1 instrument, 2 strategy, 3 account) and the instrument or strategy index."""
        return (self.rk.last_value, self.rk.last_limit, self.rk.last_scope, self.rk.last_index)

    def explain(self, reason: int) -> str:
        """A readable reason for code ``reason``, with the last reject's value and limit (built on request)."""
        name = reason_name(reason)
        if reason == 0:
            return "ACCEPTED"
        scope = _SCOPES[self.rk.last_scope] if 0 <= self.rk.last_scope < 4 else "?"
        where = f" {scope} {self.rk.last_index}" if self.rk.last_index >= 0 else f" {scope}"
        text = f"{name}: {_WHAT[reason]} ({where.strip()}"
        if self.rk.last_limit != 0 or self.rk.last_value != 0:
            text += f"; value {self.rk.last_value}, limit {self.rk.last_limit}"
        return text + ")"

    def working_orders(self, strategy=None) -> cnp.ndarray:
        """Ids of the working orders (of ``strategy``, or all), in no particular order (int64 array)."""
        cdef int64_t s = self._strat(strategy), k, j
        out = []
        cdef sq_rk_order *o
        if self.rk.win_n > 0:
            for k in range(self.rk.win_mask + 1):
                o = &self.rk.win[k]
                if o.id != 0 and (s < 0 or o.strat == s):
                    out.append(o.id)
        for k in range(self.rk.ids.mask + 1):
            if self.rk.ids.keys[k] != 0:
                j = self.rk.ids.vals[k]
                if s < 0 or self.rk.pool[j].strat == s:
                    out.append(self.rk.ids.keys[k])
        return _np.array(sorted(out), dtype=_np.int64)

    def order(self, int64_t order_id):
        """``(instrument, strategy, side, price, leaves, acked)`` of a working order, or None."""
        cdef sq_rk_order *o = sq_rk_find_order(&self.rk, order_id)
        if o == NULL:
            return None
        return (o.inst, o.strat, o.side, o.price, o.leaves, bool(o.acked))

    def snapshot(self) -> dict:
        """The whole exposure state as plain ints (for tests, audits and debugging; not for the hot path)."""
        cdef int64_t i, s
        cdef sq_rk_inst *IN
        cdef sq_rk_strat *S
        cdef sq_rk_pos *P
        insts = []
        for i in range(self.rk.ni):
            IN = &self.rk.inst[i]
            insts.append({"net_pos": IN.net_pos, "gross_pos": IN.gross_pos, "open_buy": IN.open_buy,
                          "open_sell": IN.open_sell, "n_open": IN.n_open, "pos_margin": IN.pos_margin,
                          "ref": IN.ref, "mark": IN.mark})
        strats = []
        for s in range(self.rk.ns):
            S = &self.rk.strat[s]
            strats.append({"killed": S.killed, "state": S.state, "cause": S.cause,
                           "open_notional": S.open_notional, "n_open": S.n_open, "msgs": S.msgs,
                           "trades": S.trades, "realized": S.realized, "unrealized": S.unrealized,
                           "day_base": S.day_base, "peak": S.peak})
        positions = {}
        for s in range(self.rk.ns):
            for i in range(self.rk.ni):
                P = &self.rk.pos[s * self.rk.ni + i]
                if P.pos or P.open_buy or P.open_sell or P.upnl:
                    positions[(s, i)] = {"pos": P.pos, "open_buy": P.open_buy, "open_sell": P.open_sell,
                                         "upnl": P.upnl}
        orders = {oid: self.order(oid) for oid in self.working_orders().tolist()}
        return {
            "account": {"killed": self.rk.killed, "state": self.rk.state, "cause": self.rk.cause,
                        "open_notional": self.rk.open_notional, "order_margin": self.rk.order_margin,
                        "pos_margin": self.rk.pos_margin, "n_open": self.rk.n_open, "realized": self.rk.realized,
                        "unrealized": self.rk.unrealized, "day_base": self.rk.day_base, "peak": self.rk.peak,
                        "balance": self.rk.balance},
            "instruments": insts, "strategies": strats, "positions": positions, "orders": orders,
            "rejects": [int(x) for x in self.reject_counts()], "checks": self.rk.checks,
        }
