"""Type stubs for ``shrivenquant._native.oms_core`` (compiled from ``src/_native/oms_core.pyx``)."""

from typing import Any, final

from typing_extensions import disjoint_base

def register_struct(cls: type) -> bool: ...
def set_fallback(encoder: object) -> None: ...
def encode_record(rec: object) -> bytes: ...
def configure(initialized: object, buy: object, managed_order: type) -> None: ...

@final
class OmsCore:
    def __init__(self, mgr: ManagerBase, tables: dict[str, Any]) -> None: ...
    def submit(self, order: object) -> object: ...
    def submitted(self, rec: object, log: bool) -> object: ...
    def simple(self, rec: object, log: bool) -> object: ...
    def filled(self, rec: object, log: bool) -> object: ...
    def apply(self, event: object) -> object: ...

@disjoint_base
class RiskGateCore:
    _engine: Any
    _ids: Any
    _inst: dict[str, tuple[int, int, int]]
    _order_id: Any
    _owner: dict[int, int]
    _strategy: int
    _strategy_fn: Any
    _reason: Any
    _valued_at_reference: Any
    _filled: Any
    _accepted: Any
    _rejected: Any
    _canceled: Any
    _expired: Any
    def check(self, order: object, manager: object, ts: object) -> object: ...
    def on_event(self, event: object, manager: object) -> None: ...

def configure_positions(fifo: object) -> None: ...
def configure_accounts(cash: object, money_scaled: object, validation_error: object) -> None: ...

@disjoint_base
class PositionBase:
    _lots: Any
    bought: int
    cost: int
    currency: Any
    fees: dict[str, int]
    fills: int
    funding: int
    instrument_id: str
    leg: Any
    method: Any
    mult_prec: int
    mult_raw: int
    price_prec: int
    qty: int
    realized: int
    size_prec: int
    sold: int
    def apply_fill(self, sign: int, qty: int, px: int) -> int: ...

@disjoint_base
class AccountBase:
    _rates: dict[str, Any]
    account_type: Any
    balances: dict[str, int]
    default_margin: Any
    margin: dict[str, Any]
    venue: str
    def apply_fill(self, spec: Any, sign: int, qty: int, px: int, realized: int) -> None: ...

@disjoint_base
class ManagerBase:
    snapshot_every: int
    _since_snapshot: int
    clock: Any
    venue: Any
