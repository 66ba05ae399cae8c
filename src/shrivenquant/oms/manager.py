"""The order manager: orders, positions and accounts driven by journaled records.

Every change goes the same way: build a record (:mod:`shrivenquant.oms.records` or a venue order event),
check it against the current state (the transition table, ids, quantities), append it to the journal,
then apply it. So nothing is visible before it is journaled, and :meth:`OrderManager.recover` rebuilds the
same state by applying the same records (from the latest snapshot on). Contingent actions (releasing
bracket children, canceling OCO siblings) are themselves journaled commands issued by the live manager;
recovery does not re-issue them, and :meth:`OrderManager.resume` issues any that a crash cut off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from enum import IntEnum
from pathlib import Path
from typing import Any

import msgspec

from shrivenquant._native.fixed import Money, Price, Quantity
from shrivenquant._native.oms_core import ManagerBase, OmsCore
from shrivenquant.core.enums import InstrumentKind, OrderSide
from shrivenquant.core.instrument import Instrument, currency_for
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
from shrivenquant.errors import (
    InvalidTransitionError,
    OrderError,
    RiskRejectionError,
    UnknownOrderError,
    ValidationError,
)
from shrivenquant.oms.accounts import Account, AccountType, InstrumentSpec
from shrivenquant.oms.interfaces import AllowAll, ExecutionClient, Journal, MemoryJournal, RiskGate
from shrivenquant.oms.money import MONEY_SCALE, POW10, rescale_exact
from shrivenquant.oms.order import ManagedOrder
from shrivenquant.oms.positions import PnlMethod, Position, PositionLeg
from shrivenquant.oms.records import (
    BalanceChanged,
    CancelRejected,
    CancelRequested,
    Denied,
    FundingPaid,
    ModifyRejected,
    ModifyRequested,
    PositionAdjusted,
    Released,
    Submitted,
    decode_record,
    encode_record,
)
from shrivenquant.oms.states import (
    _FLAT,
    IGNORE,
    OPEN_STATUSES,
    PENDING_STATUSES,
    PREVIOUS,
    TERMINAL_STATUSES,
    OrderEventKind,
    OrderStatus,
)

__all__ = ["OmsType", "OrderManager", "Outcome", "funding_payment"]

_S = OrderStatus
_E = OrderEventKind
_PENDING = PENDING_STATUSES

# enum members as module constants (attribute access on an Enum class is slow on the hot path)
_E_ACCEPT = _E.ACCEPT
_E_CANCEL = _E.CANCEL
_E_CANCEL_REJECT = _E.CANCEL_REJECT
_E_EXPIRE = _E.EXPIRE
_E_FILL_FULL = _E.FILL_FULL
_E_FILL_PARTIAL = _E.FILL_PARTIAL
_E_MODIFY_REJECT = _E.MODIFY_REJECT
_E_PENDING_CANCEL = _E.PENDING_CANCEL
_E_PENDING_UPDATE = _E.PENDING_UPDATE
_E_REJECT = _E.REJECT
_E_RELEASE = _E.RELEASE
_E_SUBMIT = _E.SUBMIT
_E_TRIGGER = _E.TRIGGER
_E_UPDATE = _E.UPDATE
_S_CANCELED = _S.CANCELED
_S_DENIED = _S.DENIED
_S_EXPIRED = _S.EXPIRED
_S_FILLED = _S.FILLED
_S_INITIALIZED = _S.INITIALIZED
_S_PENDING_CANCEL = _S.PENDING_CANCEL
_S_PENDING_UPDATE = _S.PENDING_UPDATE
_S_REJECTED = _S.REJECTED
_S_SUBMITTED = _S.SUBMITTED
_CASH_KINDS = (InstrumentKind.SPOT, InstrumentKind.EQUITY)
_NET = PositionLeg.NET
_CORE_EVENTS = frozenset({OrderAccepted, OrderRejected, OrderModified, OrderCanceled, OrderExpired, OrderTriggered,
                          OrderFilled})


class OmsType(IntEnum):
    """NETTING: one position per instrument. HEDGING: a LONG and a SHORT leg per instrument."""

    NETTING = 1
    HEDGING = 2


class Outcome(IntEnum):
    """What :meth:`OrderManager.apply` did with a venue event."""

    APPLIED = 1
    IGNORED = 2        # late or duplicate event (the table says ignore): nothing changed
    DUPLICATE_FILL = 3  # a fill whose trade id was already applied: nothing changed
    UNKNOWN_ORDER = 4   # neither the client nor the venue order id is known: kept in ``unknown_events``


_APPLIED = Outcome.APPLIED
_SIMPLE_KIND = {OrderAccepted: _E_ACCEPT, OrderRejected: _E_REJECT, OrderCanceled: _E_CANCEL,
                OrderExpired: _E_EXPIRE, OrderTriggered: _E_TRIGGER}


class _Snapshot(msgspec.Struct, frozen=True):
    seq: int
    orders: list[tuple[Order, list[Any]]]
    positions: list[list[Any]]
    accounts: list[list[Any]]


_snap_encoder = msgspec.msgpack.Encoder(enc_hook=enc_hook)
_snap_decoder = msgspec.msgpack.Decoder(_Snapshot, dec_hook=dec_hook)


class OrderManager(ManagerBase):
    """Order management system: submit / modify / cancel orders, apply venue events, keep positions,
    PnL and balances, journal everything.

    Args:
        instruments: the tradable instruments (orders on others are refused).
        journal: where records go (default: a :class:`MemoryJournal`).
        risk: the pre-trade gate every order passes before leaving (default: :class:`AllowAll`).
        venue: the execution client requests go to (default: none; requests are only journaled).
        oms_type: NETTING or HEDGING.
        pnl_method: AVERAGE cost or FIFO.
        accounts: account settings per venue (type and margin rates). A venue without one gets a CASH
            account for spot / equity instruments and a MARGIN account otherwise, on first use.
        clock: ns-since-epoch clock for command timestamps (inject a fake one for deterministic runs).
        snapshot_every: write a snapshot every this many records (0: only when :meth:`snapshot` is called).
        max_unknown: how many unknown-order events to keep for reconciliation.
    """

    def __init__(self, instruments: Iterable[Instrument], *, journal: Journal | None = None,
                 risk: RiskGate | None = None, venue: ExecutionClient | None = None,
                 oms_type: OmsType = OmsType.NETTING, pnl_method: PnlMethod = PnlMethod.AVERAGE,
                 accounts: Iterable[Account] = (), clock: Callable[[], int] = time.time_ns,
                 snapshot_every: int = 0, max_unknown: int = 10_000) -> None:
        self.instruments: dict[str, Instrument] = {}
        self._precs: dict[str, tuple[int, int]] = {}
        self._specs: dict[str, InstrumentSpec] = {}
        for inst in instruments:
            self.instruments[inst.id] = inst
            self._precs[inst.id] = (inst.price_precision, inst.size_precision)
            self._specs[inst.id] = InstrumentSpec.of(inst)
        self.journal: Journal = journal if journal is not None else MemoryJournal()
        self.risk: RiskGate = risk if risk is not None else AllowAll()
        self.venue = venue
        self.oms_type = OmsType(oms_type)
        self._netting = self.oms_type is OmsType.NETTING
        self.pnl_method = PnlMethod(pnl_method)
        self.clock = clock
        self.snapshot_every = snapshot_every
        self.max_unknown = max_unknown
        self.orders: dict[str, ManagedOrder] = {}
        self.positions: dict[tuple[str, PositionLeg], Position] = {}
        self.accounts: dict[str, Account] = {a.venue: a for a in accounts}
        self._account_settings = {a.venue: (a.account_type, dict(a.margin), a.default_margin) for a in accounts}
        self.unknown_events: list[Any] = []
        self._by_venue: dict[str, str] = {}
        self._open: set[str] = set()
        self._live = True
        self._since_snapshot = 0
        # the in-memory journal's list append directly (its ``append`` only adds the returned seq, unused here)
        self._append = (self.journal.payloads.append if type(self.journal) is MemoryJournal
                        else self.journal.append)
        self._risk_event = getattr(self.risk, "on_event", None)
        self._risk_modify = getattr(self.risk, "check_modify", None)
        self._risk_replay = getattr(self.risk, "replay_submit", None)
        self._risk_release = getattr(self.risk, "release", None)
        self._handlers: dict[type, Callable[[Any, bool], Outcome]] = {
            Submitted: self._on_submitted, Denied: self._on_denied, Released: self._on_released,
            CancelRequested: self._on_cancel_requested, ModifyRequested: self._on_modify_requested,
            OrderAccepted: self._simple, OrderRejected: self._simple, OrderModified: self._on_modified,
            OrderCanceled: self._simple, OrderExpired: self._simple, OrderTriggered: self._simple,
            OrderFilled: self._on_filled, CancelRejected: self._on_cancel_rejected,
            ModifyRejected: self._on_modify_rejected, BalanceChanged: self._on_balance,
            FundingPaid: self._on_funding, PositionAdjusted: self._on_adjusted,
        }
        # the hot handlers in native code (the same checks, journal appends and state changes as _on_submitted,
        # _simple, _on_filled, submit and apply below, which it hands every error path and rare case to)
        core = self._core = OmsCore(self, {
            "flat": _FLAT, "ignore": IGNORE, "status_type": OrderStatus, "applied": _APPLIED,
            "ignored": Outcome.IGNORED, "duplicate": Outcome.DUPLICATE_FILL, "simple_kind": _SIMPLE_KIND,
            "filled_type": OrderFilled, "submitted_type": Submitted, "denied_type": Denied, "net_leg": _NET,
            "submitted_status": _S_SUBMITTED, "pow10": POW10, "money_scale": MONEY_SCALE,
            "pending": PENDING_STATUSES, "open": OPEN_STATUSES, "terminal": TERMINAL_STATUSES,
            "py_apply": OrderManager.apply, "py_submit": OrderManager.submit, "py_filled": OrderManager._on_filled,
            "py_submitted": OrderManager._on_submitted,
        })
        self._handlers[Submitted] = core.submitted
        self._handlers[OrderFilled] = core.filled
        for kind in _SIMPLE_KIND:
            self._handlers[kind] = core.simple
        if type(self).submit is OrderManager.submit:
            self.submit = core.submit  # type: ignore[method-assign]
        if type(self).apply is OrderManager.apply:
            self.apply = core.apply  # type: ignore[method-assign]

    # ================================================================== commands
    def submit(self, order: Order) -> ManagedOrder:
        """Risk-check ``order``, journal it and send it; returns its managed state.

        A denied order is journaled as :class:`Denied` and returned with status DENIED and ``reason``
        set; it never reaches the venue. Raises :class:`OrderError` if the client order id was used before
        (it is never sent twice) and :class:`~shrivenquant.errors.InstrumentError` for an unknown instrument.
        """
        coid = order.client_order_id
        if coid in self.orders:
            raise OrderError(f"client order id {coid!r} was already used: an order is never sent twice",
                             client_order_id=coid)
        if order.instrument_id not in self._precs:
            self._instrument(order.instrument_id)  # raises
        ts = self.clock()
        verdict = self.risk.check(order, self, ts)
        if verdict is not None:
            self._record(Denied(order=order, check=verdict[0], reason=verdict[1], ts=ts))
            return self.orders[coid]
        self._on_submitted(Submitted(order=order, ts=ts), True)
        mo = self.orders[coid]
        if self.venue is not None:
            self.venue.submit(mo)
        return mo

    def submit_oto(self, parent: Order, *children: Order) -> list[ManagedOrder]:
        """One-triggers-other: ``children`` are held until ``parent`` fills, then sent with the parent's
        filled quantity (on its complete fill, or when it ends partly filled). If the parent ends unfilled
        the children are canceled. The whole list passes the risk gate first (one denial denies all)."""
        return self._submit_list(parent, list(children), oco_children=False)

    def submit_bracket(self, entry: Order, take_profit: Order, stop_loss: Order) -> list[ManagedOrder]:
        """A bracket: ``entry`` with ``take_profit`` and ``stop_loss`` held until it fills, then sent as an
        OCO pair (a fill or the end of one cancels the other). The children must be on the same instrument,
        on the other side, and of the same quantity as the entry."""
        for child, what in ((take_profit, "take_profit"), (stop_loss, "stop_loss")):
            if child.instrument_id != entry.instrument_id or child.side is entry.side:
                raise ValidationError(f"bracket {what} must be on {entry.instrument_id}, side "
                                      f"{entry.side.opposite().name}, got {child.instrument_id} {child.side.name}")
            if child.quantity != entry.quantity:
                raise ValidationError(f"bracket {what} quantity {child.quantity} != entry quantity {entry.quantity}")
        return self._submit_list(entry, [take_profit, stop_loss], oco_children=True)

    def submit_oco(self, *orders: Order) -> list[ManagedOrder]:
        """One-cancels-other: all sent now; the first fill (or cancel, expiry, rejection) of one cancels
        the others. The whole group passes the risk gate first."""
        if len(orders) < 2:
            raise ValidationError(f"an OCO group needs at least 2 orders, got {len(orders)}")
        self._check_new_ids(orders)
        ts = self.clock()
        denied = self._check_all(orders, ts)
        ids = [o.client_order_id for o in orders]
        out = []
        for o in orders:
            oco = tuple(i for i in ids if i != o.client_order_id)
            if denied is not None:
                self._record(Denied(order=o, check=denied[0], reason=denied[1], ts=ts, oco=oco))
            else:
                self._record(Submitted(order=o, ts=ts, oco=oco))
                if self.venue is not None:
                    self.venue.submit(self.orders[o.client_order_id])
            out.append(self.orders[o.client_order_id])
        return out

    def _submit_list(self, parent: Order, children: list[Order], *, oco_children: bool) -> list[ManagedOrder]:
        if not children:
            raise ValidationError("a contingent order list needs at least one child order")
        allo = [parent, *children]
        self._check_new_ids(allo)
        ts = self.clock()
        denied = self._check_all(allo, ts)
        pid = parent.client_order_id
        ids = [c.client_order_id for c in children]
        if denied is not None:
            self._record(Denied(order=parent, check=denied[0], reason=denied[1], ts=ts))
            for c in children:
                self._record(Denied(order=c, check=denied[0], reason=denied[1], ts=ts, parent=pid))
            return [self.orders[o.client_order_id] for o in allo]
        self._record(Submitted(order=parent, ts=ts))
        for c in children:
            oco = tuple(i for i in ids if i != c.client_order_id) if oco_children else ()
            self._record(Submitted(order=c, ts=ts, parent=pid, oco=oco, hold=True))
        if self.venue is not None:
            self.venue.submit(self.orders[pid])
        return [self.orders[o.client_order_id] for o in allo]

    def _check_new_ids(self, orders: Iterable[Order]) -> None:
        seen: set[str] = set()
        for o in orders:
            coid = o.client_order_id
            if coid in self.orders or coid in seen:
                raise OrderError(f"client order id {coid!r} was already used: an order is never sent twice",
                                 client_order_id=coid)
            seen.add(coid)
            self._instrument(o.instrument_id)

    def _check_all(self, orders: Iterable[Order], ts: int) -> tuple[str, str] | None:
        passed = []
        for o in orders:
            verdict = self.risk.check(o, self, ts)
            if verdict is not None:
                if self._risk_release is not None:
                    for p in passed:
                        self._risk_release(p, ts)
                return verdict[0], f"{o.client_order_id}: {verdict[1]}"
            passed.append(o)
        return None

    def cancel(self, client_order_id: str) -> ManagedOrder:
        """Request a cancel (journaled, then sent). A held contingent order is canceled locally at once.

        Raises :class:`UnknownOrderError` for an unknown id and :class:`InvalidTransitionError` if the
        order cannot be canceled now (finished, or a cancel already pending).
        """
        mo = self.order(client_order_id)
        self._record(CancelRequested(client_order_id=client_order_id, ts=self.clock()))
        if self.venue is not None and mo.status is _S_PENDING_CANCEL:
            self.venue.cancel(mo)
        self._contingencies(mo)
        return mo

    def modify(self, client_order_id: str, *, quantity: Quantity | None = None, price: Price | None = None,
               trigger_price: Price | None = None) -> ManagedOrder:
        """Request a modify of quantity / limit price / trigger price (None keeps the value).

        The new terms apply when the venue confirms (``OrderModified``); a held contingent order is
        amended at once. The new quantity must exceed the filled quantity; a price must fit the order type.
        """
        mo = self.order(client_order_id)
        if quantity is None and price is None and trigger_price is None:
            raise ValidationError("modify needs at least one of quantity, price or trigger_price")
        self._check_terms(mo, quantity, price, trigger_price)
        ts = self.clock()
        if self._risk_modify is not None and not mo.hold and mo.status in OPEN_STATUSES:
            px = price or mo.price or trigger_price or mo.trigger_price
            verdict = self._risk_modify(client_order_id, px, quantity or mo.quantity, ts)
            if verdict is not None:
                raise RiskRejectionError(f"modify of {client_order_id} refused by risk: {verdict[1]}",
                                         check=verdict[0])
        self._record(ModifyRequested(client_order_id=client_order_id, ts=ts, quantity=quantity,
                                     price=price, trigger_price=trigger_price))
        if self.venue is not None and mo.status is _S_PENDING_UPDATE:
            self.venue.modify(mo, quantity, price, trigger_price)
        return mo

    def cancel_all(self, instrument_id: str | None = None, side: OrderSide | None = None) -> list[ManagedOrder]:
        """Request a cancel of every open or held order (optionally of one instrument and/or side) that has
        no cancel pending; returns the orders a cancel was requested for."""
        out = []
        for coid in sorted(self._open | {c for c, m in self.orders.items() if m.hold and not m.is_done}):
            mo = self.orders[coid]
            if instrument_id is not None and mo.instrument_id != instrument_id:
                continue
            if side is not None and mo.side is not side:
                continue
            if mo.status is _S_PENDING_CANCEL or mo.is_done:
                continue
            out.append(self.cancel(coid))
        return out

    def deposit(self, venue: str, amount: Money, reason: str = "deposit") -> None:
        """Add ``amount`` (signed; negative for a withdrawal) to ``venue``'s account (journaled)."""
        if amount.currency is None:
            raise ValidationError(f"deposit amount needs a currency, got {amount}")
        self._record(BalanceChanged(venue=venue, amount=amount, reason=reason, ts=self.clock()))

    def funding(self, instrument_id: str, amount: Money, leg: PositionLeg = PositionLeg.NET) -> None:
        """Book a perpetual funding payment on ``instrument_id``'s position: ``amount`` signed, positive =
        received, in the settlement currency (journaled). See :func:`funding_payment` to compute it."""
        self._instrument(instrument_id)
        self._check_leg(leg)
        self._record(FundingPaid(instrument_id=instrument_id, amount=amount, ts=self.clock(), leg=int(leg)))

    # ================================================================== venue events
    def apply(self, event: Any) -> Outcome:
        """Apply a venue event (``OrderAccepted``, ``OrderFilled``, ``CancelRejected`` ...).

        Idempotent: a fill whose trade id was applied before, or an event the table marks as late or
        duplicate, changes nothing (and is not journaled). An event for an order that neither its client
        nor its venue order id identifies returns ``UNKNOWN_ORDER`` and is kept in ``unknown_events`` for
        reconciliation. An event the state machine forbids raises :class:`InvalidTransitionError`.
        """
        kind = type(event)
        handler = self._handlers.get(kind)
        if handler is None:
            raise ValidationError(f"not an order event the manager applies: {kind.__name__}")
        mo = self.orders.get(event.client_order_id)
        if mo is None:
            vid = getattr(event, "venue_order_id", None)
            coid = self._by_venue.get(vid) if vid is not None else None
            if coid is None:
                if len(self.unknown_events) < self.max_unknown:
                    self.unknown_events.append(event)
                return Outcome.UNKNOWN_ORDER
            event = msgspec.structs.replace(event, client_order_id=coid)
            mo = self.orders[coid]
        out = handler(event, True)
        if out is _APPLIED:
            if self._risk_event is not None and kind in _CORE_EVENTS:
                self._risk_event(event, self)
            if mo.children or mo.oco:
                self._contingencies(mo)
            if mo.parent is not None and not mo.is_done:
                # a child's request resolved: a resize its parent's late fill needs may now be due
                self._contingencies(self.orders[mo.parent])
        return out

    def apply_reconciliation(self, report: Any) -> list[Outcome]:
        """Apply the records of a :class:`~shrivenquant.oms.reconcile.ReconcileReport` in order (journaled);
        returns the outcome of each."""
        out = []
        for rec in report.events:
            if type(rec) in (Submitted, PositionAdjusted):
                out.append(self._record(rec))
            else:
                out.append(self.apply(rec))
        return out

    # ================================================================== queries
    def order(self, client_order_id: str) -> ManagedOrder:
        """The managed order with this client id (raises :class:`UnknownOrderError`)."""
        mo = self.orders.get(client_order_id)
        if mo is None:
            raise UnknownOrderError(f"unknown client order id {client_order_id!r}", client_order_id=client_order_id)
        return mo

    def order_by_venue_id(self, venue_order_id: str) -> ManagedOrder:
        """The managed order the venue knows as ``venue_order_id`` (raises :class:`UnknownOrderError`)."""
        coid = self._by_venue.get(venue_order_id)
        if coid is None:
            raise UnknownOrderError(f"unknown venue order id {venue_order_id!r}")
        return self.orders[coid]

    def open_orders(self, instrument_id: str | None = None) -> list[ManagedOrder]:
        """Orders that may still trade at the venue, by client id."""
        return [self.orders[c] for c in sorted(self._open)
                if instrument_id is None or self.orders[c].instrument_id == instrument_id]

    @property
    def open_order_count(self) -> int:
        """How many orders are open at the venue (or sent and not yet acknowledged)."""
        return len(self._open)

    def position(self, instrument_id: str, leg: PositionLeg = PositionLeg.NET) -> Position:
        """The position (a flat one, not stored, if it never traded: a query changes no state)."""
        pos = self.positions.get((instrument_id, leg))
        if pos is None:
            pos = self._make_position(instrument_id, leg)
        return pos

    def account(self, venue: str) -> Account:
        """The account for ``venue`` (created with the configured / default type on first use)."""
        acc = self.accounts.get(venue)
        if acc is None:
            raise UnknownOrderError(f"no account for venue {venue!r} yet (deposit or trade first)")
        return acc

    def locked(self, venue: str, marks: Mapping[str, Price] | None = None) -> dict[str, Money]:
        """Amounts locked by open orders on ``venue``, per currency."""
        from shrivenquant.oms.money import to_money

        acc = self.account(venue)
        orders = [o for o in self.open_orders() if self.instruments[o.instrument_id].venue == venue]
        raw = acc.locked_raw(orders, self.instruments, marks)
        return {k: to_money(v, MONEY_SCALE, currency_for(k)) for k, v in sorted(raw.items())}

    # ================================================================== snapshots and recovery
    def state(self) -> dict[str, Any]:
        """Everything recovery must rebuild, as plain data (for equality checks and snapshots)."""
        return {
            "orders": [[mo.order, mo.state()] for _, mo in sorted(self.orders.items())],
            "positions": [p.state() for _, p in sorted(self.positions.items())],
            "accounts": [a.state() for _, a in sorted(self.accounts.items())],
        }

    def snapshot(self) -> int:
        """Commit the journal and store a snapshot of the state after its last record; returns that seq."""
        seq = self.journal.commit()
        st = self.state()
        data = _snap_encoder.encode(_Snapshot(seq, [tuple(x) for x in st["orders"]], st["positions"],
                                              st["accounts"]))
        self.journal.save_snapshot(seq, data)
        self._since_snapshot = 0
        return seq

    def _load_snapshot(self, data: bytes) -> int:
        snap = _snap_decoder.decode(data)
        for order, st in snap.orders:
            inst = self._instrument(order.instrument_id)
            mo = ManagedOrder(order, size_prec=inst.size_precision, price_prec=inst.price_precision,
                              leg=PositionLeg.NET, ts=0)
            mo.load(st)
            self.orders[mo.client_order_id] = mo
            if mo.venue_order_id is not None:
                self._by_venue[mo.venue_order_id] = mo.client_order_id
            if mo.status in OPEN_STATUSES:
                self._open.add(mo.client_order_id)
        for st in snap.positions:
            pos = self._new_position(st[0], PositionLeg(st[1]))
            pos.load(st)
        for venue, kind, balances in snap.accounts:
            acc = self.accounts.get(venue)
            if acc is None:
                acc = self.accounts[venue] = Account(venue, AccountType(kind))
            acc.balances = {k: int(v) for k, v in balances}
        return snap.seq

    @classmethod
    def recover(cls, source: str | Path | Journal, instruments: Iterable[Instrument], **kwargs: Any) -> OrderManager:
        """Rebuild a manager from a journal (a directory holding a WAL journal, or a :class:`Journal`).

        Loads the latest snapshot, then applies every later record exactly as it was applied live. Keyword
        arguments are those of the constructor (accounts, oms_type, pnl_method, risk, venue, clock ...);
        the journal is reopened for appending, so the manager carries on where it stopped. Call
        :meth:`resume` afterwards to issue contingent actions a crash may have cut off, and reconcile with
        the venue (orders sent just before the crash have an unknown venue status).
        """
        if isinstance(source, (str, Path)):
            from shrivenquant.oms.wal_journal import WalJournal

            journal: Journal = WalJournal(source, sync=kwargs.pop("sync", "batch"))
        else:
            journal = source
        om = cls(instruments, journal=journal, **kwargs)
        om._replay()
        return om

    def _replay(self) -> None:
        start = 1
        snap = self.journal.load_snapshot()
        if snap is not None:
            start = self._load_snapshot(snap[1]) + 1
        self._live = False
        try:
            handlers = self._handlers
            risk_event, risk_replay = self._risk_event, self._risk_replay
            for _seq, payload in self.journal.records(start):
                rec = decode_record(payload)
                kind = type(rec)
                out = handlers[kind](rec, False)
                if out is not Outcome.APPLIED:
                    continue
                if risk_replay is not None and kind is Submitted and not rec.external:
                    risk_replay(rec.order, self, rec.ts)
                elif risk_event is not None and kind in _CORE_EVENTS:
                    risk_event(rec, self)
        finally:
            self._live = True

    def resume(self) -> list[str]:
        """Issue contingent actions (bracket releases, OCO cancels) still due after a recovery; returns the
        client ids acted on."""
        acted = []
        for coid in sorted(self.orders):
            n = self.journal.last_seq
            self._contingencies(self.orders[coid])
            if self.journal.last_seq != n:
                acted.append(coid)
        return acted

    # ================================================================== internals
    def _instrument(self, instrument_id: str) -> Instrument:
        inst = self.instruments.get(instrument_id)
        if inst is None:
            from shrivenquant.errors import InstrumentError

            raise InstrumentError(f"unknown instrument {instrument_id!r}: pass it to OrderManager(instruments=...)")
        return inst

    def _record(self, rec: Any) -> Outcome:
        return self._handlers[type(rec)](rec, True)

    def _log(self, rec: Any) -> None:
        self._append(encode_record(rec))
        if self.snapshot_every:
            self._since_snapshot += 1

    def _after(self) -> None:
        if self.snapshot_every and self._since_snapshot >= self.snapshot_every:
            self.snapshot()

    def _new_position(self, instrument_id: str, leg: PositionLeg) -> Position:
        pos = self.positions[(instrument_id, leg)] = self._make_position(instrument_id, leg)
        return pos

    def _position_for(self, instrument_id: str, leg: PositionLeg) -> Position:
        pos = self.positions.get((instrument_id, leg))
        return pos if pos is not None else self._new_position(instrument_id, leg)

    def _check_leg(self, leg: int) -> PositionLeg:
        value = PositionLeg(leg)
        if self._netting != (value is PositionLeg.NET):
            raise ValidationError(f"position leg {value.name} does not exist in {self.oms_type.name} mode "
                                  f"(NETTING: NET; HEDGING: LONG or SHORT)")
        return value

    def _make_position(self, instrument_id: str, leg: PositionLeg) -> Position:
        inst = self._instrument(instrument_id)
        code = inst.settlement if inst.kind not in _CASH_KINDS and inst.settlement else inst.quote
        pos = Position(instrument_id, leg, price_prec=inst.price_precision, size_prec=inst.size_precision,
                       mult_raw=inst.multiplier.raw, mult_prec=inst.multiplier.precision,
                       currency=currency_for(code), method=self.pnl_method)
        if inst.inverse:
            raise ValidationError(f"{instrument_id}: inverse (coin-margined) contracts are not supported by the "
                                  "order manager's PnL yet")
        return pos

    def _account_for_venue(self, venue: str, inst: Instrument | None) -> Account:
        acc = self.accounts.get(venue)
        if acc is None:
            kind = AccountType.CASH if inst is not None and inst.kind in _CASH_KINDS else AccountType.MARGIN
            acc = self.accounts[venue] = Account(venue, kind)
        return acc

    def _leg_for(self, order: Order) -> PositionLeg:
        if self.oms_type is OmsType.NETTING:
            return PositionLeg.NET
        long_side = order.side is OrderSide.BUY
        if order.reduce_only:
            long_side = not long_side
        return PositionLeg.LONG if long_side else PositionLeg.SHORT

    def _step(self, mo: ManagedOrder, kind: OrderEventKind) -> Any:
        out = _FLAT[mo.status * 32 + kind]
        if out is None:
            raise InvalidTransitionError(
                f"order {mo.client_order_id}: {kind.name} is not allowed in status {mo.status.name}",
                client_order_id=mo.client_order_id, status=mo.status.name, event=kind.name)
        return out

    def _set(self, mo: ManagedOrder, out: Any) -> None:
        st = mo.status
        if type(out) is OrderStatus:
            if out in _PENDING and st not in _PENDING:
                mo.prev_status = st
            mo.status = out
        elif out is PREVIOUS:
            mo.status = mo.prev_status
        else:  # Keep
            mo.prev_status = out.prev
        coid = mo.client_order_id
        if mo.status in OPEN_STATUSES:
            self._open.add(coid)
        else:
            self._open.discard(coid)

    def _check_terms(self, mo: ManagedOrder, quantity: Quantity | None, price: Price | None,
                     trigger_price: Price | None) -> None:
        if quantity is not None and quantity.raw_at(mo.size_prec) <= mo.filled_raw:
            raise OrderError(f"order {mo.client_order_id}: new quantity {quantity} must exceed the filled "
                             f"quantity {mo.filled}", client_order_id=mo.client_order_id)
        if price is not None and mo.price is None:
            raise OrderError(f"order {mo.client_order_id}: a {mo.order.order_type.name} order has no limit price",
                             client_order_id=mo.client_order_id)
        if trigger_price is not None and mo.trigger_price is None:
            raise OrderError(f"order {mo.client_order_id}: a {mo.order.order_type.name} order has no trigger price",
                             client_order_id=mo.client_order_id)

    # ------------------------------------------------------------------ record handlers
    # Each handler checks, then journals (when ``log``), then mutates. Replay calls them with log=False.

    def _on_submitted(self, rec: Submitted, log: bool) -> Outcome:
        order = rec.order
        coid = order.client_order_id
        if coid in self.orders:
            raise OrderError(f"client order id {coid!r} was already used", client_order_id=coid)
        p, s = self._precs[order.instrument_id]
        mo = ManagedOrder(order, size_prec=s, price_prec=p, leg=_NET if self._netting else self._leg_for(order),
                          ts=rec.ts)
        if log:
            self._append(encode_record(rec))
            if self.snapshot_every:
                self._since_snapshot += 1
        self.orders[coid] = mo
        if rec.parent is not None:
            mo.parent = rec.parent
            self.orders[rec.parent].children.append(coid)
        if rec.oco:
            mo.oco = rec.oco
        if rec.hold or rec.external:
            mo.hold = rec.hold
            mo.external = mo.sent = rec.external
        else:
            mo.status = _S_SUBMITTED
            mo.sent = True
            self._open.add(coid)
        if log and self.snapshot_every:
            self._after()
        return _APPLIED

    def _on_denied(self, rec: Denied, log: bool) -> Outcome:
        order = rec.order
        coid = order.client_order_id
        if coid in self.orders:
            raise OrderError(f"client order id {coid!r} was already used", client_order_id=coid)
        p, s = self._precs[order.instrument_id]
        mo = ManagedOrder(order, size_prec=s, price_prec=p, leg=self._leg_for(order), ts=rec.ts)
        if log:
            self._log(rec)
        mo.status = _S_DENIED
        mo.reason = f"{rec.check}: {rec.reason}"
        mo.parent = rec.parent
        mo.oco = rec.oco
        self.orders[coid] = mo
        if rec.parent is not None:
            self.orders[rec.parent].children.append(coid)
        if log:
            self._after()
        return Outcome.APPLIED

    def _on_released(self, rec: Released, log: bool) -> Outcome:
        mo = self.order(rec.client_order_id)
        out = self._step(mo, _E_RELEASE)
        qty = rec.quantity.raw_at(mo.size_prec)
        if not mo.hold or qty <= 0 or qty > mo.quantity_raw:
            raise OrderError(f"order {mo.client_order_id}: cannot release {rec.quantity} (held: {mo.hold}, "
                             f"quantity {mo.quantity})", client_order_id=mo.client_order_id)
        if log:
            self._log(rec)
        self._set(mo, out)
        self._set(mo, _FLAT[mo.status * 32 + _E_SUBMIT])
        mo.hold = False
        mo.sent = True
        mo.quantity_raw = qty
        mo.ts_last = rec.ts
        if log:
            self._after()
        return Outcome.APPLIED

    def _on_cancel_requested(self, rec: CancelRequested, log: bool) -> Outcome:
        mo = self.order(rec.client_order_id)
        kind = _E_CANCEL if mo.hold else _E_PENDING_CANCEL  # a held order is canceled locally
        if mo.status is _S_PENDING_CANCEL:
            raise InvalidTransitionError(f"order {mo.client_order_id}: a cancel is already pending",
                                         client_order_id=mo.client_order_id, status=mo.status.name,
                                         event=kind.name)
        out = self._step(mo, kind)
        if out is IGNORE or (mo.status is _S_INITIALIZED and not mo.hold):
            raise InvalidTransitionError(f"order {mo.client_order_id} cannot be canceled in status "
                                         f"{mo.status.name}", client_order_id=mo.client_order_id,
                                         status=mo.status.name, event=kind.name)
        if log:
            self._log(rec)
        self._set(mo, out)
        if mo.hold:
            mo.hold = False
            mo.reason = "canceled while held"
        mo.ts_last = rec.ts
        if log:
            self._after()
        return Outcome.APPLIED

    def _on_modify_requested(self, rec: ModifyRequested, log: bool) -> Outcome:
        mo = self.order(rec.client_order_id)
        kind = _E_UPDATE if mo.hold else _E_PENDING_UPDATE
        out = self._step(mo, kind)
        if out is IGNORE or (mo.status is _S_INITIALIZED and not mo.hold):
            raise InvalidTransitionError(f"order {mo.client_order_id} cannot be modified in status "
                                         f"{mo.status.name}", client_order_id=mo.client_order_id,
                                         status=mo.status.name, event=kind.name)
        self._check_terms(mo, rec.quantity, rec.price, rec.trigger_price)
        if log:
            self._log(rec)
        self._set(mo, out)
        if mo.hold:
            self._amend(mo, rec.quantity, rec.price, rec.trigger_price)
        mo.ts_last = rec.ts
        if log:
            self._after()
        return Outcome.APPLIED

    def _amend(self, mo: ManagedOrder, quantity: Quantity | None, price: Price | None,
               trigger_price: Price | None) -> None:
        if quantity is not None:
            mo.quantity_raw = quantity.raw_at(mo.size_prec)
        if price is not None:
            mo.price = price
        if trigger_price is not None:
            mo.trigger_price = trigger_price

    def _venue_id(self, mo: ManagedOrder, vid: str | None) -> None:
        if vid is None:
            return
        if mo.venue_order_id is None:
            other = self._by_venue.get(vid)
            if other is not None and other != mo.client_order_id:
                raise OrderError(f"venue order id {vid!r} already belongs to order {other}",
                                 client_order_id=mo.client_order_id)
        elif mo.venue_order_id != vid:
            raise OrderError(f"order {mo.client_order_id} has venue order id {mo.venue_order_id!r}, "
                             f"an event says {vid!r}", client_order_id=mo.client_order_id)

    def _simple(self, rec: Any, log: bool) -> Outcome:
        """Accepted, rejected, canceled, expired, triggered: a status change (and the venue id)."""
        kind = _SIMPLE_KIND[type(rec)]
        mo = self.orders[rec.client_order_id]
        out = _FLAT[mo.status * 32 + kind]
        if out is None:
            out = self._step(mo, kind)  # raises
        vid = rec.venue_order_id
        if vid is not None and mo.venue_order_id != vid and (mo.venue_order_id is not None
                                                               or vid in self._by_venue):
            self._venue_id(mo, vid)
        if out is IGNORE:
            return Outcome.IGNORED
        if log:
            self._append(encode_record(rec))
            if self.snapshot_every:
                self._since_snapshot += 1
        if vid is not None and mo.venue_order_id is None:
            mo.venue_order_id = vid
            self._by_venue[vid] = mo.client_order_id
        if type(out) is OrderStatus and out not in _PENDING:  # _set's common case, inline
            mo.status = out
            if out in OPEN_STATUSES:
                self._open.add(mo.client_order_id)
            else:
                self._open.discard(mo.client_order_id)
        else:
            self._set(mo, out)
        mo.ts_last = rec.ts_event
        if kind is _E_REJECT:
            mo.reason = rec.reason
        if log and self.snapshot_every:
            self._after()
        return _APPLIED

    def _on_modified(self, rec: OrderModified, log: bool) -> Outcome:
        mo = self.orders[rec.client_order_id]
        out = self._step(mo, _E_UPDATE)
        self._venue_id(mo, rec.venue_order_id)
        if out is IGNORE:
            return Outcome.IGNORED
        if rec.quantity is not None and rec.quantity.raw_at(mo.size_prec) <= mo.filled_raw:
            raise OrderError(f"order {mo.client_order_id}: venue modified quantity to {rec.quantity}, not above "
                             f"the filled {mo.filled}: reconcile", client_order_id=mo.client_order_id)
        if log:
            self._log(rec)
        if rec.venue_order_id is not None and mo.venue_order_id is None:
            mo.venue_order_id = rec.venue_order_id
            self._by_venue[rec.venue_order_id] = mo.client_order_id
        self._set(mo, out)
        self._amend(mo, rec.quantity, rec.price, rec.trigger_price)
        mo.ts_last = rec.ts_event
        if log:
            self._after()
        return Outcome.APPLIED

    def _on_cancel_rejected(self, rec: CancelRejected, log: bool) -> Outcome:
        return self._reply_rejected(rec, log, _E_CANCEL_REJECT)

    def _on_modify_rejected(self, rec: ModifyRejected, log: bool) -> Outcome:
        return self._reply_rejected(rec, log, _E_MODIFY_REJECT)

    def _reply_rejected(self, rec: CancelRejected | ModifyRejected, log: bool, kind: OrderEventKind) -> Outcome:
        mo = self.orders[rec.client_order_id]
        out = self._step(mo, kind)
        if out is IGNORE:
            return Outcome.IGNORED
        if log:
            self._log(rec)
        self._set(mo, out)
        mo.reason = rec.reason
        mo.ts_last = rec.ts
        if log:
            self._after()
        return Outcome.APPLIED

    def _on_filled(self, rec: OrderFilled, log: bool) -> Outcome:
        mo = self.orders[rec.client_order_id]
        tid = rec.trade_id
        if tid in mo.trade_ids:
            return Outcome.DUPLICATE_FILL
        vid = rec.venue_order_id
        if mo.venue_order_id != vid and (mo.venue_order_id is not None or vid in self._by_venue):
            self._venue_id(mo, vid)
        if not mo.sent:
            raise OrderError(f"fill {tid} for order {mo.client_order_id}, which was never sent "
                             f"({mo.status.name}): reconcile", client_order_id=mo.client_order_id)
        if rec.order_side is not mo.side:
            raise OrderError(f"fill {tid} says side {rec.order_side.name}, order {mo.client_order_id} is "
                             f"{mo.side.name}", client_order_id=mo.client_order_id)
        q, p = rec.last_qty, rec.last_px
        qty = q.raw if q.precision == mo.size_prec else q.raw_at(mo.size_prec)
        px = p.raw if p.precision == mo.price_prec else p.raw_at(mo.price_prec)
        filled = mo.filled_raw + qty
        if filled > mo.quantity_raw:
            raise OrderError(f"fill {tid} of {q} overfills order {mo.client_order_id} "
                             f"({mo.filled} of {mo.quantity} filled): reconcile", client_order_id=mo.client_order_id)
        out = _FLAT[mo.status * 32 + (_E_FILL_FULL if filled == mo.quantity_raw else _E_FILL_PARTIAL)]
        if out is None:
            out = self._step(mo, _E_FILL_FULL if filled == mo.quantity_raw else _E_FILL_PARTIAL)  # raises
        fee = rec.fee
        fee_raw = fee.raw
        if fee_raw and fee.currency is None:
            raise ValidationError(f"fill {tid}: a non-zero fee needs a currency, got {fee}")
        if log:
            self._append(encode_record(rec))
            if self.snapshot_every:
                self._since_snapshot += 1
        # order
        mo.trade_ids.add(tid)
        mo.filled_raw = filled
        mo.notional_raw += qty * px
        if mo.venue_order_id is None:
            mo.venue_order_id = vid
            self._by_venue[vid] = mo.client_order_id
        if type(out) is OrderStatus and out not in _PENDING:  # _set's common case, inline
            mo.status = out
            if out in OPEN_STATUSES:
                self._open.add(mo.client_order_id)
            else:
                self._open.discard(mo.client_order_id)
        else:
            self._set(mo, out)
        mo.ts_last = rec.ts_event
        # position and account (looked up once per order, then kept on it)
        pos = mo.position
        if pos is None:
            pos = self.positions.get((mo.instrument_id, mo.leg))
            if pos is None:
                pos = self._new_position(mo.instrument_id, mo.leg)
            mo.position = pos
            inst = self.instruments[mo.instrument_id]
            mo.account = self.accounts.get(inst.venue) or self._account_for_venue(inst.venue, inst)
        realized = pos.apply_fill(mo.sign, qty, px)
        acc = mo.account
        acc.apply_fill(self._specs[mo.instrument_id], mo.sign, qty, px, realized)
        if fee_raw:
            amount = fee_raw * POW10[MONEY_SCALE - fee.precision]
            code = fee.currency.code  # type: ignore[union-attr]
            balances = acc.balances
            balances[code] = balances.get(code, 0) - amount
            fees = pos.fees
            fees[code] = fees.get(code, 0) + amount
        if log and self.snapshot_every:
            self._after()
        return _APPLIED

    def _on_balance(self, rec: BalanceChanged, log: bool) -> Outcome:
        amount = rec.amount
        if amount.currency is None:
            raise ValidationError(f"balance change needs a currency, got {amount}")
        value = rescale_exact(amount.raw, amount.precision, MONEY_SCALE)
        if log:
            self._log(rec)
        inst = next((i for i in self.instruments.values() if i.venue == rec.venue), None)
        self._account_for_venue(rec.venue, inst).add(amount.currency.code, value)
        if log:
            self._after()
        return Outcome.APPLIED

    def _on_funding(self, rec: FundingPaid, log: bool) -> Outcome:
        amount = rec.amount
        inst = self._instrument(rec.instrument_id)
        code = inst.settlement or inst.quote
        if amount.currency is None or amount.currency.code != code:
            raise ValidationError(f"funding on {rec.instrument_id} must be in {code}, got {amount}")
        value = rescale_exact(amount.raw, amount.precision, MONEY_SCALE)
        leg = self._check_leg(rec.leg)
        if log:
            self._log(rec)
        self._position_for(rec.instrument_id, leg).funding += value
        self._account_for_venue(inst.venue, inst).add(code, value)
        if log:
            self._after()
        return Outcome.APPLIED

    def _on_adjusted(self, rec: PositionAdjusted, log: bool) -> Outcome:
        inst = self._instrument(rec.instrument_id)
        if rec.sign not in (1, -1):
            raise ValidationError(f"PositionAdjusted.sign must be +1 or -1, got {rec.sign}")
        qty = rec.quantity.raw_at(inst.size_precision)
        px = rec.price.raw_at(inst.price_precision)
        leg = self._check_leg(rec.leg)
        if log:
            self._log(rec)
        pos = self._position_for(rec.instrument_id, leg)
        realized = pos.apply_fill(rec.sign, qty, px)
        self._account_for_venue(inst.venue, inst).apply_fill(self._specs[inst.id], rec.sign, qty, px, realized)
        if log:
            self._after()
        return Outcome.APPLIED

    # ------------------------------------------------------------------ contingent orders
    def _contingencies(self, mo: ManagedOrder) -> None:
        """Issue (journal + send) what the contingency links of ``mo`` require now. Live only."""
        if not self._live:
            return
        orders = self.orders
        if mo.children:
            parent_done = mo.status in TERMINAL_STATUSES
            if mo.status is _S_FILLED or (parent_done and mo.filled_raw):
                qty = Quantity.from_raw(mo.filled_raw, mo.size_prec)
                for cid in mo.children:
                    child = orders[cid]
                    if child.hold and child.status is _S_INITIALIZED:
                        self._record(Released(client_order_id=cid, quantity=qty, ts=self.clock()))
                        if self.venue is not None:
                            self.venue.submit(child)
                    elif (not child.hold and child.quantity_raw < mo.filled_raw and child.status in OPEN_STATUSES
                          and child.status is not _S_PENDING_UPDATE and child.status is not _S_PENDING_CANCEL):
                        # a late fill grew the entry after its children were released: resize them to cover it
                        # (a protective exit, so not gated by risk; the venue confirms or refuses as for any modify)
                        self._record(ModifyRequested(client_order_id=cid, ts=self.clock(), quantity=qty))
                        if self.venue is not None and child.status is _S_PENDING_UPDATE:
                            self.venue.modify(child, qty, None, None)
            elif parent_done:
                for cid in mo.children:
                    child = orders[cid]
                    if child.hold and child.status is _S_INITIALIZED:
                        self._record(CancelRequested(client_order_id=cid, ts=self.clock()))
        if mo.oco and (mo.filled_raw or mo.status in (_S_CANCELED, _S_EXPIRED, _S_REJECTED)):
            for sid in mo.oco:
                sib = orders[sid]
                if sib.status in OPEN_STATUSES and sib.status is not _S_PENDING_CANCEL:
                    self._record(CancelRequested(client_order_id=sid, ts=self.clock()))
                    if self.venue is not None:
                        self.venue.cancel(sib)
                elif sib.hold and sib.status is _S_INITIALIZED and not mo.hold:
                    self._record(CancelRequested(client_order_id=sid, ts=self.clock()))


def funding_payment(position: Position, rate: str, mark: Price) -> Money:
    """The funding a position receives (positive) or pays (negative): ``-qty * mark * multiplier * rate``.

    ``rate`` is the period's funding rate as an exact decimal string (``"0.0001"``); longs pay a positive
    rate. Rounded half-even to the settlement currency's precision (venues settle funding to it).
    """
    from decimal import Decimal
    from fractions import Fraction

    from shrivenquant.oms.money import round_div

    r = Fraction(Decimal(rate))
    value, scale = position.notional_raw(mark)
    cp = position.currency.precision
    n = -value * r.numerator
    if scale >= cp:
        raw = round_div(n, r.denominator * POW10[scale - cp])
    else:
        raw = round_div(n * POW10[cp - scale], r.denominator)
    return Money.from_raw(raw, cp, position.currency)
