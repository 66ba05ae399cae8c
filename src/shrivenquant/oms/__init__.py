"""Order management: a table-driven order state machine, positions, PnL and accounts, journaled and
recoverable.

Entry point: :class:`OrderManager`. The transition table is :data:`TRANSITIONS` (see ``docs/oms.md``).
"""

from typing import Any

from shrivenquant.oms.accounts import Account, AccountType, MarginRates
from shrivenquant.oms.fees import FeeModel
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
from shrivenquant.oms.portfolio import ExposureLine, PortfolioView, portfolio_view
from shrivenquant.oms.positions import PnlMethod, Position, PositionLeg
from shrivenquant.oms.reconcile import (
    Difference,
    DiffKind,
    ReconcileReport,
    VenueOrder,
    VenuePosition,
    map_venue_status,
    reconcile,
)
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
from shrivenquant.oms.risk_gate import PreTradeRiskGate
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
    "DiffKind",
    "Difference",
    "ExecutionClient",
    "ExposureLine",
    "FeeModel",
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
    "PortfolioView",
    "Position",
    "PositionAdjusted",
    "PositionLeg",
    "PreTradeRiskGate",
    "ReconcileReport",
    "RecordingClient",
    "Released",
    "RiskGate",
    "Submitted",
    "VenueOrder",
    "VenuePosition",
    "WalJournal",
    "decode_record",
    "encode_record",
    "funding_payment",
    "lookup",
    "map_venue_status",
    "portfolio_view",
    "reconcile",
    "transition_table_markdown",
]


def __getattr__(name: str) -> Any:
    # WalJournal imports the WAL package; load it only when asked for
    if name == "WalJournal":
        from shrivenquant.oms.wal_journal import WalJournal

        return WalJournal
    raise AttributeError(f"module 'shrivenquant.oms' has no attribute {name!r}")
