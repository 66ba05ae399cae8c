"""Kite instruments CSV → Instruments, on the real kiteconnect-mocks dumps."""

from __future__ import annotations

import gzip
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shrivenquant._native.fixed import Currency, Money, Price, Quantity
from shrivenquant.core.enums import InstrumentKind, OptionRight
from shrivenquant.core.instrument import Instrument
from shrivenquant.core.serialization import from_json, from_msgpack, to_json, to_msgpack
from shrivenquant.errors import DecodeError, InstrumentError, PrecisionError
from shrivenquant.venues.zerodha import (
    EXPIRY_UTC_SECONDS_OF_DAY,
    KITE_COLUMNS,
    expiry_ns,
    load_kite_instruments,
    parse_kite_instruments,
)

IST = timezone(timedelta(hours=5, minutes=30))
HEADER = ",".join(KITE_COLUMNS)


def mocks(shared_data: Path, name: str) -> Path:
    path = shared_data / "zerodha-kite" / "kiteconnect-mocks" / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def by_symbol(instruments: list[Instrument]) -> dict[str, Instrument]:
    return {i.symbol: i for i in instruments}


def ist_1530_ns(day: str) -> int:
    d = date.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, 15, 30, tzinfo=IST).timestamp()) * 1_000_000_000


@pytest.fixture(scope="module")
def all_rows(shared_data: Path) -> list[Instrument]:
    return load_kite_instruments(mocks(shared_data, "instruments_all.csv"))


@pytest.fixture(scope="module")
def kite(all_rows: list[Instrument]) -> dict[str, Instrument]:
    return by_symbol(all_rows)


# ---------------------------------------------------------------------------------------------- real dumps

def test_counts_by_venue_and_kind(all_rows: list[Instrument], shared_data: Path) -> None:
    assert len(all_rows) == 99
    assert Counter((i.venue, i.kind, i.option_right) for i in all_rows) == {
        ("NSE", InstrumentKind.EQUITY, None): 55,
        ("BSE", InstrumentKind.EQUITY, None): 19,
        ("NFO", InstrumentKind.OPTION, OptionRight.CALL): 10,
        ("NFO", InstrumentKind.OPTION, OptionRight.PUT): 15,
    }
    nse = load_kite_instruments(mocks(shared_data, "instruments_nse.csv"))
    assert len(nse) == 99
    assert {(i.venue, i.kind) for i in nse} == {("NSE", InstrumentKind.EQUITY)}
    assert all(i.quote == "INR" and i.settlement == "INR" and i.size_step == Quantity("1") for i in all_rows)
    assert all(i.venue_token is not None for i in all_rows)


def test_banknifty_call_row(kite: dict[str, Instrument]) -> None:
    # 12073986,47164,BANKNIFTY18JAN23500CE,,2528.4,2018-01-25,23500.0,0.05,40,CE,NFO-OPT,NFO
    opt = kite["BANKNIFTY18JAN23500CE"]
    assert opt.id == "BANKNIFTY18JAN23500CE.NFO"
    assert opt.kind is InstrumentKind.OPTION
    assert opt.option_right is OptionRight.CALL
    assert opt.strike == Price("23500")
    assert opt.venue_token == 12073986
    assert opt.lot_size == 40
    assert opt.price_tick == Price("0.05")
    assert opt.price_precision == 2
    assert opt.expiry_ns == ist_1530_ns("2018-01-25")
    assert opt.expiry_ns == 1516874400 * 1_000_000_000  # 2018-01-25T10:00:00Z
    assert opt.underlying is None  # the "name" column is empty for options in this dump
    assert opt.check_order(Price("2528.40"), Quantity("40")) == Money("101136.00", "INR")
    with pytest.raises(PrecisionError, match="whole number of lots of 40"):
        opt.check_qty(Quantity("60"))


def test_adaniports_put_and_indiacem_rows(kite: dict[str, Instrument]) -> None:
    # 13693186,53489,ADANIPORTS17DEC490PE,,80.65,2017-12-28,490.0,0.05,2500,PE,NFO-OPT,NFO
    put = kite["ADANIPORTS17DEC490PE"]
    assert (put.option_right, put.strike, put.lot_size, put.venue_token) == (
        OptionRight.PUT, Price("490"), 2500, 13693186)
    assert put.expiry_ns == ist_1530_ns("2017-12-28")
    # 21227522,82920,INDIACEM17DEC225CE,,0.4,2017-12-28,225.0,0.05,3500,CE,NFO-OPT,NFO
    call = kite["INDIACEM17DEC225CE"]
    assert (call.option_right, call.strike, call.lot_size) == (OptionRight.CALL, Price("225"), 3500)
    # 13842434,54072,BANKNIFTY17NOV23600PE,,3.0,2017-11-30,23600.0,0.05,40,PE,NFO-OPT,NFO
    assert kite["BANKNIFTY17NOV23600PE"].expiry_ns == ist_1530_ns("2017-11-30")


def test_equity_rows(kite: dict[str, Instrument]) -> None:
    # 3813889,14898,CENTRALBK-BE,CENTRAL BANK OF INDIA,0.0,,0.0,0.05,1,EQ,NSE,NSE
    eq = kite["CENTRALBK-BE"]
    assert (eq.venue, eq.kind, eq.venue_token, eq.price_tick, eq.lot_size) == (
        "NSE", InstrumentKind.EQUITY, 3813889, Price("0.05"), 1)
    assert (eq.expiry_ns, eq.strike, eq.option_right, eq.underlying, eq.base) == (None, None, None, None, None)
    assert eq.quote_currency == Currency.of("INR")
    # 2928385,11439,BANKBEES,RELIANCE ETF BANK BEES,0.0,,0.0,0.01,1,EQ,NSE,NSE
    assert kite["BANKBEES"].price_tick == Price("0.01")
    # 136484868,533144,COX&KINGS,COX & KINGS,0.0,,0.0,0.05,1,EQ,BSE,BSE
    assert kite["COX&KINGS"].venue == "BSE" and kite["COX&KINGS"].venue_token == 136484868


def test_bse_bond_trades_in_lots(kite: dict[str, Instrument]) -> None:
    # 112655620,440061,828GOI27-ML,828GOI2027,0.0,,0.0,0.25,500000,EQ,BSE,BSE
    bond = kite["828GOI27-ML"]
    assert (bond.price_tick, bond.lot_size, bond.venue_token) == (Price("0.25"), 500000, 112655620)
    assert bond.check_qty(Quantity("1000000")) == Quantity("1000000")
    with pytest.raises(PrecisionError, match="lots of 500000"):
        bond.check_qty(Quantity("1"))
    with pytest.raises(PrecisionError, match="tick 0.25"):
        bond.check_price(Price("101.10"))


def test_real_rows_round_trip(all_rows: list[Instrument]) -> None:
    assert from_msgpack(to_msgpack(all_rows), list[Instrument]) == all_rows
    assert from_json(to_json(all_rows), list[Instrument]) == all_rows


def test_mutual_fund_csv_is_refused(shared_data: Path) -> None:
    with pytest.raises(DecodeError, match="header lacks instrument_token"):
        load_kite_instruments(mocks(shared_data, "mf_instruments.csv"))


# ---------------------------------------------------------------------------------------------- Kite-format rows
# Hand-written rows in Kite's format for the types the mock dumps do not contain (INFY's token and
# exchange token are those of the ticker fixtures: 408065 = 1594 << 8 | 1).

def test_infy_future_and_index_rows() -> None:
    text = "\n".join([
        HEADER,
        "408065,1594,INFY,INFOSYS,1299.05,,0.0,0.05,1,EQ,NSE,NSE",
        "13238786,51714,NIFTY24AUGFUT,NIFTY,24500.0,2024-08-29,0.0,0.05,25,FUT,NFO-FUT,NFO",
        "256265,1001,NIFTY 50,NIFTY 50,24367.5,,0.0,0.0,0,EQ,INDICES,NSE",
        "12345678,48225,NIFTY24AUG22500.5PE,NIFTY,1.5,2024-08-29,22500.50,0.05,25,PE,NFO-OPT,NFO",
    ]) + "\n"
    rows = by_symbol(parse_kite_instruments(text))
    infy = rows["INFY"]
    assert (infy.venue_token, infy.venue, infy.kind, infy.price_tick) == (408065, "NSE", InstrumentKind.EQUITY,
                                                                         Price("0.05"))
    assert infy.venue_token is not None and infy.venue_token >> 8 == 1594
    fut = rows["NIFTY24AUGFUT"]
    assert (fut.kind, fut.lot_size, fut.underlying, fut.strike) == (InstrumentKind.FUTURE, 25, "NIFTY", None)
    assert fut.expiry_ns == ist_1530_ns("2024-08-29")
    index = rows["NIFTY 50"]
    assert index.kind is InstrumentKind.INDEX
    assert (index.price_tick, index.lot_size) == (Price("0.01"), 1)  # Kite lists tick 0 and lot 0
    opt = rows["NIFTY24AUG22500.5PE"]
    assert opt.strike == Price("22500.5") and opt.strike.precision == 1
    assert opt.underlying == "NIFTY"


def test_header_order_extra_columns_bom_and_blank_lines() -> None:
    cols = [*reversed(KITE_COLUMNS), "extra"]
    fields = ["408065", "1594", "INFY", "INFOSYS", "0.0", "", "0.0", "0.05", "1", "EQ", "NSE", "NSE"]
    values = dict(zip(KITE_COLUMNS, fields, strict=True))
    values["extra"] = "x"
    text = "\ufeff" + ",".join(cols) + "\r\n\r\n" + ",".join(values[c] for c in cols) + "\r\n"
    (infy,) = parse_kite_instruments(text)
    assert (infy.symbol, infy.venue_token) == ("INFY", 408065)


def test_quoted_fields() -> None:
    text = HEADER + '\n136484868,533144,COX&KINGS,"COX & KINGS, LTD",0.0,,0.0,0.05,1,EQ,BSE,BSE\n'
    (row,) = parse_kite_instruments(text)
    assert row.symbol == "COX&KINGS"


def test_header_only_gives_no_instruments() -> None:
    assert parse_kite_instruments(HEADER + "\n") == []


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2200, 12, 31)))
def test_expiry_is_1530_ist(day: date) -> None:
    expected = datetime(day.year, day.month, day.day, 15, 30, tzinfo=IST)
    assert expiry_ns(day) == int(expected.timestamp()) * 1_000_000_000
    assert expiry_ns(day) % 86_400_000_000_000 == EXPIRY_UTC_SECONDS_OF_DAY * 1_000_000_000


# ---------------------------------------------------------------------------------------------- errors

GOOD = "12073986,47164,BANKNIFTY18JAN23500CE,,2528.4,2018-01-25,23500.0,0.05,40,CE,NFO-OPT,NFO"


@pytest.mark.parametrize(("row", "message"), [
    (GOOD.replace(",CE,", ",XX,"), r"line 3 \(NFO:BANKNIFTY18JAN23500CE\): unknown instrument_type 'XX'"),
    (GOOD.replace(",0.05,", ",abc,"), r"line 3 .*invalid Price 'abc'"),
    (GOOD.replace(",0.05,", ",0.0,"), r"line 3 .*tick_size must be > 0"),
    (GOOD.replace("2018-01-25", ""), r"line 3 .*a CE row needs an expiry date"),
    (GOOD.replace("2018-01-25", "25-01-2018"), r"line 3 .*bad expiry '25-01-2018': expected YYYY-MM-DD"),
    (GOOD.replace("23500.0", "0.0"), r"line 3 .*an option needs a strike > 0"),
    (GOOD.replace(",40,", ",forty,"), r"line 3 .*bad lot_size 'forty'"),
    (GOOD.replace(",40,", ",0,"), r"line 3 .*lot_size must be >= 1"),
    (GOOD.replace("12073986", "-1"), r"line 3 .*bad instrument_token '-1'"),
    (GOOD.replace(",NFO-OPT,NFO", ",NFO-OPT,"), r"line 3 .*needs a venue and a symbol"),
    (GOOD + ",x", r"line 3: expected 12 fields, got 13"),
    ("1,2,3", r"line 3: expected 12 fields, got 3"),
])
def test_bad_rows_raise_instrument_error_naming_the_line(row: str, message: str) -> None:
    text = f"{HEADER}\n{GOOD}\n{row}\n"
    with pytest.raises(InstrumentError, match=message):
        parse_kite_instruments(text)


def test_bad_header_or_empty_text_raise_decode_error() -> None:
    with pytest.raises(DecodeError, match="empty Kite instruments CSV"):
        parse_kite_instruments("")
    with pytest.raises(DecodeError, match="header lacks tick_size, lot_size"):
        parse_kite_instruments(HEADER.replace("tick_size,lot_size,", "") + "\n")


def test_load_gzip_and_encoding_errors(tmp_path: Path) -> None:
    gz = tmp_path / "instruments.csv.gz"
    gz.write_bytes(gzip.compress(f"{HEADER}\n{GOOD}\n".encode()))
    (opt,) = load_kite_instruments(gz)
    assert opt.symbol == "BANKNIFTY18JAN23500CE"
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(f"{HEADER}\n".encode() + b"1,2,CAF\xc9,x,0,,0,0.05,1,EQ,NSE,NSE\n")
    with pytest.raises(DecodeError, match="cannot read a Kite instruments CSV"):
        load_kite_instruments(latin)
    corrupt = tmp_path / "corrupt.csv.gz"
    corrupt.write_bytes(gzip.compress(HEADER.encode())[:-5])
    with pytest.raises(DecodeError, match="cannot read a Kite instruments CSV"):
        load_kite_instruments(corrupt)
    with pytest.raises(OSError):
        load_kite_instruments(tmp_path / "missing.csv")
