"""Reason codes, trading states, batch operations and the batch record dtype of the risk engine.

The integer values are the native engine's (``src/_native/sq_risk.h``): they cross the native boundary
and are what the audit hook and :meth:`RiskEngine.process` report.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from shrivenquant._native.risk import N_REASONS, REASON_NAMES, RECORD_FIELDS

__all__ = ["RISK_OP_DTYPE", "BreakerCause", "KillState", "RejectReason", "RiskOp", "TradingState"]


class RejectReason(IntEnum):
    """Result of a check: ACCEPTED (0) or the first check that failed (the order of the checks is fixed)."""

    ACCEPTED = 0
    INVALID_ORDER = 1
    UNKNOWN_ORDER = 2
    KILL_SWITCH_GLOBAL = 3
    KILL_SWITCH_STRATEGY = 4
    REPEATED_EXECUTION = 5
    RESTRICTED_INSTRUMENT = 6
    TRADING_HALTED = 7
    REDUCE_ONLY = 8
    DAILY_LOSS_LIMIT = 9
    DRAWDOWN_LIMIT = 10
    DUPLICATE_ORDER_ID = 11
    NO_REFERENCE_PRICE = 12
    TICK_SIZE = 13
    LOT_SIZE = 14
    MIN_QTY = 15
    MAX_ORDER_QTY = 16
    PRICE_COLLAR = 17
    MIN_NOTIONAL = 18
    MAX_ORDER_NOTIONAL = 19
    MAX_OPEN_ORDERS = 20
    CREDIT_LIMIT = 21
    POSITION_LIMIT_NET = 22
    POSITION_LIMIT_GROSS = 23
    MARGIN = 24
    ORDER_TO_TRADE_RATIO = 25
    ORDER_RATE = 26
    MODIFY_RATE = 27
    CANCEL_RATE = 28


class TradingState(IntEnum):
    """ACTIVE: every check applies; REDUCING: only orders that reduce the position; HALTED: no new orders."""

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2


class BreakerCause(IntEnum):
    """Why a trading state was set: by hand, or by the daily-loss or drawdown breaker."""

    MANUAL = 0
    DAILY_LOSS = 1
    DRAWDOWN = 2


class KillState(IntEnum):
    """Kill switch: off, on by hand, or on because the repeated-execution throttle fired."""

    OFF = 0
    MANUAL = 1
    EXECUTION_THROTTLE = 2


class RiskOp(IntEnum):
    """Operation of one batch record (:data:`RISK_OP_DTYPE`)."""

    NEW = 1
    MODIFY = 2
    CANCEL = 3
    ACCEPTED = 4
    REJECTED = 5
    CANCELED = 6
    FILLED = 7
    MARK = 8
    REFERENCE = 9
    BALANCE = 10


#: One batch record, 48 bytes: ``ts`` (ns), ``order_id`` (> 0), ``price`` and ``qty`` (raw; ``qty`` is the
#: balance for BALANCE), ``instrument`` and ``strategy`` (indices), ``op`` (:class:`RiskOp`), ``side``
#: (1 buy, 2 sell).
RISK_OP_DTYPE = np.dtype([(name, fmt) for name, fmt in RECORD_FIELDS])

assert len(RejectReason) == N_REASONS and tuple(r.name for r in RejectReason) == REASON_NAMES
assert RISK_OP_DTYPE.itemsize == 48
