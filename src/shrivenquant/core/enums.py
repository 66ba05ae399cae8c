"""Enumerations shared by every part: sides, order types, time in force, instrument kinds.

Values are stable integers (they cross the native boundary and are stored in WAL records);
msgspec encodes them by value.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "AggressorSide",
    "BookSide",
    "InstrumentKind",
    "LiquiditySide",
    "OptionRight",
    "OrderSide",
    "OrderType",
    "TimeInForce",
]


class OrderSide(IntEnum):
    """Side of an order. Values match the event record's side codes (1 = bid/buy, 2 = ask/sell)."""

    BUY = 1
    SELL = 2

    @property
    def sign(self) -> int:
        """+1 for BUY, -1 for SELL."""
        return 1 if self is OrderSide.BUY else -1

    def opposite(self) -> OrderSide:
        """The other side."""
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class BookSide(IntEnum):
    """Side of a book: the event record's side codes."""

    NONE = 0
    BID = 1
    ASK = 2


class AggressorSide(IntEnum):
    """Which side initiated a trade (NONE when the venue does not say)."""

    NONE = 0
    BUYER = 1
    SELLER = 2


class OrderType(IntEnum):
    """Order types."""

    MARKET = 1
    LIMIT = 2
    STOP_MARKET = 3
    STOP_LIMIT = 4


class TimeInForce(IntEnum):
    """How long an order stays working."""

    GTC = 1  # good till canceled
    IOC = 2  # immediate or cancel
    FOK = 3  # fill or kill
    GTD = 4  # good till date (expire_time_ns)
    DAY = 5  # until the end of the venue's trading day


class LiquiditySide(IntEnum):
    """Whether a fill added (MAKER) or took (TAKER) liquidity."""

    NONE = 0
    MAKER = 1
    TAKER = 2


class InstrumentKind(IntEnum):
    """What an instrument is."""

    SPOT = 1
    PERPETUAL = 2
    FUTURE = 3
    OPTION = 4
    EQUITY = 5
    INDEX = 6


class OptionRight(IntEnum):
    """Call or put."""

    CALL = 1
    PUT = 2
