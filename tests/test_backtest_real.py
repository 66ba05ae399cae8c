"""Backtests on the real Binance recordings (skipped cleanly without /work/shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shrivenquant.backtest import BacktestEngine, MarketMaker, VenueConfig, binance_book_events
from shrivenquant.book import OrderBook, replay_binance
from shrivenquant.core.events import EventKind


@pytest.mark.slow
def test_market_maker_on_usdm_recording(shared_data: Path) -> None:
    rec = shared_data / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
    info = shared_data / "binance-cryptofeed" / "BINANCE_FUTURES.0.gz"
    if not rec.exists() or not info.exists():
        pytest.skip("real Binance recording or exchangeInfo capture not present")
    from shrivenquant.venues.binance.exchange_info import load_exchange_info
    from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, read_recording

    insts = load_exchange_info(info)
    dec = BinanceRecordingDecoder({i.symbol: i for i in insts})
    dec.decode_lines(read_recording(rec))
    raw = dec.flush()
    ev = binance_book_events(raw)
    # the synchronised stream rebuilds the same book as the book issue's replay
    k = dec.symbols["BTCUSDT"].instrument_id
    inst = next(i for i in insts if i.symbol == "BTCUSDT")
    ref = OrderBook(inst.price_precision, inst.size_precision, 10)
    replay_binance(raw[raw["instrument_id"] == k], ref, "futures", check_bbo=False)
    mine = OrderBook(inst.price_precision, inst.size_precision, 10)
    book_kinds = (ev["kind"] == EventKind.LEVEL) | (ev["kind"] == EventKind.CLEAR)
    mine.apply_events(ev[book_kinds & (ev["instrument_id"] == k)])
    assert [a.tolist() for a in mine.depth(50)] == [a.tolist() for a in ref.depth(50)]
    assert (np.diff(ev["ts_local"]) >= 0).all()
    table = [None] * (k + 1)
    table[k] = inst
    venue = {inst.venue: VenueConfig(entry_latency_ns=2_000_000, response_latency_ns=2_000_000,
                                     maker_fee="-0.0001", taker_fee="0.0004")}
    r = BacktestEngine(table, MarketMaker(k, qty=2, skew_qty=4, max_position=20), venues=venue).run(ev)
    s = r.summary()
    assert s["fills"] > 100 and s["maker_fills"] == s["fills"]
    assert abs(r.om.position(inst.id).qty) <= 20
    fees = r.fills["fee"].sum()
    assert fees < 0  # maker rebates
