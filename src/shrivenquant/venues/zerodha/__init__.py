"""Zerodha Kite Connect: instrument definitions from Kite's instruments CSV."""

from shrivenquant.venues.zerodha.instruments import (
    EXPIRY_UTC_SECONDS_OF_DAY,
    KITE_COLUMNS,
    expiry_ns,
    load_kite_instruments,
    parse_kite_instruments,
)

__all__ = [
    "EXPIRY_UTC_SECONDS_OF_DAY",
    "KITE_COLUMNS",
    "expiry_ns",
    "load_kite_instruments",
    "parse_kite_instruments",
]
