"""Venue adapters: parsers and connectors for each venue.

* :mod:`shrivenquant.venues.binance` — Binance spot, USD-M and COIN-M futures.
* :mod:`shrivenquant.venues.zerodha` — Zerodha Kite Connect (NSE, BSE, NFO, ...).
"""
