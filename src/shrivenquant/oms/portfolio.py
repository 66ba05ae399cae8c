"""Portfolio view across venues and instruments, in one base currency.

``portfolio_view(manager, marks, rates, base)`` values every position at its mark and converts with the
supplied rates (``rates[code]`` = value of one unit of ``code`` in ``base``; ``base`` itself is 1):

* net exposure = ``sum(qty * mark * multiplier * rate)`` (signed), gross = ``sum(|...|)``;
* unrealized PnL at the marks, realized PnL, fees and funding, converted the same way;
* equity = every account balance converted, plus the unrealized PnL of margin-account positions (a cash
  account already holds its positions as asset balances).

Sums are exact integers; each reported figure is rounded once, half-even, to the base currency's
precision (or kept exact if it fits).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

from shrivenquant._native.fixed import Money, Price
from shrivenquant.core.instrument import currency_for
from shrivenquant.errors import ValidationError
from shrivenquant.oms.accounts import AccountType
from shrivenquant.oms.money import MONEY_SCALE, POW10, to_money

if TYPE_CHECKING:
    from shrivenquant.oms.manager import OrderManager

__all__ = ["ExposureLine", "PortfolioView", "portfolio_view"]


class ExposureLine(msgspec.Struct, frozen=True, kw_only=True):
    """One position, valued in the base currency."""

    instrument_id: str
    leg: int
    quantity: str  # signed decimal string
    mark: Price
    net: Money
    gross: Money
    unrealized_pnl: Money
    realized_pnl: Money


class PortfolioView(msgspec.Struct, frozen=True, kw_only=True):
    """Totals in ``base`` plus one :class:`ExposureLine` per non-empty position."""

    base: str
    lines: tuple[ExposureLine, ...]
    net_exposure: Money
    gross_exposure: Money
    unrealized_pnl: Money
    realized_pnl: Money
    fees: Money
    funding: Money
    equity: Money


class _Rates:
    __slots__ = ("base", "rates")

    def __init__(self, rates: Mapping[str, Price | str], base: str) -> None:
        self.base = base
        self.rates: dict[str, Price] = {}
        for code, r in rates.items():
            self.rates[code] = r if isinstance(r, Price) else Price(r)
        self.rates.setdefault(base, Price("1"))

    def rate(self, code: str) -> Price:
        r = self.rates.get(code)
        if r is None:
            raise ValidationError(f"no conversion rate from {code} to {self.base}: pass rates[{code!r}]")
        return r


class _Sum:
    """Exact sum of (value, scale) terms, converted to base."""

    __slots__ = ("scale", "value")

    def __init__(self) -> None:
        self.value = 0
        self.scale = 0

    def add(self, value: int, scale: int) -> None:
        if scale > self.scale:
            self.value *= POW10[scale - self.scale]
            self.scale = scale
        self.value += value * POW10[self.scale - scale]


def _conv(value: int, scale: int, code: str, rates: _Rates) -> tuple[int, int]:
    r = rates.rate(code)
    return value * r.raw, scale + r.precision


def portfolio_view(manager: OrderManager, marks: Mapping[str, Price], rates: Mapping[str, Price | str],
                   base: str) -> PortfolioView:
    """The portfolio in ``base`` at ``marks`` (instrument id -> mark price) and ``rates`` (see module)."""
    cur = currency_for(base)
    rt = _Rates(rates, base)
    net, gross, unreal, real, fees, funding, equity = (_Sum() for _ in range(7))
    lines = []
    for (iid, leg), pos in sorted(manager.positions.items()):
        inst = manager.instruments[iid]
        code = pos.currency.code
        r_val, r_sc = _conv(pos.realized * pos.mult_raw, pos.price_prec + pos.size_prec + pos.mult_prec, code, rt)
        real.add(r_val, r_sc)
        for fcode, amount in pos.fees.items():
            fees.add(*_conv(amount, MONEY_SCALE, fcode, rt))
        funding.add(*_conv(pos.funding, MONEY_SCALE, code, rt))
        if pos.qty == 0:
            continue
        mark = marks.get(iid)
        if mark is None:
            raise ValidationError(f"no mark price for {iid}: pass marks[{iid!r}]")
        n_val, n_sc = _conv(*pos.notional_raw(mark), code, rt)
        u_val, u_sc = _conv(*pos.unrealized_raw(mark), code, rt)
        net.add(n_val, n_sc)
        gross.add(abs(n_val), n_sc)
        unreal.add(u_val, u_sc)
        acc = manager.accounts.get(inst.venue)
        if acc is not None and acc.account_type is AccountType.MARGIN:
            equity.add(u_val, u_sc)
        lines.append(ExposureLine(
            instrument_id=iid, leg=int(leg), quantity=("-" if pos.qty < 0 else "") + str(pos.quantity), mark=mark,
            net=to_money(n_val, n_sc, cur), gross=to_money(abs(n_val), n_sc, cur),
            unrealized_pnl=to_money(u_val, u_sc, cur), realized_pnl=to_money(r_val, r_sc, cur)))
    for _, acc in sorted(manager.accounts.items()):
        for code, amount in acc.balances.items():
            equity.add(*_conv(amount, MONEY_SCALE, code, rt))
    return PortfolioView(base=base, lines=tuple(lines), net_exposure=to_money(net.value, net.scale, cur),
                         gross_exposure=to_money(gross.value, gross.scale, cur),
                         unrealized_pnl=to_money(unreal.value, unreal.scale, cur),
                         realized_pnl=to_money(real.value, real.scale, cur),
                         fees=to_money(fees.value, fees.scale, cur),
                         funding=to_money(funding.value, funding.scale, cur),
                         equity=to_money(equity.value, equity.scale, cur))
