"""The venue interface a strategy trades through, the same in backtest, paper trading and live.

A :class:`Venue` is the OMS's :class:`~shrivenquant.oms.ExecutionClient` (``submit``, ``cancel``,
``modify`` of managed orders) plus one way back: the venue hands every order event it produces
(``OrderAccepted``, ``OrderFilled``, ``OrderCanceled``, ``CancelRejected``, ...) to the handler set with
:meth:`Venue.set_event_handler`, which in every mode is the order manager's ``apply`` followed by the
strategy's callbacks. Live connectors implement the same three requests and call the handler from their
user-data stream; :class:`SimulatedVenue` implements it over a :class:`SimulatedExchange` with latency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from shrivenquant._native import sim_core as _sim_core
from shrivenquant._native.fixed import Price, Quantity
from shrivenquant.sim.latency import ConstantLatency, LatencyModel

if TYPE_CHECKING:
    from shrivenquant.oms.order import ManagedOrder
    from shrivenquant.sim.exchange import SimulatedExchange

__all__ = ["SimulatedVenue", "Venue"]


@runtime_checkable
class Venue(Protocol):
    """What a strategy's order manager sends to, and hears back from."""

    name: str

    def submit(self, order: ManagedOrder) -> None: ...

    def cancel(self, order: ManagedOrder) -> None: ...

    def modify(self, order: ManagedOrder, quantity: Quantity | None, price: Price | None,
               trigger_price: Price | None) -> None: ...

    def set_event_handler(self, handler: Callable[[Any], None]) -> None: ...


class SimulatedVenue:
    """A :class:`Venue` over a :class:`SimulatedExchange`: a request sent at local time ``now()`` reaches the
    exchange ``entry latency`` later (``schedule(ts, action)`` is the event loop's timer queue), and the
    exchange's events come back ``response latency`` after they happen (the exchange's ``emit``)."""

    def __init__(self, exchange: SimulatedExchange, *, now: Callable[[], int],
                 schedule: Callable[[int, Callable[[int], None]], None],
                 latency: LatencyModel | None = None) -> None:
        self.name = exchange.venue
        self.exchange = exchange
        self._ex_submit = exchange.submit
        self.latency = latency if latency is not None else exchange.latency
        self._now = now
        self._schedule = schedule
        self._handler: Callable[[Any], None] | None = None

    def set_event_handler(self, handler: Callable[[Any], None]) -> None:
        self._handler = handler

    @property
    def latency(self) -> LatencyModel:
        """The entry latency model (local send -> venue receipt)."""
        return self._latency

    @latency.setter
    def latency(self, model: LatencyModel) -> None:
        self._latency = model
        self._entry_const = model.entry_ns if type(model) is ConstantLatency else None

    def _at(self) -> int:
        t = self._now()
        c = self._entry_const
        return t + c if c is not None else t + self._latency.entry(t)

    # submit(order): the managed order's Order reaches the exchange entry latency after now (native)
    submit = _sim_core.venue_submit

    def cancel(self, order: ManagedOrder) -> None:
        coid = order.client_order_id
        ex = self.exchange
        self._schedule(self._at(), lambda ts: ex.cancel(coid, ts))

    def modify(self, order: ManagedOrder, quantity: Quantity | None, price: Price | None,
               trigger_price: Price | None) -> None:
        coid = order.client_order_id
        ex = self.exchange
        self._schedule(self._at(), lambda ts: ex.modify(coid, ts, quantity, price, trigger_price))


def zero_latency() -> ConstantLatency:
    """No latency at all (a venue in the same instant): useful in tests."""
    return ConstantLatency(0, 0)
