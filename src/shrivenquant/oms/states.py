"""The order state machine as data: one table ``(status, event kind) -> outcome``.

Everything about order life cycles is driven by :data:`TRANSITIONS`: the :class:`OrderManager`
looks transitions up here, ``docs/oms.md`` renders it (:func:`transition_table_markdown`) and the
property tests walk it. A pair missing from the table is an illegal transition and raises
:class:`~shrivenquant.errors.InvalidTransitionError`.

An outcome is one of:

* a target :class:`OrderStatus`;
* :data:`PREVIOUS`: go back to the status held before the pending request (a modify or cancel that
  the venue rejected, or a modify it confirmed);
* :data:`IGNORE`: a late or duplicate venue event that changes nothing (an ack after the order is
  already done, a second cancel confirmation ...); the manager reports it and applies nothing;
* ``Keep(prev)``: stay in the pending status but remember that the status underneath is now ``prev``
  (a partial fill, an ack or a trigger arriving while a cancel or modify is in flight).

The statuses are NautilusTrader's 14; fills are split into two event kinds (``FILL_PARTIAL`` when
quantity is left after the fill, ``FILL_FULL`` when it completes the order) so that the table stays a
pure function.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

__all__ = [
    "IGNORE",
    "OPEN_STATUSES",
    "PENDING_STATUSES",
    "PREVIOUS",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "Keep",
    "OrderEventKind",
    "OrderStatus",
    "lookup",
    "transition_table_markdown",
]


class OrderStatus(IntEnum):
    """NautilusTrader's 14 order statuses (values are stable: they are journaled)."""

    INITIALIZED = 1
    DENIED = 2
    EMULATED = 3
    RELEASED = 4
    SUBMITTED = 5
    ACCEPTED = 6
    REJECTED = 7
    CANCELED = 8
    EXPIRED = 9
    TRIGGERED = 10
    PENDING_UPDATE = 11
    PENDING_CANCEL = 12
    PARTIALLY_FILLED = 13
    FILLED = 14


class OrderEventKind(IntEnum):
    """What can happen to an order: local commands and venue events (values are stable)."""

    DENY = 1            # pre-trade risk refused it (local)
    EMULATE = 2         # held locally by an emulator
    RELEASE = 3         # released from emulation / contingency hold
    SUBMIT = 4          # sent to the venue (local)
    ACCEPT = 5          # venue ack
    REJECT = 6          # venue refused the order
    PENDING_UPDATE = 7  # modify request sent (local)
    PENDING_CANCEL = 8  # cancel request sent (local)
    UPDATE = 9          # venue confirmed a modify (or amended the order itself)
    MODIFY_REJECT = 10  # venue refused a modify
    CANCEL_REJECT = 11  # venue refused a cancel
    CANCEL = 12         # venue canceled the order
    EXPIRE = 13         # time in force ran out
    TRIGGER = 14        # stop price touched
    FILL_PARTIAL = 15   # a fill leaving quantity open
    FILL_FULL = 16      # a fill completing the order


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: Outcome: restore the status held before the pending request.
PREVIOUS: Final = _Sentinel("PREVIOUS")
#: Outcome: a late or duplicate event; nothing changes.
IGNORE: Final = _Sentinel("IGNORE")


class Keep:
    """Outcome: stay in the current pending status; the status underneath becomes ``prev``."""

    __slots__ = ("prev",)

    def __init__(self, prev: OrderStatus) -> None:
        self.prev = prev

    def __repr__(self) -> str:
        return f"Keep({self.prev.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Keep) and other.prev is self.prev

    def __hash__(self) -> int:
        return hash(("Keep", self.prev))


Outcome = OrderStatus | _Sentinel | Keep

S = OrderStatus
E = OrderEventKind

# Late responses to our own requests, once the venue has already told us something newer.
_LATE_REPLIES = {E.CANCEL_REJECT: IGNORE, E.MODIFY_REJECT: IGNORE}
# What a finished order ignores: acks, confirmations and replies that arrive after the end.
_AFTER_END = {E.ACCEPT: IGNORE, E.CANCEL: IGNORE, E.EXPIRE: IGNORE, E.TRIGGER: IGNORE, E.UPDATE: IGNORE,
              **_LATE_REPLIES}

#: The state machine. Pairs not present are illegal.
TRANSITIONS: Final[dict[OrderStatus, dict[OrderEventKind, Outcome]]] = {
    S.INITIALIZED: {
        E.DENY: S.DENIED, E.EMULATE: S.EMULATED, E.RELEASE: S.RELEASED, E.SUBMIT: S.SUBMITTED,
        # external orders (found by reconciliation) enter straight at the venue's status
        E.ACCEPT: S.ACCEPTED, E.REJECT: S.REJECTED, E.CANCEL: S.CANCELED, E.EXPIRE: S.EXPIRED,
        E.TRIGGER: S.TRIGGERED,
        E.UPDATE: S.INITIALIZED,  # a held (contingent) order amended in place
    },
    S.EMULATED: {E.CANCEL: S.CANCELED, E.EXPIRE: S.EXPIRED, E.RELEASE: S.RELEASED, E.UPDATE: S.EMULATED},
    S.RELEASED: {E.SUBMIT: S.SUBMITTED, E.DENY: S.DENIED, E.CANCEL: S.CANCELED},
    S.SUBMITTED: {
        E.PENDING_UPDATE: S.PENDING_UPDATE, E.PENDING_CANCEL: S.PENDING_CANCEL, E.REJECT: S.REJECTED,
        E.CANCEL: S.CANCELED, E.EXPIRE: S.EXPIRED,  # IOC/FOK remainders (Binance reports EXPIRED)
        E.ACCEPT: S.ACCEPTED, E.UPDATE: S.SUBMITTED,
        E.FILL_PARTIAL: S.PARTIALLY_FILLED, E.FILL_FULL: S.FILLED,
    },
    S.ACCEPTED: {
        E.REJECT: S.REJECTED,  # a stop-limit refused when it triggers
        E.PENDING_UPDATE: S.PENDING_UPDATE, E.PENDING_CANCEL: S.PENDING_CANCEL, E.CANCEL: S.CANCELED,
        E.TRIGGER: S.TRIGGERED, E.EXPIRE: S.EXPIRED, E.UPDATE: S.ACCEPTED,
        E.FILL_PARTIAL: S.PARTIALLY_FILLED, E.FILL_FULL: S.FILLED,
        E.ACCEPT: IGNORE, **_LATE_REPLIES,
    },
    S.TRIGGERED: {
        E.REJECT: S.REJECTED, E.PENDING_UPDATE: S.PENDING_UPDATE, E.PENDING_CANCEL: S.PENDING_CANCEL,
        E.CANCEL: S.CANCELED, E.EXPIRE: S.EXPIRED, E.UPDATE: S.TRIGGERED,
        E.FILL_PARTIAL: S.PARTIALLY_FILLED, E.FILL_FULL: S.FILLED,
        E.ACCEPT: IGNORE, E.TRIGGER: IGNORE, **_LATE_REPLIES,
    },
    S.PENDING_UPDATE: {
        E.REJECT: S.REJECTED, E.CANCEL: S.CANCELED, E.EXPIRE: S.EXPIRED,
        E.PENDING_CANCEL: S.PENDING_CANCEL, E.PENDING_UPDATE: S.PENDING_UPDATE,
        E.UPDATE: PREVIOUS, E.MODIFY_REJECT: PREVIOUS,
        E.ACCEPT: Keep(S.ACCEPTED), E.TRIGGER: Keep(S.TRIGGERED), E.FILL_PARTIAL: Keep(S.PARTIALLY_FILLED),
        E.FILL_FULL: S.FILLED, E.CANCEL_REJECT: IGNORE,
    },
    S.PENDING_CANCEL: {
        E.REJECT: S.REJECTED, E.CANCEL: S.CANCELED, E.EXPIRE: S.EXPIRED,
        E.CANCEL_REJECT: PREVIOUS,
        E.ACCEPT: Keep(S.ACCEPTED), E.TRIGGER: Keep(S.TRIGGERED), E.FILL_PARTIAL: Keep(S.PARTIALLY_FILLED),
        E.FILL_FULL: S.FILLED, E.UPDATE: Keep(S.ACCEPTED), E.MODIFY_REJECT: IGNORE,
    },
    S.PARTIALLY_FILLED: {
        E.PENDING_UPDATE: S.PENDING_UPDATE, E.PENDING_CANCEL: S.PENDING_CANCEL, E.CANCEL: S.CANCELED,
        E.EXPIRE: S.EXPIRED, E.UPDATE: S.PARTIALLY_FILLED,
        E.FILL_PARTIAL: S.PARTIALLY_FILLED, E.FILL_FULL: S.FILLED,
        E.ACCEPT: IGNORE, E.TRIGGER: IGNORE, **_LATE_REPLIES,
    },
    # terminal statuses
    S.DENIED: {},
    S.REJECTED: {E.REJECT: IGNORE, **_LATE_REPLIES},
    # a fill racing the cancel (or the expiry): it happened before the venue removed the order
    S.CANCELED: {E.FILL_FULL: S.FILLED, E.FILL_PARTIAL: S.CANCELED, **_AFTER_END},
    S.EXPIRED: {E.FILL_FULL: S.FILLED, E.FILL_PARTIAL: S.EXPIRED, **_AFTER_END},
    S.FILLED: dict(_AFTER_END),
}

#: Statuses in which the order is done: nothing but late fills and ignored events can follow.
TERMINAL_STATUSES: Final = frozenset({S.DENIED, S.REJECTED, S.CANCELED, S.EXPIRED, S.FILLED})
#: Statuses with a request in flight.
PENDING_STATUSES: Final = frozenset({S.PENDING_UPDATE, S.PENDING_CANCEL})
#: Statuses in which the order may still trade at the venue (or is about to be sent).
OPEN_STATUSES: Final = frozenset({S.SUBMITTED, S.ACCEPTED, S.TRIGGERED, S.PENDING_UPDATE, S.PENDING_CANCEL,
                                  S.PARTIALLY_FILLED})

# Flat lookup array: index status * 32 + kind (hot path: one list index, no dict hashing).
_FLAT: list[Outcome | None] = [None] * (32 * 32)
for _s, _row in TRANSITIONS.items():
    for _e, _o in _row.items():
        _FLAT[_s * 32 + _e] = _o


def lookup(status: OrderStatus, kind: OrderEventKind) -> Outcome | None:
    """The outcome of ``kind`` in ``status``, or None when the transition is illegal."""
    return _FLAT[status * 32 + kind]


def _cell(outcome: Outcome | None) -> str:
    if outcome is None:
        return ""
    if isinstance(outcome, OrderStatus):
        return outcome.name
    if isinstance(outcome, Keep):
        return f"= (prev {outcome.prev.name})"
    return outcome.name.lower()


def transition_table_markdown() -> str:
    """The transition table as Markdown: one row per status, one column per event kind.

    Cells: the target status; ``previous`` (back to the status before the pending request);
    ``ignore`` (late/duplicate: no change); ``= (prev X)`` (stay pending, status underneath becomes X);
    empty: illegal (raises ``InvalidTransitionError``).
    """
    kinds = list(OrderEventKind)
    head = "| status \\ event | " + " | ".join(k.name for k in kinds) + " |"
    sep = "|---|" + "---|" * len(kinds)
    rows = [head, sep]
    for status in OrderStatus:
        row = TRANSITIONS[status]
        rows.append(f"| **{status.name}** | " + " | ".join(_cell(row.get(k)) for k in kinds) + " |")
    return "\n".join(rows) + "\n"
