"""The three small interfaces the order manager plugs into: journal, risk gate, execution client.

* :class:`Journal`: an append-only, sequence-numbered log of encoded records plus one latest snapshot.
  :class:`MemoryJournal` keeps everything in memory (tests, backtests);
  :class:`~shrivenquant.oms.wal_journal.WalJournal` wraps the write-ahead log.
* :class:`RiskGate`: ``check(order, manager)`` returns None to pass, or ``(check_name, reason)`` to deny.
  :class:`AllowAll` passes everything; :class:`LimitsGate` is a small built-in gate (max quantity, max
  notional, max open orders) used where the full risk engine is not wired.
* :class:`ExecutionClient`: what sends to the venue. :class:`RecordingClient` keeps the requests in a list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant.core.orders import Order
from shrivenquant.errors import ValidationError

if TYPE_CHECKING:
    from shrivenquant.oms.manager import OrderManager
    from shrivenquant.oms.order import ManagedOrder

__all__ = ["AllowAll", "ExecutionClient", "Journal", "LimitsGate", "MemoryJournal", "RecordingClient", "RiskGate"]


@runtime_checkable
class Journal(Protocol):
    """Append-only record log with contiguous sequence numbers starting at 1, and one latest snapshot."""

    def append(self, payload: bytes) -> int:
        """Append one record; return its sequence number. Visible to recovery once committed."""
        ...

    def commit(self) -> int:
        """Make everything appended so far durable; return the last durable sequence number."""
        ...

    def records(self, from_seq: int = 1) -> Iterator[tuple[int, bytes]]:
        """Yield ``(seq, payload)`` for every record with ``seq >= from_seq``, in order."""
        ...

    @property
    def last_seq(self) -> int:
        """Sequence number of the last appended record (0 if none)."""
        ...

    def save_snapshot(self, seq: int, data: bytes) -> None:
        """Store ``data`` as the state after record ``seq`` (atomically replacing older snapshots)."""
        ...

    def load_snapshot(self) -> tuple[int, bytes] | None:
        """The latest snapshot ``(seq, data)``, or None."""
        ...

    def close(self) -> None:
        """Commit and release resources."""
        ...


class MemoryJournal:
    """A :class:`Journal` in memory: records in a list, the latest snapshot in an attribute."""

    __slots__ = ("_snapshot", "append", "payloads")

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self._snapshot: tuple[int, bytes] | None = None
        payloads = self.payloads
        plain_append = payloads.append

        def append(payload: bytes) -> int:
            plain_append(payload)
            return len(payloads)

        self.append = append

    def commit(self) -> int:
        return len(self.payloads)

    def records(self, from_seq: int = 1) -> Iterator[tuple[int, bytes]]:
        for i in range(max(from_seq, 1) - 1, len(self.payloads)):
            yield i + 1, self.payloads[i]

    @property
    def last_seq(self) -> int:
        return len(self.payloads)

    def save_snapshot(self, seq: int, data: bytes) -> None:
        if not 0 <= seq <= len(self.payloads):
            raise ValidationError(f"snapshot seq {seq} is beyond the journal's last record {len(self.payloads)}")
        self._snapshot = (seq, data)

    def load_snapshot(self) -> tuple[int, bytes] | None:
        return self._snapshot

    def close(self) -> None:
        pass


@runtime_checkable
class RiskGate(Protocol):
    """Pre-trade check: None to let ``order`` leave, or ``(check_name, reason)`` to deny it.

    ``ts`` is the manager's clock reading for the submission (the same value it journals). A gate may
    also define ``on_event(event, manager)`` (the manager feeds it every applied venue order event),
    ``check_modify(client_order_id, price, quantity, ts)`` returning the same verdict shape,
    ``release(order, ts)`` (an order that passed will not be sent: its contingent list was denied) and
    ``replay_submit(order, manager, ts)`` (called for every journaled submission during recovery, to
    rebuild the gate's own state).
    """

    def check(self, order: Order, manager: OrderManager, ts: int) -> tuple[str, str] | None:
        ...


class AllowAll:
    """A :class:`RiskGate` that passes every order."""

    __slots__ = ()

    def check(self, order: Order, manager: OrderManager, ts: int) -> tuple[str, str] | None:
        return None


class LimitsGate:
    """A small :class:`RiskGate`: per-order quantity and notional caps, and a cap on open orders.

    Args:
        max_qty: largest order quantity (any instrument), or None.
        max_notional: largest ``quantity * price`` (limit or trigger price; market orders are not
            notional-checked), as a Price-like decimal string, or None.
        max_open_orders: most orders open at once, or None.
    """

    __slots__ = ("max_notional", "max_open_orders", "max_qty")

    def __init__(self, *, max_qty: Quantity | None = None, max_notional: str | None = None,
                 max_open_orders: int | None = None) -> None:
        self.max_qty = max_qty
        self.max_notional = None if max_notional is None else Price(max_notional)
        self.max_open_orders = max_open_orders

    def check(self, order: Order, manager: OrderManager, ts: int) -> tuple[str, str] | None:
        if self.max_qty is not None and order.quantity > self.max_qty:
            return "max_qty", f"quantity {order.quantity} > max {self.max_qty}"
        if self.max_notional is not None:
            px = order.price if order.price is not None else order.trigger_price
            if px is not None:
                notional = px * order.quantity
                limit = self.max_notional
                if notional.raw * 10 ** limit.precision > limit.raw * 10 ** notional.precision:
                    return "max_notional", f"notional {notional} > max {limit}"
        if self.max_open_orders is not None and manager.open_order_count >= self.max_open_orders:
            return "max_open_orders", f"{manager.open_order_count} orders open, max {self.max_open_orders}"
        return None


@runtime_checkable
class ExecutionClient(Protocol):
    """Sends requests to a venue. Calls happen after the request is journaled; an exception leaves the
    order pending with an unknown venue status (reconcile, never blindly resend)."""

    def submit(self, order: ManagedOrder) -> None:
        ...

    def cancel(self, order: ManagedOrder) -> None:
        ...

    def modify(self, order: ManagedOrder, quantity: Quantity | None, price: Price | None,
               trigger_price: Price | None) -> None:
        ...


class RecordingClient:
    """An :class:`ExecutionClient` that records ``(action, client_order_id, ...)`` tuples in ``sent``."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent: list[tuple[object, ...]] = []

    def submit(self, order: ManagedOrder) -> None:
        self.sent.append(("submit", order.client_order_id, order.quantity_raw))

    def cancel(self, order: ManagedOrder) -> None:
        self.sent.append(("cancel", order.client_order_id))

    def modify(self, order: ManagedOrder, quantity: Quantity | None, price: Price | None,
               trigger_price: Price | None) -> None:
        self.sent.append(("modify", order.client_order_id, quantity, price, trigger_price))
