"""Order management: a table-driven order state machine, positions, PnL and accounts, journaled and
recoverable.

Entry point: :class:`OrderManager`. The transition table is :data:`TRANSITIONS` (see ``docs/oms.md``).
"""

from shrivenquant.oms.accounts import Account, AccountType, MarginRates
from shrivenquant.oms.interfaces import (
    AllowAll,
    ExecutionClient,
    Journal,
    LimitsGate,
    MemoryJournal,
    RecordingClient,
    RiskGate,
)
from shrivenquant.oms.manager import OmsType, OrderManager, Outcome, funding_payment
from shrivenquant.oms.order import ManagedOrder
from shrivenquant.oms.positions import PnlMethod, Position, PositionLeg
from shrivenquant.oms.records import (
    BalanceChanged,
    CancelRejected,
    CancelRequested,
    Denied,
    FundingPaid,
    JournalRecord,
    ModifyRejected,
    ModifyRequested,
    PositionAdjusted,
    Released,
    Submitted,
    decode_record,
    encode_record,
)
from shrivenquant.oms.states import (
    IGNORE,
    PREVIOUS,
    TRANSITIONS,
    Keep,
    OrderEventKind,
    OrderStatus,
    lookup,
    transition_table_markdown,
)

__all__ = [
    "IGNORE",
    "PREVIOUS",
    "TRANSITIONS",
    "Account",
    "AccountType",
    "AllowAll",
    "BalanceChanged",
    "CancelRejected",
    "CancelRequested",
    "Denied",
    "ExecutionClient",
    "FundingPaid",
    "Journal",
    "JournalRecord",
    "Keep",
    "LimitsGate",
    "ManagedOrder",
    "MarginRates",
    "MemoryJournal",
    "ModifyRejected",
    "ModifyRequested",
    "OmsType",
    "OrderEventKind",
    "OrderManager",
    "OrderStatus",
    "Outcome",
    "PnlMethod",
    "Position",
    "PositionAdjusted",
    "PositionLeg",
    "RecordingClient",
    "Released",
    "RiskGate",
    "Submitted",
    "decode_record",
    "encode_record",
    "funding_payment",
    "lookup",
    "transition_table_markdown",
]
