"""Market data values: :class:`QuoteTick`, :class:`TradeTick` and :class:`Bar` as frozen structs.

Prices and sizes are exact fixed-point values at the instrument's price and size precisions (raw
int64 at those precisions in event records); timestamps are int ns since the Unix epoch, UTC:
``ts_event`` is the venue's time, ``ts_local`` when we received it. Bad fields raise
:class:`~shrivenquant.errors.ValidationError` naming the field, on construction and on decode.
"""

from __future__ import annotations

import msgspec

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant.core.enums import AggressorSide
from shrivenquant.core.orders import (
    _check_instrument_id,
    _check_int,
    _check_positive_qty,
    _check_text,
    _check_ts,
    _check_type,
)
from shrivenquant.errors import ValidationError

__all__ = ["Bar", "QuoteTick", "TradeTick"]


class QuoteTick(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Best bid and ask with their sizes.

    Attributes:
        instrument_id: ``"SYMBOL.VENUE"``.
        bid_price, ask_price: best prices, at one precision (crossed or locked quotes are kept as sent).
        bid_size, ask_size: sizes at those prices (>= 0), at one precision.
        ts_event: venue time, ns since the epoch UTC.
        ts_local: receive time, ns since the epoch UTC.
    """

    instrument_id: str
    bid_price: Price
    ask_price: Price
    bid_size: Quantity
    ask_size: Quantity
    ts_event: int
    ts_local: int

    def __post_init__(self) -> None:
        owner = "QuoteTick"
        _check_instrument_id(owner, self.instrument_id)
        _check_type(owner, "bid_price", self.bid_price, Price)
        _check_type(owner, "ask_price", self.ask_price, Price)
        _check_type(owner, "bid_size", self.bid_size, Quantity)
        _check_type(owner, "ask_size", self.ask_size, Quantity)
        if self.bid_price.precision != self.ask_price.precision:
            raise ValidationError(
                f"QuoteTick.bid_price and ask_price must have the same precision, got "
                f"{self.bid_price.precision} ({self.bid_price}) and "
                f"{self.ask_price.precision} ({self.ask_price})")
        if self.bid_size.precision != self.ask_size.precision:
            raise ValidationError(
                f"QuoteTick.bid_size and ask_size must have the same precision, got "
                f"{self.bid_size.precision} ({self.bid_size}) and "
                f"{self.ask_size.precision} ({self.ask_size})")
        _check_ts(owner, "ts_event", self.ts_event)
        _check_ts(owner, "ts_local", self.ts_local)

    @property
    def spread(self) -> Price:
        """``ask_price - bid_price`` at the quote's price precision (negative if crossed)."""
        return self.ask_price - self.bid_price


class TradeTick(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One public trade print.

    Attributes:
        instrument_id: ``"SYMBOL.VENUE"``.
        price: trade price.
        size: trade size (> 0).
        aggressor_side: which side took liquidity (NONE if the venue does not say).
        trade_id: the venue's trade id (non-empty).
        ts_event: venue time, ns since the epoch UTC.
        ts_local: receive time, ns since the epoch UTC.
    """

    instrument_id: str
    price: Price
    size: Quantity
    aggressor_side: AggressorSide
    trade_id: str
    ts_event: int
    ts_local: int

    def __post_init__(self) -> None:
        owner = "TradeTick"
        _check_instrument_id(owner, self.instrument_id)
        _check_type(owner, "price", self.price, Price)
        _check_positive_qty(owner, "size", self.size)
        _check_type(owner, "aggressor_side", self.aggressor_side, AggressorSide)
        _check_text(owner, "trade_id", self.trade_id)
        _check_ts(owner, "ts_event", self.ts_event)
        _check_ts(owner, "ts_local", self.ts_local)


class Bar(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An OHLCV bar over a time interval; the four prices share one precision.

    Attributes:
        instrument_id: ``"SYMBOL.VENUE"``.
        interval_ns: bar length in ns (> 0), e.g. ``60_000_000_000`` for 1 minute.
        ts_open: start of the bar, ns since the epoch UTC.
        ts_close: end of the bar (> ts_open), ns since the epoch UTC (a venue's close time, which for
            Binance klines is ``ts_open + interval - 1 ms``).
        open, high, low, close: prices at one precision; ``low <= open, close <= high``.
        volume: traded quantity (>= 0).
        trade_count: number of trades (>= 0; 0 if unknown).
    """

    instrument_id: str
    interval_ns: int
    ts_open: int
    ts_close: int
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Quantity
    trade_count: int = 0

    def __post_init__(self) -> None:
        owner = "Bar"
        _check_instrument_id(owner, self.instrument_id)
        _check_int(owner, "interval_ns", self.interval_ns, minimum=1)
        _check_ts(owner, "ts_open", self.ts_open)
        _check_ts(owner, "ts_close", self.ts_close)
        if self.ts_close <= self.ts_open:
            raise ValidationError(f"Bar.ts_close must be after ts_open ({self.ts_open}), got {self.ts_close}")
        for name in ("open", "high", "low", "close"):
            _check_type(owner, name, getattr(self, name), Price)
        p = self.open.precision
        for name in ("high", "low", "close"):
            q = getattr(self, name).precision
            if q != p:
                raise ValidationError(
                    f"Bar.{name} must have the precision of open ({p}), got {q} ({getattr(self, name)})")
        _check_type(owner, "volume", self.volume, Quantity)
        _check_int(owner, "trade_count", self.trade_count, minimum=0)
        hi, lo = self.high, self.low
        if hi < lo:
            raise ValidationError(f"Bar.high {hi} must be >= low {lo}")
        if hi < self.open or hi < self.close:
            raise ValidationError(f"Bar.high {hi} must be >= open {self.open} and close {self.close}")
        if lo > self.open or lo > self.close:
            raise ValidationError(f"Bar.low {lo} must be <= open {self.open} and close {self.close}")
