"""Instruments: what can be traded, with the venue's tick, lot, price and notional rules.

An :class:`Instrument` is a frozen ``msgspec.Struct``. Its ``price_precision`` and ``size_precision``
are derived from ``price_tick`` and ``size_step`` (trailing zeros dropped: a tick of ``0.0100`` gives
precision 2), and every raw int64 price or quantity of this instrument, in event records, books and
the WAL, is at those precisions.

Notional arithmetic is exact: ``price.raw * qty.raw * multiplier.raw`` is a Python int, limits are
compared against it without rounding, and the result is rounded once, with the caller's
:class:`~shrivenquant._native.fixed.Rounding` mode, to the quote currency's precision.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TypeVar

import msgspec

from shrivenquant._native.fixed import Currency, Money, Price, Quantity, Rounding
from shrivenquant.core.enums import InstrumentKind, OptionRight
from shrivenquant.errors import InstrumentError, PrecisionError, ValidationError

__all__ = ["Instrument", "currency_for"]

_F = TypeVar("_F", Price, Quantity)


def currency_for(code: str) -> Currency:
    """The registered :class:`Currency` for ``code``; an unknown code is registered as 8-decimal crypto.

    Raises :class:`ValidationError` if ``code`` is not a valid currency code (1-32 letters or digits).
    """
    if not Currency.is_registered(code):
        Currency.register(Currency(code, 8, "crypto"))
    return Currency.of(code)


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    """A tradable instrument and its venue rules.

    Attributes:
        venue: venue code, e.g. ``"BINANCE"``, ``"BINANCE_USDM"``, ``"NSE"``, ``"NFO"``.
        symbol: the venue's symbol, e.g. ``"BTCUSDT"``, ``"NIFTY24AUGFUT"``.
        kind: spot, perpetual, future, option, equity or index.
        quote: quote currency code (``"USDT"``, ``"INR"``): prices are in this currency.
        price_tick: minimum price increment (> 0).
        size_step: minimum quantity increment (> 0), in the venue's quantity unit (coins, contracts,
            shares).
        base: base asset code (``"BTC"``); None for equities, indices and Kite derivatives.
        settlement: settlement / margin currency code (``"USDT"`` for USD-M, ``"BTC"`` for COIN-M).
        min_qty, max_qty: bounds on a (limit) order quantity (None: no bound).
        market_max_qty: bound on a market order quantity (None: no bound beyond ``max_qty``).
        min_price, max_price: bounds on an order price (None: no bound).
        min_notional, max_notional: bounds on the order notional (see :meth:`notional`), in the quote
            currency (None: no bound).
        multiplier: contract multiplier; 1 for spot and equities. For a linear contract it is the
            quantity of the underlying per unit; for an inverse contract the face value of one
            contract in the quote currency (Binance COIN-M ``contractSize``: 100 USD for BTCUSD).
        inverse: True for inverse (coin-margined) contracts: one contract is worth ``multiplier``
            units of the quote currency whatever the price.
        lot_size: units per lot for venues that trade in lots (Kite F&O); quantities stay in units
            and an order quantity must be a whole number of lots.
        expiry_ns: expiry, ns since the epoch UTC (None for spot, perpetuals and equities).
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
    market_max_qty: Quantity | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    min_notional: Money | None = None
    max_notional: Money | None = None
    multiplier: Quantity = msgspec.field(default_factory=lambda: Quantity("1"))
    inverse: bool = False
    lot_size: int = 1
    expiry_ns: int | None = None
    strike: Price | None = None
    option_right: OptionRight | None = None
    venue_token: int | None = None
    underlying: str | None = None

    def __post_init__(self) -> None:
        if not self.venue or not self.symbol:
            raise InstrumentError(
                f"instrument needs a venue and a symbol, got {self.venue!r} {self.symbol!r}")
        if not self.quote:
            raise InstrumentError(f"{self.id}: quote currency code must not be empty")
        if self.price_tick.raw <= 0:
            raise InstrumentError(f"{self.id}: price_tick must be > 0, got {self.price_tick}")
        if self.size_step.raw <= 0:
            raise InstrumentError(f"{self.id}: size_step must be > 0, got {self.size_step}")
        if self.lot_size < 1:
            raise InstrumentError(f"{self.id}: lot_size must be >= 1, got {self.lot_size}")
        if self.multiplier.raw <= 0:
            raise InstrumentError(f"{self.id}: multiplier must be > 0, got {self.multiplier}")
        for bound in (self.min_notional, self.max_notional):
            if bound is not None and bound.currency is not None and bound.currency.code != self.quote:
                raise InstrumentError(
                    f"{self.id}: notional bound {bound} must be in the quote currency {self.quote}")
        for lo, hi, what in (
            (self.min_qty, self.max_qty, "qty"),
            (self.min_price, self.max_price, "price"),
            (self.min_notional, self.max_notional, "notional"),
        ):
            if lo is not None and hi is not None and _cmp(hi, lo) < 0:
                raise InstrumentError(f"{self.id}: max_{what} {hi} < min_{what} {lo}")
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
        return _normalized(self.price_tick).precision

    @property
    def size_precision(self) -> int:
        """Decimal places of every quantity of this instrument (from ``size_step``)."""
        return _normalized(self.size_step).precision

    @property
    def quote_currency(self) -> Currency:
        """The quote currency (registered as 8-decimal crypto if unknown, see :func:`currency_for`)."""
        return currency_for(self.quote)

    # ------------------------------------------------------------------ construction helpers
    def make_price(
        self, value: str | int | float | Decimal | Price, rounding: Rounding = Rounding.EXACT
    ) -> Price:
        """A Price on this instrument's tick, at its price precision.

        ``rounding`` (default EXACT: raise :class:`PrecisionError` if off tick) rounds to a multiple of
        the tick, once. A float is read as its shortest repr (``0.1`` is ``"0.1"``).
        """
        tick = _normalized(self.price_tick)
        if isinstance(value, float):
            num, scale = _float_ratio(value, "price")
            raw = _round_to(num, scale, tick, rounding)
            if raw is None:
                raise PrecisionError(f"{self.id}: price {value!r} is not on the tick {tick}; "
                                     f"pass a rounding mode to round it")
            return Price.from_raw(raw, tick.precision)
        if not isinstance(value, Price):
            value = _build(Price, value, "price")
        try:
            return value.quantize(tick, rounding)
        except PrecisionError:
            raise PrecisionError(
                f"{self.id}: price {value} is not on the tick {tick}; pass a rounding mode to round it"
            ) from None

    def make_qty(
        self, value: str | int | float | Decimal | Quantity, rounding: Rounding = Rounding.EXACT
    ) -> Quantity:
        """A Quantity on this instrument's step, at its size precision (``rounding`` as for make_price).

        Only the step is applied here; bounds and lots are checked by :meth:`check_qty`.
        """
        step = _normalized(self.size_step)
        if isinstance(value, float):
            num, scale = _float_ratio(value, "quantity")
            raw = _round_to(num, scale, step, rounding)
            if raw is None:
                raise PrecisionError(f"{self.id}: quantity {value!r} is not on the step {step}; "
                                     f"pass a rounding mode to round it")
            if raw < 0:
                raise ValidationError(f"{self.id}: quantity must be >= 0, got {value!r}")
            return Quantity.from_raw(raw, step.precision)
        if not isinstance(value, Quantity):
            value = _build(Quantity, value, "quantity")
        try:
            return value.quantize(step, rounding)
        except PrecisionError:
            raise PrecisionError(
                f"{self.id}: quantity {value} is not on the step {step}; pass a rounding mode to round it"
            ) from None

    # ------------------------------------------------------------------ validation
    def check_price(self, price: Price) -> Price:
        """Return ``price`` if it is on the tick and within [min_price, max_price].

        Raises :class:`PrecisionError` if off tick, :class:`ValidationError` if out of bounds or not a
        Price.
        """
        if not isinstance(price, Price):
            raise ValidationError(f"{self.id}: expected a Price, got {type(price).__name__}")
        if not _on_increment(price, self.price_tick):
            raise PrecisionError(f"{self.id}: price {price} is not on the tick {self.price_tick}")
        if self.min_price is not None and price < self.min_price:
            raise ValidationError(f"{self.id}: price {price} is below the minimum {self.min_price}")
        if self.max_price is not None and price > self.max_price:
            raise ValidationError(f"{self.id}: price {price} is above the maximum {self.max_price}")
        return price

    def check_qty(self, qty: Quantity, *, market: bool = False) -> Quantity:
        """Return ``qty`` if it is > 0, a whole number of steps (and of lots) and within the bounds.

        The bounds are [min_qty, max_qty]; with ``market=True`` the upper bound is also
        ``market_max_qty``. Raises :class:`PrecisionError` if off step or lot, :class:`ValidationError`
        otherwise.
        """
        if not isinstance(qty, Quantity):
            raise ValidationError(f"{self.id}: expected a Quantity, got {type(qty).__name__}")
        if qty.raw <= 0:
            raise ValidationError(f"{self.id}: quantity must be > 0, got {qty}")
        if not _on_increment(qty, self.size_step):
            raise PrecisionError(f"{self.id}: quantity {qty} is not on the step {self.size_step}")
        if self.lot_size != 1:
            lot = Quantity.from_raw(self.size_step.raw * self.lot_size, self.size_step.precision)
            if not _on_increment(qty, lot):
                raise PrecisionError(
                    f"{self.id}: quantity {qty} is not a whole number of lots of {self.lot_size} "
                    f"(expected a multiple of {lot})")
        if self.min_qty is not None and qty < self.min_qty:
            raise ValidationError(f"{self.id}: quantity {qty} is below the minimum {self.min_qty}")
        if self.max_qty is not None and qty > self.max_qty:
            raise ValidationError(f"{self.id}: quantity {qty} is above the maximum {self.max_qty}")
        if market and self.market_max_qty is not None and qty > self.market_max_qty:
            raise ValidationError(
                f"{self.id}: market order quantity {qty} is above the maximum {self.market_max_qty}")
        return qty

    def notional(self, price: Price, qty: Quantity, rounding: Rounding = Rounding.HALF_EVEN) -> Money:
        """The value of ``qty`` at ``price`` in the quote currency, at the quote currency's precision.

        Linear: price × qty × multiplier. Inverse: qty × multiplier (the contracts' face value; the
        price does not enter). Computed exactly in integers and rounded once with ``rounding``;
        ``Rounding.EXACT`` raises :class:`PrecisionError` if the value does not fit the precision.
        """
        mode = _mode(rounding)
        num, scale = self._exact_notional(price, qty)
        cur = self.quote_currency
        target = cur.precision
        if target >= scale:
            raw = num * 10 ** (target - scale)
        else:
            raw = _round_div(num, 10 ** (scale - target), mode)
            if raw is None:
                raise PrecisionError(
                    f"{self.id}: notional of {qty} at {price} is not exact at {cur.code} precision {target}; "
                    f"pass a rounding mode")
        return Money.from_raw(raw, target, cur)

    def check_notional(self, price: Price, qty: Quantity, rounding: Rounding = Rounding.HALF_EVEN) -> Money:
        """Return :meth:`notional` if the exact notional is within [min_notional, max_notional].

        The comparison uses the exact (unrounded) value; out of bounds raises :class:`ValidationError`.
        """
        num, scale = self._exact_notional(price, qty)
        if self.min_notional is not None and _cmp_ratio(num, scale, self.min_notional) < 0:
            raise ValidationError(
                f"{self.id}: notional of {qty} at {price} ({_fmt_ratio(num, scale)} {self.quote}) "
                f"is below the minimum {self.min_notional}")
        if self.max_notional is not None and _cmp_ratio(num, scale, self.max_notional) > 0:
            raise ValidationError(
                f"{self.id}: notional of {qty} at {price} ({_fmt_ratio(num, scale)} {self.quote}) "
                f"is above the maximum {self.max_notional}")
        return self.notional(price, qty, rounding)

    def check_order(self, price: Price, qty: Quantity, rounding: Rounding = Rounding.HALF_EVEN) -> Money:
        """Check a limit order against every venue rule; return its notional (as :meth:`notional`).

        Runs :meth:`check_price`, :meth:`check_qty` and :meth:`check_notional`; an index (not
        tradable) raises :class:`InstrumentError`.
        """
        if self.kind is InstrumentKind.INDEX:
            raise InstrumentError(f"{self.id}: an index is not tradable")
        self.check_price(price)
        self.check_qty(qty)
        return self.check_notional(price, qty, rounding)

    def _exact_notional(self, price: Price, qty: Quantity) -> tuple[int, int]:
        """(num, scale) with notional = num / 10**scale exactly."""
        if not isinstance(price, Price):
            raise ValidationError(f"{self.id}: expected a Price, got {type(price).__name__}")
        if not isinstance(qty, Quantity):
            raise ValidationError(f"{self.id}: expected a Quantity, got {type(qty).__name__}")
        mult = self.multiplier
        if self.inverse:
            return qty.raw * mult.raw, qty.precision + mult.precision
        return price.raw * qty.raw * mult.raw, price.precision + qty.precision + mult.precision


# ---------------------------------------------------------------------------------------------- helpers

def _normalized(value: _F) -> _F:
    """The same value with trailing fractional zeros dropped (smallest exact precision)."""
    raw, p = value.raw, value.precision
    while p > 0 and raw % 10 == 0:
        raw //= 10
        p -= 1
    return value if p == value.precision else type(value).from_raw(raw, p)


def _on_increment(value: Price | Quantity, increment: Price | Quantity) -> bool:
    """True if ``value`` is an exact multiple of ``increment`` (> 0)."""
    p = max(value.precision, increment.precision)
    return (value.raw * 10 ** (p - value.precision)) % (increment.raw * 10 ** (p - increment.precision)) == 0


def _cmp(a: Price | Quantity | Money, b: Price | Quantity | Money) -> int:
    """Exact comparison of two fixed-point values whatever their type or currency: -1, 0 or 1."""
    p = max(a.precision, b.precision)
    x, y = a.raw * 10 ** (p - a.precision), b.raw * 10 ** (p - b.precision)
    return (x > y) - (x < y)


def _cmp_ratio(num: int, scale: int, bound: Money) -> int:
    """Compare num / 10**scale with ``bound`` exactly: -1, 0 or 1."""
    p = max(scale, bound.precision)
    x, y = num * 10 ** (p - scale), bound.raw * 10 ** (p - bound.precision)
    return (x > y) - (x < y)


def _fmt_ratio(num: int, scale: int) -> str:
    """num / 10**scale as an exact decimal string (for messages)."""
    sign, digits = ("-" if num < 0 else ""), str(abs(num)).rjust(scale + 1, "0")
    if scale == 0:
        return sign + digits
    return f"{sign}{digits[:-scale]}.{digits[-scale:]}".rstrip("0").rstrip(".")


def _mode(rounding: Rounding | int) -> Rounding:
    """``rounding`` as a :class:`Rounding` member, else :class:`ValidationError`."""
    try:
        return Rounding(rounding)
    except (ValueError, TypeError):
        raise ValidationError(f"rounding must be a Rounding member, got {rounding!r}") from None


def _round_div(n: int, d: int, rounding: Rounding) -> int | None:
    """n / d (d > 0) rounded to an integer with ``rounding``; None if inexact and ``rounding`` is EXACT."""
    q, r = divmod(n, d)  # floor division: q = floor(n / d), 0 <= r < d
    if r == 0:
        return q
    if rounding is Rounding.EXACT:
        return None
    if rounding is Rounding.FLOOR:
        return q
    if rounding is Rounding.CEILING:
        return q + 1
    away = q + 1 if n >= 0 else q  # away from zero
    toward = q if n >= 0 else q + 1  # toward zero
    if rounding is Rounding.DOWN:
        return toward
    if rounding is Rounding.UP:
        return away
    twice = 2 * r
    if twice != d:  # not a tie: nearest
        return q + 1 if twice > d else q
    if rounding is Rounding.HALF_UP:
        return away
    if rounding is Rounding.HALF_DOWN:
        return toward
    return q if q % 2 == 0 else q + 1  # HALF_EVEN


def _round_to(num: int, scale: int, inc: Price | Quantity, rounding: Rounding) -> int | None:
    """Raw (at ``inc.precision``) of num / 10**scale rounded once to a multiple of ``inc``.

    None if inexact and ``rounding`` is EXACT.
    """
    top = num * 10 ** max(inc.precision - scale, 0)
    bottom = inc.raw * 10 ** max(scale - inc.precision, 0)
    n = _round_div(top, bottom, _mode(rounding))
    return None if n is None else n * inc.raw


def _float_ratio(value: float, what: str) -> tuple[int, int]:
    """(num, scale) of a float's shortest repr: value == num / 10**scale as a person typed it."""
    try:
        d = Decimal(repr(value))
    except InvalidOperation:  # pragma: no cover - repr of a float always parses
        raise ValidationError(f"cannot read {what} {value!r}") from None
    if not d.is_finite():
        raise ValidationError(f"{what} cannot be {value!r}: expected a finite number")
    sign, digits, exp = d.as_tuple()
    num = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if not isinstance(exp, int):  # pragma: no cover - finite decimals have an int exponent
        raise ValidationError(f"cannot read {what} {value!r}")
    if exp >= 0:
        return num * 10**exp, 0
    return num, -exp


def _build(cls: type[_F], value: object, what: str) -> _F:
    """``cls(value)`` with a TypeError (unsupported input type) reported as :class:`ValidationError`."""
    try:
        return cls(value)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValidationError(f"cannot make a {what} from {value!r}: {exc}") from None
