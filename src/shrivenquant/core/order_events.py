"""Order events: what happened to an order, as a tagged union of frozen structs.

Every event carries the fields of :class:`OrderEventBase`; on the wire it is an object whose
``"type"`` field is the class name (``{"type": "OrderFilled", ...}``), so a stream of mixed events
decodes with ``from_json(data, OrderEvent)`` / ``from_msgpack(data, OrderEvent)`` into the right
class. Timestamps are int ns since the Unix epoch, UTC; prices and quantities are exact fixed-point
values at the instrument's precisions. Bad fields raise :class:`~shrivenquant.errors.ValidationError`
naming the field, on construction and on decode.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

from shrivenquant._native.fixed import Money, Price, Quantity
from shrivenquant.core.enums import LiquiditySide, OrderSide
from shrivenquant.core.orders import (
    _check_client_order_id,
    _check_instrument_id,
    _check_optional_type,
    _check_positive_qty,
    _check_text,
    _check_ts,
    _check_type,
)
from shrivenquant.errors import ValidationError

__all__ = [
    "OrderAccepted",
    "OrderCanceled",
    "OrderEvent",
    "OrderEventBase",
    "OrderExpired",
    "OrderFilled",
    "OrderModified",
    "OrderRejected",
    "OrderSubmitted",
    "OrderTriggered",
]


class OrderEventBase(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag_field="type", tag=True):
    """Fields shared by every order event (not used on its own: build a concrete event).

    Attributes:
        client_order_id: the order's client id (1-36 chars of ``A-Z a-z 0-9 . : / _ -``).
        instrument_id: ``"SYMBOL.VENUE"``.
        ts_event: when it happened (the venue's time if it says), ns since the epoch UTC.
        ts_init: when this event object was created locally, ns since the epoch UTC.
        venue_order_id: the venue's id for the order, None until the venue has given one.
    """

    client_order_id: str
    instrument_id: str
    ts_event: int
    ts_init: int
    venue_order_id: str | None = None

    def __post_init__(self) -> None:
        owner = type(self).__name__
        if type(self) is OrderEventBase:
            raise ValidationError("OrderEventBase is abstract: build a concrete event such as OrderAccepted")
        _check_client_order_id(owner, self.client_order_id)
        _check_instrument_id(owner, self.instrument_id)
        _check_ts(owner, "ts_event", self.ts_event)
        _check_ts(owner, "ts_init", self.ts_init)
        if self.venue_order_id is not None:
            _check_text(owner, "venue_order_id", self.venue_order_id)

    def _require_venue_order_id(self) -> None:
        if self.venue_order_id is None:
            raise ValidationError(
                f"{type(self).__name__}.venue_order_id is required: expected the venue's order id, got None")


class OrderSubmitted(OrderEventBase, frozen=True, kw_only=True, gc=False):
    """The order was sent to the venue."""


class OrderAccepted(OrderEventBase, frozen=True, kw_only=True, gc=False):
    """The venue accepted the order; ``venue_order_id`` is required."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_venue_order_id()


class OrderRejected(OrderEventBase, frozen=True, kw_only=True, gc=False):
    """The venue (or a pre-trade check) refused the order; ``reason`` says why."""

    reason: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_text(type(self).__name__, "reason", self.reason)


class OrderModified(OrderEventBase, frozen=True, kw_only=True, gc=False):
    """The order was amended; the new values are set, unchanged ones are None (at least one is set).

    Attributes:
        quantity: new order quantity (> 0), or None.
        price: new limit price, or None.
        trigger_price: new trigger price, or None.
    """

    quantity: Quantity | None = None
    price: Price | None = None
    trigger_price: Price | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = type(self).__name__
        if self.quantity is None and self.price is None and self.trigger_price is None:
            raise ValidationError(f"{owner} needs at least one of quantity, price or trigger_price, got none")
        if self.quantity is not None:
            _check_positive_qty(owner, "quantity", self.quantity)
        _check_optional_type(owner, "price", self.price, Price)
        _check_optional_type(owner, "trigger_price", self.trigger_price, Price)


class OrderCanceled(OrderEventBase, frozen=True, kw_only=True, gc=False):
    """The order was canceled; what was unfilled is gone."""


class OrderExpired(OrderEventBase, frozen=True, kw_only=True, gc=False):
    """The order's time in force ran out (GTD expiry, DAY end, unfilled IOC/FOK remainder)."""


class OrderTriggered(OrderEventBase, frozen=True, kw_only=True, gc=False):
    """A stop order's trigger price was touched; it now works as a market or limit order."""


class OrderFilled(OrderEventBase, frozen=True, kw_only=True, gc=False):
    """The order (partly) executed; ``venue_order_id`` is required.

    Attributes:
        trade_id: the venue's id of this execution (non-empty).
        order_side: side of the order that filled.
        last_qty: quantity of this fill (> 0), at the instrument's size precision.
        last_px: price of this fill, at the instrument's price precision.
        fee: commission charged for this fill, in the currency charged (negative for a rebate).
        liquidity_side: MAKER or TAKER (NONE if the venue does not say).
    """

    trade_id: str
    order_side: OrderSide
    last_qty: Quantity
    last_px: Price
    fee: Money
    liquidity_side: LiquiditySide

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = type(self).__name__
        self._require_venue_order_id()
        _check_text(owner, "trade_id", self.trade_id)
        _check_type(owner, "order_side", self.order_side, OrderSide)
        _check_positive_qty(owner, "last_qty", self.last_qty)
        _check_type(owner, "last_px", self.last_px, Price)
        _check_type(owner, "fee", self.fee, Money)
        _check_type(owner, "liquidity_side", self.liquidity_side, LiquiditySide)


#: Any order event: ``from_json(data, OrderEvent)`` picks the class from the ``"type"`` tag.
OrderEvent: TypeAlias = (
    OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderModified
    | OrderCanceled
    | OrderExpired
    | OrderTriggered
    | OrderFilled
)
