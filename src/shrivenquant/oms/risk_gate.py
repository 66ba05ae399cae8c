"""The real pre-trade gate for the order manager: :class:`PreTradeRiskGate` wraps
:class:`shrivenquant.risk.PreTradeRisk` (the native risk engine) as a :class:`~shrivenquant.oms.RiskGate`.

Every submission is checked (and counted by the engine at once if it passes); every venue order event the
manager applies is fed to the engine (acks, rejections, cancels, expiries release working orders; fills move
its positions); modifies are checked with the engine's modify check. When a contingent list is denied, the
orders of the list that had already passed are released in the engine. During recovery the journaled
submissions and events are fed again in journal order, so the engine's working orders and positions are
rebuilt (its rate throttles see the original timestamps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant._native.oms_core import RiskGateCore
from shrivenquant.core.enums import OrderType
from shrivenquant.core.order_events import OrderAccepted, OrderCanceled, OrderExpired, OrderFilled, OrderRejected
from shrivenquant.core.orders import Order

if TYPE_CHECKING:
    from shrivenquant.oms.manager import OrderManager
    from shrivenquant.risk import PreTradeRisk

__all__ = ["PreTradeRiskGate"]

_VALUED_AT_REFERENCE = (OrderType.MARKET, OrderType.STOP_MARKET)


def _reason_name(code: int) -> str:
    from shrivenquant.risk import RejectReason

    return RejectReason(code).name


class PreTradeRiskGate(RiskGateCore):
    """A :class:`~shrivenquant.oms.RiskGate` over a :class:`~shrivenquant.risk.PreTradeRisk`.

    The hot path calls the native engine with raw ints (instrument index and precisions cached per
    instrument, order ids from ``PreTradeRisk.order_id``); the gate keeps which strategy each order was
    checked under. Feed events to the engine through the order manager only (not also through
    ``PreTradeRisk.apply``), or they would be counted twice.

    Args:
        risk: the configured gate (``PreTradeRisk.from_config(config, instruments)``).
        strategy: the strategy every order is checked under (a name or index), or a function
            ``order -> strategy`` (e.g. reading ``order.tags``).
    """

    __slots__ = ("risk",)

    def __init__(self, risk: PreTradeRisk, strategy: str | int | Callable[[Order], str | int] = 0) -> None:
        self.risk = risk
        self._engine = risk.engine
        self._order_id = risk.order_id
        # the risk engine's id table, read directly on the hot path (``order_id`` assigns on a miss)
        self._ids = risk.order_ids
        self._inst: dict[str, tuple[int, int, int]] = {}
        self._owner: dict[int, int] = {}
        if callable(strategy):
            self._strategy_fn: Callable[[Order], str | int] | None = strategy
            self._strategy = 0
        else:
            self._strategy_fn = None
            self._strategy = risk.strategy_index(strategy)
        # what the native base (check, on_event) compares against
        self._reason = _reason_name
        self._valued_at_reference = _VALUED_AT_REFERENCE
        self._filled, self._accepted, self._rejected = OrderFilled, OrderAccepted, OrderRejected
        self._canceled, self._expired = OrderCanceled, OrderExpired

    def _instrument(self, instrument_id: str, manager: OrderManager) -> tuple[int, int, int]:
        c = self._inst.get(instrument_id)
        if c is None:
            i = self.risk.instrument_index(instrument_id)
            inst = manager.instruments[instrument_id]
            c = self._inst[instrument_id] = (i, inst.price_precision, inst.size_precision)
        return c

    def _strat(self, order: Order) -> int:
        if self._strategy_fn is None:
            return self._strategy
        return self.risk.strategy_index(self._strategy_fn(order))

    # check(order, manager, ts) -> (check, explanation) | None and on_event(event, manager) are the native base's
    # (shrivenquant._native.oms_core.RiskGateCore): the engine check with raw ints, the owner table, and the
    # engine fed with each venue event the manager applied

    def replay_submit(self, order: Order, manager: OrderManager, ts: int) -> None:
        self.check(order, manager, ts)

    def release(self, order: Order, ts: int) -> None:
        """Forget an order that passed but will never be sent (its contingent list was denied)."""
        self._engine.on_rejected(self._order_id(order.client_order_id))

    def check_modify(self, client_order_id: str, price: Price, quantity: Quantity, ts: int) -> tuple[str, str] | None:
        r = self.risk.check_modify(client_order_id, price, quantity, ts)
        if r:
            return r.name, self.risk.explain(r)
        return None
