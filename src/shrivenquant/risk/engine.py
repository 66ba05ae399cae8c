"""The pre-trade gate with domain types at the edge: :class:`PreTradeRisk`.

:class:`PreTradeRisk` builds the native :class:`~shrivenquant._native.risk.RiskEngine` from a validated
:class:`RiskConfig` and the :class:`Instrument` definitions, and converts ``Order`` / ``Price`` /
``Quantity`` / ``Money`` / order events to the engine's raw ints. For the lowest latency, call
``risk.engine.check(...)`` with raw ints and the indices from :meth:`instrument_index` /
:meth:`strategy_index` (see ``docs/risk.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import numpy as np

from shrivenquant._native.fixed import Currency, Money, Price, Quantity
from shrivenquant._native.risk import RiskEngine
from shrivenquant.core.enums import OrderSide, OrderType
from shrivenquant.core.instrument import Instrument, currency_for
from shrivenquant.core.order_events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from shrivenquant.core.orders import Order
from shrivenquant.errors import InstrumentError, PrecisionError, RiskRejectionError, ValidationError
from shrivenquant.risk.config import Breaker, InstrumentLimits, RiskConfig
from shrivenquant.risk.reasons import BreakerCause, KillState, RejectReason, TradingState

__all__ = ["PreTradeRisk", "configure", "engine_arguments"]

_ACTIONS = {"REDUCING": 1, "HALTED": 2}


def _raw(value: Decimal | int, precision: int, what: str) -> int:
    """``value`` as an exact raw int at ``precision``, else PrecisionError."""
    scaled = Decimal(value).scaleb(precision)
    if scaled != scaled.to_integral_value():
        raise PrecisionError(f"{what} {value} is not exact at {precision} decimals")
    raw = int(scaled)
    if abs(raw) > 2**63 - 1:
        raise ValidationError(f"{what} {value} does not fit a raw int64 at {precision} decimals")
    return raw


def _opt(value: Decimal | None, precision: int, what: str) -> int | None:
    return None if value is None else _raw(value, precision, what)


def _min_of(*values: int | None) -> int | None:
    vals = [v for v in values if v is not None]
    return min(vals) if vals else None


def _normalized_raw(x: Price | Quantity) -> tuple[int, int]:
    raw, p = x.raw, x.precision
    while p > 0 and raw % 10 == 0:
        raw //= 10
        p -= 1
    return raw, p


def _breaker(b: Breaker | None, mp: int, what: str) -> tuple[int | None, int]:
    if b is None:
        return None, 2
    return _raw(b.limit, mp, f"{what}.limit"), _ACTIONS[b.action]


def engine_arguments(config: RiskConfig, instruments: Iterable[Instrument]) -> dict[str, Any]:
    """The raw keyword arguments of the native ``configure_*`` calls for ``config`` and ``instruments``.

    Returns ``{"instruments": [...], "strategies": [...], "account": {...}, "money_precision": int,
    "instrument_ids": [...], "strategy_names": [...], "precisions": [(price_p, size_p), ...]}``; the same
    dicts configure the native engine and the reference model. Raises :class:`InstrumentError` for unknown
    or unsupported instruments and :class:`ValidationError` / :class:`PrecisionError` for limits that do
    not fit the instruments' precisions.
    """
    insts = list(instruments)
    by_id: dict[str, Instrument] = {}
    for inst in insts:
        if not isinstance(inst, Instrument):
            raise ValidationError(f"instruments must be Instrument structs, got {type(inst).__name__}")
        if inst.id in by_id:
            raise InstrumentError(f"instrument {inst.id} is given more than once")
        by_id[inst.id] = inst
    unknown = sorted({x.instrument_id for x in config.instruments} - set(by_id))
    if unknown:
        raise InstrumentError(f"risk config names unknown instruments {unknown}; known: {sorted(by_id)}")
    if not insts:
        raise InstrumentError("the risk engine needs at least one instrument")
    mp = config.money_precision if config.money_precision is not None else currency_for(config.currency).precision
    limits = {x.instrument_id: x for x in config.instruments}
    inst_args = []
    precisions = []
    for inst in insts:
        if inst.inverse:
            raise InstrumentError(f"{inst.id}: inverse contracts are not supported by the risk engine yet")
        if inst.quote != config.currency:
            raise InstrumentError(
                f"{inst.id}: quote currency {inst.quote} differs from the risk currency {config.currency} "
                "(cross-currency limits are not supported)")
        lim = limits.get(inst.id, InstrumentLimits(instrument_id=inst.id))
        pp, sp = inst.price_precision, inst.size_precision
        tick_raw, tick_p = _normalized_raw(inst.price_tick)
        step_raw, step_p = _normalized_raw(inst.size_step)
        mult_raw, mult_p = _normalized_raw(inst.multiplier)
        shift = pp + sp + mult_p - mp
        num, den = mult_raw * 10 ** max(0, -shift), 10 ** max(0, shift)
        if shift > 18 or num > 2**62:
            raise InstrumentError(
                f"{inst.id}: price precision {pp} + size precision {sp} + multiplier precision {mult_p} is too far "
                f"from the money precision {mp} for int64 notional arithmetic")
        what = f"InstrumentLimits[{inst.id}]"
        min_qty = lim.min_qty if lim.min_qty is not None else (inst.min_qty.as_decimal() if inst.min_qty else None)
        min_not = lim.min_notional if lim.min_notional is not None else (
            inst.min_notional.as_decimal() if inst.min_notional else None)
        collar = lim.collar
        inst_args.append({
            "tick": tick_raw * 10 ** (pp - tick_p),
            "lot": step_raw * 10 ** (sp - step_p) * inst.lot_size,
            "min_qty": _opt(min_qty, sp, f"{what}.min_qty") or 0,
            "max_qty": _min_of(_opt(lim.max_order_qty, sp, f"{what}.max_order_qty"),
                               inst.max_qty.raw_at(sp) if inst.max_qty is not None else None),
            "min_notional": _opt(min_not, mp, f"{what}.min_notional") or 0,
            "max_notional": _min_of(_opt(lim.max_order_notional, mp, f"{what}.max_order_notional"),
                                    _opt(inst.max_notional.as_decimal() if inst.max_notional else None, mp,
                                         f"{inst.id}.max_notional")),
            "restricted": lim.restricted,
            "collar_unit": 0 if collar is None else (1 if collar.unit == "bps" else 2),
            "buy_up": None if collar is None else collar.buy_up,
            "buy_down": None if collar is None else collar.buy_down,
            "sell_up": None if collar is None else collar.sell_up,
            "sell_down": None if collar is None else collar.sell_down,
            "max_net": _opt(lim.max_position_net, sp, f"{what}.max_position_net"),
            "max_gross": _opt(lim.max_position_gross, sp, f"{what}.max_position_gross"),
            "max_open": lim.max_open_orders,
            "margin_bps": int(lim.margin_rate * 10_000),
            "notional_num": num,
            "notional_den": den,
        })
        a = inst_args[-1]
        if a["max_qty"] is not None and a["min_qty"] > a["max_qty"]:
            raise ValidationError(f"{what}: minimum quantity is above the maximum order quantity")
        if a["max_notional"] is not None and a["min_notional"] > a["max_notional"]:
            raise ValidationError(f"{what}: minimum notional is above the maximum order notional")
        precisions.append((pp, sp))
    strat_args = []
    for s in config.strategies:
        what = f"StrategyLimits[{s.name}]"
        dl, dla = _breaker(s.daily_loss, mp, f"{what}.daily_loss")
        dd, dda = _breaker(s.drawdown, mp, f"{what}.drawdown")
        args: dict[str, Any] = {
            "max_notional": _opt(s.max_order_notional, mp, f"{what}.max_order_notional"),
            "credit_limit": _opt(s.credit_limit, mp, f"{what}.credit_limit"),
            "max_open": s.max_open_orders,
            "otr_x1000": None if s.order_to_trade is None else int(s.order_to_trade.max_ratio * 1000),
            "otr_min_messages": 0 if s.order_to_trade is None else s.order_to_trade.min_messages,
            "daily_loss": dl, "daily_loss_action": dla, "drawdown": dd, "drawdown_action": dda,
        }
        for key, th in (("order", s.order_rate), ("modify", s.modify_rate), ("cancel", s.cancel_rate),
                        ("exec", s.execution_throttle)):
            args[f"{key}_limit"] = None if th is None else th.limit
            args[f"{key}_window_ns"] = 0 if th is None else th.window_ns
        strat_args.append(args)
    acc = config.account
    dl, dla = _breaker(acc.daily_loss, mp, "AccountLimits.daily_loss")
    dd, dda = _breaker(acc.drawdown, mp, "AccountLimits.drawdown")
    account = {
        "credit_limit": _opt(acc.credit_limit, mp, "AccountLimits.credit_limit"),
        "max_open": acc.max_open_orders, "daily_loss": dl, "daily_loss_action": dla, "drawdown": dd,
        "drawdown_action": dda, "margin": acc.margin, "balance": _raw(acc.balance, mp, "AccountLimits.balance"),
        "duplicate_window_ns": acc.duplicate_window_ns,
    }
    return {"instruments": inst_args, "strategies": strat_args, "account": account, "money_precision": mp,
            "instrument_ids": [x.id for x in insts], "strategy_names": [s.name for s in config.strategies],
            "precisions": precisions}


def configure(engine: Any, args: dict[str, Any]) -> None:
    """Apply :func:`engine_arguments` to a native engine or a reference model."""
    for i, kw in enumerate(args["instruments"]):
        engine.configure_instrument(i, **kw)
    for s, kw in enumerate(args["strategies"]):
        engine.configure_strategy(s, **kw)
    engine.configure_account(**args["account"])


class PreTradeRisk:
    """The pre-trade risk gate over domain types (a thin layer over the native engine).

    Build it with :meth:`from_config`. Client order ids (str) are mapped to the engine's int ids here
    (kept for the life of the gate, so duplicates are found within the configured window).
    """

    def __init__(self, config: RiskConfig, instruments: Iterable[Instrument]) -> None:
        insts = list(instruments)
        args = engine_arguments(config, insts)
        self.config = config
        self.money_precision: int = args["money_precision"]
        self.currency: Currency = currency_for(config.currency)
        self._inst_index = {x: k for k, x in enumerate(args["instrument_ids"])}
        self._strat_index = {x: k for k, x in enumerate(args["strategy_names"])}
        self._prec = args["precisions"]
        self._ids: dict[str, int] = {}
        self._owner: dict[int, int] = {}
        self.engine = RiskEngine(len(insts), len(config.strategies))
        configure(self.engine, args)

    @classmethod
    def from_config(cls, config: RiskConfig, instruments: Iterable[Instrument]) -> PreTradeRisk:
        """A gate for ``instruments`` with ``config``'s limits (validated against the instruments)."""
        return cls(config, instruments)

    # ------------------------------------------------------------------ ids
    def instrument_index(self, instrument_id: str) -> int:
        """The engine index of ``instrument_id``; :class:`InstrumentError` if unknown."""
        try:
            return self._inst_index[instrument_id]
        except KeyError:
            raise InstrumentError(f"unknown instrument {instrument_id!r} for the risk engine") from None

    def strategy_index(self, strategy: str | int) -> int:
        """The engine index of strategy ``strategy`` (a name, or an index that is returned as is)."""
        if isinstance(strategy, int) and not isinstance(strategy, bool):
            if not 0 <= strategy < len(self._strat_index):
                raise ValidationError(f"strategy index {strategy} out of range")
            return strategy
        try:
            return self._strat_index[strategy]
        except KeyError:
            raise ValidationError(f"unknown strategy {strategy!r}; known: {sorted(self._strat_index)}") from None

    @property
    def order_ids(self) -> Mapping[str, int]:
        """The client order id -> engine int id table (read-only view for hot paths that look ids up)."""
        return self._ids

    def order_id(self, client_order_id: str) -> int:
        """The engine's int id for ``client_order_id`` (assigned on first use)."""
        oid = self._ids.get(client_order_id)
        if oid is None:
            oid = self._ids[client_order_id] = len(self._ids) + 1
        return oid

    def _price(self, i: int, price: Price) -> int:
        pp = self._prec[i][0]
        return price.raw if price.precision == pp else price.raw_at(pp)

    def _qty(self, i: int, qty: Quantity) -> int:
        sp = self._prec[i][1]
        return qty.raw if qty.precision == sp else qty.raw_at(sp)

    def _money(self, m: Money) -> int:
        if m.currency is not None and m.currency.code != self.currency.code:
            raise ValidationError(f"money {m} is not in the risk currency {self.currency.code}")
        return m.raw if m.precision == self.money_precision else m.raw_at(self.money_precision)

    # ------------------------------------------------------------------ checks
    def check(self, order: Order, strategy: str | int = 0, ts_ns: int | None = None) -> RejectReason:
        """Check a new order (counted at once if accepted). ``ts_ns`` defaults to ``order.ts_init``.

        MARKET and STOP_MARKET orders are valued at the reference price (:meth:`set_reference`).
        """
        i = self.instrument_index(order.instrument_id)
        s = self.strategy_index(strategy)
        px = 0 if order.order_type in (OrderType.MARKET, OrderType.STOP_MARKET) or order.price is None \
            else self._price(i, order.price)
        oid = self.order_id(order.client_order_id)
        r = self.engine.check(i, s, int(order.side), px, self._qty(i, order.quantity),
                              order.ts_init if ts_ns is None else ts_ns, oid)
        if r == 0:
            self._owner[oid] = s
        return RejectReason(r)

    def check_or_raise(self, order: Order, strategy: str | int = 0, ts_ns: int | None = None) -> None:
        """As :meth:`check`, raising :class:`RiskRejectionError` (``check`` = the reason name) on a reject."""
        r = self.check(order, strategy, ts_ns)
        if r:
            raise RiskRejectionError(f"order {order.client_order_id} rejected: {self.engine.explain(int(r))}",
                                     check=r.name)

    def check_modify(self, client_order_id: str, price: Price, quantity: Quantity, ts_ns: int) -> RejectReason:
        """Check a modify of a working order to ``price`` and working ``quantity`` (applied at once if accepted)."""
        oid = self._ids.get(client_order_id, 0)
        info = self.engine.order(oid) if oid else None
        if info is None:  # not working: the engine counts and reports UNKNOWN_ORDER
            return RejectReason(self.engine.check_modify(oid, 1, 1, ts_ns))
        i = info[0]
        return RejectReason(self.engine.check_modify(oid, self._price(i, price), self._qty(i, quantity), ts_ns))

    def check_cancel(self, client_order_id: str, ts_ns: int) -> RejectReason:
        """Check a cancel request against the cancel throttle."""
        return RejectReason(self.engine.check_cancel(self._ids.get(client_order_id, 0), ts_ns))

    def explain(self, reason: RejectReason | int) -> str:
        """A readable reason, with the last reject's value and limit."""
        return self.engine.explain(int(reason))

    def reject_counts(self) -> dict[RejectReason, int]:
        """Rejects so far, per reason (reasons never seen are left out)."""
        counts = self.engine.reject_counts()
        return {RejectReason(k): int(v) for k, v in enumerate(counts) if k and v}

    # ------------------------------------------------------------------ OMS updates
    def apply(self, event: OrderEvent) -> RejectReason:
        """Apply an order event: ACCEPTED acks, REJECTED / CANCELED / EXPIRED release, FILLED moves positions.

        Returns UNKNOWN_ORDER if the engine does not know the order as working (a fill still moves the
        position); other events are ignored (ACCEPTED).
        """
        oid = self._ids.get(event.client_order_id, 0)
        if isinstance(event, OrderFilled):
            i = self.instrument_index(event.instrument_id)
            s = self._owner.get(oid, 0)
            return RejectReason(self.engine.on_fill(oid, i, s, int(event.order_side), self._price(i, event.last_px),
                                                    self._qty(i, event.last_qty), event.ts_event))
        if isinstance(event, OrderAccepted):
            return RejectReason(self.engine.on_accepted(oid))
        if isinstance(event, OrderRejected):
            return RejectReason(self.engine.on_rejected(oid))
        if isinstance(event, (OrderCanceled, OrderExpired)):
            return RejectReason(self.engine.on_canceled(oid))
        return RejectReason.ACCEPTED

    def release_all(self, strategy: str | int | None = None) -> int:
        """Every working order (of ``strategy``, or all) was canceled by the venue: cancel-on-disconnect,
        mass cancel, end of session. Returns how many were released."""
        return self.engine.release_all(None if strategy is None else self.strategy_index(strategy))

    def reset(self) -> None:
        """A new session: the engine back to its configured state (:meth:`RiskEngine.reset`: no working orders,
        positions, PnL, windows, duplicate ids, kill switches or breaker states; limits, references and balance
        kept) and the client order id table emptied (ids seen before are no longer duplicates)."""
        self.engine.reset()
        self._ids.clear()
        self._owner.clear()

    def update_mark(self, instrument_id: str, price: Price) -> None:
        """A new mark price: unrealized PnL, position margin and the loss breakers are updated."""
        i = self.instrument_index(instrument_id)
        self.engine.on_mark(i, self._price(i, price))

    def set_reference(self, instrument_id: str, price: Price) -> None:
        """The reference price of the price collar and of market orders."""
        i = self.instrument_index(instrument_id)
        self.engine.set_reference(i, self._price(i, price))

    def set_balance(self, balance: Money) -> None:
        """The account balance used by the margin check."""
        self.engine.set_balance(self._money(balance))

    # ------------------------------------------------------------------ kill switch and states
    def kill(self, strategy: str | int | None = None) -> None:
        """Kill switch on (global, or one strategy); the kill hook gets the working order ids to cancel."""
        self.engine.kill(None if strategy is None else self.strategy_index(strategy))

    def reset_kill(self, strategy: str | int | None = None) -> None:
        """Kill switch off (manual reset only)."""
        self.engine.reset_kill(None if strategy is None else self.strategy_index(strategy))

    def kill_state(self, strategy: str | int | None = None) -> KillState:
        """OFF, MANUAL or EXECUTION_THROTTLE."""
        return KillState(self.engine.kill_state(None if strategy is None else self.strategy_index(strategy)))

    def set_trading_state(self, state: TradingState, strategy: str | int | None = None) -> None:
        """Set ACTIVE / REDUCING / HALTED by hand (global, or one strategy)."""
        self.engine.set_trading_state(int(state), None if strategy is None else self.strategy_index(strategy))

    def trading_state(self, strategy: str | int | None = None) -> tuple[TradingState, BreakerCause]:
        """The state and why it was set."""
        st, cause = self.engine.trading_state(None if strategy is None else self.strategy_index(strategy))
        return TradingState(st), BreakerCause(cause)

    def on_kill(self, hook: Callable[[int, np.ndarray], None] | None) -> None:
        """Set the kill hook: ``hook(strategy_index or -1, working_order_ids)``; cancel those orders there."""
        self.engine.kill_hook = hook

    def on_reject(self, hook: Callable[..., None] | None) -> None:
        """Set the audit hook: ``hook(reason, op, order_id, instrument, strategy, side, price, qty, ts)``."""
        self.engine.audit_hook = hook

    @staticmethod
    def side_code(side: OrderSide) -> int:
        """The engine's side code (1 buy, 2 sell)."""
        return int(side)
