"""Decode a recorded Binance stream into event records and look at its top of book with NumPy.

Run: python examples/replay_recording.py [PATH]   (default: the USD-M BTCUSDT recording in ../shared/data,
or a generated stream when that is absent)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from shrivenquant.core import EventKind, format_decimals
from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, decode_file, read_hftbacktest
from shrivenquant.venues.binance.synthetic import generate_stream

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/data/binance-hftbacktest/usdm_btcusdt_20240808.gz"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if path.exists():
        events, stats = decode_file(path)
        print(f"{path.name}: {stats.lines} lines -> {events.size} records")
    else:
        instrument, lines = generate_stream(5_000, seed=1)
        decoder = BinanceRecordingDecoder([instrument])
        decoder.decode_lines(read_hftbacktest(lines))
        events, stats = decoder.flush(), decoder.stats
        print(f"generated {instrument.symbol}: {stats.lines} lines -> {events.size} records")
    (symbol, info), *_ = stats.symbols.items()
    bbo = events[events["kind"] == EventKind.BBO]
    bids, asks = bbo[bbo["side"] == 1]["price"], bbo[bbo["side"] == 2]["price"]
    n = min(bids.size, asks.size)
    spread = asks[:n] - bids[:n]
    print(f"{symbol}: {n} top-of-book updates, spread in raw units: min {spread.min()}, "
          f"median {int(np.median(spread))}, max {spread.max()}")
    print("last five bids:", format_decimals(bids[-5:], info.price_precision))


if __name__ == "__main__":
    main()
