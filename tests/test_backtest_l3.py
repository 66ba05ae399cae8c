"""The engine on market-by-order data (LOBSTER sample) with exact FIFO queue positions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shrivenquant import Price, Quantity
from shrivenquant.backtest import BacktestEngine, MarketMaker, VenueConfig
from shrivenquant.core import Instrument, InstrumentKind


def test_market_maker_on_lobster_l3(shared_data: Path) -> None:
    files = sorted((shared_data / "lobster").glob("amzn_2021-04-12_first30min/*message*"))
    if not files:
        pytest.skip("LOBSTER sample not present")
    from shrivenquant.venues.lobster import load_messages

    ev = load_messages(files[0])
    inst = Instrument(venue="NASDAQ", symbol="AMZN", kind=InstrumentKind.EQUITY, quote="USD", base="AMZN",
                      price_tick=Price("0.0001"), size_step=Quantity("1"))
    venue = {"NASDAQ": VenueConfig(book_type="l3", entry_latency_ns=100_000, response_latency_ns=100_000)}

    def once() -> object:
        return BacktestEngine([inst], MarketMaker(qty=10, skew_qty=50, max_position=100), venues=venue).run(ev)

    a, b = once(), once()
    assert a.fills.size > 5 and (a.fills["liquidity"] == 1).all()  # passive quotes fill as maker only
    assert a.fills.tobytes() == b.fills.tobytes()
    # every maker fill is at the order's own price, inside the range the market traded
    trades = ev[ev["kind"] == 7]
    assert trades["price"].min() <= a.fills["price"].min() and a.fills["price"].max() <= trades["price"].max()
    assert int(np.where(a.fills["side"] == 1, a.fills["qty"], -a.fills["qty"]).sum()) == a.om.position(inst.id).qty
