"""Fee models: maker/taker rates on notional, a per-contract charge and a fixed charge per fill.

``fee = notional * rate(liquidity) + per_contract * qty + fixed``, with ``notional = px * qty *
multiplier``; the rates are exact decimal strings (``"0.0002"`` = 2 bp; negative = rebate). The sum is
exact and rounded once to the fee currency's precision (default half-even; venues often round up:
pass ``Rounding.CEILING``). Used by simulators and scripted venues to build fills, and to estimate costs.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import msgspec

from shrivenquant._native.fixed import Money, Price, Quantity, Rounding
from shrivenquant.core.enums import LiquiditySide
from shrivenquant.core.instrument import currency_for
from shrivenquant.errors import ValidationError
from shrivenquant.oms.money import POW10, round_div

__all__ = ["FeeModel"]


class FeeModel(msgspec.Struct, frozen=True, kw_only=True):
    """A fee schedule in one currency.

    Attributes:
        currency: fee currency code.
        maker_rate, taker_rate: fraction of notional as decimal strings (negative: rebate).
        per_contract: charge per unit of quantity (e.g. ``"0.85"`` per option contract), decimal string.
        fixed: flat charge per fill, decimal string (e.g. Kite's ``"20"`` INR per executed order).
    """

    currency: str
    maker_rate: str = "0"
    taker_rate: str = "0"
    per_contract: str = "0"
    fixed: str = "0"

    def __post_init__(self) -> None:
        for name in ("maker_rate", "taker_rate", "per_contract", "fixed"):
            try:
                d = Decimal(getattr(self, name))
            except Exception as exc:
                raise ValidationError(f"FeeModel.{name} must be a decimal string, got {getattr(self, name)!r}") \
                    from exc
            if not d.is_finite():
                raise ValidationError(f"FeeModel.{name} must be finite, got {d}")
        currency_for(self.currency)

    def fee(self, liquidity: LiquiditySide, price: Price, qty: Quantity, multiplier: Quantity | None = None,
            rounding: Rounding = Rounding.HALF_EVEN) -> Money:
        """The fee for one fill (positive = charged)."""
        rate = Fraction(Decimal(self.maker_rate if liquidity is LiquiditySide.MAKER else self.taker_rate))
        mult = multiplier if multiplier is not None else Quantity("1")
        scale = price.precision + qty.precision + mult.precision
        total = Fraction(price.raw * qty.raw * mult.raw, POW10[scale]) * rate
        total += Fraction(Decimal(self.per_contract)) * Fraction(qty.raw, POW10[qty.precision])
        total += Fraction(Decimal(self.fixed))
        cur = currency_for(self.currency)
        raw = round_div(total.numerator * POW10[cur.precision], total.denominator, rounding)
        return Money.from_raw(raw, cur.precision, cur)
