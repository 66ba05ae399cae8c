"""Binance exchangeInfo → Instruments, on the real cryptofeed captures (spot, USD-M, COIN-M)."""

from __future__ import annotations

import copy
import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shrivenquant._native.fixed import Currency, Money, Price, Quantity, Rounding
from shrivenquant.core.enums import InstrumentKind
from shrivenquant.core.instrument import Instrument
from shrivenquant.core.serialization import from_json, from_msgpack, to_json, to_msgpack
from shrivenquant.errors import DecodeError, InstrumentError, PrecisionError, ValidationError
from shrivenquant.venues.binance import (
    COINM_VENUE,
    PERPETUAL_DELIVERY_MS,
    SPOT_VENUE,
    USDM_VENUE,
    load_exchange_info,
    parse_exchange_info,
)

SPOT_FILE, USDM_FILE, COINM_FILE = "BINANCE.0.gz", "BINANCE_FUTURES.0.gz", "BINANCE_DELIVERY.0.gz"


def capture(shared_data: Path, name: str) -> Path:
    path = shared_data / "binance-cryptofeed" / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def capture_body(path: Path) -> bytes:
    """The response body of the capture's first line (independent of the loader under test)."""
    first = gzip.decompress(path.read_bytes()).split(b"\n", 1)[0]
    url, _, rest = first.partition(b" -> ")
    assert url.endswith(b"/exchangeInfo")
    return rest.partition(b": ")[2]


def by_symbol(instruments: list[Instrument]) -> dict[str, Instrument]:
    out = {i.symbol: i for i in instruments}
    assert len(out) == len(instruments)  # symbols are unique
    return out


@pytest.fixture(scope="module")
def spot_doc(shared_data: Path) -> dict[str, Any]:
    return json.loads(capture_body(capture(shared_data, SPOT_FILE)))


@pytest.fixture(scope="module")
def spot(shared_data: Path) -> dict[str, Instrument]:
    return by_symbol(load_exchange_info(capture(shared_data, SPOT_FILE)))


@pytest.fixture(scope="module")
def usdm(shared_data: Path) -> dict[str, Instrument]:
    return by_symbol(load_exchange_info(capture(shared_data, USDM_FILE)))


@pytest.fixture(scope="module")
def coinm(shared_data: Path) -> dict[str, Instrument]:
    return by_symbol(load_exchange_info(capture(shared_data, COINM_FILE)))


def ms_utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1000


# ---------------------------------------------------------------------------------------------- spot

def test_spot_counts_and_kinds(spot: dict[str, Instrument], shared_data: Path) -> None:
    assert len(spot) == 1695  # every symbol of the 2021-10-12 response: none has a zero tick
    assert {i.kind for i in spot.values()} == {InstrumentKind.SPOT}
    assert {i.venue for i in spot.values()} == {SPOT_VENUE}
    assert all(i.settlement == i.quote and not i.inverse and i.expiry_ns is None for i in spot.values())
    trading = load_exchange_info(capture(shared_data, SPOT_FILE), trading_only=True)
    assert len(trading) == 1262  # the other 433 are in BREAK
    assert sum(1 for i in trading if i.quote == "USDT") == 315
    assert sum(1 for i in spot.values() if i.market_max_qty is not None) == 1614  # MARKET_LOT_SIZE present


def test_spot_btcusdt_filters(spot: dict[str, Instrument]) -> None:
    btc = spot["BTCUSDT"]
    assert btc.id == "BTCUSDT.BINANCE"
    assert (btc.base, btc.quote, btc.settlement) == ("BTC", "USDT", "USDT")
    # PRICE_FILTER tickSize/minPrice/maxPrice "0.01000000"/"0.01000000"/"1000000.00000000"
    assert btc.price_tick == Price("0.01")
    assert (btc.price_tick.raw, btc.price_tick.precision) == (1, 2)  # trailing zeros dropped
    assert btc.price_precision == 2
    assert btc.min_price == Price("0.01")
    assert btc.max_price == Price("1000000")
    # LOT_SIZE stepSize/minQty/maxQty "0.00001000"/"0.00001000"/"9000.00000000"
    assert btc.size_step == Quantity("0.00001")
    assert btc.size_precision == 5
    assert btc.min_qty == Quantity("0.00001")
    assert btc.max_qty == Quantity("9000")
    # MARKET_LOT_SIZE maxQty "100.05381873"; MIN_NOTIONAL minNotional "10.00000000"
    assert btc.market_max_qty == Quantity("100.05381873")
    assert btc.min_notional == Money("10", "USDT")
    assert btc.max_notional is None
    assert btc.multiplier == Quantity("1")


def test_spot_ethbtc_and_a_fiat_quote(spot: dict[str, Instrument]) -> None:
    eth = spot["ETHBTC"]
    assert (eth.price_tick, eth.size_step) == (Price("0.000001"), Quantity("0.0001"))
    assert eth.min_notional == Money("0.0001", "BTC")
    rune = spot["RUNEEUR"]
    assert (rune.price_tick, rune.size_step, rune.min_qty) == (Price("0.001"), Quantity("0.1"), Quantity("0.1"))
    assert rune.min_notional == Money("10", "EUR")
    assert rune.quote_currency == Currency.of("EUR")


def test_spot_btcusdt_order_checks_on_real_rules(spot: dict[str, Instrument]) -> None:
    btc = spot["BTCUSDT"]
    assert btc.check_order(Price("57000.00"), Quantity("0.00018")) == Money("10.26", "USDT")
    with pytest.raises(ValidationError, match="below the minimum 10 USDT"):
        btc.check_order(Price("57000.00"), Quantity("0.00017"))  # 9.69 USDT
    with pytest.raises(PrecisionError, match="tick"):
        btc.check_order(Price("57000.005"), Quantity("0.001"))
    with pytest.raises(ValidationError, match="market order quantity"):
        btc.check_qty(Quantity("101"), market=True)
    assert btc.make_price(57000.125, Rounding.HALF_EVEN) == Price("57000.12")
    assert btc.make_qty("0.000185", Rounding.DOWN) == Quantity("0.00018")


def test_spot_values_are_exactly_the_strings(spot: dict[str, Instrument], spot_doc: dict[str, Any]) -> None:
    checked = 0
    for sym in spot_doc["symbols"]:
        inst = spot[sym["symbol"]]
        f = {x["filterType"]: x for x in sym["filters"]}
        assert inst.price_tick.as_decimal() == Decimal(f["PRICE_FILTER"]["tickSize"])
        assert inst.size_step.as_decimal() == Decimal(f["LOT_SIZE"]["stepSize"])
        assert inst.min_qty is not None and inst.min_qty.as_decimal() == Decimal(f["LOT_SIZE"]["minQty"])
        assert inst.max_qty is not None and inst.max_qty.as_decimal() == Decimal(f["LOT_SIZE"]["maxQty"])
        assert inst.min_notional is not None
        assert inst.min_notional.as_decimal() == Decimal(f["MIN_NOTIONAL"]["minNotional"])
        assert inst.min_notional.currency == Currency.of(sym["quoteAsset"])
        assert inst.price_tick.precision == inst.price_precision
        checked += 1
    assert checked == 1695


# ---------------------------------------------------------------------------------------------- USD-M

def test_usdm_counts_and_kinds(usdm: dict[str, Instrument]) -> None:
    assert len(usdm) == 122
    assert Counter(i.kind for i in usdm.values()) == {InstrumentKind.PERPETUAL: 120, InstrumentKind.FUTURE: 2}
    assert {i.venue for i in usdm.values()} == {USDM_VENUE}
    assert Counter(i.settlement for i in usdm.values()) == {"USDT": 120, "BUSD": 2}  # marginAsset
    assert all(i.settlement == i.quote for i in usdm.values())
    assert not any(i.inverse for i in usdm.values())


def test_usdm_btcusdt_perpetual(usdm: dict[str, Instrument]) -> None:
    btc = usdm["BTCUSDT"]
    assert btc.kind is InstrumentKind.PERPETUAL
    assert btc.expiry_ns is None  # deliveryDate 4133404800000 is the perpetual placeholder
    assert (btc.price_tick, btc.size_step) == (Price("0.01"), Quantity("0.001"))
    assert (btc.min_price, btc.max_price) == (Price("556.72"), Price("1000000"))
    assert (btc.min_qty, btc.max_qty, btc.market_max_qty) == (Quantity("0.001"), Quantity("1000"), Quantity("1000"))
    assert btc.min_notional == Money("5", "USDT")  # futures MIN_NOTIONAL uses "notional"
    with pytest.raises(ValidationError, match="below the minimum 556.72"):
        btc.check_price(Price("500.00"))


def test_usdm_quarterly_expiry(usdm: dict[str, Instrument]) -> None:
    q = usdm["BTCUSDT_210924"]
    assert q.kind is InstrumentKind.FUTURE
    assert q.expiry_ns == 1632470400000 * 1_000_000
    assert q.expiry_ns == ms_utc("2021-09-24T08:00:00") * 1_000_000
    assert (q.price_tick, q.market_max_qty) == (Price("0.1"), Quantity("30"))


def test_usdm_pending_listing_with_empty_contract_type_is_a_perpetual(
    usdm: dict[str, Instrument], shared_data: Path
) -> None:
    btcst = usdm["BTCSTUSDT"]  # contractType "", status PENDING_TRADING
    assert btcst.kind is InstrumentKind.PERPETUAL
    assert (btcst.price_tick, btcst.size_step) == (Price("0.001"), Quantity("0.1"))
    trading = by_symbol(load_exchange_info(capture(shared_data, USDM_FILE), trading_only=True))
    assert len(trading) == 121
    assert "BTCSTUSDT" not in trading


# ---------------------------------------------------------------------------------------------- COIN-M

def test_coinm_counts_and_contracts(coinm: dict[str, Instrument]) -> None:
    assert len(coinm) == 36
    assert Counter(i.kind for i in coinm.values()) == {InstrumentKind.PERPETUAL: 18, InstrumentKind.FUTURE: 18}
    assert {i.venue for i in coinm.values()} == {COINM_VENUE}
    assert all(i.inverse and i.quote == "USD" and i.settlement == i.base for i in coinm.values())
    assert all(i.min_notional is None for i in coinm.values())  # COIN-M has no MIN_NOTIONAL filter


def test_coinm_btc_quarterly(coinm: dict[str, Instrument]) -> None:
    q = coinm["BTCUSD_211231"]  # NEXT_QUARTER on 2021-07-22
    assert q.kind is InstrumentKind.FUTURE
    assert q.expiry_ns == 1640937600000 * 1_000_000
    assert q.expiry_ns == ms_utc("2021-12-31T08:00:00") * 1_000_000
    assert (q.base, q.quote, q.settlement) == ("BTC", "USD", "BTC")
    assert q.multiplier == Quantity("100")  # contractSize: 100 USD per contract
    assert (q.price_tick, q.size_step, q.min_qty) == (Price("0.1"), Quantity("1"), Quantity("1"))
    assert (q.min_price, q.max_price, q.market_max_qty) == (Price("1000"), Price("1000000"), Quantity("500"))
    # inverse: 3 contracts are 300 USD whatever the price
    assert q.check_order(Price("32000.0"), Quantity("3")) == Money("300", "USD")
    assert q.notional(Price("45000.5"), Quantity("3")) == Money("300", "USD")
    assert coinm["BTCUSD_210924"].expiry_ns == ms_utc("2021-09-24T08:00:00") * 1_000_000


def test_coinm_eth_perpetual(coinm: dict[str, Instrument]) -> None:
    eth = coinm["ETHUSD_PERP"]
    assert eth.kind is InstrumentKind.PERPETUAL and eth.expiry_ns is None
    assert eth.multiplier == Quantity("10")
    assert (eth.price_tick, eth.min_price) == (Price("0.01"), Price("50"))
    assert coinm["DOGEUSD_PERP"].price_tick == Price("0.000001")


# ---------------------------------------------------------------------------------------------- inputs and formats

def test_parse_bytes_str_and_venue_override(shared_data: Path) -> None:
    body = capture_body(capture(shared_data, COINM_FILE))
    from_bytes = parse_exchange_info(body)
    assert from_bytes == parse_exchange_info(body.decode())
    assert from_bytes == load_exchange_info(capture(shared_data, COINM_FILE))
    renamed = parse_exchange_info(body, venue="BINANCE_DAPI")
    assert {i.venue for i in renamed} == {"BINANCE_DAPI"}
    assert [i.symbol for i in renamed] == [i.symbol for i in from_bytes]


def test_load_plain_json_gzip_and_uncompressed_capture(shared_data: Path, tmp_path: Path) -> None:
    src = capture(shared_data, USDM_FILE)
    expected = load_exchange_info(src)
    body = capture_body(src)
    plain = tmp_path / "exchangeInfo.json"
    plain.write_bytes(body)
    assert load_exchange_info(plain) == expected
    gz = tmp_path / "exchangeInfo.json.gz"
    gz.write_bytes(gzip.compress(body))
    assert load_exchange_info(str(gz)) == expected
    raw_capture = tmp_path / "BINANCE_FUTURES.0"
    raw_capture.write_bytes(gzip.decompress(src.read_bytes()))
    assert load_exchange_info(raw_capture) == expected


def test_capture_picks_the_exchange_info_line_by_url(shared_data: Path, tmp_path: Path) -> None:
    body = capture_body(capture(shared_data, COINM_FILE))
    lines = [
        b"https://dapi.binance.com/dapi/v1/depth?symbol=BTCUSD_PERP&limit=1000 -> 1626916403.1: "
        b'{"lastUpdateId":1,"bids":[],"asks":[]}',
        b"https://dapi.binance.com/dapi/v1/exchangeInfo -> 1626916402.988238: " + body,
        b'configuration: {"ticker":["BTC-USD-PERP"]}',
    ]
    path = tmp_path / "mixed.0"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert len(load_exchange_info(path)) == 36


def test_every_real_instrument_round_trips(shared_data: Path) -> None:
    for name in (SPOT_FILE, USDM_FILE, COINM_FILE):
        instruments = load_exchange_info(capture(shared_data, name))
        assert from_msgpack(to_msgpack(instruments), list[Instrument]) == instruments
        assert from_json(to_json(instruments), list[Instrument]) == instruments


# ---------------------------------------------------------------------------------------------- zero tick rule

def _one(spot_doc: dict[str, Any], symbol: str) -> dict[str, Any]:
    return copy.deepcopy(next(s for s in spot_doc["symbols"] if s["symbol"] == symbol))


def _filter(sym: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(f for f in sym["filters"] if f["filterType"] == kind)


def test_zero_or_absent_tick_or_step_skips_the_symbol(spot_doc: dict[str, Any]) -> None:
    keep = _one(spot_doc, "ETHBTC")
    zero_tick = _one(spot_doc, "BTCUSDT")
    _filter(zero_tick, "PRICE_FILTER").update(tickSize="0.00000000", minPrice="0.00000000", maxPrice="0.00000000")
    zero_step = _one(spot_doc, "NKNUSDT")
    _filter(zero_step, "LOT_SIZE")["stepSize"] = "0.00000000"
    no_price_filter = _one(spot_doc, "LRCBTC")
    no_price_filter["filters"] = [f for f in no_price_filter["filters"] if f["filterType"] != "PRICE_FILTER"]
    no_tick = _one(spot_doc, "BLZETH")
    del _filter(no_tick, "PRICE_FILTER")["tickSize"]
    doc = {"symbols": [zero_tick, keep, zero_step, no_price_filter, no_tick]}
    assert [i.symbol for i in parse_exchange_info(json.dumps(doc))] == ["ETHBTC"]


def test_zero_bounds_mean_no_bound(spot_doc: dict[str, Any]) -> None:
    sym = _one(spot_doc, "BTCUSDT")
    _filter(sym, "PRICE_FILTER").update(minPrice="0.00000000", maxPrice="0.00000000")
    _filter(sym, "MIN_NOTIONAL")["minNotional"] = "0.00000000"
    (inst,) = parse_exchange_info(json.dumps({"symbols": [sym]}))
    assert (inst.min_price, inst.max_price, inst.min_notional) == (None, None, None)
    assert inst.price_tick == Price("0.01")


def test_newer_spot_notional_filter(spot_doc: dict[str, Any]) -> None:
    sym = _one(spot_doc, "BTCUSDT")
    sym["filters"] = [f for f in sym["filters"] if f["filterType"] != "MIN_NOTIONAL"] + [{
        "filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
        "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5}]
    (inst,) = parse_exchange_info(json.dumps({"symbols": [sym]}))
    assert inst.min_notional == Money("5", "USDT")
    assert inst.max_notional == Money("9000000", "USDT")
    with pytest.raises(ValidationError, match="above the maximum 9000000 USDT"):
        inst.check_notional(Price("100000.00"), Quantity("90.00001"))
    # with both MIN_NOTIONAL (10) and NOTIONAL (5) the stricter minimum applies
    both = _one(spot_doc, "BTCUSDT")
    both["filters"].append({"filterType": "NOTIONAL", "minNotional": "5.00000000", "maxNotional": "0"})
    (inst2,) = parse_exchange_info(json.dumps({"symbols": [both]}))
    assert (inst2.min_notional, inst2.max_notional) == (Money("10", "USDT"), None)


def test_unknown_quote_asset_is_registered(spot_doc: dict[str, Any]) -> None:
    sym = _one(spot_doc, "BTCUSDT")
    sym.update(symbol="BTCZQTESTQ", quoteAsset="ZQTESTQ")
    (inst,) = parse_exchange_info(json.dumps({"symbols": [sym]}))
    assert inst.min_notional == Money("10", "ZQTESTQ")
    assert Currency.of("ZQTESTQ").precision == 8


# ---------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize(("data", "message"), [
    (b"", "invalid Binance exchangeInfo JSON"),
    (b"{", "invalid Binance exchangeInfo JSON"),
    (b"[1, 2]", "invalid Binance exchangeInfo JSON"),
    (b'{"symbols": {}}', r"symbols"),
    (b'{"symbols": [{"symbol": "X"}]}', "baseAsset"),
    (b'{"code": -1121, "msg": "Invalid symbol."}', "error response: code -1121: Invalid symbol."),
    (b'{"timezone": "UTC"}', "no 'symbols' array"),
])
def test_malformed_documents_raise_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        parse_exchange_info(data)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("tickSize", "abc", r"symbol 'BTCUSDT': bad tickSize 'abc': invalid Price"),
    ("tickSize", "-0.01", r"symbol 'BTCUSDT': bad tickSize '-0.01': expected a decimal >= 0"),
    ("tickSize", "", r"symbol 'BTCUSDT': bad tickSize ''"),
    ("maxPrice", "1e400", r"symbol 'BTCUSDT': bad maxPrice '1e400': .*does not fit in int64"),
])
def test_bad_decimals_raise_decode_error(spot_doc: dict[str, Any], field: str, value: str, message: str) -> None:
    sym = _one(spot_doc, "BTCUSDT")
    _filter(sym, "PRICE_FILTER")[field] = value
    with pytest.raises(DecodeError, match=message):
        parse_exchange_info(json.dumps({"symbols": [sym]}))


def test_non_string_decimal_raises_decode_error(spot_doc: dict[str, Any]) -> None:
    sym = _one(spot_doc, "BTCUSDT")
    _filter(sym, "PRICE_FILTER")["tickSize"] = 0.01  # a float on the wire: refused, never read inexactly
    where = r"`\$\.symbols\[0\]\.filters\[0\]\.tickSize`"
    with pytest.raises(DecodeError, match=r"Expected `str \| null`, got `float` - at " + where):
        parse_exchange_info(json.dumps({"symbols": [sym]}))


def test_inconsistent_symbol_raises_instrument_error(spot_doc: dict[str, Any]) -> None:
    sym = _one(spot_doc, "BTCUSDT")
    _filter(sym, "LOT_SIZE").update(minQty="10.00000000", maxQty="1.00000000")
    with pytest.raises(InstrumentError, match=r"BTCUSDT\.BINANCE: max_qty 1 < min_qty 10"):
        parse_exchange_info(json.dumps({"symbols": [sym]}))


def test_futures_contract_rules(shared_data: Path) -> None:
    doc = json.loads(capture_body(capture(shared_data, COINM_FILE)))
    quarterly = next(s for s in doc["symbols"] if s["symbol"] == "BTCUSD_211231")
    no_date = copy.deepcopy(quarterly)
    no_date["deliveryDate"] = PERPETUAL_DELIVERY_MS
    with pytest.raises(DecodeError, match="'BTCUSD_211231': contractType 'NEXT_QUARTER' needs a deliveryDate"):
        parse_exchange_info(json.dumps({"symbols": [no_date]}))
    delivering = copy.deepcopy(quarterly)
    delivering["contractType"] = "PERPETUAL_DELIVERING"  # a perpetual being delisted: it has an expiry
    (inst,) = parse_exchange_info(json.dumps({"symbols": [delivering]}))
    assert inst.kind is InstrumentKind.FUTURE and inst.expiry_ns == 1640937600000 * 1_000_000
    no_size = copy.deepcopy(quarterly)
    del no_size["contractSize"]
    with pytest.raises(DecodeError, match="'BTCUSD_211231': a COIN-M contract needs a contractSize"):
        parse_exchange_info(json.dumps({"symbols": [quarterly, no_size]}))
    bad_size = copy.deepcopy(quarterly)
    bad_size["contractSize"] = "ten"
    with pytest.raises(DecodeError, match="'BTCUSD_211231': bad contractSize 'ten'"):
        parse_exchange_info(json.dumps({"symbols": [bad_size]}))
    bad_size["contractSize"] = 0
    with pytest.raises(DecodeError, match="'BTCUSD_211231': contractSize must be > 0"):
        parse_exchange_info(json.dumps({"symbols": [bad_size]}))


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_exchange_info(tmp_path / "missing.json")
    no_info = tmp_path / "BINANCE.http.0.0"
    no_info.write_bytes(b"https://api.binance.com/api/v3/depth?symbol=X -> 1.5: {}\nconfiguration: {}\n")
    with pytest.raises(DecodeError, match="no exchangeInfo response found"):
        load_exchange_info(no_info)
    bad_ts = tmp_path / "bad_ts.0"
    bad_ts.write_bytes(b'https://api.binance.com/api/v3/exchangeInfo -> yesterday: {"symbols": []}\n')
    with pytest.raises(DecodeError, match=r"bad_ts\.0:1: malformed cryptofeed line"):
        load_exchange_info(bad_ts)
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(gzip.compress(b'{"symbols": []}')[:-6])
    with pytest.raises(DecodeError, match="corrupt gzip"):
        load_exchange_info(corrupt)
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b'{"symbols": [}')
    with pytest.raises(DecodeError, match="invalid Binance exchangeInfo JSON"):
        load_exchange_info(garbage)
    empty = tmp_path / "empty.json"
    empty.write_bytes(b'{"symbols": []}')
    assert load_exchange_info(empty) == []
