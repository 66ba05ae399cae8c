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
from typing import TYPE_CHECKING, Any

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant.core.order_events import OrderRejected
from shrivenquant.core.orders import Order

if TYPE_CHECKING:
    from shrivenquant.oms.manager import OrderManager
    from shrivenquant.risk import PreTradeRisk

__all__ = ["PreTradeRiskGate"]


class PreTradeRiskGate:
    """A :class:`~shrivenquant.oms.RiskGate` over a :class:`~shrivenquant.risk.PreTradeRisk`.

    Args:
        risk: the configured gate (``PreTradeRisk.from_config(config, instruments)``).
        strategy: the strategy every order is checked under (a name or index), or a function
            ``order -> strategy`` (e.g. reading ``order.tags``).
    """

    __slots__ = ("_check", "_strategy", "_strategy_fn", "risk")

    def __init__(self, risk: PreTradeRisk, strategy: str | int | Callable[[Order], str | int] = 0) -> None:
        self.risk = risk
        self._check = risk.check
        if callable(strategy):
            self._strategy_fn: Callable[[Order], str | int] | None = strategy
            self._strategy: str | int = 0
        else:
            self._strategy_fn = None
            self._strategy = risk.strategy_index(strategy)

    def check(self, order: Order, manager: OrderManager, ts: int) -> tuple[str, str] | None:
        s = self._strategy if self._strategy_fn is None else self._strategy_fn(order)
        r = self._check(order, s, ts)
        if r:
            return r.name, self.risk.explain(r)
        return None

    def replay_submit(self, order: Order, ts: int) -> None:
        s = self._strategy if self._strategy_fn is None else self._strategy_fn(order)
        self._check(order, s, ts)

    def on_event(self, event: Any) -> None:
        self.risk.apply(event)

    def release(self, order: Order, ts: int) -> None:
        """Forget an order that passed but will never be sent (its contingent list was denied)."""
        self.risk.apply(OrderRejected(client_order_id=order.client_order_id, instrument_id=order.instrument_id,
                                      ts_event=ts, ts_init=ts, reason="contingent list denied"))

    def check_modify(self, client_order_id: str, price: Price, quantity: Quantity, ts: int) -> tuple[str, str] | None:
        r = self.risk.check_modify(client_order_id, price, quantity, ts)
        if r:
            return r.name, self.risk.explain(r)
        return None
