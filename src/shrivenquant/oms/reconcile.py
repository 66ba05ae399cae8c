"""Reconciliation: compare local state with what the venue reports, and produce the events that align it.

Input, as the connectors return it: the venue's orders (:class:`VenueOrder`: every open order, plus any
closed ones a status query returned), its fills (the foundation's ``OrderFilled``) and its positions
(:class:`VenuePosition`). Output: a :class:`ReconcileReport` listing each :class:`Difference` and the
records that bring local state in line, in an order the state machine accepts; apply them with
:meth:`~shrivenquant.oms.OrderManager.apply_reconciliation` (journaled like everything else). Reconciling
again afterwards finds no difference.

Kinds of difference and their events:

=====================  ==============================================================================
MISSING_FILL           a venue fill (by trade id) the order lacks -> that ``OrderFilled``
ACK_MISSING            local SUBMITTED, the venue has the order working -> ``OrderAccepted``
TRIGGER_MISSING        the venue reports the stop triggered, locally not -> ``OrderTriggered``
TERMS_MISMATCH         quantity / price / trigger differ -> ``OrderModified`` with the venue's terms
FILLED_QTY_MISMATCH    the venue's filled quantity exceeds local fills plus missing fills -> an inferred
                       ``OrderFilled`` (trade id ``recon-<venue id>-<filled raw>``, at the venue's average
                       price, no fee); below local fills: reported only (a fill cannot be undone)
STATUS_MISMATCH        the venue says canceled / expired / rejected, locally open -> that event
ORDER_MISSING_AT_VENUE locally open, absent from the venue's complete open-order list -> ``OrderRejected``
                       if never acknowledged (e.g. after a 5xx or a crash before sending), else
                       ``OrderCanceled``
ORDER_UNKNOWN_LOCALLY  a venue order this manager never sent -> an external ``Submitted`` record, then
                       its ack, fills and status as above
POSITION_MISMATCH      after all of the above, the venue position differs -> ``PositionAdjusted``
=====================  ==============================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import msgspec

from shrivenquant._native.fixed import Money, Price, Quantity
from shrivenquant.core.enums import LiquiditySide, OrderSide, OrderType, TimeInForce
from shrivenquant.core.order_events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderTriggered,
)
from shrivenquant.core.orders import Order
from shrivenquant.errors import ValidationError
from shrivenquant.oms.positions import PositionLeg
from shrivenquant.oms.records import PositionAdjusted, Submitted
from shrivenquant.oms.states import OPEN_STATUSES, TERMINAL_STATUSES, OrderStatus

if TYPE_CHECKING:
    from shrivenquant.oms.manager import OrderManager

__all__ = [
    "BINANCE_ALGO_STATUS",
    "BINANCE_STATUS",
    "KITE_STATUS",
    "DiffKind",
    "Difference",
    "ReconcileReport",
    "VenueOrder",
    "VenuePosition",
    "map_venue_status",
    "reconcile",
]

S = OrderStatus

#: Binance spot / USD-M order status ``X`` -> status.
BINANCE_STATUS: dict[str, OrderStatus] = {
    "NEW": S.ACCEPTED, "PENDING_NEW": S.SUBMITTED, "PARTIALLY_FILLED": S.PARTIALLY_FILLED, "FILLED": S.FILLED,
    "CANCELED": S.CANCELED, "PENDING_CANCEL": S.PENDING_CANCEL, "REJECTED": S.REJECTED, "EXPIRED": S.EXPIRED,
    "EXPIRED_IN_MATCH": S.EXPIRED,
}
#: Binance USD-M algo (conditional) order status -> status (FINISHED: the triggered order completed).
BINANCE_ALGO_STATUS: dict[str, OrderStatus] = {
    "NEW": S.ACCEPTED, "TRIGGERING": S.ACCEPTED, "TRIGGERED": S.TRIGGERED, "FINISHED": S.FILLED,
    "CANCELED": S.CANCELED, "REJECTED": S.REJECTED, "EXPIRED": S.EXPIRED,
}
#: Zerodha Kite order status -> status.
KITE_STATUS: dict[str, OrderStatus] = {
    "OPEN": S.ACCEPTED, "COMPLETE": S.FILLED, "CANCELLED": S.CANCELED, "REJECTED": S.REJECTED,
    "TRIGGER PENDING": S.ACCEPTED, "PUT ORDER REQ RECEIVED": S.SUBMITTED, "VALIDATION PENDING": S.SUBMITTED,
    "OPEN PENDING": S.SUBMITTED, "AMO REQ RECEIVED": S.SUBMITTED, "MODIFY VALIDATION PENDING": S.PENDING_UPDATE,
    "MODIFY PENDING": S.PENDING_UPDATE, "CANCEL PENDING": S.PENDING_CANCEL, "MODIFIED": S.ACCEPTED,
}


def map_venue_status(vocabulary: dict[str, OrderStatus], status: str, filled: bool) -> OrderStatus:
    """The status for a venue's ``status`` string; an open order with fills is PARTIALLY_FILLED.

    Raises :class:`ValidationError` for a status the vocabulary does not know.
    """
    st = vocabulary.get(status)
    if st is None:
        raise ValidationError(f"unknown venue order status {status!r}; known: {sorted(vocabulary)}")
    if filled and st is S.ACCEPTED:
        return S.PARTIALLY_FILLED
    return st


class VenueOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the venue reports it (status already mapped, e.g. with :func:`map_venue_status`)."""

    venue_order_id: str
    instrument_id: str
    side: OrderSide
    order_type: OrderType
    status: OrderStatus
    quantity: Quantity
    filled_qty: Quantity
    client_order_id: str | None = None
    price: Price | None = None
    trigger_price: Price | None = None
    avg_px: Price | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False


class VenuePosition(msgspec.Struct, frozen=True, kw_only=True):
    """A venue position: ``quantity`` with ``sign`` (+1 long, -1 short, 0 flat), at average entry price."""

    instrument_id: str
    quantity: Quantity
    sign: int
    avg_px: Price
    leg: int = 0


class DiffKind(IntEnum):
    """What kind of difference reconciliation found."""

    MISSING_FILL = 1
    ACK_MISSING = 2
    TRIGGER_MISSING = 3
    TERMS_MISMATCH = 4
    FILLED_QTY_MISMATCH = 5
    STATUS_MISMATCH = 6
    ORDER_MISSING_AT_VENUE = 7
    ORDER_UNKNOWN_LOCALLY = 8
    POSITION_MISMATCH = 9


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    """One difference: its kind, the order or instrument, and a readable account (local vs venue)."""

    kind: DiffKind
    instrument_id: str
    detail: str
    client_order_id: str | None = None


class ReconcileReport(msgspec.Struct, frozen=True, kw_only=True):
    """Differences found and the records that resolve them (apply in order)."""

    differences: tuple[Difference, ...]
    events: tuple[Any, ...]

    @property
    def clean(self) -> bool:
        """True when local state already matches the venue."""
        return not self.differences


class _Shadow:
    """What an order will look like after the events produced so far (filled raw, status)."""

    __slots__ = ("filled", "status", "trade_ids")

    def __init__(self, filled: int, status: OrderStatus, trade_ids: set[str]) -> None:
        self.filled = filled
        self.status = status
        self.trade_ids = set(trade_ids)


def reconcile(manager: OrderManager, venue_orders: Iterable[VenueOrder] = (), venue_fills: Iterable[OrderFilled] = (),
              venue_positions: Iterable[VenuePosition] | None = None, *, ts: int | None = None,
              open_orders_complete: bool = True) -> ReconcileReport:
    """Compare ``manager`` with the venue's report (see the module docstring); nothing is applied.

    Args:
        venue_orders: the venue's orders; with ``open_orders_complete`` they include every open order.
        venue_fills: venue fills (any order); those already applied are skipped by trade id.
        venue_positions: venue positions to compare (None: positions are not compared). An instrument
            absent from the list but present locally is compared against flat only if it is in
            ``manager.instruments`` and on a venue that reported at least one position.
        ts: timestamp for the produced records (default: ``manager.clock()``).
        open_orders_complete: True if ``venue_orders`` lists every open order at the venue, so a locally
            open order missing from it is gone at the venue.
    """
    now = manager.clock() if ts is None else ts
    diffs: list[Difference] = []
    events: list[Any] = []
    shadows: dict[str, _Shadow] = {}
    external: dict[str, Order] = {}
    fills_by_order: dict[str, list[OrderFilled]] = {}
    venue_by_coid: dict[str, VenueOrder] = {}
    pos_delta: dict[tuple[str, int], int] = {}
    size_prec = {iid: inst.size_precision for iid, inst in manager.instruments.items()}

    def resolve(coid: str | None, vid: str | None) -> str | None:
        if coid is not None and coid in manager.orders:
            return coid
        if vid is not None:
            return manager._by_venue.get(vid)
        return None

    def shadow(coid: str) -> _Shadow:
        sh = shadows.get(coid)
        if sh is None:
            mo = manager.orders[coid]
            sh = shadows[coid] = _Shadow(mo.filled_raw, mo.status, mo.trade_ids)
        return sh

    # venue orders: map to local ids, create the unknown ones
    vorders: list[tuple[str, VenueOrder, bool]] = []
    for vo in venue_orders:
        coid = resolve(vo.client_order_id, vo.venue_order_id)
        if coid is None:
            coid = vo.client_order_id or f"EXT-{vo.venue_order_id}"[:36]
            if coid in manager.orders:
                coid = f"EXT-{vo.venue_order_id}"[:36]
            order = Order(client_order_id=coid, instrument_id=vo.instrument_id, side=vo.side,
                          order_type=vo.order_type, quantity=vo.quantity, ts_init=now, price=vo.price,
                          trigger_price=vo.trigger_price,
                          time_in_force=vo.time_in_force if vo.time_in_force is not TimeInForce.GTD
                          else TimeInForce.GTC, reduce_only=vo.reduce_only)
            diffs.append(Difference(kind=DiffKind.ORDER_UNKNOWN_LOCALLY, instrument_id=vo.instrument_id,
                                    client_order_id=coid,
                                    detail=f"venue order {vo.venue_order_id} ({vo.status.name}) is not known locally"))
            events.append(Submitted(order=order, ts=now, external=True))
            shadows[coid] = _Shadow(0, S.INITIALIZED, set())
            external[coid] = order
            vorders.append((coid, vo, True))
        else:
            vorders.append((coid, vo, False))
        venue_by_coid[coid] = vo

    for f in venue_fills:
        coid = resolve(f.client_order_id, f.venue_order_id)
        if coid is None:
            for c, vo in venue_by_coid.items():
                if vo.venue_order_id == f.venue_order_id:
                    coid = c
        if coid is None:
            diffs.append(Difference(kind=DiffKind.MISSING_FILL, instrument_id=f.instrument_id,
                                    detail=f"fill {f.trade_id} of venue order {f.venue_order_id} belongs to no order "
                                           "known locally or listed by the venue: not applied"))
            continue
        fills_by_order.setdefault(coid, []).append(f)

    def emit_fill(coid: str, f: OrderFilled, kind: DiffKind, detail: str, st: OrderStatus | None) -> None:
        sh = shadow(coid)
        if f.trade_id in sh.trade_ids:
            return
        mo_qty = venue_by_coid[coid].quantity if coid in external else manager.orders[coid].quantity
        q = f.last_qty.raw_at(size_prec[f.instrument_id])
        total = mo_qty.raw_at(size_prec[f.instrument_id])
        if f.client_order_id != coid:
            f = msgspec.structs.replace(f, client_order_id=coid)
        diffs.append(Difference(kind=kind, instrument_id=f.instrument_id, client_order_id=coid, detail=detail))
        events.append(f)
        sh.trade_ids.add(f.trade_id)
        sh.filled += q
        if sh.filled == total:
            sh.status = S.FILLED
        elif st is None and sh.status not in TERMINAL_STATUSES and sh.status not in (S.PENDING_CANCEL,
                                                                                        S.PENDING_UPDATE):
            sh.status = S.PARTIALLY_FILLED
        leg = manager.orders[coid].leg if coid not in external else manager._leg_for(external[coid])
        key = (f.instrument_id, int(leg))
        pos_delta[key] = pos_delta.get(key, 0) + (1 if f.order_side is OrderSide.BUY else -1) * q

    def base(coid: str, vo: VenueOrder) -> dict[str, Any]:
        return {"client_order_id": coid, "instrument_id": vo.instrument_id, "ts_event": now, "ts_init": now,
                "venue_order_id": vo.venue_order_id}

    seen_local: set[str] = set()
    for coid, vo, is_ext in vorders:
        seen_local.add(coid)
        sh = shadow(coid) if not is_ext else shadows[coid]
        vopen = vo.status in OPEN_STATUSES or vo.status is S.TRIGGERED
        # acknowledgement
        if sh.status in (S.SUBMITTED, S.INITIALIZED) and (vopen or vo.filled_qty.raw > 0 or is_ext):
            if not is_ext:
                diffs.append(Difference(kind=DiffKind.ACK_MISSING, instrument_id=vo.instrument_id, client_order_id=coid,
                                        detail=f"venue has order {vo.venue_order_id} ({vo.status.name}), "
                                               "local has no acknowledgement"))
            events.append(OrderAccepted(**base(coid, vo)))
            sh.status = S.ACCEPTED
        if vo.status is S.TRIGGERED and sh.status is S.ACCEPTED:
            diffs.append(Difference(kind=DiffKind.TRIGGER_MISSING, instrument_id=vo.instrument_id, client_order_id=coid,
                                    detail=f"venue order {vo.venue_order_id} triggered"))
            events.append(OrderTriggered(**base(coid, vo)))
            sh.status = S.TRIGGERED
        # terms
        if not is_ext and vopen and sh.status in OPEN_STATUSES:
            mo = manager.orders[coid]
            terms: dict[str, Any] = {}
            if vo.quantity != mo.quantity:
                terms["quantity"] = vo.quantity
            if vo.price is not None and vo.price != mo.price:
                terms["price"] = vo.price
            if vo.trigger_price is not None and vo.trigger_price != mo.trigger_price:
                terms["trigger_price"] = vo.trigger_price
            if terms:
                diffs.append(Difference(kind=DiffKind.TERMS_MISMATCH, instrument_id=vo.instrument_id,
                                        client_order_id=coid,
                                        detail="venue terms " + ", ".join(f"{k}={v}" for k, v in terms.items())))
                events.append(OrderModified(**base(coid, vo), **terms))
        # fills
        for f in fills_by_order.pop(coid, []):
            emit_fill(coid, f, DiffKind.MISSING_FILL, f"fill {f.trade_id} ({f.last_qty} @ {f.last_px}) missing", None)
        vfilled = vo.filled_qty.raw_at(size_prec[vo.instrument_id])
        if vfilled > sh.filled:
            missing = vfilled - sh.filled
            if vo.avg_px is None:
                diffs.append(Difference(kind=DiffKind.FILLED_QTY_MISMATCH, instrument_id=vo.instrument_id,
                                        client_order_id=coid,
                                        detail=f"venue filled {vo.filled_qty}, local {sh.filled} raw; no average "
                                               "price to infer a fill: not applied"))
            else:
                inferred = OrderFilled(**base(coid, vo), trade_id=f"recon-{vo.venue_order_id}-{vfilled}",
                                       order_side=vo.side, last_qty=Quantity.from_raw(missing,
                                                                                     size_prec[vo.instrument_id]),
                                       last_px=vo.avg_px, fee=Money("0", None), liquidity_side=LiquiditySide.NONE)
                emit_fill(coid, inferred, DiffKind.FILLED_QTY_MISMATCH,
                          f"venue filled {vo.filled_qty}; {inferred.last_qty} inferred at {vo.avg_px}", None)
        elif vfilled < sh.filled:
            diffs.append(Difference(kind=DiffKind.FILLED_QTY_MISMATCH, instrument_id=vo.instrument_id,
                                    client_order_id=coid,
                                    detail=f"venue filled {vo.filled_qty} < local fills: local kept (investigate)"))
        # terminal status
        terminal = {S.CANCELED: OrderCanceled, S.EXPIRED: OrderExpired, S.REJECTED: OrderRejected}.get(vo.status)
        if terminal is not None and sh.status not in TERMINAL_STATUSES:
            if not is_ext:
                diffs.append(Difference(kind=DiffKind.STATUS_MISMATCH, instrument_id=vo.instrument_id,
                                        client_order_id=coid,
                                        detail=f"venue {vo.status.name}, local {sh.status.name}"))
            extra = {"reason": "venue reports the order rejected"} if terminal is OrderRejected else {}
            events.append(terminal(**base(coid, vo), **extra))
            sh.status = vo.status

    # fills for orders the venue did not list
    for coid, fills in fills_by_order.items():
        for f in fills:
            emit_fill(coid, f, DiffKind.MISSING_FILL, f"fill {f.trade_id} ({f.last_qty} @ {f.last_px}) missing", None)

    # locally open orders the venue does not have
    if open_orders_complete:
        for coid in sorted(manager._open):
            if coid in seen_local:
                continue
            mo = manager.orders[coid]
            sh = shadow(coid)
            if sh.status in TERMINAL_STATUSES:
                continue
            b = {"client_order_id": coid, "instrument_id": mo.instrument_id, "ts_event": now, "ts_init": now,
                 "venue_order_id": mo.venue_order_id}
            if mo.venue_order_id is None and sh.status is S.SUBMITTED:
                ev: Any = OrderRejected(**b, reason="not found at the venue during reconciliation")
            else:
                ev = OrderCanceled(**b)
            diffs.append(Difference(kind=DiffKind.ORDER_MISSING_AT_VENUE, instrument_id=mo.instrument_id,
                                    client_order_id=coid,
                                    detail=f"locally {sh.status.name}, not open at the venue -> "
                                           f"{type(ev).__name__}"))
            events.append(ev)
            sh.status = S.REJECTED if isinstance(ev, OrderRejected) else S.CANCELED

    # positions
    if venue_positions is not None:
        for vp in venue_positions:
            if vp.sign not in (-1, 0, 1):
                raise ValidationError(f"VenuePosition.sign must be -1, 0 or +1, got {vp.sign}")
            inst = manager.instruments.get(vp.instrument_id)
            if inst is None:
                raise ValidationError(f"venue position on unknown instrument {vp.instrument_id!r}")
            key = (vp.instrument_id, vp.leg)
            pos = manager.positions.get((vp.instrument_id, PositionLeg(vp.leg)))
            local = (pos.qty if pos else 0) + pos_delta.get(key, 0)
            venue_qty = vp.sign * vp.quantity.raw_at(inst.size_precision)
            if local != venue_qty:
                diff = venue_qty - local
                q = Quantity.from_raw(abs(diff), inst.size_precision)
                diffs.append(Difference(kind=DiffKind.POSITION_MISMATCH, instrument_id=vp.instrument_id,
                                        detail=f"venue position {venue_qty} raw, local {local} raw after the events "
                                               f"above: adjust by {'+' if diff > 0 else '-'}{q}"))
                events.append(PositionAdjusted(instrument_id=vp.instrument_id, quantity=q, sign=1 if diff > 0 else -1,
                                               price=vp.avg_px, reason="reconciliation", ts=now, leg=vp.leg))
    return ReconcileReport(differences=tuple(diffs), events=tuple(events))
