"""Layer 0: value types, instruments, the event record, enums and the domain types.

Everything else in shrivenquant is built on these. Fixed-point types are native
(``shrivenquant._native.fixed``); the rest are frozen ``msgspec.Struct``s.
"""

from shrivenquant._native.fixed import (
    MAX_PRECISION,
    RAW_MAX,
    RAW_NULL,
    Currency,
    FixedPoint,
    Money,
    Price,
    Quantity,
    Rounding,
    format_decimals,
    format_raw,
    parse_decimal,
    parse_decimals,
    raw_to_float,
    rescale_raw,
    to_raw_array,
)
from shrivenquant.core.enums import (
    AggressorSide,
    BookSide,
    InstrumentKind,
    LiquiditySide,
    OptionRight,
    OrderSide,
    OrderType,
    TimeInForce,
)
from shrivenquant.core.events import EVENT_DTYPE, EVENT_FIELDS, EventFlag, EventKind, empty_events
from shrivenquant.core.instrument import Instrument
from shrivenquant.core.market import Bar, QuoteTick, TradeTick
from shrivenquant.core.order_events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderEventBase,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
)
from shrivenquant.core.orders import Order
from shrivenquant.core.serialization import dec_hook, enc_hook, from_json, from_msgpack, to_json, to_msgpack

__all__ = [
    "EVENT_DTYPE",
    "EVENT_FIELDS",
    "MAX_PRECISION",
    "RAW_MAX",
    "RAW_NULL",
    "AggressorSide",
    "Bar",
    "BookSide",
    "Currency",
    "EventFlag",
    "EventKind",
    "FixedPoint",
    "Instrument",
    "InstrumentKind",
    "LiquiditySide",
    "Money",
    "OptionRight",
    "Order",
    "OrderAccepted",
    "OrderCanceled",
    "OrderEvent",
    "OrderEventBase",
    "OrderExpired",
    "OrderFilled",
    "OrderModified",
    "OrderRejected",
    "OrderSide",
    "OrderSubmitted",
    "OrderTriggered",
    "OrderType",
    "Price",
    "Quantity",
    "QuoteTick",
    "Rounding",
    "TimeInForce",
    "TradeTick",
    "dec_hook",
    "empty_events",
    "enc_hook",
    "format_decimals",
    "format_raw",
    "from_json",
    "from_msgpack",
    "parse_decimal",
    "parse_decimals",
    "raw_to_float",
    "rescale_raw",
    "to_json",
    "to_msgpack",
    "to_raw_array",
]
