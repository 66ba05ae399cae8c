"""Exact integer money arithmetic shared by positions, accounts and the portfolio.

Inside the order manager amounts are Python ints at an explicit decimal *scale* (``value / 10**scale``):
quantities and prices stay at the instrument's precisions (raw int64), products of them are exact at
the sum of the scales, and account balances, fees and funding are kept at :data:`MONEY_SCALE`. Nothing
is rounded until a value leaves as a :class:`Money` (:func:`to_money`), and then only if the exact value
cannot be held in an int64 at the currency's precision or finer.
"""

from __future__ import annotations

from fractions import Fraction

from shrivenquant._native.fixed import MAX_PRECISION, Currency, Money, Rounding
from shrivenquant.errors import FixedPointOverflowError, ValidationError

__all__ = ["MONEY_SCALE", "POW10", "rescale_exact", "round_div", "to_money", "to_scale"]

#: Scale of balances, fees and funding inside accounts (18 decimal places, exact Python ints).
MONEY_SCALE = 18
#: 10**k for k in 0..40.
POW10 = tuple(10 ** k for k in range(41))
_I64 = 2 ** 63 - 1


def to_scale(raw: int, precision: int, scale: int) -> int:
    """``raw`` at ``precision`` expressed at a finer ``scale`` (exact; ``scale >= precision``)."""
    if scale < precision:
        raise ValidationError(f"cannot bring precision {precision} to the coarser scale {scale} exactly")
    return raw * POW10[scale - precision]


def rescale_exact(value: int, scale: int, to: int) -> int:
    """``value`` at ``scale`` expressed at scale ``to``; raises if that loses digits."""
    if to >= scale:
        return value * POW10[to - scale]
    q, r = divmod(value, POW10[scale - to])
    if r:
        raise ValidationError(f"{value}e-{scale} is not exact at {to} decimal places")
    return q


def round_div(n: int, d: int, rounding: Rounding = Rounding.HALF_EVEN) -> int:
    """``n / d`` rounded to an integer (``d > 0``) with ``rounding``."""
    if d <= 0:
        raise ValidationError(f"round_div needs a positive divisor, got {d}")
    q, r = divmod(n, d)  # floor division: q <= n/d < q + 1
    if r == 0 or rounding is Rounding.FLOOR:
        return q
    if rounding is Rounding.CEILING:
        return q + 1
    if rounding is Rounding.DOWN:
        return q if n >= 0 else q + 1
    if rounding is Rounding.UP:
        return q + 1 if n >= 0 else q
    if rounding is Rounding.EXACT:
        raise ValidationError(f"{Fraction(n, d)} is not a whole number of units")
    twice = 2 * r
    if twice < d:
        return q
    if twice > d:
        return q + 1
    if rounding is Rounding.HALF_UP:
        return q + 1 if n >= 0 else q
    if rounding is Rounding.HALF_DOWN:
        return q if n >= 0 else q + 1
    return q if q % 2 == 0 else q + 1  # HALF_EVEN


def to_money(value: int, scale: int, currency: Currency, rounding: Rounding = Rounding.HALF_EVEN) -> Money:
    """``value / 10**scale`` as a :class:`Money` in ``currency``.

    Exact when possible: trailing zeros are dropped down to the currency's precision (never below), so
    the result has the currency's precision or the finest precision the value needs. Only when the exact
    value does not fit (more than 18 places, or beyond int64) is it rounded, with ``rounding``, to the
    currency's precision; :class:`FixedPointOverflowError` if even that does not fit.
    """
    cp = currency.precision
    if scale < cp:
        value *= POW10[cp - scale]
        scale = cp
    while scale > cp and value % 10 == 0:
        value //= 10
        scale -= 1
    if scale > MAX_PRECISION or not -_I64 <= value <= _I64:
        value = round_div(value, POW10[scale - cp], rounding)
        scale = cp
        if not -_I64 <= value <= _I64:
            raise FixedPointOverflowError(f"{value}e-{scale} {currency.code} does not fit in an int64 raw value")
    return Money.from_raw(value, scale, currency)
