"""Positions, PnL, fees, funding, accounts and the portfolio view, against independent oracles."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oms_harness import PERP, SPOT, Clock, ScriptedVenue, limit, market

from shrivenquant import Money, Price, Quantity, Rounding
from shrivenquant.core import Instrument, InstrumentKind, LiquiditySide, OrderSide
from shrivenquant.errors import ValidationError
from shrivenquant.oms import (
    Account,
    AccountType,
    MarginRates,
    OmsType,
    OrderManager,
    PnlMethod,
    Position,
    PositionLeg,
    funding_payment,
)
from shrivenquant.oms.fees import FeeModel
from shrivenquant.oms.portfolio import portfolio_view

USDT = "USDT"


def _pos(method: PnlMethod) -> Position:
    from shrivenquant.core.instrument import currency_for

    return Position("X.V", PositionLeg.NET, price_prec=2, size_prec=3, mult_raw=1, mult_prec=0,
                    currency=currency_for(USDT), method=method)


fills_st = st.lists(st.tuples(st.sampled_from([1, -1]), st.integers(1, 5000), st.integers(1, 10**7)), max_size=40)


def _avg_oracle(fills: list[tuple[int, int, int]]) -> tuple[Fraction, list[Fraction]]:
    """Average-cost PnL with exact rationals: (realized, per-fill realized)."""
    q, avg, realized, per = 0, Fraction(0), Fraction(0), []
    for sign, qty, px in fills:
        if q == 0 or (q > 0) == (sign > 0):
            avg = (avg * abs(q) + Fraction(qty * px)) / (abs(q) + qty)
            q += sign * qty
            per.append(Fraction(0))
            continue
        close = min(qty, abs(q))
        pnl = (1 if q > 0 else -1) * close * (px - avg)
        realized += pnl
        per.append(pnl)
        q += sign * qty
        if (q > 0) == (sign > 0) and q != 0:
            avg = Fraction(px)
    return realized, per


def _fifo_oracle(fills: list[tuple[int, int, int]]) -> Decimal:
    lots: list[list[int]] = []  # [signed qty, px]
    realized = Decimal(0)
    for sign, qty, px in fills:
        left = qty
        while left and lots and (lots[0][0] > 0) != (sign > 0):
            lq, lpx = lots[0]
            take = min(left, abs(lq))
            realized += Decimal((1 if lq > 0 else -1) * take * (px - lpx))
            left -= take
            if take == abs(lq):
                lots.pop(0)
            else:
                lots[0][0] = lq - (take if lq > 0 else -take)
        if left:
            lots.append([sign * left, px])
    return realized


@settings(max_examples=300, deadline=None)
@given(fills_st)
def test_average_cost_matches_exact_rationals(fills: list[tuple[int, int, int]]) -> None:
    pos = _pos(PnlMethod.AVERAGE)
    reductions = 0
    for sign, qty, px in fills:
        before = pos.qty
        pos.apply_fill(sign, qty, px)
        reductions += before != 0 and (before > 0) != (sign > 0)
    exact, _ = _avg_oracle(fills)
    assert pos.qty == sum(s * q for s, q, _ in fills)
    # one half-even division per reduction, each off by at most half a unit at scale P+S
    assert abs(Fraction(pos.realized) - exact) <= Fraction(reductions, 2)
    if pos.qty == 0:  # flat: realized is exactly the cash flow
        assert pos.realized == -sum(s * q * p for s, q, p in fills) and pos.cost == 0


@settings(max_examples=300, deadline=None)
@given(fills_st)
def test_fifo_matches_an_independent_lot_oracle(fills: list[tuple[int, int, int]]) -> None:
    pos = _pos(PnlMethod.FIFO)
    for sign, qty, px in fills:
        pos.apply_fill(sign, qty, px)
    assert pos.realized == _fifo_oracle(fills)
    assert pos.qty == sum(s * q for s, q, _ in fills)
    # cash-flow identity: realized = proceeds - cost of what was closed, so realized - (open cost) = -flow
    assert pos.realized - pos.cost == -sum(s * q * p for s, q, p in fills)


def test_flip_through_zero_is_exact() -> None:
    for method in PnlMethod:
        pos = _pos(method)
        pos.apply_fill(1, 3, 10_001)      # long 0.003 @ 100.01
        pnl = pos.apply_fill(-1, 10, 9_999)  # sell 0.010 @ 99.99: close 0.003, open short 0.007
        assert pnl == 3 * (9_999 - 10_001)
        assert pos.qty == -7 and pos.cost == -7 * 9_999
        assert pos.avg_px == Decimal("99.99")
        assert pos.realized_pnl() == Money("-0.00006", USDT)


def test_unrealized_pnl_and_notional_at_a_finer_mark() -> None:
    pos = _pos(PnlMethod.AVERAGE)
    pos.apply_fill(-1, 2_000, 6_177_360)  # short 2 @ 61773.60
    assert pos.unrealized_pnl(Price("61770.1234")) == Money("6.9532", USDT)
    value, scale = pos.notional_raw(Price("61770.1234"))
    assert Decimal(value).scaleb(-scale) == Decimal("-123540.2468")


# ------------------------------------------------------------------------------- manager: accounts
def _om(**kw: object) -> tuple[OrderManager, ScriptedVenue]:
    clock = Clock()
    venue = ScriptedVenue(clock)
    return OrderManager([SPOT, PERP], venue=venue, clock=clock, **kw), venue  # type: ignore[arg-type]


def test_cash_account_moves_assets_and_locks_open_orders() -> None:
    om, venue = _om()
    om.deposit("BINANCE", Money("1000", USDT))
    a = om.submit(limit("A", OrderSide.BUY, "2.000", "100.00"))
    om.apply(venue.accepted(a))
    assert om.locked("BINANCE") == {USDT: Money("200", USDT)}
    om.apply(venue.filled(a, Quantity("0.500"), Price("99.50"), fee=Money("0.0005", "BTC"), maker=True))
    acc = om.account("BINANCE")
    assert acc.account_type is AccountType.CASH
    assert acc.balance(USDT) == Money("950.25", USDT)
    assert acc.balance("BTC") == Money("0.4995", "BTC")
    assert om.locked("BINANCE") == {USDT: Money("150", USDT)}
    s = om.submit(limit("S", OrderSide.SELL, "0.400", "120.00"))
    om.apply(venue.accepted(s))
    assert om.locked("BINANCE")["BTC"] == Money("0.4", "BTC")
    om.apply(venue.filled(s, Quantity("0.400"), Price("120.00"), fee=Money("0.048", USDT)))
    assert acc.balance(USDT) == Money("998.202", USDT)
    assert om.position(SPOT.id).qty == 100
    assert om.position(SPOT.id).realized_pnl() == Money("8.2", USDT)
    assert om.position(SPOT.id).fees_money() == {"BTC": Money("0.0005", "BTC"), USDT: Money("0.048", USDT)}


def test_margin_account_pnl_fees_funding_and_margin() -> None:
    rates = {PERP.id: MarginRates(initial="0.05", maintenance="0.01")}
    om, venue = _om(accounts=[Account("BINANCE_USDM", AccountType.MARGIN, margin=rates)])
    om.deposit("BINANCE_USDM", Money("500", USDT))
    b = om.submit(limit("B", OrderSide.BUY, "1.000", "2000.00", PERP))
    om.apply(venue.accepted(b))
    acc = om.account("BINANCE_USDM")
    assert om.locked("BINANCE_USDM") == {USDT: Money("100", USDT)}  # 1 * 2000 * 5 %
    om.apply(venue.filled(b, Quantity("1"), Price("2000.00"), fee=Money("0.8", USDT)))
    assert acc.balance(USDT) == Money("499.2", USDT)
    im, mm = acc.margin_raw(om.positions.values(), om.instruments, {PERP.id: Price("2100")})
    assert im[USDT] == 105 * 10**18 and mm[USDT] == 21 * 10**18
    pos = om.position(PERP.id)
    pay = funding_payment(pos, "0.0001", Price("2100.00"))
    assert pay == Money("-0.21", USDT)  # longs pay a positive rate
    om.funding(PERP.id, pay)
    assert acc.balance(USDT) == Money("498.99", USDT) and pos.funding == -21 * 10**16
    s = om.submit(market("S", OrderSide.SELL, "1.000", PERP, reduce_only=True))
    om.apply(venue.filled(s, Quantity("1"), Price("2100.00"), fee=Money("0.84", USDT)))
    assert acc.balance(USDT) == Money("598.15", USDT)  # +100 realized - 0.84 fee
    assert pos.realized_pnl() == Money("100", USDT) and pos.is_flat
    with pytest.raises(ValidationError, match="must be in USDT"):
        om.funding(PERP.id, Money("1", "BTC"))


def test_hedging_mode_keeps_long_and_short_legs() -> None:
    om, venue = _om(oms_type=OmsType.HEDGING)
    b = om.submit(market("B", OrderSide.BUY, "1.000", PERP))
    s = om.submit(market("S", OrderSide.SELL, "0.400", PERP))
    c = om.submit(market("C", OrderSide.SELL, "0.300", PERP, reduce_only=True))
    om.apply(venue.filled(b, Quantity("1"), Price("100.00")))
    om.apply(venue.filled(s, Quantity("0.4"), Price("101.00")))
    om.apply(venue.filled(c, Quantity("0.3"), Price("102.00")))
    long_, short = om.position(PERP.id, PositionLeg.LONG), om.position(PERP.id, PositionLeg.SHORT)
    assert long_.qty == 700 and short.qty == -400
    assert long_.realized_pnl() == Money("0.6", USDT) and short.realized_pnl() == Money("0", USDT)
    om2, venue2 = _om()
    prices = {"B": "100.00", "S": "101.00", "C": "102.00"}
    for o in (b.order, s.order, c.order):
        mo = om2.submit(o)
        om2.apply(venue2.filled(mo, o.quantity, Price(prices[o.client_order_id])))
    assert om2.position(PERP.id).qty == 300  # netting: one position


def test_fee_model() -> None:
    fm = FeeModel(currency=USDT, maker_rate="-0.0001", taker_rate="0.0004", per_contract="0.01", fixed="0.5")
    assert fm.fee(LiquiditySide.TAKER, Price("61773.60"), Quantity("0.005")) == Money("0.6235972", USDT)
    assert fm.fee(LiquiditySide.MAKER, Price("61773.60"), Quantity("0.005")) == Money("0.4691632", USDT)
    assert FeeModel(currency="INR", taker_rate="0.0003").fee(
        LiquiditySide.TAKER, Price("101.05"), Quantity("7"), rounding=Rounding.CEILING) == Money("0.22", "INR")
    with pytest.raises(ValidationError):
        FeeModel(currency=USDT, taker_rate="abc")


def test_portfolio_view_in_a_base_currency() -> None:
    inr = Instrument(venue="NSE", symbol="INFY", kind=InstrumentKind.EQUITY, quote="INR", base="INFY",
                     price_tick=Price("0.05"), size_step=Quantity("1"))
    clock = Clock()
    venue = ScriptedVenue(clock)
    om = OrderManager([SPOT, PERP, inr], venue=venue, clock=clock)
    om.deposit("BINANCE_USDM", Money("1000", USDT))
    om.deposit("NSE", Money("100000", "INR"))
    for coid, side, qty, px, inst in (("A", OrderSide.SELL, "2.000", "2000.00", PERP),
                                      ("B", OrderSide.BUY, "10", "1500.00", inr)):
        mo = om.submit(limit(coid, side, qty, px, inst))
        om.apply(venue.filled(mo, Quantity(qty), Price(px)))
    view = portfolio_view(om, {PERP.id: Price("1990.00"), inr.id: Price("1510.05")},
                          {USDT: "1.0002", "INR": "0.012", "INFY": "18.1206"}, "USD")
    # net: -2*1990*1.0002 + 10*1510.05*0.012 = -3980.796 + 181.206
    assert view.net_exposure == Money("-3799.59", "USD")
    assert view.gross_exposure == Money("4162.002", "USD")
    assert view.unrealized_pnl == Money("21.21", "USD")  # 20*1.0002 + 100.5*0.012
    # equity: USDT 1000 + 20 unrealized (margin); INR 85000 cash + INFY 10 units (cash account)
    assert view.equity == Money(str(Decimal("1020") * Decimal("1.0002") + 85000 * Decimal("0.012")
                                    + 10 * Decimal("18.1206")), "USD").rescale(2, Rounding.HALF_EVEN)
    with pytest.raises(ValidationError, match="no conversion rate"):
        portfolio_view(om, {PERP.id: Price("1"), inr.id: Price("1")}, {USDT: "1"}, "USD")


def test_queries_change_no_state_and_legs_match_the_mode() -> None:
    om, _ = _om()
    before = om.state()
    assert om.position(PERP.id).is_flat and om.position(PERP.id, PositionLeg.LONG).is_flat
    assert om.state() == before and om.positions == {}
    with pytest.raises(ValidationError, match="does not exist in NETTING mode"):
        om.funding(PERP.id, Money("1", USDT), PositionLeg.LONG)
    hedged, _ = _om(oms_type=OmsType.HEDGING)
    with pytest.raises(ValidationError, match="does not exist in HEDGING mode"):
        hedged.funding(PERP.id, Money("1", USDT))
    hedged.funding(PERP.id, Money("-1.5", USDT), PositionLeg.SHORT)
    assert hedged.position(PERP.id, PositionLeg.SHORT).funding == -15 * 10**17
