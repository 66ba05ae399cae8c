"""Accounts: balances per currency, locked amounts for open orders, margin for futures.

* :class:`AccountType.CASH` (spot): a BUY fill pays ``qty * px * multiplier`` of the quote currency and
  receives ``qty`` of the base asset; a SELL the reverse; fees are taken in the currency they are charged
  in. Open orders lock what they could spend: a BUY locks ``leaves * price`` of quote (limit price, or
  trigger price for a stop-market; a MARKET order locks nothing, its price is unknown), a SELL locks
  ``leaves`` of base.
* :class:`AccountType.MARGIN` (futures, perpetuals): the balance of the settlement currency moves by
  realized PnL, fees and funding only. Initial margin = ``sum |qty| * mark * multiplier * initial rate``
  over positions, plus ``leaves * price * multiplier * initial rate`` over open non-reduce-only orders
  (the order margin, i.e. the locked amount); maintenance margin uses the maintenance rate on positions.

Balances are exact ints at :data:`~shrivenquant.oms.money.MONEY_SCALE`; methods return :class:`Money`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import IntEnum
from fractions import Fraction
from typing import TYPE_CHECKING

import msgspec

from shrivenquant._native.fixed import Money, Price
from shrivenquant._native.oms_core import account_fill as _account_fill
from shrivenquant._native.oms_core import configure_accounts
from shrivenquant.core.enums import OrderSide, OrderType
from shrivenquant.core.instrument import Instrument, currency_for
from shrivenquant.errors import ValidationError
from shrivenquant.oms.money import MONEY_SCALE, POW10, round_div, to_money

if TYPE_CHECKING:
    from shrivenquant.oms.order import ManagedOrder
    from shrivenquant.oms.positions import Position

__all__ = ["Account", "AccountType", "InstrumentSpec", "MarginRates"]


class AccountType(IntEnum):
    """Cash (spot: assets change hands) or margin (derivatives: PnL settles in one currency)."""

    CASH = 1
    MARGIN = 2


_CASH = AccountType.CASH  # an Enum class attribute costs ~60 ns to look up (3.11); the hot path uses this


class MarginRates(msgspec.Struct, frozen=True, kw_only=True):
    """Initial and maintenance margin rates as exact decimal strings (``"0.05"`` = 5 %, i.e. 20x)."""

    initial: str = "1"
    maintenance: str = "0"

    def __post_init__(self) -> None:
        for name in ("initial", "maintenance"):
            try:
                value = Decimal(getattr(self, name))
            except Exception as exc:
                raise ValidationError(f"MarginRates.{name} must be a decimal string, got {getattr(self, name)!r}") \
                    from exc
            if not value.is_finite() or value < 0:
                raise ValidationError(f"MarginRates.{name} must be a finite rate >= 0, got {value}")

    def fractions(self) -> tuple[Fraction, Fraction]:
        """The two rates as exact fractions."""
        return Fraction(Decimal(self.initial)), Fraction(Decimal(self.maintenance))


def _money_scaled(value: int, scale: int) -> int:
    """An exact ``(value, scale)`` product brought to MONEY_SCALE (exact, or raises)."""
    if scale <= MONEY_SCALE:
        return value * POW10[MONEY_SCALE - scale]
    q, r = divmod(value, POW10[scale - MONEY_SCALE])
    if r:
        raise ValidationError(f"amount {value}e-{scale} needs more than {MONEY_SCALE} decimal places")
    return q


class InstrumentSpec(msgspec.Struct, frozen=True, gc=False):
    """What the accounts need of an instrument, computed once (Instrument precisions are derived on access)."""

    instrument_id: str
    quote: str
    base: str | None
    settlement: str
    mult_raw: int
    notional_scale: int  # price precision + size precision + multiplier precision
    qty_scale: int       # size precision + multiplier precision

    @classmethod
    def of(cls, inst: Instrument) -> InstrumentSpec:
        m = inst.multiplier
        return cls(inst.id, inst.quote, inst.base, inst.settlement or inst.quote, m.raw,
                   inst.price_precision + inst.size_precision + m.precision, inst.size_precision + m.precision)


class Account:
    """One venue account (mutable; owned by the order manager).

    Attributes:
        venue: the venue code this account trades on.
        account_type: cash or margin.
        balances: currency code -> exact int at MONEY_SCALE (total, including locked).
        margin: per-instrument margin rates (margin accounts); ``default_margin`` otherwise.
    """

    __slots__ = ("_rates", "account_type", "balances", "default_margin", "margin", "venue")

    def __init__(self, venue: str, account_type: AccountType, *, margin: Mapping[str, MarginRates] | None = None,
                 default_margin: MarginRates | None = None) -> None:
        self.venue = venue
        self.account_type = account_type
        self.balances: dict[str, int] = {}
        self.margin = dict(margin or {})
        self.default_margin = default_margin or MarginRates()
        self._rates: dict[str, tuple[Fraction, Fraction]] = {}

    # ------------------------------------------------------------------ updates (called by the manager)
    def add(self, code: str, amount: int) -> None:
        """Add ``amount`` (int at MONEY_SCALE, signed) to the balance of ``code``."""
        self.balances[code] = self.balances.get(code, 0) + amount

    def apply_fill(self, spec: InstrumentSpec, sign: int, qty: int, px: int, realized: int) -> None:
        """Move balances for a fill (fees are applied separately). Native (``oms_core.account_fill``)."""
        _account_fill(self, spec, sign, qty, px, realized)

    # ------------------------------------------------------------------ views
    def rates(self, instrument_id: str) -> tuple[Fraction, Fraction]:
        """(initial, maintenance) margin rates for ``instrument_id`` as fractions."""
        r = self._rates.get(instrument_id)
        if r is None:
            r = self._rates[instrument_id] = self.margin.get(instrument_id, self.default_margin).fractions()
        return r

    def balance(self, code: str) -> Money:
        """Total balance of ``code`` (locked included)."""
        return to_money(self.balances.get(code, 0), MONEY_SCALE, currency_for(code))

    def locked_raw(self, orders: Iterable[ManagedOrder], instruments: Mapping[str, Instrument],
                   marks: Mapping[str, Price] | None = None) -> dict[str, int]:
        """Amounts locked by open orders per currency (ints at MONEY_SCALE); see the module docstring."""
        out: dict[str, int] = {}
        for o in orders:
            inst = instruments[o.instrument_id]
            leaves = o.quantity_raw - o.filled_raw
            if leaves <= 0:
                continue
            m = inst.multiplier
            s = inst.size_precision
            if self.account_type is AccountType.CASH and o.side is OrderSide.SELL:
                code = inst.base or inst.quote
                out[code] = out.get(code, 0) + _money_scaled(leaves * m.raw, s + m.precision)
                continue
            if self.account_type is AccountType.MARGIN and o.order.reduce_only:
                continue
            px = o.price if o.price is not None else o.trigger_price
            if px is None or o.order.order_type is OrderType.MARKET:
                px = marks.get(o.instrument_id) if marks else None
                if px is None:
                    continue
            value = _money_scaled(leaves * px.raw * m.raw, px.precision + s + m.precision)
            if self.account_type is AccountType.CASH:
                code = inst.quote
            else:
                code = inst.settlement or inst.quote
                im = self.rates(o.instrument_id)[0]
                value = round_div(value * im.numerator, im.denominator)
            out[code] = out.get(code, 0) + value
        return out

    def margin_raw(self, positions: Iterable[Position], instruments: Mapping[str, Instrument],
                   marks: Mapping[str, Price]) -> tuple[dict[str, int], dict[str, int]]:
        """(initial, maintenance) margin of positions per settlement currency (ints at MONEY_SCALE)."""
        init: dict[str, int] = {}
        maint: dict[str, int] = {}
        if self.account_type is not AccountType.MARGIN:
            return init, maint
        for pos in positions:
            if pos.qty == 0:
                continue
            mark = marks.get(pos.instrument_id)
            if mark is None:
                raise ValidationError(f"margin needs a mark price for {pos.instrument_id}")
            inst = instruments[pos.instrument_id]
            code = inst.settlement or inst.quote
            value, scale = pos.notional_raw(mark)
            value = _money_scaled(abs(value), scale) if scale <= MONEY_SCALE else round_div(
                abs(value), POW10[scale - MONEY_SCALE])
            im, mm = self.rates(pos.instrument_id)
            init[code] = init.get(code, 0) + round_div(value * im.numerator, im.denominator)
            maint[code] = maint.get(code, 0) + round_div(value * mm.numerator, mm.denominator)
        return init, maint

    def state(self) -> list[object]:
        """Plain data for snapshots and equality checks."""
        return [self.venue, int(self.account_type), [[k, str(v)] for k, v in sorted(self.balances.items())]]

    def __repr__(self) -> str:
        bal = ", ".join(f"{k}={self.balance(k)}" for k in sorted(self.balances))
        return f"Account({self.venue}, {self.account_type.name}, {bal})"


configure_accounts(_CASH, _money_scaled, ValidationError, Account)
