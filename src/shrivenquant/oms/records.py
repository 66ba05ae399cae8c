"""Journal records: every command and event the order manager applies, as one tagged union.

The order manager's state is a pure function of the sequence of these records: a live session
appends each record to the journal *before* applying it, and recovery applies the same records in the
same order. Venue events are the foundation's order events (``OrderAccepted``, ``OrderFilled`` ...);
the records below add the local commands and the events the foundation does not have (cancel and
modify rejections, balance changes, funding, reconciliation adjustments). On the wire each record is a
msgpack map whose ``"type"`` field is the class name.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

from shrivenquant._native import oms_core as _native
from shrivenquant._native.fixed import Money, Price, Quantity
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
from shrivenquant.core.serialization import dec_hook, enc_hook

__all__ = [
    "BalanceChanged",
    "CancelRejected",
    "CancelRequested",
    "Denied",
    "FundingPaid",
    "JournalRecord",
    "ModifyRejected",
    "ModifyRequested",
    "PositionAdjusted",
    "Released",
    "Submitted",
    "decode_record",
    "encode_record",
]


class _Rec(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag_field="type", tag=True):
    pass


class Submitted(_Rec, frozen=True, kw_only=True, gc=False):
    """Command: the order passed the risk gate and is sent to the venue (or held, see ``hold``).

    Attributes:
        order: the order.
        ts: local time, ns UTC.
        parent: client id of the parent order (OTO / bracket children), else None.
        oco: client ids of the other orders in its one-cancels-other group.
        hold: True for a contingent child held locally until its parent fills (status stays
            INITIALIZED); False when it goes to the venue now.
        external: True for an order found at the venue by reconciliation (not sent by us).
    """

    order: Order
    ts: int
    parent: str | None = None
    oco: tuple[str, ...] = ()
    hold: bool = False
    external: bool = False


class Released(_Rec, frozen=True, kw_only=True, gc=False):
    """Command: a held contingent order is sent to the venue with ``quantity`` (its parent filled)."""

    client_order_id: str
    quantity: Quantity
    ts: int


class Denied(_Rec, frozen=True, kw_only=True, gc=False):
    """The pre-trade risk gate (or the manager's own checks) refused the order; it never left."""

    order: Order
    reason: str
    check: str
    ts: int
    parent: str | None = None
    oco: tuple[str, ...] = ()


class CancelRequested(_Rec, frozen=True, kw_only=True, gc=False):
    """Command: a cancel request for the order is sent to the venue."""

    client_order_id: str
    ts: int


class ModifyRequested(_Rec, frozen=True, kw_only=True, gc=False):
    """Command: a modify request (new quantity / price / trigger price; None keeps the value)."""

    client_order_id: str
    ts: int
    quantity: Quantity | None = None
    price: Price | None = None
    trigger_price: Price | None = None


class CancelRejected(_Rec, frozen=True, kw_only=True, gc=False):
    """Venue event: the venue refused our cancel request (the order keeps working)."""

    client_order_id: str
    reason: str
    ts: int


class ModifyRejected(_Rec, frozen=True, kw_only=True, gc=False):
    """Venue event: the venue refused our modify request (the order keeps its old terms)."""

    client_order_id: str
    reason: str
    ts: int


class BalanceChanged(_Rec, frozen=True, kw_only=True, gc=False):
    """A deposit, withdrawal or transfer: ``amount`` (signed, with its currency) added to ``venue``'s account."""

    venue: str
    amount: Money
    reason: str
    ts: int


class FundingPaid(_Rec, frozen=True, kw_only=True, gc=False):
    """A perpetual funding payment: ``amount`` (signed: positive = received) on ``instrument_id``'s position."""

    instrument_id: str
    amount: Money
    ts: int
    leg: int = 0


class PositionAdjusted(_Rec, frozen=True, kw_only=True, gc=False):
    """Reconciliation: the venue holds a position that local fills do not explain.

    ``quantity`` (signed, units of the instrument) is added to the position at ``price`` without
    realizing PnL against the existing cost (it is booked as a fill of unknown origin).
    """

    instrument_id: str
    quantity: Quantity
    sign: int
    price: Price
    reason: str
    ts: int
    leg: int = 0


#: Everything the journal holds.
JournalRecord: TypeAlias = (
    Submitted | Released | Denied | CancelRequested | ModifyRequested | CancelRejected | ModifyRejected
    | BalanceChanged | FundingPaid | PositionAdjusted
    | OrderAccepted | OrderRejected | OrderModified | OrderCanceled | OrderExpired | OrderTriggered | OrderFilled
)

_encoder = msgspec.msgpack.Encoder(enc_hook=enc_hook)
_decoder = msgspec.msgpack.Decoder(JournalRecord, dec_hook=dec_hook)

# the native encoder writes these structs itself (the same bytes as ``_encoder``; anything it cannot write
# exactly goes to ``_encoder``): ``tests/test_oms_records_native.py`` compares the two
_native.set_fallback(_encoder)
for _cls in (*JournalRecord.__args__, Order):
    _native.register_struct(_cls)

#: Encode one record to msgpack bytes.
encode_record = _native.encode_record
#: Decode msgpack bytes to a record (raises ``msgspec.ValidationError`` / ``DecodeError`` on bad data).
decode_record = _decoder.decode
