"""Binance spot, USD-M and COIN-M futures: instrument definitions from ``exchangeInfo``; decoding of
recorded market-data streams into event records; a synthetic USD-M-style stream."""

from shrivenquant.venues.binance.exchange_info import (
    COINM_VENUE,
    PERPETUAL_DELIVERY_MS,
    SPOT_VENUE,
    USDM_VENUE,
    load_exchange_info,
    parse_exchange_info,
)
from shrivenquant.venues.binance.recording import (
    BinanceRecordingDecoder,
    DecodeStats,
    RecordedLine,
    SymbolInfo,
    decode_file,
    detect_format,
    read_cryptofeed,
    read_hftbacktest,
    read_recording,
)
from shrivenquant.venues.binance.synthetic import (
    SYNTHETIC_SYMBOL,
    generate_stream,
    synthetic_exchange_info,
    synthetic_instrument,
    write_stream,
)

__all__ = [
    "COINM_VENUE",
    "PERPETUAL_DELIVERY_MS",
    "SPOT_VENUE",
    "SYNTHETIC_SYMBOL",
    "USDM_VENUE",
    "BinanceRecordingDecoder",
    "DecodeStats",
    "RecordedLine",
    "SymbolInfo",
    "decode_file",
    "detect_format",
    "generate_stream",
    "load_exchange_info",
    "parse_exchange_info",
    "read_cryptofeed",
    "read_hftbacktest",
    "read_recording",
    "synthetic_exchange_info",
    "synthetic_instrument",
    "write_stream",
]
