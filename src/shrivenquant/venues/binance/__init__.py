"""Binance spot, USD-M and COIN-M futures: instrument definitions from ``exchangeInfo``."""

from shrivenquant.venues.binance.exchange_info import (
    COINM_VENUE,
    PERPETUAL_DELIVERY_MS,
    SPOT_VENUE,
    USDM_VENUE,
    load_exchange_info,
    parse_exchange_info,
)

__all__ = [
    "COINM_VENUE",
    "PERPETUAL_DELIVERY_MS",
    "SPOT_VENUE",
    "USDM_VENUE",
    "load_exchange_info",
    "parse_exchange_info",
]
