"""Order books: native L2 and L3 books and venue synchronisation."""

from shrivenquant._native.book import OrderBook
from shrivenquant._native.book_l3 import OrderBookL3
from shrivenquant.book.sync import BinanceBookSync, ReplayStats, iter_messages, replay_binance

__all__ = [
    "BinanceBookSync",
    "OrderBook",
    "OrderBookL3",
    "ReplayStats",
    "iter_messages",
    "replay_binance",
]
