"""Positions: signed quantity, cost basis and realized PnL per instrument (and per leg when hedging).

Conventions:

* quantity is signed (long > 0, short < 0), a raw int at the instrument's size precision ``S``;
  a fill adds ``+qty`` for a BUY and ``-qty`` for a SELL, so ``qty == sum of signed fills`` exactly;
* prices are raw ints at the instrument's price precision ``P``; ``cost`` is the signed cost basis of the
  open quantity, an exact int at scale ``P + S`` (``sum(qty_i * px_i)`` over what is open);
* realized PnL is an exact int at scale ``P + S`` per unit of multiplier (``(exit - entry) * qty``);
  in money it is multiplied by the contract multiplier and is in the instrument's quote currency;
* unrealized PnL at a mark is ``(mark * qty - cost) * multiplier``.

PnL methods: ``AVERAGE`` (average cost: a reduction removes ``cost * closed / open`` of the basis, the
one division rounded half-even at scale ``P + S``, its residue left in the remaining basis so a round trip
to flat realizes exactly the cash flow) and ``FIFO`` (lots closed oldest first; every realized amount is an
exact product, no rounding at all). A fill crossing zero closes the whole position and opens the rest on
the other side at the fill price, exactly.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from enum import IntEnum

from shrivenquant._native.fixed import Currency, Money, Price, Quantity, Rounding
from shrivenquant._native.oms_core import configure_positions
from shrivenquant._native.oms_core import position_fill as _position_fill
from shrivenquant.oms.money import MONEY_SCALE, POW10, to_money

__all__ = ["PnlMethod", "Position", "PositionLeg"]


class PnlMethod(IntEnum):
    """How realized PnL matches closing fills to the open quantity."""

    AVERAGE = 1
    FIFO = 2


class PositionLeg(IntEnum):
    """Which position a fill goes to: NET in netting mode, LONG or SHORT legs in hedging mode."""

    NET = 0
    LONG = 1
    SHORT = 2


class Position:
    """One position (mutable; owned by the order manager, read by everyone else).

    Attributes (raw ints, see the module docstring for scales):
        instrument_id, leg, qty, cost, realized, fees (currency code -> int at MONEY_SCALE),
        funding (int at MONEY_SCALE, settlement currency; positive = received), bought, sold (raw
        totals of fill quantities), fills (count).
    """

    __slots__ = ("_lots", "bought", "cost", "currency", "fees", "fills", "funding", "instrument_id", "leg",
                 "method", "mult_prec", "mult_raw", "price_prec", "qty", "realized", "size_prec", "sold")

    def __init__(self, instrument_id: str, leg: PositionLeg, *, price_prec: int, size_prec: int,
                 mult_raw: int, mult_prec: int, currency: Currency, method: PnlMethod = PnlMethod.AVERAGE) -> None:
        self.instrument_id = instrument_id
        self.leg = leg
        self.price_prec = price_prec
        self.size_prec = size_prec
        self.mult_raw = mult_raw
        self.mult_prec = mult_prec
        self.currency = currency
        self.method = method
        self.qty = 0
        self.cost = 0
        self.realized = 0
        self.fees: dict[str, int] = {}
        self.funding = 0
        self.bought = 0
        self.sold = 0
        self.fills = 0
        self._lots: deque[list[int]] = deque()  # FIFO only: [signed qty, px]

    # ------------------------------------------------------------------ updates
    def apply_fill(self, sign: int, qty: int, px: int) -> int:
        """Apply a fill of ``qty`` (raw, > 0) at ``px`` (raw) on side ``sign`` (+1 buy, -1 sell).

        Returns the realized PnL of this fill (int at scale P + S, per unit multiplier). Native
        (``oms_core.position_fill``: average cost; FIFO in :meth:`_fifo`), as the order manager calls it.
        """
        return _position_fill(self, sign, qty, px)

    def _fifo(self, sign: int, qty: int, px: int) -> int:
        lots = self._lots
        pnl = 0
        left = qty
        while left and lots and (lots[0][0] > 0) != (sign > 0):
            lot = lots[0]
            lot_abs = lot[0] if lot[0] > 0 else -lot[0]
            lot_sign = 1 if lot[0] > 0 else -1
            take = left if left < lot_abs else lot_abs
            pnl += lot_sign * take * (px - lot[1])
            self.cost -= lot_sign * take * lot[1]
            self.qty -= lot_sign * take
            left -= take
            if take == lot_abs:
                lots.popleft()
            else:
                lot[0] -= lot_sign * take
        if left:
            lots.append([sign * left, px])
            self.qty += sign * left
            self.cost += sign * left * px
        self.realized += pnl
        return pnl

    def add_fee(self, code: str, amount: int) -> None:
        """Add a fee (int at MONEY_SCALE, positive = paid) in currency ``code``."""
        self.fees[code] = self.fees.get(code, 0) + amount

    # ------------------------------------------------------------------ views
    @property
    def is_flat(self) -> bool:
        """True when the quantity is zero."""
        return self.qty == 0

    @property
    def quantity(self) -> Quantity:
        """Absolute quantity as a :class:`Quantity` (see :attr:`side_sign` for the direction)."""
        return Quantity.from_raw(abs(self.qty), self.size_prec)

    @property
    def side_sign(self) -> int:
        """+1 long, -1 short, 0 flat."""
        return (self.qty > 0) - (self.qty < 0)

    @property
    def avg_px(self) -> Decimal | None:
        """Average entry price of the open quantity (exact Decimal quotient, 28 digits), None if flat."""
        if self.qty == 0:
            return None
        return (Decimal(self.cost) / Decimal(self.qty)).scaleb(-self.price_prec)

    def realized_pnl(self) -> Money:
        """Realized PnL in the quote currency (multiplier applied), before fees and funding."""
        return to_money(self.realized * self.mult_raw, self.price_prec + self.size_prec + self.mult_prec,
                        self.currency)

    def unrealized_raw(self, mark: Price) -> tuple[int, int]:
        """Unrealized PnL at ``mark`` as an exact ``(value, scale)`` pair (multiplier applied)."""
        mp = mark.precision
        scale = max(mp, self.price_prec)
        value = mark.raw * POW10[scale - mp] * self.qty - self.cost * POW10[scale - self.price_prec]
        return value * self.mult_raw, scale + self.size_prec + self.mult_prec

    def unrealized_pnl(self, mark: Price, rounding: Rounding = Rounding.HALF_EVEN) -> Money:
        """Unrealized PnL at ``mark`` in the quote currency (exact unless it needs more than 18 places)."""
        value, scale = self.unrealized_raw(mark)
        return to_money(value, scale, self.currency, rounding)

    def notional_raw(self, mark: Price) -> tuple[int, int]:
        """Signed notional ``qty * mark * multiplier`` as an exact ``(value, scale)`` pair."""
        return mark.raw * self.qty * self.mult_raw, mark.precision + self.size_prec + self.mult_prec

    def fees_money(self) -> dict[str, Money]:
        """Fees paid on this position, per currency (positive = paid)."""
        from shrivenquant.core.instrument import currency_for

        return {code: to_money(v, MONEY_SCALE, currency_for(code)) for code, v in self.fees.items()}

    def state(self) -> list[object]:
        """Plain data for snapshots and equality checks."""
        # big exact ints as decimal strings (msgpack holds 64-bit ints only)
        return [self.instrument_id, int(self.leg), int(self.method), self.qty, str(self.cost), str(self.realized),
                [[k, str(v)] for k, v in sorted(self.fees.items())], str(self.funding), self.bought, self.sold,
                self.fills, [list(lot) for lot in self._lots]]

    def load(self, state: list) -> None:  # type: ignore[type-arg]
        """Restore from :meth:`state` output."""
        (_, _, _, self.qty, cost, realized, fees, funding, self.bought, self.sold, self.fills, lots) = state
        self.cost, self.realized, self.funding = int(cost), int(realized), int(funding)
        self.fees = {code: int(v) for code, v in fees}
        self._lots = deque(list(lot) for lot in lots)

    def __repr__(self) -> str:
        qty = Quantity.from_raw(abs(self.qty), self.size_prec)
        return (f"Position({self.instrument_id}, {self.leg.name}, qty={qty}{' short' if self.qty < 0 else ''}"
                f", avg_px={self.avg_px}, realized={self.realized_pnl()})")


configure_positions(PnlMethod.FIFO, Position)
