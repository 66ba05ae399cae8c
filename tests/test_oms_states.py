"""The order state machine: the table's shape, the generated doc, and the manager following the table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oms_harness import SPOT, Clock, ScriptedVenue, limit, stop_market

from shrivenquant import Price, Quantity
from shrivenquant.core import OrderSide
from shrivenquant.errors import InvalidTransitionError, OrderError
from shrivenquant.oms import (
    IGNORE,
    PREVIOUS,
    TRANSITIONS,
    Keep,
    OrderEventKind,
    OrderManager,
    OrderStatus,
    Outcome,
    lookup,
    transition_table_markdown,
)
from shrivenquant.oms.states import OPEN_STATUSES, PENDING_STATUSES, TERMINAL_STATUSES

S, E = OrderStatus, OrderEventKind
DOC = Path(__file__).resolve().parents[1] / "docs" / "oms.md"

# NautilusTrader's transition list (docs guide, from crates/model/src/orders/mod.rs), with fills as one kind.
NT_PAIRS = {
    S.INITIALIZED: {S.DENIED, S.EMULATED, S.RELEASED, S.SUBMITTED, S.REJECTED, S.ACCEPTED, S.CANCELED, S.EXPIRED,
                    S.TRIGGERED},
    S.EMULATED: {S.CANCELED, S.EXPIRED, S.RELEASED},
    S.RELEASED: {S.SUBMITTED, S.DENIED, S.CANCELED},
    S.SUBMITTED: {S.PENDING_UPDATE, S.PENDING_CANCEL, S.REJECTED, S.CANCELED, S.ACCEPTED, S.FILLED},
    S.ACCEPTED: {S.REJECTED, S.PENDING_UPDATE, S.PENDING_CANCEL, S.CANCELED, S.TRIGGERED, S.EXPIRED, S.FILLED},
    S.CANCELED: {S.FILLED},
    S.PENDING_UPDATE: {S.REJECTED, S.CANCELED, S.EXPIRED, S.PENDING_CANCEL, S.FILLED},
    S.PENDING_CANCEL: {S.REJECTED, S.CANCELED, S.EXPIRED, S.FILLED},
    S.TRIGGERED: {S.REJECTED, S.PENDING_UPDATE, S.PENDING_CANCEL, S.CANCELED, S.EXPIRED, S.FILLED},
    S.PARTIALLY_FILLED: {S.PENDING_UPDATE, S.PENDING_CANCEL, S.CANCELED, S.EXPIRED, S.FILLED},
}


def test_table_covers_every_status_and_only_known_outcomes() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    for status, row in TRANSITIONS.items():
        for kind, out in row.items():
            assert isinstance(kind, OrderEventKind)
            assert isinstance(out, OrderStatus) or out is IGNORE or out is PREVIOUS or isinstance(out, Keep)
            if out is PREVIOUS or isinstance(out, Keep):
                assert status in PENDING_STATUSES, (status, kind, out)
            assert lookup(status, kind) is out
    assert S.DENIED in TERMINAL_STATUSES and not TRANSITIONS[S.DENIED]
    assert OPEN_STATUSES.isdisjoint(TERMINAL_STATUSES)


def test_every_nautilus_transition_is_reachable() -> None:
    """Every (from, to) pair of the anchor is produced by some event kind in our table."""
    for src, targets in NT_PAIRS.items():
        ours = {o for o in TRANSITIONS[src].values() if isinstance(o, OrderStatus)}
        assert targets <= ours | {S.PARTIALLY_FILLED}, (src, targets - ours)


def test_terminal_statuses_only_take_late_fills() -> None:
    for status in TERMINAL_STATUSES:
        for kind, out in TRANSITIONS[status].items():
            if isinstance(out, OrderStatus):
                assert kind in (E.FILL_FULL, E.FILL_PARTIAL), (status, kind)


def test_docs_hold_the_generated_table() -> None:
    text = DOC.read_text()
    m = re.search(r"<!-- transition-table:begin -->\n(.*?)<!-- transition-table:end -->", text, re.S)
    assert m is not None, "docs/oms.md lacks the transition-table markers"
    assert m.group(1) == transition_table_markdown(), "regenerate: python -m shrivenquant.oms.docgen"


# --------------------------------------------------------------------- the manager follows the table
_KINDS = [E.ACCEPT, E.REJECT, E.PENDING_UPDATE, E.PENDING_CANCEL, E.UPDATE, E.MODIFY_REJECT, E.CANCEL_REJECT,
          E.CANCEL, E.EXPIRE, E.TRIGGER, E.FILL_PARTIAL, E.FILL_FULL]
_COMMANDS = (E.PENDING_UPDATE, E.PENDING_CANCEL)


def _act(om: OrderManager, venue: ScriptedVenue, coid: str, kind: OrderEventKind, n: int) -> Outcome:
    mo = om.order(coid)
    if kind is E.PENDING_CANCEL:
        om.cancel(coid)
        return Outcome.APPLIED
    if kind is E.PENDING_UPDATE:
        om.modify(coid, trigger_price=Price(f"{90 + n % 5}.00"))
        return Outcome.APPLIED
    ev = {
        E.ACCEPT: lambda: venue.accepted(mo), E.REJECT: lambda: venue.rejected(mo),
        E.UPDATE: lambda: venue.modified(mo, trigger_price=Price(f"{80 + n % 5}.00")),
        E.MODIFY_REJECT: lambda: venue.modify_rejected(mo), E.CANCEL_REJECT: lambda: venue.cancel_rejected(mo),
        E.CANCEL: lambda: venue.canceled(mo), E.EXPIRE: lambda: venue.expired(mo),
        E.TRIGGER: lambda: venue.triggered(mo),
        E.FILL_PARTIAL: lambda: venue.filled(mo, Quantity.from_raw(1, 3), Price("90.00")),
        E.FILL_FULL: lambda: venue.filled(mo, Quantity.from_raw(mo.quantity_raw - mo.filled_raw, 3), Price("90.00")),
    }[kind]()
    return om.apply(ev)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_KINDS), max_size=14))
def test_manager_follows_the_table(kinds: list[OrderEventKind]) -> None:
    clock = Clock()
    venue = ScriptedVenue(clock)
    om = OrderManager([SPOT], venue=venue, clock=clock)
    om.submit(stop_market("A", OrderSide.SELL, "0.010", "95.00"))
    status, prev = S.SUBMITTED, S.SUBMITTED
    for n, kind in enumerate(kinds):
        mo = om.order("A")
        if kind is E.FILL_PARTIAL and mo.quantity_raw - mo.filled_raw < 2:
            continue
        if kind in (E.FILL_PARTIAL, E.FILL_FULL) and mo.filled_raw == mo.quantity_raw:
            continue
        expected = lookup(status, kind)
        before = om.state()
        if expected is None or (kind in _COMMANDS and expected is IGNORE):
            with pytest.raises((InvalidTransitionError, OrderError)):
                _act(om, venue, "A", kind, n)
            assert om.state() == before, "a refused transition changed state"
            continue
        out = _act(om, venue, "A", kind, n)
        if expected is IGNORE:
            assert out is Outcome.IGNORED
            assert om.state() == before
            continue
        assert out is Outcome.APPLIED
        if isinstance(expected, OrderStatus):
            if expected in PENDING_STATUSES and status not in PENDING_STATUSES:
                prev = status
            status = expected
        elif expected is PREVIOUS:
            status = prev
        else:
            prev = expected.prev
        assert om.order("A").status is status, (kind, status)
        assert om.order("A").prev_status is prev or status not in PENDING_STATUSES


# --------------------------------------------------------------------- real-world cases
@pytest.fixture
def env() -> tuple[OrderManager, ScriptedVenue]:
    clock = Clock()
    venue = ScriptedVenue(clock)
    return OrderManager([SPOT], venue=venue, clock=clock), venue


def test_fill_racing_a_cancel(env: tuple[OrderManager, ScriptedVenue]) -> None:
    om, venue = env
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    om.apply(venue.accepted(a))
    om.cancel("A")
    om.apply(venue.canceled(a))
    assert a.status is S.CANCELED
    # a partial fill that happened before the cancel arrives late: counted, the order stays canceled
    om.apply(venue.filled(a, Quantity("0.400"), Price("100.00")))
    assert a.status is S.CANCELED and a.filled == Quantity("0.4")
    assert om.position(SPOT.id).qty == 400
    # a fill completing it: CANCELED -> FILLED
    om.apply(venue.filled(a, Quantity("0.600"), Price("99.00")))
    assert a.status is S.FILLED and om.position(SPOT.id).qty == 1000
    assert a.avg_px == Price("99.40").as_decimal()


def test_rejected_modify_and_cancel_restore_the_previous_status(env: tuple[OrderManager, ScriptedVenue]) -> None:
    om, venue = env
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    om.apply(venue.accepted(a))
    om.apply(venue.filled(a, Quantity("0.250"), Price("100.00")))
    om.modify("A", price=Price("101.00"))
    assert a.status is S.PENDING_UPDATE and a.prev_status is S.PARTIALLY_FILLED
    om.apply(venue.modify_rejected(a, "price out of band"))
    assert a.status is S.PARTIALLY_FILLED and a.price == Price("100.00") and a.reason == "price out of band"
    om.cancel("A")
    om.apply(venue.cancel_rejected(a, "too late"))
    assert a.status is S.PARTIALLY_FILLED
    om.modify("A", price=Price("102.00"))
    om.apply(venue.modified(a, price=Price("102.00")))
    assert a.status is S.PARTIALLY_FILLED and a.price == Price("102.00")
    assert venue.sent == [("submit", "A", 1000), ("modify", "A", None, Price("101.00"), None), ("cancel", "A"),
                          ("modify", "A", None, Price("102.00"), None)]


def test_partial_fill_while_cancel_pending_keeps_it_pending(env: tuple[OrderManager, ScriptedVenue]) -> None:
    om, venue = env
    a = om.submit(limit("A", OrderSide.SELL, "1.000", "100.00"))
    om.apply(venue.accepted(a))
    om.cancel("A")
    om.apply(venue.filled(a, Quantity("0.100"), Price("100.00")))
    assert a.status is S.PENDING_CANCEL and a.prev_status is S.PARTIALLY_FILLED
    om.apply(venue.cancel_rejected(a))
    assert a.status is S.PARTIALLY_FILLED


def test_expiry_and_ioc_remainder(env: tuple[OrderManager, ScriptedVenue]) -> None:
    om, venue = env
    from shrivenquant.core import TimeInForce

    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00", time_in_force=TimeInForce.IOC))
    om.apply(venue.filled(a, Quantity("0.300"), Price("100.00")))
    om.apply(venue.expired(a))
    assert a.status is S.EXPIRED and a.leaves == Quantity("0") and a.filled == Quantity("0.3")
    assert om.open_order_count == 0


def test_duplicate_venue_events_change_nothing(env: tuple[OrderManager, ScriptedVenue]) -> None:
    om, venue = env
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    events = [venue.accepted(a), venue.filled(a, Quantity("0.5"), Price("100.00")),
              venue.filled(a, Quantity("0.5"), Price("99.00")), venue.canceled(a)]
    for ev in events:
        om.apply(ev)
        n = om.journal.last_seq
        before = om.state()
        assert om.apply(ev) in (Outcome.IGNORED, Outcome.DUPLICATE_FILL)
        assert om.state() == before and om.journal.last_seq == n
    assert a.status is S.FILLED and om.position(SPOT.id).qty == 1000


def test_unknown_orders_are_reported_not_applied(env: tuple[OrderManager, ScriptedVenue]) -> None:
    om, venue = env
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    om.apply(venue.accepted(a))
    ghost = limit("GHOST", OrderSide.BUY, "1.000", "100.00")
    other = OrderManager([SPOT]).submit(ghost)
    ev = venue.filled(other, Quantity("1"), Price("1.00"))
    n = om.journal.last_seq
    assert om.apply(ev) is Outcome.UNKNOWN_ORDER
    assert om.unknown_events == [ev] and om.journal.last_seq == n
    # an event naming another client id but our venue id resolves through the venue id map
    from msgspec.structs import replace

    assert om.apply(replace(venue.canceled(a), client_order_id="SOMEONE")) is Outcome.APPLIED
    assert a.status is S.CANCELED
    with pytest.raises(Exception, match="unknown venue order id"):
        om.order_by_venue_id("nope")
    assert om.order_by_venue_id(a.venue_order_id or "").client_order_id == "A"


def test_client_order_ids_are_never_sent_twice(env: tuple[OrderManager, ScriptedVenue]) -> None:
    om, venue = env
    om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    n = om.journal.last_seq
    with pytest.raises(OrderError, match="never sent twice"):
        om.submit(limit("A", OrderSide.SELL, "2.000", "101.00"))
    assert venue.sent == [("submit", "A", 1000)] and om.journal.last_seq == n


def test_conflicting_venue_id_overfill_and_wrong_side_raise(env: tuple[OrderManager, ScriptedVenue]) -> None:
    om, venue = env
    a = om.submit(limit("A", OrderSide.BUY, "1.000", "100.00"))
    om.apply(venue.accepted(a))
    from msgspec.structs import replace

    with pytest.raises(OrderError, match="venue order id"):
        om.apply(replace(venue.canceled(a), venue_order_id="OTHER"))
    with pytest.raises(OrderError, match="overfills"):
        om.apply(venue.filled(a, Quantity("1.5"), Price("100.00")))
    f = venue.filled(a, Quantity("0.5"), Price("100.00"))
    with pytest.raises(OrderError, match="side"):
        om.apply(replace(f, order_side=OrderSide.SELL))
    assert a.status is S.ACCEPTED and a.filled_raw == 0


def test_cancel_all_and_illegal_commands(env: tuple[OrderManager, ScriptedVenue]) -> None:
    om, venue = env
    for i in range(3):
        mo = om.submit(limit(f"A{i}", OrderSide.BUY if i % 2 else OrderSide.SELL, "1.000", "100.00"))
        om.apply(venue.accepted(mo))
    done = om.cancel_all(side=OrderSide.SELL)
    assert [m.client_order_id for m in done] == ["A0", "A2"]
    assert {m.client_order_id for m in om.cancel_all()} == {"A1"}
    assert om.cancel_all() == []
    with pytest.raises(InvalidTransitionError, match="already pending"):
        om.cancel("A1")
    om.apply(venue.canceled(om.order("A1")))
    with pytest.raises(InvalidTransitionError):
        om.modify("A1", price=Price("1.00"))
    with pytest.raises(OrderError, match="no trigger price"):
        om.modify("A0", trigger_price=Price("1.00"))
