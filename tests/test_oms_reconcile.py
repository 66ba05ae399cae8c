"""Reconciliation: one test per kind of difference, and a second pass that finds nothing."""

from __future__ import annotations

import pytest
from oms_harness import SPOT, Clock, ScriptedVenue, limit, stop_market

from shrivenquant import Price, Quantity
from shrivenquant.core import OrderSide, OrderType
from shrivenquant.errors import ValidationError
from shrivenquant.oms import OrderManager, OrderStatus
from shrivenquant.oms.reconcile import (
    BINANCE_ALGO_STATUS,
    BINANCE_STATUS,
    KITE_STATUS,
    DiffKind,
    VenueOrder,
    VenuePosition,
    map_venue_status,
    reconcile,
)

S = OrderStatus


def _env() -> tuple[OrderManager, ScriptedVenue]:
    clock = Clock()
    venue = ScriptedVenue(clock)
    return OrderManager([SPOT], venue=venue, clock=clock), venue


def _vo(om: OrderManager, venue: ScriptedVenue, coid: str, status: OrderStatus, filled: str = "0",
        **kw: object) -> VenueOrder:
    mo = om.order(coid)
    fields = {"venue_order_id": venue.vid(mo), "client_order_id": coid, "instrument_id": mo.instrument_id,
              "side": mo.side, "order_type": mo.order.order_type, "status": status, "quantity": mo.quantity,
              "filled_qty": Quantity(filled), "price": mo.price, "trigger_price": mo.trigger_price}
    fields.update(kw)
    return VenueOrder(**fields)  # type: ignore[arg-type]


def _settle(om: OrderManager, *args: object, **kw: object) -> list[DiffKind]:
    rep = reconcile(om, *args, **kw)  # type: ignore[arg-type]
    kinds = [d.kind for d in rep.differences]
    om.apply_reconciliation(rep)
    again = reconcile(om, *args, **kw)  # type: ignore[arg-type]
    assert again.clean, again.differences
    return kinds


def test_missing_fill() -> None:
    om, venue = _env()
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    om.apply(venue.accepted(a))
    f1 = venue.filled(a, Quantity("0.4"), Price("100.00"))
    f2 = venue.filled(a, Quantity("0.6"), Price("99.00"))
    om.apply(f1)
    kinds = _settle(om, [], [f1, f2], open_orders_complete=False)
    assert kinds == [DiffKind.MISSING_FILL]
    assert a.status is S.FILLED and om.position(SPOT.id).qty == 1000


def test_ack_missing_after_a_5xx() -> None:
    om, venue = _env()
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))  # the venue answered 5xx: status unknown
    kinds = _settle(om, [_vo(om, venue, "A", S.ACCEPTED)])
    assert kinds == [DiffKind.ACK_MISSING] and a.status is S.ACCEPTED and a.venue_order_id == "V1"


def test_order_missing_at_venue() -> None:
    om, venue = _env()
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))  # never reached the venue
    b = om.submit(limit("B", OrderSide.BUY, "1.000", "100.00"))
    om.apply(venue.accepted(b))  # acked, then dropped by the venue
    kinds = _settle(om, [])
    assert kinds == [DiffKind.ORDER_MISSING_AT_VENUE] * 2
    assert a.status is S.REJECTED and a.reason == "not found at the venue during reconciliation"
    assert b.status is S.CANCELED


def test_status_mismatch_and_trigger_missing() -> None:
    om, venue = _env()
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    s = om.submit(stop_market("S", OrderSide.SELL, "1.000", "90.00"))
    om.apply(venue.accepted(a))
    om.apply(venue.accepted(s))
    kinds = _settle(om, [_vo(om, venue, "A", S.EXPIRED), _vo(om, venue, "S", S.TRIGGERED)])
    assert kinds == [DiffKind.STATUS_MISMATCH, DiffKind.TRIGGER_MISSING]
    assert a.status is S.EXPIRED and s.status is S.TRIGGERED


def test_terms_mismatch() -> None:
    om, venue = _env()
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    om.apply(venue.accepted(a))
    kinds = _settle(om, [_vo(om, venue, "A", S.ACCEPTED, quantity=Quantity("0.8"), price=Price("100.50"))])
    assert kinds == [DiffKind.TERMS_MISMATCH]
    assert a.quantity == Quantity("0.8") and a.price == Price("100.50")


def test_filled_quantity_mismatch_infers_a_fill() -> None:
    om, venue = _env()
    a = om.submit(limit("A", OrderSide.SELL, "1.000", "100.00"))
    om.apply(venue.accepted(a))
    kinds = _settle(om, [_vo(om, venue, "A", S.PARTIALLY_FILLED, filled="0.3", avg_px=Price("100.00"))])
    assert kinds == [DiffKind.FILLED_QTY_MISMATCH]
    assert a.status is S.PARTIALLY_FILLED and a.filled == Quantity("0.3") and om.position(SPOT.id).qty == -300
    assert "recon-V1-300" in a.trade_ids


def test_order_unknown_locally() -> None:
    om, _ = _env()
    vo = VenueOrder(venue_order_id="X9", client_order_id="web-1", instrument_id=SPOT.id, side=OrderSide.BUY,
                    order_type=OrderType.LIMIT, status=S.PARTIALLY_FILLED, quantity=Quantity("2"),
                    filled_qty=Quantity("0.5"), price=Price("99.00"), avg_px=Price("99.00"))
    kinds = _settle(om, [vo])
    assert kinds == [DiffKind.ORDER_UNKNOWN_LOCALLY, DiffKind.FILLED_QTY_MISMATCH]
    mo = om.order("web-1")
    assert mo.external and mo.status is S.PARTIALLY_FILLED and mo.venue_order_id == "X9"
    assert om.position(SPOT.id).qty == 500
    assert OrderManager.recover(om.journal, [SPOT]).state() == om.state()


def test_position_mismatch() -> None:
    om, venue = _env()
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    om.apply(venue.filled(a, Quantity("1"), Price("100.00")))
    vp = VenuePosition(instrument_id=SPOT.id, quantity=Quantity("1.25"), sign=1, avg_px=Price("101.00"))
    kinds = _settle(om, [], [], [vp])
    assert kinds == [DiffKind.POSITION_MISMATCH]
    assert om.position(SPOT.id).qty == 1250


def test_status_vocabularies() -> None:
    assert map_venue_status(BINANCE_STATUS, "EXPIRED_IN_MATCH", False) is S.EXPIRED
    assert map_venue_status(BINANCE_STATUS, "NEW", True) is S.PARTIALLY_FILLED
    assert map_venue_status(BINANCE_ALGO_STATUS, "TRIGGERED", False) is S.TRIGGERED
    assert map_venue_status(KITE_STATUS, "TRIGGER PENDING", False) is S.ACCEPTED
    assert map_venue_status(KITE_STATUS, "CANCEL PENDING", False) is S.PENDING_CANCEL
    with pytest.raises(ValidationError, match="unknown venue order status"):
        map_venue_status(KITE_STATUS, "LOST", False)
