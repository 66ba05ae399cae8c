"""A managed order: the immutable :class:`Order` plus its live state inside the order manager."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant._native.oms_core import configure
from shrivenquant.core.enums import OrderSide
from shrivenquant.core.orders import Order
from shrivenquant.oms.positions import PositionLeg
from shrivenquant.oms.states import OPEN_STATUSES, TERMINAL_STATUSES, OrderStatus

__all__ = ["ManagedOrder"]

_BUY = OrderSide.BUY
_INITIALIZED = OrderStatus.INITIALIZED


class ManagedOrder:
    """The live state of one order (mutable, owned by the order manager: read it, do not write it).

    The manager's native handlers (``shrivenquant._native.oms_core``) build it and update its slots directly.

    Attributes:
        order: the order as submitted (terms may since have been modified: see ``quantity_raw``,
            ``price``, ``trigger_price``).
        status, prev_status: current status, and the status underneath a pending request.
        quantity_raw, filled_raw: order and filled quantity, raw at the instrument's size precision.
        price, trigger_price: current limit / trigger price (None if the type has none).
        venue_order_id: the venue's id once known.
        notional_raw: sum of ``fill qty raw * fill px raw`` (scale P + S): ``avg_px = notional / filled``.
        trade_ids: ids of the fills applied (duplicates are ignored).
        reason: why the order was denied or rejected, or the last refused request.
        parent, children, oco: contingency links (client order ids).
        hold: a contingent child waiting for its parent to fill.
        leg: the position it trades (NET when netting; LONG / SHORT legs when hedging).
        external: found at the venue by reconciliation, not sent by this manager.
        sent: the order reached (or may have reached) the venue; False for denied orders and for contingent
            children canceled while held (a fill for an order never sent is refused).
    """

    __slots__ = ("_children", "_trade_ids", "account", "client_order_id", "external", "filled_raw", "hold",
                 "instrument_id", "leg", "notional_raw", "oco", "order", "parent", "position", "prev_status", "price",
                 "price_prec", "quantity_raw", "reason", "sent", "side", "sign", "size_prec", "status",
                 "trigger_price", "ts_last", "venue_order_id")

    def __init__(self, order: Order, *, size_prec: int, price_prec: int, leg: PositionLeg, ts: int) -> None:
        self.order = order
        self.client_order_id = order.client_order_id
        self.instrument_id = order.instrument_id
        self.side = order.side
        self.sign = 1 if order.side is _BUY else -1
        self.size_prec = size_prec
        self.price_prec = price_prec
        self.status = _INITIALIZED
        self.prev_status = _INITIALIZED
        self.quantity_raw = order.quantity.raw_at(size_prec)
        self.filled_raw = 0
        self.price: Price | None = order.price
        self.trigger_price: Price | None = order.trigger_price
        self.venue_order_id: str | None = None
        self.notional_raw = 0
        self._trade_ids: set[str] | None = None  # made on first use (most orders keep none until a fill)
        self.reason: str | None = None
        self.parent: str | None = None
        self._children: list[str] | None = None  # made on first use (most orders have no children)
        self.oco: tuple[str, ...] = ()
        self.hold = False
        self.leg = leg
        self.external = False
        self.sent = False
        self.ts_last = ts
        self.position: Any = None  # the Position and Account its fills go to (set on the first fill)
        self.account: Any = None

    @property
    def trade_ids(self) -> set[str]:
        """Ids of the fills applied (duplicates are ignored)."""
        if self._trade_ids is None:
            self._trade_ids = set()
        return self._trade_ids

    @trade_ids.setter
    def trade_ids(self, value: set[str]) -> None:
        self._trade_ids = value

    @property
    def children(self) -> list[str]:
        """Client ids of the contingent children."""
        if self._children is None:
            self._children = []
        return self._children

    @children.setter
    def children(self, value: list[str]) -> None:
        self._children = value

    @property
    def quantity(self) -> Quantity:
        """Current order quantity."""
        return Quantity.from_raw(self.quantity_raw, self.size_prec)

    @property
    def filled(self) -> Quantity:
        """Filled quantity."""
        return Quantity.from_raw(self.filled_raw, self.size_prec)

    @property
    def leaves(self) -> Quantity:
        """Quantity still open (0 once the order is finished)."""
        if self.status in TERMINAL_STATUSES:
            return Quantity.from_raw(0, self.size_prec)
        return Quantity.from_raw(self.quantity_raw - self.filled_raw, self.size_prec)

    @property
    def avg_px(self) -> Decimal | None:
        """Average fill price (exact quotient, 28 significant digits), None before the first fill."""
        if not self.filled_raw:
            return None
        return (Decimal(self.notional_raw) / Decimal(self.filled_raw)).scaleb(-self.price_prec)

    @property
    def is_open(self) -> bool:
        """True while the order may still trade at the venue."""
        return self.status in OPEN_STATUSES

    @property
    def is_done(self) -> bool:
        """True once the order is denied, rejected, canceled, expired or filled."""
        return self.status in TERMINAL_STATUSES

    def state(self) -> list[object]:
        """Plain data for snapshots and equality checks."""
        return [self.client_order_id, int(self.status), int(self.prev_status), self.quantity_raw, self.filled_raw,
                None if self.price is None else str(self.price),
                None if self.trigger_price is None else str(self.trigger_price),
                self.venue_order_id, str(self.notional_raw), sorted(self.trade_ids), self.reason, self.parent,
                list(self.children), list(self.oco), self.hold, int(self.leg), self.external, self.sent, self.ts_last]

    def load(self, state: list) -> None:  # type: ignore[type-arg]
        """Restore from :meth:`state` output (the order itself is restored separately)."""
        (_, status, prev, self.quantity_raw, self.filled_raw, price, trigger, self.venue_order_id,
         notional, trade_ids, self.reason, self.parent, children, oco, self.hold, leg, self.external,
         self.sent, self.ts_last) = state
        self.notional_raw = int(notional)
        self.status = OrderStatus(status)
        self.prev_status = OrderStatus(prev)
        self.price = None if price is None else Price(price)
        self.trigger_price = None if trigger is None else Price(trigger)
        self.trade_ids = set(trade_ids)
        self.children = list(children)
        self.oco = tuple(oco)
        self.leg = PositionLeg(leg)

    def __repr__(self) -> str:
        return (f"ManagedOrder({self.client_order_id}, {self.status.name}, {self.side.name} "
                f"{self.filled}/{self.quantity} {self.instrument_id}, venue_id={self.venue_order_id})")


configure(_INITIALIZED, _BUY, ManagedOrder)
