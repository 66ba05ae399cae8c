"""The native record handlers (``oms_core.OmsCore``) against the manager's Python handlers they stand in for.

The same seeded sessions run through a manager as built (native ``submit`` / ``apply`` and the Submitted,
simple-event and fill handlers) and through one switched back to the Python handlers: the journal bytes,
the full state, what reached the venue and every error must be identical.
"""

from __future__ import annotations

from typing import Any

import pytest
from oms_harness import INSTRUMENTS, PERP, SPOT, Clock, ScriptedVenue, limit, market, run_session

from shrivenquant import Money, Price, Quantity
from shrivenquant.core import (
    LiquiditySide,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSide,
    OrderTriggered,
)
from shrivenquant.errors import ShrivenQuantError
from shrivenquant.oms import MemoryJournal, OmsType, OrderManager, PnlMethod
from shrivenquant.oms.records import Submitted


def _python_only(om: OrderManager) -> OrderManager:
    """Switch ``om`` to the Python handlers (what the native ones replace)."""
    om._handlers[Submitted] = om._on_submitted
    om._handlers[OrderFilled] = om._on_filled
    for kind in (OrderAccepted, OrderRejected, OrderCanceled, OrderExpired, OrderTriggered):
        om._handlers[kind] = om._simple
    del om.submit  # the instance attributes set to the native methods; the class's Python methods remain
    del om.apply
    return om


def _pair(**kw: Any) -> tuple[OrderManager, OrderManager]:
    out = []
    for _ in range(2):
        clock = Clock()
        out.append(OrderManager(INSTRUMENTS, journal=MemoryJournal(), venue=ScriptedVenue(clock), clock=clock, **kw))
    return out[0], _python_only(out[1])


@pytest.mark.parametrize(("seed", "oms_type", "pnl"), [(1, OmsType.NETTING, PnlMethod.AVERAGE),
                                                       (2, OmsType.HEDGING, PnlMethod.AVERAGE),
                                                       (3, OmsType.NETTING, PnlMethod.FIFO),
                                                       (4, OmsType.HEDGING, PnlMethod.FIFO)])
def test_sessions_match_the_python_handlers(seed: int, oms_type: OmsType, pnl: PnlMethod) -> None:
    native, python = _pair(oms_type=oms_type, pnl_method=pnl)
    assert native.apply != python.apply  # really two paths
    run_session(native, seed, 400)
    run_session(python, seed, 400)
    assert native.journal.payloads == python.journal.payloads  # type: ignore[attr-defined]
    assert native.state() == python.state()
    assert native.venue.sent == python.venue.sent  # type: ignore[union-attr]
    assert native.open_order_count == python.open_order_count
    fills = sum(1 for p in native.journal.payloads if b"OrderFilled" in p)  # type: ignore[attr-defined]
    assert fills > 50  # the session really filled orders


def _outcome(fn: Any) -> Any:
    try:
        return ("ok", repr(fn()))
    except ShrivenQuantError as exc:
        return (type(exc).__name__, str(exc))


def test_error_paths_match_the_python_handlers() -> None:
    native, python = _pair()
    results: list[list[Any]] = [[], []]
    for k, om in enumerate((native, python)):
        venue = om.venue
        assert isinstance(venue, ScriptedVenue)
        r = results[k]
        om.deposit("BINANCE", Money("1000", "USDT"))
        a = om.submit(limit("A", OrderSide.BUY, "0.010", "2000.00"))
        b = om.submit(market("B", OrderSide.SELL, "0.005", PERP))
        r.append(_outcome(lambda om=om: om.submit(limit("A", OrderSide.BUY, "0.010", "2000.00"))))  # reused id
        r.append(_outcome(lambda om=om, venue=venue, a=a: om.apply(venue.accepted(a))))
        r.append(_outcome(lambda om=om, venue=venue, a=a: om.apply(venue.accepted(a))))  # duplicate ack: ignored
        fill = venue.filled(a, Quantity("0.004"), Price("2000.00"), fee=Money("0.01", "USDT"))
        r.append(_outcome(lambda om=om, fill=fill: om.apply(fill)))
        r.append(_outcome(lambda om=om, fill=fill: om.apply(fill)))  # duplicate fill
        over = venue.filled(a, Quantity("0.010"), Price("2000.00"))
        r.append(_outcome(lambda om=om, over=over: om.apply(over)))  # overfill: refused
        wrong = OrderFilled(client_order_id="A", instrument_id=SPOT.id, ts_event=5, ts_init=5,
                            venue_order_id=venue.vid(a), trade_id="X1", order_side=OrderSide.SELL,
                            last_qty=Quantity("0.001"), last_px=Price("2000.00"), fee=Money("0", "USDT"),
                            liquidity_side=LiquiditySide.TAKER)
        r.append(_outcome(lambda om=om, wrong=wrong: om.apply(wrong)))  # wrong side
        other_vid = OrderAccepted(client_order_id="B", instrument_id=PERP.id, ts_event=6, ts_init=6,
                                  venue_order_id=venue.vid(a))
        r.append(_outcome(lambda om=om, e=other_vid: om.apply(e)))  # a venue id that belongs to A
        r.append(_outcome(lambda om=om, venue=venue, b=b: om.apply(venue.rejected(b))))
        r.append(_outcome(lambda om=om, venue=venue, b=b: om.apply(venue.filled(b, Quantity("0.001"),
                                                                                 Price("2000.00")))))  # after done
        unknown = OrderAccepted(client_order_id="ZZ", instrument_id=SPOT.id, ts_event=7, ts_init=7,
                                venue_order_id="V999")
        r.append(_outcome(lambda om=om, e=unknown: om.apply(e)))
        r.append(_outcome(lambda om=om: om.submit(limit("C", OrderSide.BUY, "0.010", "2000.00"))))
        r.append(om.state())
        r.append(list(om.journal.payloads))  # type: ignore[attr-defined]
        r.append(list(om.unknown_events))
    assert results[0] == results[1]
