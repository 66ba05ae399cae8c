"""Matching rules of the simulated exchange, against a simple reference matcher and by rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_support import TICK, events_of, instrument, levels, order

from shrivenquant import Money, Price, Quantity
from shrivenquant.core import OrderAccepted, OrderCanceled, OrderExpired, OrderFilled, OrderRejected
from shrivenquant.core.enums import LiquiditySide, OrderType, TimeInForce
from shrivenquant.oms import FeeModel
from shrivenquant.sim import SimulatedExchange

BASE = 1_000_000  # 10000.00


def _exchange(book: list[tuple[int, int, int]], **kw: object) -> SimulatedExchange:
    ex = SimulatedExchange([kw.pop("inst", instrument())], **kw)  # type: ignore[arg-type]
    ev = levels(book)
    ex.on_book_message(0, ev, 0, ev.size, 1)
    return ex


def _reference(levels: list[tuple[int, int]], limit: int | None, qty: int, tif: str,
               buy: bool = True) -> list[tuple[int, int]]:
    """Walk the opposite levels best first: (price, qty) fills of an order; FOK all or nothing."""
    fills, left = [], qty
    for px, q in sorted(levels, reverse=not buy):
        if (limit is not None and (px > limit if buy else px < limit)) or left == 0:
            break
        take = min(q, left)
        fills.append((px, take))
        left -= take
    if tif == "FOK" and left:
        return []
    return fills


book_levels = st.lists(st.tuples(st.integers(1, 30), st.integers(1, 5000)), min_size=1, max_size=12,
                       unique_by=lambda t: t[0])


@settings(max_examples=150, deadline=None)
@given(asks=book_levels, limit_ticks=st.one_of(st.none(), st.integers(0, 32)), qty=st.integers(1, 20_000),
       tif=st.sampled_from(["IOC", "FOK"]), split=st.integers(0, 3), buy=st.booleans())
def test_aggressive_order_matches_reference(asks: list[tuple[int, int]], limit_ticks: int | None, qty: int,
                                            tif: str, split: int, buy: bool) -> None:
    sign = 1 if buy else -1
    book = [(2 if buy else 1, BASE + sign * t * TICK, q) for t, q in asks] + [(1 if buy else 2, BASE, 1000)]
    ex = _exchange(book)
    limit = None if limit_ticks is None else BASE + sign * limit_ticks * TICK
    ref_levels = [(BASE + sign * t * TICK, q) for t, q in asks]
    # the same quantity sent as 1 + split orders in the same instant: consumed liquidity is not reused
    parts = [qty // (split + 1)] * split
    parts.append(qty - sum(parts))
    got: list[tuple[int, int]] = []
    for i, q in enumerate(p for p in parts if p > 0):
        otype = OrderType.MARKET if limit is None else OrderType.LIMIT
        t = TimeInForce.IOC if tif == "IOC" or len(parts) > 1 else TimeInForce.FOK
        ex.submit(order(f"B{i}", 1 if buy else 2, q, limit, otype=otype, tif=t), 5)
    for f in events_of(ex, OrderFilled):
        assert f.liquidity_side is LiquiditySide.TAKER
        got.append((f.last_px.raw, f.last_qty.raw))
    ref = _reference(ref_levels, limit, qty, tif if len(parts) == 1 else "IOC", buy)
    # fills level by level, possibly split across the orders: compare the quantity per price
    agg: dict[int, int] = {}
    for px, q in got:
        agg[px] = agg.get(px, 0) + q
    ref_agg: dict[int, int] = {}
    for px, q in ref:
        ref_agg[px] = ref_agg.get(px, 0) + q
    assert agg == ref_agg
    assert not ex.markets[0].bids and not ex.markets[0].asks  # nothing rests (IOC/FOK/market)


def test_consumed_liquidity_comes_back_with_the_next_book_message() -> None:
    ex = _exchange([(2, BASE + TICK, 100), (1, BASE, 100)])
    ex.submit(order("A", 1, 100), 2)
    ex.submit(order("B", 1, 100), 2)
    assert [f.client_order_id for f in events_of(ex, OrderFilled)] == ["A"]
    ev = levels([(2, BASE + TICK, 100)], ts=3)
    ex.on_book_message(0, ev, 0, 1, 3)
    ex.submit(order("C", 1, 100), 3)
    assert [f.client_order_id for f in events_of(ex, OrderFilled)] == ["A", "C"]


def test_limit_rests_remainder_and_post_only_rejects_a_cross() -> None:
    ex = _exchange([(2, BASE + TICK, 100), (1, BASE, 100)])
    ex.submit(order("L", 1, 300, BASE + TICK), 2)  # takes 100, rests 200 at BASE+1
    (f,) = events_of(ex, OrderFilled)
    assert f.last_qty.raw == 100 and f.liquidity_side is LiquiditySide.TAKER
    assert ex.orders["L"].leaves == 200 and BASE + TICK in ex.markets[0].bids
    ex.submit(order("P", 2, 100, BASE, post_only=True), 3)  # would cross our ... and the book's bid
    (rej,) = events_of(ex, OrderRejected)
    assert "post-only" in rej.reason


@pytest.mark.parametrize(("qty", "price", "why"), [(1500, BASE, None), (1503, BASE, "lot"),
                                                   (1000, BASE + 1, "tick"), (5, BASE, "minimum")])
def test_venue_rules_from_the_instrument(qty: int, price: int, why: str | None) -> None:
    inst = instrument(size_step=Quantity("0.005"), min_notional=Money("100", "USDT"))
    ex = _exchange([(1, BASE - TICK, 100)], inst=inst)
    ex.submit(order("R", 1, qty, price), 2)
    rej = events_of(ex, OrderRejected)
    if why is None:
        assert not rej and events_of(ex, OrderAccepted)
    else:
        assert len(rej) == 1 and why in rej[0].reason


@pytest.mark.parametrize(("qty", "prec", "why"), [(1500, 3, None), (15, 1, None), (1503, 3, "lot"),
                                                  (5, 3, "minimum"), (15005, 4, "precision")])
def test_market_ioc_venue_rules(qty: int, prec: int, why: str | None) -> None:
    # a plain market IOC order takes the venue's market-order path: the same rules as any order, and a
    # quantity at another precision is rescaled (or rejected if it does not fit the instrument's)
    inst = instrument(size_step=Quantity("0.005"), min_notional=Money("100", "USDT"))
    ex = _exchange([(1, BASE - TICK, 100_000), (2, BASE, 100_000)], inst=inst)
    o = order("M", 1, 1, None)
    ex.submit(type(o)(**{**{f: getattr(o, f) for f in o.__struct_fields__},
                         "quantity": Quantity.from_raw(qty, prec)}), 2)
    rej = events_of(ex, OrderRejected)
    if why is None:
        (acc,) = events_of(ex, OrderAccepted)
        (fill,) = events_of(ex, OrderFilled)
        assert not rej and acc.venue_order_id == fill.venue_order_id
        assert (fill.last_qty.raw_at(3), fill.last_px.raw) == (1500, BASE)
        assert ex.position_raw(0) == 1500 and "M" not in ex.orders
    else:
        assert len(rej) == 1 and why in rej[0].reason and not events_of(ex, OrderFilled)


def test_reduce_only_rejected_when_flat_and_capped_at_the_position() -> None:
    ex = _exchange([(2, BASE + TICK, 10_000), (1, BASE, 10_000)])
    ex.submit(order("R0", 2, 100, reduce_only=True), 2)
    assert "reduce-only" in events_of(ex, OrderRejected)[0].reason
    ex.submit(order("B", 1, 300), 3)
    ex.submit(order("R1", 2, 500, reduce_only=True), 4)
    fills = [f for f in events_of(ex, OrderFilled) if f.client_order_id == "R1"]
    assert sum(f.last_qty.raw for f in fills) == 300
    assert ex.position_raw(0) == 0


def test_self_trade_prevention_modes() -> None:
    for mode, maker_gone, taker_fills in (("expire_maker", True, 100), ("expire_taker", False, 0),
                                          ("expire_both", True, 0)):
        ex = _exchange([(2, BASE + 2 * TICK, 100), (1, BASE - TICK, 100)], stp=mode)
        ex.submit(order("ASK", 2, 50, BASE + TICK), 2)  # our own ask rests at BASE+1, inside the spread
        ex.submit(order("BUY", 1, 100, BASE + 2 * TICK, tif=TimeInForce.IOC), 3)
        assert ("ASK" not in ex.orders) is maker_gone, mode
        got = sum(f.last_qty.raw for f in events_of(ex, OrderFilled) if f.client_order_id == "BUY")
        assert got == taker_fills, mode


def test_gtd_expiry_and_stop_trigger() -> None:
    ex = _exchange([(2, BASE + TICK, 1000), (1, BASE, 1000)])
    ex.submit(order("G", 1, 100, BASE - TICK, tif=TimeInForce.GTD, expire_time_ns=50), 2)
    ex.on_time(49)
    assert "G" in ex.orders
    ex.on_time(50)
    assert "G" not in ex.orders and events_of(ex, OrderExpired)
    ex.submit(order("S", 1, 100, otype=OrderType.STOP_MARKET, trigger_price=Price.from_raw(BASE + TICK, 2)), 60)
    ex.on_trade(0, 2, BASE, 10, 61)
    assert "S" in ex.orders
    ex.on_trade(0, 1, BASE + TICK, 10, 62)
    (f,) = [f for f in events_of(ex, OrderFilled) if f.client_order_id == "S"]
    assert f.last_px.raw == BASE + TICK and f.liquidity_side is LiquiditySide.TAKER


def test_fees_maker_and_taker_exact() -> None:
    fees = FeeModel(currency="USDT", maker_rate="-0.0001", taker_rate="0.0004")
    ex = _exchange([(2, BASE + TICK, 1000), (1, BASE, 1000)], fees=fees)
    ex.submit(order("T", 1, 500), 2)
    (f,) = events_of(ex, OrderFilled)
    expected = fees.fee(LiquiditySide.TAKER, Price.from_raw(BASE + TICK, 2), Quantity.from_raw(500, 3))
    assert f.fee == expected


def test_cancel_unknown_and_partial_fill_then_cancel() -> None:
    ex = _exchange([(2, BASE + TICK, 1000), (1, BASE, 1000)])
    ex.submit(order("L", 1, 500, BASE), 2)
    ex.on_trade(0, 2, BASE, 1200, 3)  # 1000 ahead, 200 of ours filled
    assert ex.orders["L"].filled == 200
    ex.cancel("L", 4)
    assert events_of(ex, OrderCanceled) and "L" not in ex.orders
    from shrivenquant.oms.records import CancelRejected

    ex.cancel("L", 5)
    assert events_of(ex, CancelRejected)
