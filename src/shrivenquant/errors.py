"""One exception hierarchy for the whole library, rooted at :class:`ShrivenQuantError`.

Every error the library raises on bad input is one of these, with a message that says what was wrong
and what was expected. Errors about bad *values* also subclass :class:`ValueError` (and overflow also
:class:`OverflowError`) so that generic handlers, and msgspec's ``__post_init__`` conversion on decode,
keep working.

Hierarchy::

    ShrivenQuantError
    ├── ValidationError (ValueError)          bad input: malformed, out of range, inconsistent
    │   ├── PrecisionError                    a value does not fit the precision/tick/step asked for
    │   ├── CurrencyMismatchError             money of two different currencies combined
    │   ├── InstrumentError                   unknown instrument, or an instrument definition is invalid
    │   └── BookError                         an order-book update refers to an unknown or duplicate order, or
    │                                         executes / cancels more than rests (``index``: the record)
    ├── ShrivenQuantTypeError (TypeError)     a value of an unsupported type was given to a constructor
    ├── FixedPointOverflowError (OverflowError)  a fixed-point result does not fit in int64
    ├── DecodeError (ValueError)              a venue message or recording could not be decoded
    ├── SequenceGapError                      a venue sequence number skipped: resync needed
    ├── RiskRejectionError                    a pre-trade risk check refused an order
    ├── WalError                              a write-ahead-log operation failed
    │   ├── WalCorruptionError                a WAL record failed its checksum or framing, or a segment is missing
    │   └── WalPoisonedError                  a WAL writer refuses work after a write or fsync error
    └── ConnectorError                        a venue connection or request failed
"""

from __future__ import annotations

__all__ = [
    "BookError",
    "ConnectorError",
    "CurrencyMismatchError",
    "DecodeError",
    "FixedPointOverflowError",
    "InstrumentError",
    "InvalidTransitionError",
    "MissingDependencyError",
    "OrderError",
    "PrecisionError",
    "RiskRejectionError",
    "SequenceGapError",
    "ShrivenQuantError",
    "ShrivenQuantTypeError",
    "SweepError",
    "UnknownOrderError",
    "ValidationError",
    "WalCorruptionError",
    "WalError",
    "WalPoisonedError",
]


class ShrivenQuantError(Exception):
    """Root of every exception raised by shrivenquant."""


class ValidationError(ShrivenQuantError, ValueError):
    """Bad input: malformed, out of range, or inconsistent with other fields."""


class PrecisionError(ValidationError):
    """A value cannot be represented exactly at the precision, tick or step that was asked for."""


class CurrencyMismatchError(ValidationError):
    """Two amounts in different currencies were combined."""


class InstrumentError(ValidationError):
    """An instrument is unknown, or its definition is invalid."""


class BookError(ValidationError):
    """An order-book update that does not fit the book: an unknown order id, a duplicate add, an execute
    or cancel of more than the resting size, or a malformed update (bad side, missing price, size <= 0).

    Attributes:
        index: the failing record's index in a batch (``apply_events``), else None.
        order_id: the order the update referred to, if any.
    """

    def __init__(self, message: str, *, index: int | None = None, order_id: int | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.order_id = order_id


class ShrivenQuantTypeError(ShrivenQuantError, TypeError):
    """A value of an unsupported type was given (e.g. ``Price([1])``).

    Operators between types that make no sense (``Price + Quantity``) raise Python's own ``TypeError``,
    as the built-in numbers do.
    """


class FixedPointOverflowError(ShrivenQuantError, OverflowError):
    """A fixed-point result does not fit in a signed 64-bit raw integer."""


class DecodeError(ShrivenQuantError, ValueError):
    """A venue message or a recording line could not be decoded."""


class SequenceGapError(ShrivenQuantError):
    """A venue sequence number skipped: the local state is stale and must be resynchronised.

    Attributes:
        expected: the sequence number that should have come next.
        received: the sequence number that came.
    """

    def __init__(self, message: str, *, expected: int | None = None, received: int | None = None) -> None:
        super().__init__(message)
        self.expected = expected
        self.received = received


class RiskRejectionError(ShrivenQuantError):
    """A pre-trade risk check refused an order; ``check`` names the rule that fired."""

    def __init__(self, message: str, *, check: str | None = None) -> None:
        super().__init__(message)
        self.check = check


class WalError(ShrivenQuantError):
    """A write-ahead-log operation failed (the log is locked by another writer, closed, or misused)."""


class WalCorruptionError(WalError):
    """A write-ahead-log record failed its checksum or framing, or a segment is missing.

    Attributes:
        segment: the segment (or manifest) file name, if the damage is in one file.
        offset: the byte offset in that file where the damage starts.
        reason: a short description of what failed.
    """

    def __init__(self, message: str, *, offset: int | None = None, segment: str | None = None,
                 reason: str | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.segment = segment
        self.reason = reason


class ConnectorError(ShrivenQuantError):
    """A venue connection or request failed; ``status`` and ``code`` carry the venue's answer if any."""

    def __init__(self, message: str, *, status: int | None = None, code: int | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class OrderError(ValidationError):
    """An order command or venue order event that the order manager cannot accept: a duplicate client
    order id, a modify or cancel of a finished order, a fill beyond the order quantity, a venue order id
    that contradicts the one on record. ``client_order_id`` names the order, if known."""

    def __init__(self, message: str, *, client_order_id: str | None = None) -> None:
        super().__init__(message)
        self.client_order_id = client_order_id


class UnknownOrderError(OrderError):
    """An event or command refers to an order id (client or venue) the order manager does not know."""


class InvalidTransitionError(OrderError):
    """An event that the order state machine does not allow in the order's current status.

    Attributes:
        status: the order's status name when the event arrived.
        event: the event kind name.
    """

    def __init__(self, message: str, *, client_order_id: str | None = None, status: str | None = None,
                 event: str | None = None) -> None:
        super().__init__(message, client_order_id=client_order_id)
        self.status = status
        self.event = event


class WalPoisonedError(WalError):
    """A write-ahead-log writer refused an operation because an earlier write or fsync failed (fail-stop:
    after an I/O error the durability of what was written is unknown); reopen the log to recover."""


class MissingDependencyError(ShrivenQuantError, ImportError):
    """An optional dependency (an extra such as ``ray``) is needed for what was asked and is not installed;
    the message names the package and the pip command."""


class SweepError(ShrivenQuantError):
    """A configuration of a parameter sweep failed; the cause is chained (``__cause__``).

    Attributes:
        index: the configuration's position in the grid.
        config: the configuration.
    """

    def __init__(self, message: str, *, index: int | None = None, config: object = None) -> None:
        super().__init__(message)
        self.index = index
        self.config = config
