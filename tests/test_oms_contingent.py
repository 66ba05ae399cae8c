"""Contingent orders: brackets, OCO and OTO; and risk denials of whole lists."""

from __future__ import annotations

import pytest
from oms_harness import SPOT, Clock, ScriptedVenue, limit, stop_market

from shrivenquant import Price, Quantity
from shrivenquant.core import OrderSide
from shrivenquant.errors import ValidationError
from shrivenquant.oms import LimitsGate, OrderManager, OrderStatus

S = OrderStatus
B, SL = OrderSide.BUY, OrderSide.SELL


def _env(**kw: object) -> tuple[OrderManager, ScriptedVenue]:
    clock = Clock()
    venue = ScriptedVenue(clock)
    return OrderManager([SPOT], venue=venue, clock=clock, **kw), venue  # type: ignore[arg-type]


def _bracket(om: OrderManager) -> list:  # type: ignore[type-arg]
    return om.submit_bracket(limit("E", B, "1.000", "100.00"), limit("TP", SL, "1.000", "110.00", reduce_only=True),
                             stop_market("SL", SL, "1.000", "95.00", reduce_only=True))


def test_bracket_children_wait_then_go_as_oco() -> None:
    om, venue = _env()
    e, tp, sl = _bracket(om)
    assert (e.status, tp.status, sl.status) == (S.SUBMITTED, S.INITIALIZED, S.INITIALIZED)
    assert tp.hold and sl.hold and venue.sent == [("submit", "E", 1000)]
    om.apply(venue.accepted(e))
    om.apply(venue.filled(e, Quantity("0.400"), Price("100.00")))
    assert tp.status is S.INITIALIZED  # released on the complete fill
    om.apply(venue.filled(e, Quantity("0.600"), Price("100.00")))
    assert (tp.status, sl.status) == (S.SUBMITTED, S.SUBMITTED)
    assert venue.sent[1:] == [("submit", "TP", 1000), ("submit", "SL", 1000)]
    om.apply(venue.accepted(tp))
    om.apply(venue.accepted(sl))
    om.apply(venue.filled(tp, Quantity("0.100"), Price("110.00")))  # first fill of one cancels the other
    assert sl.status is S.PENDING_CANCEL and venue.sent[-1] == ("cancel", "SL")
    om.apply(venue.canceled(sl))
    om.apply(venue.filled(tp, Quantity("0.900"), Price("110.00")))
    assert tp.status is S.FILLED and om.position(SPOT.id).is_flat
    assert om.position(SPOT.id).realized_pnl().as_decimal() == 10


def test_bracket_entry_partly_filled_then_canceled_releases_the_filled_part() -> None:
    om, venue = _env()
    e, tp, sl = _bracket(om)
    om.apply(venue.accepted(e))
    om.apply(venue.filled(e, Quantity("0.250"), Price("100.00")))
    om.cancel("E")
    om.apply(venue.canceled(e))
    assert tp.status is S.SUBMITTED and tp.quantity == Quantity("0.25") and sl.quantity == Quantity("0.25")


def test_late_fill_of_a_canceled_entry_resizes_the_released_children() -> None:
    om, venue = _env()
    e, tp, sl = _bracket(om)
    om.apply(venue.accepted(e))
    om.apply(venue.filled(e, Quantity("0.250"), Price("100.00")))
    om.cancel("E")
    om.apply(venue.canceled(e))
    om.apply(venue.accepted(tp))
    om.apply(venue.accepted(sl))
    om.apply(venue.filled(e, Quantity("0.100"), Price("100.00")))  # the fill raced the cancel
    assert e.status is S.CANCELED and e.filled_raw == 350
    resize = Quantity.from_raw(350, 3)
    assert venue.sent[-2:] == [("modify", "TP", resize, None, None), ("modify", "SL", resize, None, None)]
    assert (tp.status, sl.status) == (S.PENDING_UPDATE, S.PENDING_UPDATE)
    om.apply(venue.modified(tp, quantity=resize))
    assert tp.status is S.ACCEPTED and tp.quantity == resize


def test_bracket_entry_unfilled_cancels_the_children() -> None:
    om, venue = _env()
    e, tp, sl = _bracket(om)
    om.apply(venue.rejected(e, "insufficient balance"))
    assert (e.status, tp.status, sl.status) == (S.REJECTED, S.CANCELED, S.CANCELED)
    assert e.reason == "insufficient balance"
    assert venue.sent == [("submit", "E", 1000)]  # children never left


def test_held_children_can_be_amended_and_canceled_locally() -> None:
    om, venue = _env()
    e, tp, sl = _bracket(om)
    om.modify("SL", trigger_price=Price("96.00"))
    assert sl.status is S.INITIALIZED and sl.trigger_price == Price("96.00")
    om.cancel("TP")  # OCO: the held sibling goes too
    assert tp.status is S.CANCELED and sl.status is S.CANCELED
    from shrivenquant.errors import OrderError

    with pytest.raises(OrderError, match="never sent"):
        om.apply(venue.filled(tp, Quantity("1"), Price("110.00")))
    om.apply(venue.filled(e, Quantity("1"), Price("100.00")))
    assert venue.sent == [("submit", "E", 1000)]


def test_bracket_validation() -> None:
    om, _ = _env()
    with pytest.raises(ValidationError, match="side"):
        om.submit_bracket(limit("E", B, "1", "100.00"), limit("TP", B, "1", "110.00"),
                          stop_market("SL", SL, "1", "95.00"))
    with pytest.raises(ValidationError, match="quantity"):
        om.submit_bracket(limit("E", B, "1", "100.00"), limit("TP", SL, "2", "110.00"),
                          stop_market("SL", SL, "1", "95.00"))
    assert om.orders == {}


def test_oco_group() -> None:
    om, venue = _env()
    a, b = om.submit_oco(limit("A", SL, "1.000", "110.00"), stop_market("B", SL, "1.000", "90.00"))
    assert venue.sent == [("submit", "A", 1000), ("submit", "B", 1000)]
    om.apply(venue.accepted(a))
    om.apply(venue.accepted(b))
    om.apply(venue.expired(b))  # the end of one cancels the other
    assert a.status is S.PENDING_CANCEL
    with pytest.raises(ValidationError, match="at least 2"):
        om.submit_oco(limit("C", SL, "1", "1.00"))


def test_oto_releases_children_on_fill() -> None:
    om, venue = _env()
    p, c = om.submit_oto(limit("P", B, "2.000", "100.00"), limit("C", SL, "2.000", "105.00"))
    om.apply(venue.filled(p, Quantity("2"), Price("100.00")))
    assert c.status is S.SUBMITTED and c.parent == "P" and p.children == ["C"]


def test_risk_gate_denies_whole_lists_with_reasons() -> None:
    om, venue = _env(risk=LimitsGate(max_qty=Quantity("1.5"), max_open_orders=2))
    e, tp, sl = om.submit_bracket(limit("E", B, "2.000", "100.00"), limit("TP", SL, "2.000", "110.00"),
                                  stop_market("SL", SL, "2.000", "95.00"))
    assert {o.status for o in (e, tp, sl)} == {S.DENIED}
    assert e.reason == "max_qty: E: quantity 2.000 > max 1.5"
    assert venue.sent == []
    om.submit(limit("A", B, "1", "1.00"))
    om.submit(limit("B", B, "1", "1.00"))
    c = om.submit(limit("C", B, "1", "1.00"))
    assert c.status is S.DENIED and c.reason is not None and c.reason.startswith("max_open_orders")
    assert [s[1] for s in venue.sent] == ["A", "B"]
    # denials are journaled: a recovery sees them with their reasons
    again = OrderManager.recover(om.journal, [SPOT])
    assert again.order("C").reason == c.reason and again.state() == om.state()


def test_resume_issues_the_release_a_crash_cut_off() -> None:
    from shrivenquant.oms import MemoryJournal
    from shrivenquant.oms.records import Released, decode_record

    om, venue = _env()
    e, _, _ = _bracket(om)
    om.apply(venue.filled(e, Quantity("1"), Price("100.00")))
    payloads = om.journal.payloads  # type: ignore[attr-defined]
    cut = next(i for i, p in enumerate(payloads) if isinstance(decode_record(p), Released))
    journal = MemoryJournal()
    journal.payloads.extend(payloads[:cut])  # the crash came after the fill, before the release
    clock = Clock(2_000_000_000_000_000_000)
    venue2 = ScriptedVenue(clock)
    again = OrderManager.recover(journal, [SPOT], venue=venue2, clock=clock)
    assert again.order("TP").status is S.INITIALIZED and again.order("E").status is S.FILLED
    assert again.resume() == ["E"]
    assert again.order("TP").status is S.SUBMITTED and again.order("SL").status is S.SUBMITTED
    assert [s[1] for s in venue2.sent] == ["TP", "SL"]
    assert again.resume() == []
