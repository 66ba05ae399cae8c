"""Layer 1: the pre-trade risk gate (native checks, kill switch, throttles, breakers).

- :class:`PreTradeRisk`: the gate over domain types (``Order``, ``Price``, order events), built from a
  :class:`RiskConfig` and the instruments; ``PreTradeRisk.engine`` is the native
  :class:`~shrivenquant._native.risk.RiskEngine` for raw-int calls (the fast path).
- :class:`RiskConfig` and its parts: frozen msgspec structs, loadable from TOML or JSON
  (:func:`load_config`).
- :class:`RejectReason`: one code per check; :data:`RISK_OP_DTYPE`: the batch record.
- :class:`ReferenceRiskModel`: the same rules in plain Python (test oracle and benchmark baseline).

See ``docs/risk.md`` for every check, its parameters, units and reason code.
"""

from shrivenquant._native.risk import RiskEngine, reason_name
from shrivenquant.risk.config import (
    AccountLimits,
    Breaker,
    InstrumentLimits,
    OrderToTradeRatio,
    PriceCollar,
    RiskConfig,
    StrategyLimits,
    Throttle,
)
from shrivenquant.risk.engine import PreTradeRisk, configure, engine_arguments
from shrivenquant.risk.loading import config_from_dict, config_from_json, config_from_toml, load_config
from shrivenquant.risk.reasons import RISK_OP_DTYPE, BreakerCause, KillState, RejectReason, RiskOp, TradingState
from shrivenquant.risk.reference import ReferenceRiskModel

__all__ = [
    "RISK_OP_DTYPE",
    "AccountLimits",
    "Breaker",
    "BreakerCause",
    "InstrumentLimits",
    "KillState",
    "OrderToTradeRatio",
    "PreTradeRisk",
    "PriceCollar",
    "ReferenceRiskModel",
    "RejectReason",
    "RiskConfig",
    "RiskEngine",
    "RiskOp",
    "StrategyLimits",
    "Throttle",
    "TradingState",
    "config_from_dict",
    "config_from_json",
    "config_from_toml",
    "configure",
    "engine_arguments",
    "load_config",
    "reason_name",
]
