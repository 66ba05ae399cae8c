"""Order books: native L2 and L3 books and venue synchronisation."""

from shrivenquant.book.sync import BinanceBookSync, ReplayStats, iter_messages, replay_binance

__all__ = [
    "BinanceBookSync",
    "ReplayStats",
    "iter_messages",
    "replay_binance",
]
