"""Instruments: what can be traded, with the venue's tick, lot and notional rules.

An :class:`Instrument` is a frozen ``msgspec.Struct``. Its ``price_precision`` and ``size_precision``
are derived from ``price_tick`` and ``size_step`` (trailing zeros dropped: a tick of ``0.0100`` gives
precision 2), and every raw int64 price or quantity of this instrument, in event records, books and
the WAL, is at those precisions.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from shrivenquant._native.fixed import Currency, Money, Price, Quantity, Rounding
from shrivenquant.core.enums import InstrumentKind, OptionRight
from shrivenquant.errors import InstrumentError, PrecisionError, ValidationError

__all__ = ["Instrument"]


def _normalized_precision(value: Price | Quantity) -> int:
    """Smallest precision that represents ``value`` exactly (trailing zeros dropped)."""
    raw, p = value.raw, value.precision
    while p > 0 and raw % 10 == 0:
        raw //= 10
        p -= 1
    return p


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    """A tradable instrument and its venue rules.

    Attributes:
        venue: venue code, e.g. ``"BINANCE"``, ``"BINANCE_USDM"``, ``"NSE"``, ``"NFO"``.
        symbol: the venue's symbol, e.g. ``"BTCUSDT"``, ``"NIFTY24AUGFUT"``.
        kind: spot, perpetual, future, option, equity or index.
        base: base asset code (``"BTC"``); None for equities, indices and Kite derivatives.
        quote: quote currency code (``"USDT"``, ``"INR"``): prices are in this currency.
        settlement: settlement / margin currency code (``"USDT"`` for USD-M, ``"BTC"`` for COIN-M).
        price_tick: minimum price increment.
        size_step: minimum quantity increment (lot step), in the venue's quantity unit.
        min_qty, max_qty: bounds on order quantity (None: no bound).
        min_notional: smallest price × quantity × multiplier, in the quote currency (None: no bound).
        multiplier: contract multiplier (value of one unit in quote currency per price unit); 1 for spot.
        lot_size: units per lot for venues that trade in lots (Kite F&O); quantities stay in units.
        expiry_ns: expiry, ns since the epoch UTC (None for spot and perpetuals).
        strike: option strike (None otherwise).
        option_right: call or put (None otherwise).
        venue_token: the venue's numeric id (Kite ``instrument_token``), if any.
        underlying: underlying name for derivatives (Kite ``name``), if any.
    """

    venue: str
    symbol: str
    kind: InstrumentKind
    quote: str
    price_tick: Price
    size_step: Quantity
    base: str | None = None
    settlement: str | None = None
    min_qty: Quantity | None = None
    max_qty: Quantity | None = None
    min_notional: Money | None = None
    multiplier: Quantity = msgspec.field(default_factory=lambda: Quantity("1"))
    lot_size: int = 1
    expiry_ns: int | None = None
    strike: Price | None = None
    option_right: OptionRight | None = None
    venue_token: int | None = None
    underlying: str | None = None

    def __post_init__(self) -> None:
        if not self.venue or not self.symbol:
            raise InstrumentError(f"instrument needs a venue and a symbol, got {self.venue!r} {self.symbol!r}")
        if self.price_tick.raw <= 0:
            raise InstrumentError(f"{self.id}: price_tick must be > 0, got {self.price_tick}")
        if self.size_step.raw <= 0:
            raise InstrumentError(f"{self.id}: size_step must be > 0, got {self.size_step}")
        if self.lot_size < 1:
            raise InstrumentError(f"{self.id}: lot_size must be >= 1, got {self.lot_size}")
        if self.multiplier.raw <= 0:
            raise InstrumentError(f"{self.id}: multiplier must be > 0, got {self.multiplier}")
        if self.min_qty is not None and self.max_qty is not None and self.max_qty < self.min_qty:
            raise InstrumentError(f"{self.id}: max_qty {self.max_qty} < min_qty {self.min_qty}")
        if self.kind is InstrumentKind.OPTION and (self.strike is None or self.option_right is None):
            raise InstrumentError(f"{self.id}: an option needs a strike and an option_right")
        if self.kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION) and self.expiry_ns is None:
            raise InstrumentError(f"{self.id}: a {self.kind.name.lower()} needs an expiry")

    # ------------------------------------------------------------------ identity and precisions
    @property
    def id(self) -> str:
        """``"SYMBOL.VENUE"``, e.g. ``"BTCUSDT.BINANCE"``."""
        return f"{self.symbol}.{self.venue}"

    @property
    def price_precision(self) -> int:
        """Decimal places of every price of this instrument (from ``price_tick``)."""
        return _normalized_precision(self.price_tick)

    @property
    def size_precision(self) -> int:
        """Decimal places of every quantity of this instrument (from ``size_step``)."""
        return _normalized_precision(self.size_step)

    @property
    def quote_currency(self) -> Currency:
        """The quote currency (registered as precision 8 if unknown)."""
        return _currency(self.quote)

    # ------------------------------------------------------------------ construction helpers
    def make_price(self, value: str | int | float | Decimal | Price, rounding: Rounding = Rounding.EXACT) -> Price:
        """A Price on this instrument's tick at its price precision.

        ``rounding`` (default EXACT: raise if off tick) rounds to a multiple of the tick; a float is read
        through its shortest repr first.
        """
        if isinstance(value, float):
            value = Price.from_float(value, min(18, self.price_precision + 9), Rounding.HALF_EVEN)
        elif not isinstance(value, Price):
            value = Price(value)
        return value.quantize(self.price_tick.rescale(self.price_precision), rounding)

    def make_qty(self, value: str | int | float | Decimal | Quantity, rounding: Rounding = Rounding.EXACT) -> Quantity:
        """A Quantity on this instrument's step at its size precision (``rounding`` as for :meth:`make_price`)."""
        if isinstance(value, float):
            value = Quantity.from_float(value, min(18, self.size_precision + 9), Rounding.HALF_EVEN)
        elif not isinstance(value, Quantity):
            value = Quantity(value)
        return value.quantize(self.size_step.rescale(self.size_precision), rounding)

    # ------------------------------------------------------------------ validation
    def check_price(self, price: Price) -> Price:
        """Return ``price`` if it is on the tick, else raise :class:`PrecisionError`."""
        if not isinstance(price, Price):
            raise ValidationError(f"{self.id}: expected a Price, got {type(price).__name__}")
        try:
            price.quantize(self.price_tick, Rounding.EXACT)
        except PrecisionError:
            raise PrecisionError(
                f"{self.id}: price {price} is not on the tick {self.price_tick}") from None
        return price

    def check_qty(self, qty: Quantity) -> Quantity:
        """Return ``qty`` if it is on the step and within [min_qty, max_qty], else raise."""
        if not isinstance(qty, Quantity):
            raise ValidationError(f"{self.id}: expected a Quantity, got {type(qty).__name__}")
        try:
            qty.quantize(self.size_step, Rounding.EXACT)
        except PrecisionError:
            raise PrecisionError(f"{self.id}: quantity {qty} is not on the step {self.size_step}") from None
        if self.min_qty is not None and qty < self.min_qty:
            raise ValidationError(f"{self.id}: quantity {qty} is below the minimum {self.min_qty}")
        if self.max_qty is not None and qty > self.max_qty:
            raise ValidationError(f"{self.id}: quantity {qty} is above the maximum {self.max_qty}")
        return qty

    def notional(self, price: Price, qty: Quantity, rounding: Rounding = Rounding.HALF_EVEN) -> Money:
        """price × qty × multiplier in the quote currency, at the quote currency's precision.

        Computed exactly in integers and rounded once with ``rounding``.
        """
        cur = self.quote_currency
        mult = self.multiplier
        num = price.raw * qty.raw * mult.raw  # Python ints: exact
        scale = price.precision + qty.precision + mult.precision
        target = cur.precision
        if target >= scale:
            raw = num * 10 ** (target - scale)
        else:
            q, r = divmod(num, 10 ** (scale - target))
            raw = q
            if r:
                raw = int(Decimal(num).scaleb(target - scale).to_integral_value(_DECIMAL_ROUNDING[rounding]))
                if rounding is Rounding.EXACT:
                    raise PrecisionError(f"{self.id}: notional {price} x {qty} is not exact at precision {target}")
        return Money.from_raw(raw, target, cur)

    def check_notional(self, price: Price, qty: Quantity) -> Money:
        """Return the notional if it is at least ``min_notional``, else raise :class:`ValidationError`."""
        notional = Money.from_raw(
            price.raw * qty.raw * self.multiplier.raw,
            price.precision + qty.precision + self.multiplier.precision,
        ) if (price.precision + qty.precision + self.multiplier.precision) <= 18 and abs(
            price.raw * qty.raw * self.multiplier.raw) < 2**63 else None
        if notional is None:
            notional = self.notional(price, qty).with_currency(None)
        if self.min_notional is not None and notional < self.min_notional.with_currency(None):
            raise ValidationError(
                f"{self.id}: notional {notional} is below the minimum {self.min_notional}")
        return notional.with_currency(self.quote_currency)


def _currency(code: str) -> Currency:
    if not Currency.is_registered(code):
        Currency.register(Currency(code, 8, "crypto"))
    return Currency.of(code)


_DECIMAL_ROUNDING = {
    Rounding.HALF_EVEN: "ROUND_HALF_EVEN",
    Rounding.HALF_UP: "ROUND_HALF_UP",
    Rounding.HALF_DOWN: "ROUND_HALF_DOWN",
    Rounding.DOWN: "ROUND_DOWN",
    Rounding.UP: "ROUND_UP",
    Rounding.FLOOR: "ROUND_FLOOR",
    Rounding.CEILING: "ROUND_CEILING",
    Rounding.EXACT: "ROUND_HALF_EVEN",
}
