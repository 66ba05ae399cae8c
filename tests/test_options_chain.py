# ruff: noqa: N806  (finance notation: F, K, T)
"""NFO option chains from Kite instruments: grouping, forwards, implied vols, smile, Greeks, Arrow export."""

from __future__ import annotations

import csv
import math
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant.core.enums import InstrumentKind, OptionRight
from shrivenquant.core.instrument import Instrument
from shrivenquant.errors import ValidationError
from shrivenquant.options import (
    IST,
    IVStatus,
    black76_greeks,
    black76_price,
    build_chains,
    nse_expiry,
    synthetic_forward,
)
from shrivenquant.venues.zerodha.instruments import expiry_ns, load_kite_instruments, parse_kite_instruments

KITE_CSV = "zerodha-kite/kiteconnect-mocks/instruments_all.csv"


def _ns(t: datetime) -> int:
    return int(t.timestamp()) * 1_000_000_000


def test_real_kite_instruments_chain(shared_data: Path) -> None:
    path = shared_data / KITE_CSV
    instruments = load_kite_instruments(path)
    with path.open() as fh:
        last = {int(r["instrument_token"]): float(r["last_price"]) for r in csv.DictReader(fh)}
    chains = build_chains(instruments)
    names = {(c.underlying, c.expiry_ns) for c in chains}
    jan = expiry_ns(date(2018, 1, 25))
    assert ("BANKNIFTY", jan) in names and ("INDIANB", expiry_ns(date(2017, 12, 28))) in names
    bank = next(c for c in chains if c.underlying == "BANKNIFTY" and c.expiry_ns == jan)
    assert list(bank.strikes) == [23400.0, 23500.0, 23600.0, 23700.0] and bank.lot_size == 40
    assert bank.future_token is None
    now = _ns(datetime(2017, 12, 15, 11, 0, tzinfo=IST))
    res = bank.analyse(last, now, 0.065)
    assert res.forward_source == "synthetic"
    assert res.time_to_expiry == (41 * 1440 + 270) / 525600  # 11:00 IST -> 15:30 IST on 25 Jan 2018
    t = res.table
    assert (t["call_status"] == IVStatus.OK).all() and (t["put_status"] == IVStatus.OK).all()
    # every implied vol reprices its quote with Black-76 on the forward
    F, T = res.forward, res.time_to_expiry
    np.testing.assert_allclose(black76_price(True, F, t["strike"], T, 0.065, t["call_iv"]), t["call_price"], rtol=1e-12)
    np.testing.assert_allclose(black76_price(False, F, t["strike"], T, 0.065, t["put_iv"]), t["put_price"], rtol=1e-12)
    # all strikes are below F: the smile is the put side
    assert (t["strike"] < F).all()
    np.testing.assert_array_equal(t["smile_iv"], t["put_iv"])
    g = black76_greeks(True, F, t["strike"], T, 0.065, t["smile_iv"], theta="day", vega="percent")
    np.testing.assert_allclose(t["call_delta"], g.delta, rtol=1e-15)
    np.testing.assert_allclose(t["vega"], g.vega, rtol=1e-15)
    table = res.to_arrow()
    assert table.num_rows == 4 and table.schema.metadata[b"underlying"] == b"BANKNIFTY"
    # a chain where one strike lacks its call: put IV still found, the missing call has no quote
    indiacem = next(c for c in chains if c.underlying == "INDIACEM")
    r2 = indiacem.analyse(last, now, 0.065)
    assert r2.table["call_token"][0] == -1 and math.isnan(r2.table["call_iv"][0])
    assert r2.table["call_status"][0] == IVStatus.INVALID_INPUT


def _synthetic_instruments(expiry: date) -> tuple[list[Instrument], dict[int, float], np.ndarray]:
    rows = ["instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,"
            "instrument_type,segment,exchange"]
    strikes = np.arange(24_000.0, 26_001.0, 100.0)
    tok = 1000
    rows.append(f"{tok},1,NIFTY25JANFUT,NIFTY,0,{expiry.isoformat()},0,0.05,75,FUT,NFO-FUT,NFO")
    for K in strikes:
        for right in ("CE", "PE"):
            tok += 1
            rows.append(f"{tok},1,NIFTY25JAN{int(K)}{right},NIFTY,0,{expiry.isoformat()},{K},0.05,75,{right},"
                        "NFO-OPT,NFO")
    return parse_kite_instruments("\n".join(rows)), {}, strikes


def test_chain_recovers_a_known_smile_with_future_and_synthetic_forward() -> None:
    F, r, expiry = 25_010.0, 0.065, date(2025, 1, 30)
    instruments, quotes, strikes = _synthetic_instruments(expiry)
    (chain,) = build_chains(instruments, underlying="NIFTY")
    assert chain.future_token == 1000
    now = _ns(datetime(2025, 1, 27, 10, 0, tzinfo=IST))
    T = (int(nse_expiry(expiry).timestamp()) - int(datetime(2025, 1, 27, 10, 0, tzinfo=IST).timestamp())) / 60 / 525600
    smile = 0.12 + 0.5 * np.log(strikes / F) ** 2 - 0.1 * np.log(strikes / F)
    calls = black76_price(True, F, strikes, T, r, smile)
    puts = black76_price(False, F, strikes, T, r, smile)
    quotes[1000] = F
    for i in range(strikes.size):
        quotes[int(chain.call_tokens[i])] = float(calls[i])
        quotes[int(chain.put_tokens[i])] = float(puts[i])
    res = chain.analyse(quotes, now, r)
    assert res.forward_source == "future" and res.forward == F
    good = res.table["call_status"] == IVStatus.OK
    np.testing.assert_allclose(res.table["call_iv"][good], smile[good], rtol=1e-10)
    otm = np.where(strikes >= F, res.table["call_iv"], res.table["put_iv"])
    np.testing.assert_allclose(res.table["smile_iv"], otm, rtol=0, atol=0)
    np.testing.assert_allclose(res.smile()[1], smile, rtol=1e-9)
    del quotes[1000]
    syn = chain.analyse(quotes, now, r)
    assert syn.forward_source == "synthetic" and syn.forward == pytest.approx(F, rel=1e-12)
    assert synthetic_forward(strikes, calls, puts, T, r) == pytest.approx(F, rel=1e-12)
    given = chain.analyse(quotes, now, r, forward=25_000.0)
    assert given.forward_source == "given"


def test_chain_errors() -> None:
    with pytest.raises(ValidationError, match="synthetic forward"):
        synthetic_forward(np.array([100.0]), np.array([np.nan]), np.array([1.0]), 0.1, 0.05)
    bad = Instrument(venue="NFO", symbol="123", kind=InstrumentKind.OPTION, quote="INR", settlement="INR",
                     price_tick=Price("0.05"), size_step=Quantity(1), lot_size=1, expiry_ns=1,
                     strike=Price("100"), option_right=OptionRight.CALL)
    with pytest.raises(ValidationError, match="underlying"):
        build_chains([bad])
