"""shrivenquant: a low-latency trading library with native hot paths under a thin, typed Python API.

``import shrivenquant`` loads almost nothing; the public names below are resolved on first use, so a
strategy script pays only for the parts it touches (see ``docs/conventions.md``).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # avoids importing typing at run time

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "Price": "shrivenquant._native.fixed",
    "Quantity": "shrivenquant._native.fixed",
    "Money": "shrivenquant._native.fixed",
    "Currency": "shrivenquant._native.fixed",
    "Rounding": "shrivenquant._native.fixed",
    "Instrument": "shrivenquant.core.instrument",
    "Bar": "shrivenquant.core.market",
    "TradeTick": "shrivenquant.core.market",
    "QuoteTick": "shrivenquant.core.market",
    "Order": "shrivenquant.core.orders",
    "EVENT_DTYPE": "shrivenquant.core.events",
    "EventKind": "shrivenquant.core.events",
    "EventFlag": "shrivenquant.core.events",
    "errors": "shrivenquant.errors",
    "sweep": "shrivenquant.sweep",  # a callable package: shrivenquant.sweep(strategy, grid, data)
    "core": "shrivenquant.core",
}

__all__ = [
    "EVENT_DTYPE",
    "Bar",
    "Currency",
    "EventFlag",
    "EventKind",
    "Instrument",
    "Money",
    "Order",
    "Price",
    "Quantity",
    "QuoteTick",
    "Rounding",
    "TradeTick",
    "__version__",
    "core",
    "errors",
]

if TYPE_CHECKING:
    from shrivenquant import core, errors
    from shrivenquant._native.fixed import Currency, Money, Price, Quantity, Rounding
    from shrivenquant.core.events import EVENT_DTYPE, EventFlag, EventKind
    from shrivenquant.core.instrument import Instrument
    from shrivenquant.core.market import Bar, QuoteTick, TradeTick
    from shrivenquant.core.orders import Order


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shrivenquant' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
