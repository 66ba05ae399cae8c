"""The order manager behind the real pre-trade risk engine (shrivenquant.risk.PreTradeRisk)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from oms_harness import SPOT, Clock, ScriptedVenue, limit

from shrivenquant import Price, Quantity
from shrivenquant.core import OrderSide
from shrivenquant.errors import RiskRejectionError
from shrivenquant.oms import OrderManager, OrderStatus
from shrivenquant.oms.risk_gate import PreTradeRiskGate
from shrivenquant.risk import InstrumentLimits, PreTradeRisk, RiskConfig

S = OrderStatus


def _env() -> tuple[OrderManager, ScriptedVenue, PreTradeRisk]:
    cfg = RiskConfig(currency="USDT", instruments=(InstrumentLimits(
        instrument_id=SPOT.id, max_order_qty=Decimal("2"), max_position_net=Decimal("3"), max_open_orders=3),))
    risk = PreTradeRisk.from_config(cfg, [SPOT])
    clock = Clock()
    venue = ScriptedVenue(clock)
    return OrderManager([SPOT], venue=venue, clock=clock, risk=PreTradeRiskGate(risk)), venue, risk


def test_every_order_passes_the_engine_and_rejects_carry_its_reason() -> None:
    om, venue, risk = _env()
    big = om.submit(limit("BIG", OrderSide.BUY, "2.500", "100.00"))
    assert big.status is S.DENIED and big.reason is not None and big.reason.startswith("MAX_ORDER_QTY")
    assert venue.sent == []
    a = om.submit(limit("A", OrderSide.BUY, "2.000", "100.00"))
    om.apply(venue.accepted(a))
    om.apply(venue.filled(a, Quantity("2"), Price("100.00")))
    # the engine saw the fill: another 2 would breach the 3 net position limit
    b = om.submit(limit("B", OrderSide.BUY, "2.000", "100.00"))
    assert b.status is S.DENIED and "POSITION" in (b.reason or "")
    assert [s[1] for s in venue.sent] == ["A"]
    assert sum(risk.reject_counts().values()) == 2


def test_working_orders_are_released_by_venue_events() -> None:
    om, venue, _ = _env()
    for i in range(3):
        om.apply(venue.accepted(om.submit(limit(f"A{i}", OrderSide.SELL, "0.100", "100.00"))))
    assert om.submit(limit("X", OrderSide.SELL, "0.100", "100.00")).status is S.DENIED
    om.cancel("A0")
    om.apply(venue.canceled(om.order("A0")))
    assert om.submit(limit("Y", OrderSide.SELL, "0.100", "100.00")).status is S.SUBMITTED


def test_denied_lists_release_what_had_passed_and_modifies_are_checked() -> None:
    om, venue, _ = _env()
    a, b = om.submit_oco(limit("A", OrderSide.SELL, "1.000", "110.00"), limit("B", OrderSide.SELL, "2.500", "90.00"))
    assert a.status is S.DENIED and b.status is S.DENIED and (a.reason or "").startswith("MAX_ORDER_QTY: B:")
    # A passed the engine before B was refused; it was released there, so three orders still fit
    for i in range(3):
        om.apply(venue.accepted(om.submit(limit(f"C{i}", OrderSide.SELL, "0.100", "100.00"))))
    assert om.open_order_count == 3
    with pytest.raises(RiskRejectionError):
        om.modify("C0", quantity=Quantity("5"))
    assert om.order("C0").status is S.ACCEPTED


def test_recovery_rebuilds_the_engine_state() -> None:
    om, venue, _ = _env()
    a = om.submit(limit("A", OrderSide.BUY, "2.000", "100.00"))
    om.apply(venue.accepted(a))
    om.apply(venue.filled(a, Quantity("2"), Price("100.00")))
    cfg = RiskConfig(currency="USDT", instruments=(InstrumentLimits(
        instrument_id=SPOT.id, max_order_qty=Decimal("2"), max_position_net=Decimal("3"), max_open_orders=3),))
    fresh = PreTradeRiskGate(PreTradeRisk.from_config(cfg, [SPOT]))
    again = OrderManager.recover(om.journal, [SPOT], risk=fresh, clock=Clock(2_000_000_000_000_000_000))
    assert again.state() == om.state()
    assert again.submit(limit("B", OrderSide.BUY, "2.000", "100.00")).status is S.DENIED
