"""Risk configuration: frozen msgspec structs, validated on construction and on decode.

Units: quantities are in the instrument's quantity unit and prices in its quote currency (decimals,
converted exactly to raw ints when the engine is built); money (notional, credit, loss, balance) is in
the config's ``currency``; windows are int ns; collar bands are int basis points or ticks.
``None`` means "no limit". Every breach raises :class:`~shrivenquant.errors.ValidationError` naming the
field; cross-checks against the instruments (unknown ids, currencies, precisions) run when the engine is
built (:meth:`shrivenquant.risk.PreTradeRisk.from_config`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from shrivenquant.errors import ValidationError

__all__ = [
    "AccountLimits",
    "Breaker",
    "InstrumentLimits",
    "OrderToTradeRatio",
    "PriceCollar",
    "RiskConfig",
    "StrategyLimits",
    "Throttle",
]


def _number(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValidationError(
            f"{owner}.{name} must be an int or a Decimal (in Python, Decimal('0.1') rather than a float or str), "
            f"got {value!r}")


def _nonneg(owner: str, name: str, value: Decimal | int | None) -> None:
    if value is None:
        return
    _number(owner, name, value)
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValidationError(f"{owner}.{name} must be a finite number, got {value}")
    if value < 0:
        raise ValidationError(f"{owner}.{name} must be >= 0 (a limit cannot be negative), got {value}")


def _positive(owner: str, name: str, value: Decimal | int) -> None:
    _number(owner, name, value)
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValidationError(f"{owner}.{name} must be a finite number, got {value}")
    if value <= 0:
        raise ValidationError(f"{owner}.{name} must be > 0, got {value}")


class Throttle(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """At most ``limit`` messages in any rolling window of ``window_ns`` ns: (now - window, now]."""

    limit: int
    window_ns: int

    def __post_init__(self) -> None:
        _positive("Throttle", "limit", self.limit)
        _positive("Throttle", "window_ns", self.window_ns)
        if self.limit > 10_000_000:
            raise ValidationError(f"Throttle.limit must be <= 10,000,000, got {self.limit}")


class PriceCollar(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A band around the reference price, per side, in basis points or ticks (``None``: no bound that way).

    A buy must be within [ref - buy_down, ref + buy_up], a sell within [ref - sell_down, ref + sell_up]
    (Binance PERCENT_PRICE_BY_SIDE's shape). In bps the upper bound is floored and the lower bound
    ceiled to a raw price, so the band never widens.
    """

    unit: Literal["bps", "ticks"]
    buy_up: int | None = None
    buy_down: int | None = None
    sell_up: int | None = None
    sell_down: int | None = None

    def __post_init__(self) -> None:
        bands = {"buy_up": self.buy_up, "buy_down": self.buy_down, "sell_up": self.sell_up,
                 "sell_down": self.sell_down}
        for name, v in bands.items():
            _nonneg("PriceCollar", name, v)
        if all(v is None for v in bands.values()):
            raise ValidationError("PriceCollar needs at least one band (buy_up, buy_down, sell_up, sell_down)")
        if self.unit == "bps":
            for name in ("buy_down", "sell_down"):
                v = bands[name]
                if v is not None and v >= 10_000:
                    raise ValidationError(
                        f"PriceCollar.{name} must be < 10000 bps: a band of {v} bps reaches zero or below")


class Breaker(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Trips when the loss (daily loss) or the fall from the day's PnL peak (drawdown) exceeds ``limit``
    (money); the state then becomes ``action`` until reset by hand."""

    limit: Decimal
    action: Literal["REDUCING", "HALTED"] = "HALTED"

    def __post_init__(self) -> None:
        _nonneg("Breaker", "limit", self.limit)


class OrderToTradeRatio(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Reject when (messages + 1) / max(trades, 1) would exceed ``max_ratio``, once ``min_messages`` messages
    (orders + modifies + cancels) were sent since the day started. ``max_ratio`` has at most 3 decimals."""

    max_ratio: Decimal
    min_messages: int = 0

    def __post_init__(self) -> None:
        _positive("OrderToTradeRatio", "max_ratio", self.max_ratio)
        _nonneg("OrderToTradeRatio", "min_messages", self.min_messages)
        if (self.max_ratio * 1000) % 1 != 0:
            raise ValidationError(
                f"OrderToTradeRatio.max_ratio must have at most 3 decimals, got {self.max_ratio}")


class InstrumentLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Limits of one instrument (account-wide), keyed by ``instrument_id`` (``"SYMBOL.VENUE"``).

    Tick, lot and the venue's min/max quantity and notional come from the :class:`Instrument`;
    ``min_qty`` / ``min_notional`` here override the venue's minimums and ``max_order_qty`` /
    ``max_order_notional`` tighten its maximums. ``margin_rate``: initial margin per unit of notional
    (1 = cash, 0.1 = 10x); it must be a whole number of basis points.
    """

    instrument_id: str
    restricted: bool = False
    max_order_qty: Decimal | None = None
    max_order_notional: Decimal | None = None
    min_qty: Decimal | None = None
    min_notional: Decimal | None = None
    collar: PriceCollar | None = None
    max_position_net: Decimal | None = None
    max_position_gross: Decimal | None = None
    max_open_orders: int | None = None
    margin_rate: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        owner = f"InstrumentLimits[{self.instrument_id}]"
        if not self.instrument_id:
            raise ValidationError("InstrumentLimits.instrument_id must not be empty")
        for name in ("max_order_qty", "max_order_notional", "min_qty", "min_notional", "max_position_net",
                     "max_position_gross", "max_open_orders", "margin_rate"):
            _nonneg(owner, name, getattr(self, name))
        if self.min_qty is not None and self.max_order_qty is not None and self.min_qty > self.max_order_qty:
            raise ValidationError(f"{owner}: min_qty {self.min_qty} > max_order_qty {self.max_order_qty}")
        if (self.min_notional is not None and self.max_order_notional is not None
                and self.min_notional > self.max_order_notional):
            raise ValidationError(
                f"{owner}: min_notional {self.min_notional} > max_order_notional {self.max_order_notional}")
        if (self.max_position_net is not None and self.max_position_gross is not None
                and self.max_position_net > self.max_position_gross):
            raise ValidationError(
                f"{owner}: max_position_net {self.max_position_net} > max_position_gross {self.max_position_gross}"
                " (a net position is never larger than the gross)")
        if (self.margin_rate * 10_000) % 1 != 0:
            raise ValidationError(f"{owner}.margin_rate must be a whole number of bps, got {self.margin_rate}")


class StrategyLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Limits of one strategy (or trader / account / algo id): message throttles, credit, breakers."""

    name: str
    max_order_notional: Decimal | None = None
    credit_limit: Decimal | None = None
    max_open_orders: int | None = None
    order_rate: Throttle | None = None
    modify_rate: Throttle | None = None
    cancel_rate: Throttle | None = None
    execution_throttle: Throttle | None = None
    order_to_trade: OrderToTradeRatio | None = None
    daily_loss: Breaker | None = None
    drawdown: Breaker | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValidationError("StrategyLimits.name must not be empty")
        for name in ("max_order_notional", "credit_limit", "max_open_orders"):
            _nonneg(f"StrategyLimits[{self.name}]", name, getattr(self, name))


class AccountLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Account-wide limits. ``margin``: check initial margin against ``balance`` + unrealized PnL;
    ``duplicate_window_ns``: a client order id is a duplicate for this long after it was first accepted
    (0: only while its order is working)."""

    credit_limit: Decimal | None = None
    max_open_orders: int | None = None
    daily_loss: Breaker | None = None
    drawdown: Breaker | None = None
    margin: bool = False
    balance: Decimal = Decimal(0)
    duplicate_window_ns: int = 0

    def __post_init__(self) -> None:
        for name in ("credit_limit", "max_open_orders", "duplicate_window_ns"):
            _nonneg("AccountLimits", name, getattr(self, name))
        _number("AccountLimits", "balance", self.balance)
        if isinstance(self.balance, Decimal) and not self.balance.is_finite():
            raise ValidationError(f"AccountLimits.balance must be a finite number, got {self.balance}")


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole pre-trade risk configuration.

    Attributes:
        currency: the account currency; every instrument's quote currency must be this one.
        money_precision: decimals of raw money (default: the currency's registered precision).
        instruments: per-instrument limits (instruments without an entry get their venue rules only).
        strategies: the strategies, in index order (at least one).
        account: account-wide limits.
    """

    currency: str
    money_precision: int | None = None
    instruments: tuple[InstrumentLimits, ...] = ()
    strategies: tuple[StrategyLimits, ...] = (StrategyLimits(name="default"),)
    account: AccountLimits = AccountLimits()

    def __post_init__(self) -> None:
        if not self.currency:
            raise ValidationError("RiskConfig.currency must not be empty")
        if self.money_precision is not None and not 0 <= self.money_precision <= 18:
            raise ValidationError(f"RiskConfig.money_precision must be from 0 to 18, got {self.money_precision}")
        if not self.strategies:
            raise ValidationError("RiskConfig.strategies must name at least one strategy")
        ids = [x.instrument_id for x in self.instruments]
        dup = sorted({x for x in ids if ids.count(x) > 1})
        if dup:
            raise ValidationError(f"RiskConfig.instruments lists {dup} more than once")
        names = [x.name for x in self.strategies]
        dup = sorted({x for x in names if names.count(x) > 1})
        if dup:
            raise ValidationError(f"RiskConfig.strategies names {dup} more than once")
