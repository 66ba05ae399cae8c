"""Native Binance wire decoder (``shrivenquant._native.binance_wire``): byte-identical records against the
msgspec decoder of ``recording.py`` on real files and on hand-written messages of every shape, the
integrated ``native`` path of ``recording.py`` (same records, statistics and errors), fuzzed malformed
and truncated real lines, precision errors and overflow."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant._native.binance_wire import DONE, ERROR, FULL, MESSAGE_TYPES, UNHANDLED, BinanceWireDecoder
from shrivenquant._native.fixed import Price, Quantity, Rounding, parse_decimal
from shrivenquant.core.enums import InstrumentKind
from shrivenquant.core.events import EVENT_DTYPE, RAW_NULL, EventFlag, EventKind, empty_events
from shrivenquant.core.instrument import Instrument
from shrivenquant.errors import (
    DecodeError,
    FixedPointOverflowError,
    InstrumentError,
    ShrivenQuantTypeError,
    ValidationError,
)
from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, decode_file, read_hftbacktest

HFT = "binance-hftbacktest"
LAST, SNAP, TOB, MBP, BAD = (int(f) for f in (EventFlag.LAST, EventFlag.SNAPSHOT, EventFlag.TOB,
                                              EventFlag.MBP, EventFlag.BAD_TS))
NONE, LEVEL, CLEAR, TRADE, BBO, MARK = (int(k) for k in (EventKind.NONE, EventKind.LEVEL, EventKind.CLEAR,
                                                         EventKind.TRADE, EventKind.BBO, EventKind.MARK))
# symbol -> (tick, step): precisions 2/3 (USD-M BTCUSDT), 1/0 (COIN-M), 8/8 (spot)
SPECS = {"BTCUSDT": ("0.01", "0.001"), "ETHUSDT": ("0.01", "0.001"), "BTCUSD_PERP": ("0.1", "1"),
         "SPOTX": ("0.00000001", "0.00000001")}
TABLE = {sym: (i, len(tick.split(".")[1]) if "." in tick else 0, len(step.split(".")[1]) if "." in step else 0)
         for i, (sym, (tick, step)) in enumerate(SPECS.items())}
INSTRUMENTS = [Instrument(venue="BINANCE_USDM", symbol=sym, kind=InstrumentKind.PERPETUAL, quote="USDT",
                          price_tick=Price(tick), size_step=Quantity(step)) for sym, (tick, step) in SPECS.items()]
# the real files checked record for record (< 2 s of msgspec decoding in all)
REAL_FILES = ["usdm_btcusdt_20240808.gz", "spot_btcusdt_20240808.gz", "cm_btcusd_perp_20240808.gz",
              "usdm_btcusdt_20230404.dat.gz"]


# ---------------------------------------------------------------------------------------------- helpers
def _wire(**kw: Any) -> BinanceWireDecoder:
    return BinanceWireDecoder(TABLE, **kw)


def _python(payload: bytes, ts_local: int = 7, **kw: Any) -> np.ndarray:
    """Records of one message from the msgspec path, at the table's precisions."""
    dec = BinanceRecordingDecoder(INSTRUMENTS, native=False, **kw)
    dec.decode(payload, ts_local, line=1)
    return dec.flush()


def _native(payload: bytes, ts_local: int = 7, **kw: Any) -> np.ndarray | None:
    """Records of one message from the wire decoder (None: unhandled)."""
    out = empty_events(len(payload) // 9 + 2)
    k = _wire(**kw).decode_into(payload, ts_local, out, 0)
    return None if k < 0 else out[:k]


def _same(payload: bytes, ts_local: int = 7, **kw: Any) -> np.ndarray:
    """Decode with both; assert byte-identical records; return them."""
    py = _python(payload, ts_local, **kw)
    nat = _native(payload, ts_local, **kw)
    assert nat is not None, "the native decoder handles this message"
    assert nat.tobytes() == py.tobytes(), (nat, py)
    return nat


def _py_result(payload: bytes, ts_local: int) -> bytes | str:
    """The msgspec path's records as bytes, or its DecodeError message."""
    try:
        return _python(payload, ts_local, default_symbol="BTCUSDT").tobytes()
    except DecodeError as exc:
        return f"DecodeError: {exc}"


def _mutate(line: bytes, op: str, pos: int, byte: int, length: int) -> bytes:
    pos %= len(line) + 1
    if op == "truncate":
        return line[:pos]
    if op == "replace":
        return line[:pos] + bytes([byte]) + line[pos + 1:]
    if op == "delete":
        return line[:pos] + line[pos + length:]
    if op == "insert":
        return line[:pos] + bytes([byte]) + line[pos:]
    return line[:pos] + line[pos:pos + length] + line[pos:]  # duplicate a slice


T0 = b'"E":1723161256322,"T":1723161256298'
DEPTH = (b'{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate",' + T0 + b',"s":"BTCUSDT","U":5123107832006,'
         b'"u":5123107837557,"pu":5123107831937,"b":[["58710.20","0.014"],["61510.90","0.000"]],'
         b'"a":[["61800.30","2.510"],["642025.00","0.001"],["61900.00","1.5"]]}}')
TRADE_MSG = (b'{"stream":"btcusdt@trade","data":{"e":"trade",' + T0 + b',"s":"BTCUSDT","t":5266583935,'
             b'"p":"61800.30","q":"0.006","X":"MARKET","m":false}}')
TICKER = (b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT",'
          b'"b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}}')
MARK_MSG = (b'{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1680652701000,"s":"BTCUSDT",'
            b'"p":"28147.27373413","P":"28142.15563565","i":"28159.75642857","r":"0.00002754","T":1680652800000}}')
SNAPSHOT = (b'{"lastUpdateId":5123107852948,"E":1723161256501,"T":1723161256493,'
            b'"bids":[["61800.20","2.909"],["61800.10","0.696"]],"asks":[["61800.30","0.004"]]}')


# ---------------------------------------------------------------------------------------------- real files
@pytest.fixture(scope="module")
def reference(shared_data: Path) -> dict[str, tuple[np.ndarray, Any, bytes]]:
    """msgspec-path records, stats and un-gzipped content of each real file checked."""
    out = {}
    for name in REAL_FILES:
        path = shared_data / HFT / name
        ev, stats = decode_file(path, native=False)
        out[name] = (ev, stats, gzip.decompress(path.read_bytes()))
    return out


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_file_buffer_is_byte_identical(reference: dict[str, Any], name: str) -> None:
    ref, stats, data = reference[name]
    table = {s: (i.instrument_id, i.price_precision, i.size_precision) for s, i in stats.symbols.items()}
    dec = BinanceWireDecoder(table, default_symbol=next(iter(table)))
    ev, got = dec.decode_hftbacktest_buffer(data)
    assert ev.dtype == EVENT_DTYPE and len(ev) == len(ref) > 50_000
    assert ev.tobytes() == ref.tobytes(), "every record byte-identical (markPrice handled natively too)"
    assert got["lines"] == stats.lines and got["records"] == len(ref)
    assert got["messages"] == stats.messages and list(got["messages"]) == list(stats.messages)
    assert (got["level_updates"], got["snapshot_levels"]) == (stats.level_updates, stats.snapshot_levels)
    assert (got["first_ts_local"], got["last_ts_local"]) == (stats.first_ts_local, stats.last_ts_local)
    assert dec.take_stats()["lines"] == 0, "take_stats resets the counters"


@pytest.mark.parametrize("name", REAL_FILES)
def test_recording_native_path_is_identical(reference: dict[str, Any], name: str, shared_data: Path) -> None:
    ref, stats, _ = reference[name]
    ev, nstats = decode_file(shared_data / HFT / name)  # native by default: whole buffer scanned natively
    assert ev.tobytes() == ref.tobytes()
    assert nstats == stats and list(nstats.messages) == list(stats.messages)


def test_real_lines_batched_and_one_by_one(reference: dict[str, Any]) -> None:
    ref, stats, data = reference["usdm_btcusdt_20230404.dat.gz"]
    recs = list(read_hftbacktest(io.BytesIO(data)))
    # the standalone batch API over JSON payloads and their local stamps
    dec = BinanceWireDecoder({"BTCUSDT": (0, 2, 3)}, default_symbol="BTCUSDT")
    ev = dec.decode_lines([r[2] for r in recs], np.array([r[1] for r in recs], dtype=np.int64))
    assert ev.tobytes() == ref.tobytes()
    # the integrated decoder, message by message through decode() and in batches through decode_lines()
    one = BinanceRecordingDecoder()
    for line, ts, payload, _ in recs:
        one.decode(payload, ts, line=line)
    assert one.flush().tobytes() == ref.tobytes() and one.stats == stats
    batched = BinanceRecordingDecoder()
    batched.decode_lines(recs)
    assert batched.flush().tobytes() == ref.tobytes() and batched.stats == stats


def test_one_decoder_over_two_recordings(reference: dict[str, Any]) -> None:
    """Ids and precisions carry over; the second file's snapshot names its symbol (COIN-M)."""
    _, _, spot = reference["spot_btcusdt_20240808.gz"]
    _, _, coinm = reference["cm_btcusd_perp_20240808.gz"]
    results = []
    for native in (False, True):
        dec = BinanceRecordingDecoder(native=native)
        dec.decode_hftbacktest_buffer(spot)
        dec.decode_hftbacktest_buffer(coinm)
        results.append((dec.flush().tobytes(), dec.stats))
    assert results[0] == results[1]
    assert list(results[1][1].symbols) == ["BTCUSDT", "BTCUSD_PERP"]


@pytest.mark.parametrize("name", ["BINANCE_FUTURES.ws.1.0.gz", "BINANCE_DELIVERY.ws.1.0.gz", "BINANCE.http.0.0.gz"])
def test_cryptofeed_files_native_and_msgspec_agree(shared_data: Path, name: str) -> None:
    """Several symbols, aggTrade, skipped kline streams, REST snapshots with the symbol in the URL."""
    ev, stats = decode_file(shared_data / "binance-cryptofeed" / name)
    ref, ref_stats = decode_file(shared_data / "binance-cryptofeed" / name, native=False)
    assert len(ev) > 500 and ev.tobytes() == ref.tobytes() and stats == ref_stats


# ---------------------------------------------------------------------------------------------- shapes
def test_depth_futures_and_record_layout() -> None:
    ev = _same(DEPTH)
    assert ev["kind"].tolist() == [LEVEL] * 5 and ev["side"].tolist() == [1, 1, 2, 2, 2]
    assert ev["price"].tolist() == [5871020, 6151090, 6180030, 64202500, 6190000]
    assert ev["qty"].tolist() == [14, 0, 2510, 1, 1500]
    assert ev["flags"].tolist() == [MBP] * 4 + [MBP | LAST]
    assert set(ev["seq"].tolist()) == {5123107837557} and set(ev["aux"].tolist()) == {5123107832006}
    assert set(ev["order_id"].tolist()) == {5123107831937}
    assert set(ev["ts_event"].tolist()) == {1723161256298 * 1_000_000}, "T wins over E"
    assert set(ev["ts_local"].tolist()) == {7} and not ev["reserved"].any()


@pytest.mark.parametrize("variant", [
    # spot: no pu, no T -> ts_event = E
    DEPTH.replace(b',"T":1723161256298', b"").replace(b',"pu":5123107831937', b""),
    # null optionals
    DEPTH.replace(b'"pu":5123107831937', b'"pu":null').replace(b'"T":1723161256298', b'"T":null'),
    # no E or T at all: ts_event = ts_local, BAD_TS
    DEPTH.replace(T0 + b",", b""),
    # symbol from the stream name: "s" missing, null or empty
    DEPTH.replace(b'"s":"BTCUSDT",', b""),
    DEPTH.replace(b'"s":"BTCUSDT"', b'"s":null'),
    DEPTH.replace(b'"s":"BTCUSDT"', b'"s":""'),
    # "s" wins over the stream name; its precisions apply
    DEPTH.replace(b'"s":"BTCUSDT"', b'"s":"BTCUSD_PERP"').replace(b'"0.014"', b'"14"').replace(b'"0.000"', b'"0"')
    .replace(b'"2.510"', b'"2510"').replace(b'"0.001"', b'"1"').replace(b'"1.5"', b'"15"')
    .replace(b'"58710.20"', b'"58710.2"').replace(b'"61510.90"', b'"61510.9"').replace(b'"61800.30"', b'"61800.3"')
    .replace(b'"642025.00"', b'"642025.0"').replace(b'"61900.00"', b'"61900"'),
    # keys in any order: levels before the symbol (parsed after the scan), asks before bids, data first
    b'{"stream":"btcusdt@depth","data":{"a":[["2.00","1"]],"b":[["1.00","2.5"],["0.5","0"]],"U":1,"u":2,"E":5,'
    b'"s":"BTCUSDT","e":"depthUpdate"}}',
    b'{"data":{"e":"depthUpdate","E":5,"s":"BTCUSDT","U":1,"u":2,"b":[["1.00","2.5"]],"a":[]},'
    b'"stream":"btcusdt@depth@100ms"}',
    # whitespace everywhere JSON allows it
    b' \r\n{ "stream" : "btcusdt@depth@100ms" ,\t"data" : { "e" : "depthUpdate" , "E" : 5 , "s" : "BTCUSDT" ,'
    b' "U" : 1 , "u" : 2 , "b" : [ [ "1.00" , "2.5" ] , [ "0.99" , "0" ] ] , "a" : [ ] } }\n ',
    # a bare event (a /ws/<stream> recording)
    b'{"e":"depthUpdate","E":1700000000000,"s":"BTCUSDT","U":7,"u":9,"pu":6,"b":[["1.5","2"]],"a":[]}',
    # unknown keys of every JSON type are validated and ignored
    DEPTH.replace(b'"e":"depthUpdate",', b'"e":"x","ps":"BTCUSD","z":[1,-2.5e-3,true,false,null,{"k":"\\u00e9\\n"}],'),
])
def test_depth_variants_match_python(variant: bytes) -> None:
    _same(variant, 11)


def test_empty_depth_keeps_the_id_chain() -> None:
    ev = _same(b'{"e":"depthUpdate","E":1700000000000,"s":"BTCUSDT","U":7,"u":9,"pu":6,"b":[],"a":[]}')
    assert ev["kind"].tolist() == [NONE] and int(ev["flags"][0]) == MBP | LAST
    assert (int(ev["seq"][0]), int(ev["aux"][0]), int(ev["order_id"][0])) == (9, 7, 6)
    assert ev["price"][0] == RAW_NULL and ev["qty"][0] == RAW_NULL


@pytest.mark.parametrize("variant", [
    TRADE_MSG,
    TRADE_MSG.replace(b'"m":false', b'"m":true'),
    TRADE_MSG.replace(b'"s":"BTCUSDT",', b""),
    b'{"e":"trade","E":1,"T":1700000000001,"s":"ETHUSDT","t":1,"p":"2.50","q":"1.5","m":true,"M":true}',
    b'{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"BTCUSDT","a":11,"p":"2.50","q":"1.5","f":100,'
    b'"l":102,"T":1700000000001,"m":false}}',
    b'{"e":"aggTrade","E":1,"s":"BTCUSDT","a":11,"p":"2.50","q":"1.5","f":100,"l":102,"T":1700000000001,"m":true}',
])
def test_trades_match_python(variant: bytes) -> None:
    ev = _same(variant)
    assert ev["kind"].tolist() == [TRADE] and ev["flags"].tolist() == [LAST]


def test_trade_fields() -> None:
    ev = _same(TRADE_MSG)
    rec = ev[0]
    assert (int(rec["price"]), int(rec["qty"]), int(rec["seq"]), int(rec["side"])) == (6180030, 6, 5266583935, 1)
    assert int(rec["ts_event"]) == 1723161256298 * 1_000_000, "trade time T"
    agg = _same(b'{"e":"aggTrade","E":1,"s":"BTCUSDT","a":11,"p":"2.50","q":"1.5","f":100,"T":9,"m":true}')
    assert (int(agg["seq"][0]), int(agg["aux"][0]), int(agg["side"][0])) == (11, 100, 2)


@pytest.mark.parametrize("variant", [
    TICKER,
    TICKER.replace(b',"T":1723161256313', b""),  # E only
    b'{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63","B":"3.788",'
    b'"a":"61837.64","A":"1.546"}}',  # spot: no venue time
    b'{"stream":"!bookTicker","data":{"u":1,"s":"ETHUSDT","b":"1.00","B":"2","a":"1.01","A":"3"}}',
    b'{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1.00","B":"2","a":"1.01","A":"3","T":5,"E":6}',
])
def test_book_ticker_matches_python(variant: bytes) -> None:
    ev = _same(variant, 99)
    assert ev["kind"].tolist() == [BBO, BBO] and ev["side"].tolist() == [1, 2]
    assert ev["flags"][1] & LAST and not ev["flags"][0] & LAST and np.all(ev["flags"] & TOB)
    if b'"T"' not in variant and b'"E"' not in variant:
        assert np.all(ev["flags"] & BAD) and ev["ts_event"].tolist() == [99, 99]


@pytest.mark.parametrize("variant", [
    SNAPSHOT,
    SNAPSHOT.replace(b',"E":1723161256501,"T":1723161256493', b""),  # spot: BAD_TS
    SNAPSHOT.replace(b'"bids":[["61800.20","2.909"],["61800.10","0.696"]]', b'"bids":[]'),
    b'{"lastUpdateId":5,"bids":[],"asks":[]}',  # only the CLEAR, with LAST
    b'{"asks":[["1.0","3"]],"symbol":"BTCUSD_PERP","pair":"BTCUSD","bids":[["0.9","4"]],"lastUpdateId":5,'
    b'"T":1723161256493}',  # COIN-M: the symbol field, keys in any order
])
def test_snapshots_match_python(variant: bytes) -> None:
    ev = _same(variant, 3, default_symbol="BTCUSDT")
    assert ev["kind"][0] == CLEAR and np.all(ev["kind"][1:] == LEVEL) and np.all(ev["flags"] & SNAP)
    assert int(ev["flags"][-1]) & LAST and not np.any(ev["flags"][:-1] & LAST)


def test_snapshot_symbol_rules() -> None:
    out = empty_events(10)
    with pytest.raises(DecodeError, match=r"names no symbol and no default symbol is set"):
        _wire().decode_into(SNAPSHOT, 1, out)
    dec = _wire(default_symbol="NOTINTABLE")
    assert dec.decode_into(SNAPSHOT, 1, out) == -1 and "symbol" in dec.last_unhandled
    dec.add_symbol("NOTINTABLE", 9, 2, 3)
    assert dec.decode_into(SNAPSHOT, 1, out) == 4 and set(out["instrument_id"][:4].tolist()) == {9}


@pytest.mark.parametrize("rounding", [Rounding.HALF_EVEN, Rounding.DOWN, Rounding.CEILING])
def test_mark_price_rounding(rounding: Rounding) -> None:
    ev = _same(MARK_MSG, mark_rounding=rounding)
    assert ev["kind"].tolist() == [MARK] and ev["qty"][0] == RAW_NULL
    assert int(ev["price"][0]) == parse_decimal("28147.27373413", 2, rounding)
    assert int(ev["aux"][0]) == parse_decimal("28159.75642857", 2, rounding), "index price in aux"
    assert int(ev["ts_event"][0]) == 1680652701000 * 1_000_000, "E, not T (the next funding time)"
    no_index = _same(MARK_MSG.replace(b'"i":"28159.75642857",', b""), mark_rounding=rounding)
    assert no_index["aux"][0] == RAW_NULL


def test_mark_price_exact_or_raise() -> None:
    with pytest.raises(DecodeError, match=r'"p" \(mark price\) "28147.27373413" is not exact at price precision 2'):
        _native(MARK_MSG, mark_rounding=None)
    exact = MARK_MSG.replace(b"28147.27373413", b"28147.27000000").replace(b"28159.75642857", b"28159.75")
    _same(exact, mark_rounding=None)


@pytest.mark.parametrize(("payload", "reason"), [
    (b'{"stream":"btcusdt@kline_1m","data":{"e":"kline","k":{}}}', "stream"),
    (b'{"stream":"btcusdt@depth5@100ms","data":{"lastUpdateId":1,"bids":[],"asks":[]}}', "stream"),
    (b'{"stream":"!markPrice@arr@1s","data":[]}', "stream"),
    (b'{"e":"kline","E":1,"s":"BTCUSDT","k":{}}', "stream"),
    (b'{"result":null,"id":1}', "shape"),
    (b'{"stream":null,"lastUpdateId":1,"bids":[],"asks":[]}', "shape"),
    (b'{"stream":"btcusdt@trade","data":{"t":1},"e":"trade"}', "shape"),
    (b'{"stream":"b\\u0074cusdt@trade","data":{}}', "shape"),
    (TRADE_MSG.replace(b"BTCUSDT", b"XRPUSDT"), "symbol"),
    (b'{"stream":"xrpusdt@depth","data":{"e":"depthUpdate","U":1,"u":2,"b":[],"a":[]}}', "symbol"),
])
def test_unhandled_messages_are_reported(payload: bytes, reason: str) -> None:
    dec = _wire()
    assert dec.decode_into(payload, 1, empty_events(8)) == -1
    assert reason in dec.last_unhandled
    assert dec.take_stats()["lines"] == 0


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("payload", "match"), [
    (TRADE_MSG[:-5], r"truncated"),
    (TRADE_MSG[:40], r"truncated"),
    (b"", r"empty message"),
    (b"[1,2]", r"expected a JSON object"),
    (TRADE_MSG + b"x", r"trailing characters"),
    (TRADE_MSG.replace(b'"t":5266583935', b'"t":"5266583935"'), r'"t" \(trade id\) is a string: expected an integer'),
    (TRADE_MSG.replace(b'"t":5266583935', b'"t":5.0'), r"is a non-integer number: expected an integer"),
    (TRADE_MSG.replace(b'"p":"61800.30"', b'"p":61800.30'), r'"p" \(price\) is a non-integer number: expected a str'),
    (TRADE_MSG.replace(b'"p":"61800.30"', b'"p":"61,800.30"'), r"is not a decimal number"),
    (TRADE_MSG.replace(b'"q":"0.006"', b'"q":"-0.006"'), r"negative trade quantity"),
    (TRADE_MSG.replace(b'"t":5266583935', b'"t":-1'), r"is negative: expected an integer >= 0"),
    (TRADE_MSG.replace(b'"m":false', b'"m":0'), r'"m" \(buyer is maker\) is an integer: expected a boolean'),
    (TRADE_MSG.replace(b'"T":1723161256298,', b""), r'missing required key "T"'),
    (TRADE_MSG.replace(b'"t":5266583935', b'"t":null'), r'null key "t"'),
    (TRADE_MSG.replace(b'"t":5266583935', b'"t":5,"t":6'), r'duplicate key "t"'),
    (TRADE_MSG.replace(b'"X":"MARKET"', b'"X":"MAR\x01KET"'), r"raw control character 0x01"),
    (TRADE_MSG.replace(b'"X":"MARKET"', b'"X":"\\q"'), r"invalid escape"),
    (TRADE_MSG.replace(b'"X":"MARKET"', b'"X":"\\ud800"'), r"surrogate"),
    (TRADE_MSG.replace(b'"X":"MARKET"', b'"X":01'), r"expected ',' or '}'"),
    (TRADE_MSG.replace(b'"X":"MARKET"', b'"X":NaN'), r"expected a JSON value"),
    (TRADE_MSG.replace(b'"X":"MARKET"', b'"X":[1,]'), r"expected a JSON value"),
    (TRADE_MSG.replace(b'"X":"MARKET"', b'"X":' + b"[" * 80 + b"]" * 80), r"nested deeper than 64"),
    (TRADE_MSG.replace(b'"X":"MARKET",', b'"X":"MARKET",}'), r"expected a '\"'-quoted object key"),
    (TRADE_MSG.replace(b'"s":"BTCUSDT"', b'"s":"BTC\\u0055SDT"'), r"escape sequence in \"s\""),
    (DEPTH.replace(b'["61510.90","0.000"]', b'["61510.90"]'), r"expected ',' between a level's price and quantity"),
    (DEPTH.replace(b'["61510.90","0.000"]', b'["61510.90","0.000","1"]'), r"a level has exactly 2 strings"),
    (DEPTH.replace(b'["61510.90","0.000"]', b"[61510.90,0]"), r"expected a decimal string"),
    (DEPTH.replace(b'"0.014"', b'"-0.014"'), r'b\[0\] quantity "-0.014" is negative'),
    (DEPTH.replace(b'"0.014"', b'"0.0141"'), r'b\[0\] quantity "0.0141" is not exact at size precision 3'),
    (DEPTH.replace(b'"61800.30"', b'"61800.305"'), r'a\[0\] price "61800.305" is not exact at price precision 2'),
    (DEPTH.replace(b'"61800.30"', b'"6\\u0031800.30"'), r"escape sequence in a decimal string"),
    (DEPTH.replace(b'"b":[', b'"b":null,"x":['), r'"b" \(bids\) is null'),
    (DEPTH.replace(b'"U":5123107832006,', b""), r'missing required key "U"'),
    (DEPTH.replace(b'"s":"BTCUSDT",', b"").replace(b"btcusdt@", b"!"), r"message has no symbol"),
    (DEPTH.replace(b'"E":1723161256322', b'"E":9223372036855'), r'"E" \(event time, ms\) 9223372036855 is too large'),
    (b'{"stream":"btcusdt@trade"}', r'missing required key "data"'),
    (b'{"stream":"btcusdt@bookTicker","data":"x"}', r'"data" is a string: expected an object'),
    (b'{"lastUpdateId":5,"bids":[["1.0","2"]]}', r'without "bids" and "asks"'),
    (TICKER.replace(b'"B":"2.507"', b'"B":"-2.507"'), r"negative bookTicker quantity"),
    (TICKER.replace(b'"A":"2.510",', b""), r'missing required key "A"'),
])
def test_malformed_messages_raise_decode_error(payload: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=r"^cannot decode .* at byte \d+: .*" + match):
        _native(payload, default_symbol="BTCUSDT")
    # the integrated decoder raises the msgspec path's own error for the same message (or decodes what
    # only the strict scanner refuses, e.g. escape sequences)
    integrated = BinanceRecordingDecoder(INSTRUMENTS, default_symbol="BTCUSDT")
    try:
        integrated.decode(payload, 7, line=1)
    except DecodeError as exc:
        assert _py_result(payload, 7) == f"DecodeError: {exc}"
    else:
        assert integrated.flush().tobytes() == _py_result(payload, 7)


@pytest.mark.parametrize(("text", "precision"), [
    ("92233720368547758.08", 2),  # INT64_MAX + 1 raw
    ("99999999999999999999", 0),
    ("1e30", 2),
    ("9223372036854775807", 1),
])
def test_overflow_is_an_error(text: str, precision: int) -> None:
    with pytest.raises(FixedPointOverflowError):
        parse_decimal(text, precision)
    dec = BinanceWireDecoder({"X": (0, precision, precision)})
    msg = b'{"e":"trade","s":"X","t":1,"p":"%s","q":"1","T":1,"m":true}' % text.encode()
    with pytest.raises(DecodeError, match=r"does not fit in int64"):
        dec.decode_into(msg, 1, empty_events(2))
    level = b'{"e":"depthUpdate","s":"X","U":1,"u":1,"b":[["1","%s"]],"a":[]}' % text.encode()
    with pytest.raises(DecodeError, match=r"b\[0\] quantity .* does not fit in int64"):
        dec.decode_into(level, 1, empty_events(2))
    if precision == 1:  # the largest raw fits
        out = empty_events(1)
        ok = b'{"e":"trade","s":"X","t":1,"p":"922337203685477580.7","q":"1","T":1,"m":true}'
        assert dec.decode_into(ok, 1, out) == 1 and int(out["price"][0]) == 2**63 - 1


@pytest.mark.parametrize("field", [b'"t":%d', b'"T":%d', b'"E":%d'])
def test_huge_integers_are_errors(field: bytes) -> None:
    limit = 2**63 - 1 if field.startswith(b'"t"') else (2**63 - 1) // 10**6
    base = b'{"e":"trade","s":"BTCUSDT","p":"1.00","q":"1","m":true,"t":1,"T":1,"E":1}'
    key = field.split(b":")[0]
    for value, ok in ((limit, True), (limit + 1, False), (2**64, False), (10**40, False)):
        msg = base.replace(key + b":1", field % value)
        if ok:
            assert _native(msg) is not None
            _same(msg)
        else:
            with pytest.raises(DecodeError, match=r"is too large"):
                _native(msg)


# ---------------------------------------------------------------------------------------------- fuzzing
@pytest.fixture(scope="module")
def real_lines(shared_data: Path) -> list[bytes]:
    """A few real lines of every message type (USD-M 2023: markPrice, a spaced snapshot; COIN-M 2024)."""
    picked: list[bytes] = []
    for name, per_kind in (("usdm_btcusdt_20230404.dat.gz", 6), ("cm_btcusd_perp_20240808.gz", 4)):
        seen: dict[bytes, int] = {}
        with gzip.open(shared_data / HFT / name, "rb") as fh:
            for raw in fh:
                payload = raw.split(b" ", 1)[1]
                kind = payload[11:payload.find(b'"', 11)].split(b"@", 1)[-1] if payload[2:8] == b"stream" else b"snap"
                if seen.get(kind, 0) < per_kind:
                    seen[kind] = seen.get(kind, 0) + 1
                    picked.append(raw.rstrip(b"\n"))
    assert len(picked) > 30
    return picked


_OPS = st.sampled_from(["truncate", "replace", "delete", "insert", "duplicate"])
_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])


@_FUZZ
@given(data=st.data(), op=_OPS, pos=st.integers(0, 10**6), byte=st.sampled_from(
    [*b'{}[]",:.-+0159eE \n\\tfnu', 0x00, 0x7F, 0xC3, 0xFF]), length=st.integers(1, 40))
def test_fuzzed_real_lines(real_lines: list[bytes], data: st.DataObject, op: str, pos: int, byte: int,
                           length: int) -> None:
    raw = data.draw(st.sampled_from(real_lines))
    ts, payload = raw.split(b" ", 1)
    mutated = _mutate(payload, op, pos, byte, length)
    expected = _py_result(mutated, int(ts))
    # standalone: identical records, or DecodeError, or unhandled -- never a crash or a wrong number
    out = empty_events(len(mutated) // 9 + 2)
    try:
        k = _wire(default_symbol="BTCUSDT").decode_into(mutated, int(ts), out, 0)
    except DecodeError as exc:
        assert str(exc).startswith("cannot decode ")
    else:
        if k >= 0:
            assert out[:k].tobytes() == expected, "the native decoder accepted what msgspec decodes differently"
    # integrated: exactly the msgspec path's records or error
    integrated = BinanceRecordingDecoder(INSTRUMENTS, default_symbol="BTCUSDT")
    try:
        integrated.decode(mutated, int(ts), line=1)
    except DecodeError as exc:
        assert expected == f"DecodeError: {exc}"
    else:
        assert integrated.flush().tobytes() == expected


@_FUZZ
@given(data=st.data(), op=_OPS, pos=st.integers(0, 10**7), byte=st.sampled_from(
    [*b'0123456789 \n\r\t{"x', 0x0B]), length=st.integers(1, 80))
def test_fuzzed_hftbacktest_buffers(real_lines: list[bytes], data: st.DataObject, op: str, pos: int, byte: int,
                                    length: int) -> None:
    """Whole-buffer scanning (line splitting and stamps natively) against read_hftbacktest + msgspec."""
    start = data.draw(st.integers(0, len(real_lines) - 4))
    buf = _mutate(b"\n".join(real_lines[start:start + 4]) + b"\n", op, pos, byte, length)
    results = []
    for native in (False, True):
        dec = BinanceRecordingDecoder(native=native)
        try:
            dec.decode_hftbacktest_buffer(buf)
            results.append((dec.flush().tobytes(), dec.stats))
        except DecodeError as exc:
            results.append((str(exc), dec.stats))
    assert results[0] == results[1]
    wire = BinanceWireDecoder({"BTCUSDT": (0, 2, 3)}, default_symbol="BTCUSDT")
    try:
        ev, _ = wire.decode_hftbacktest_buffer(buf)
    except DecodeError as exc:
        assert str(exc).startswith("line ")
    else:
        ref = BinanceRecordingDecoder([INSTRUMENTS[0]], native=False)
        ref.decode_lines(read_hftbacktest(io.BytesIO(buf)))
        assert ev.tobytes() == ref.flush().tobytes()


_DECIMALS = st.one_of(
    st.from_regex(r"\A-?[0-9]{0,21}(\.[0-9]{0,21})?([eE][-+]?[0-9]{1,3})?\Z", fullmatch=True),
    st.integers(0, 10**19).map(str),
    st.tuples(st.integers(0, 10**12), st.integers(0, 10**9)).map(lambda t: f"{t[0]}.{t[1]}"),
)


@settings(max_examples=500, deadline=None)
@given(text=_DECIMALS, pp=st.integers(0, 18), sp=st.integers(0, 18))
def test_decimals_exactly_as_sq_parse_decimal(text: str, pp: int, sp: int) -> None:
    """Every decimal the scanner reads (its 64-bit fast path included) equals parse_decimal's, or errs."""
    dec = BinanceWireDecoder({"X": (0, pp, sp)})
    level = b'{"e":"depthUpdate","s":"X","U":1,"u":1,"b":[["%s","%s"]],"a":[]}' % (text.encode(), text.encode())
    out = empty_events(2)
    try:
        want_p, want_q = parse_decimal(text, pp), parse_decimal(text, sp)
    except (ValidationError, FixedPointOverflowError):
        with pytest.raises(DecodeError):
            dec.decode_into(level, 1, out)
        return
    if want_q < 0:
        with pytest.raises(DecodeError, match="negative"):
            dec.decode_into(level, 1, out)
        return
    assert dec.decode_into(level, 1, out) == 1
    assert (int(out["price"][0]), int(out["qty"][0])) == (want_p, want_q)


@settings(max_examples=400, deadline=None)
@given(value=st.one_of(st.integers(-(10**3), 10**3), st.integers(2**62, 2**65), st.integers(0, 10**30)),
       zeros=st.integers(0, 2), field=st.sampled_from(["t", "T", "E"]))
def test_integers_exactly(value: int, zeros: int, field: str) -> None:
    """Ids and times of any size (the 8-digit SWAR path included): the value, or an error, as msgspec."""
    text = ("-" if value < 0 else "") + "0" * zeros + str(abs(value))
    fields = {"t": "1", "T": "1", "E": "1", field: text}
    msg = ('{"e":"trade","s":"BTCUSDT","p":"1.00","q":"1","m":true,' +
           ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()
    limit = 2**63 - 1 if field == "t" else (2**63 - 1) // 10**6
    out = empty_events(1)
    if zeros or not 0 <= value <= limit:  # leading zeros are not JSON; negative or too large
        with pytest.raises(DecodeError):
            _wire().decode_into(msg, 1, out)
        return
    assert _wire().decode_into(msg, 1, out) == 1
    if value == 0:  # JSON's -0 is 0 too
        assert _wire().decode_into(msg.replace(b":0,", b":-0,").replace(b":0}", b":-0}"), 1, out) == 1
    rec = out[0]
    if field == "t":
        assert int(rec["seq"]) == value
    elif field == "T":
        assert int(rec["ts_event"]) == value * 10**6
    if field != "E":  # msgspec ignores a trade's E; the scanner checks it (stricter)
        assert out.tobytes() == _python(msg, 1).tobytes()


@settings(max_examples=300, deadline=None)
@given(stamp=st.integers(0, 10**19 - 1), digits=st.sampled_from([13, 16, 19, 12, 18, 20]))
def test_local_timestamps_as_read_hftbacktest(stamp: int, digits: int) -> None:
    text = str(stamp).zfill(digits).encode()
    buf = text + b" " + TRADE_MSG + b"\n"
    dec = BinanceRecordingDecoder(INSTRUMENTS, native=False)
    try:
        dec.decode_lines(read_hftbacktest(io.BytesIO(buf)))
        want: bytes | str = dec.flush().tobytes()
    except DecodeError as exc:
        want = str(exc)
    wire = BinanceWireDecoder({"BTCUSDT": (0, 2, 3)})
    try:
        got: bytes | str = wire.decode_hftbacktest_buffer(buf)[0].tobytes()
    except DecodeError as exc:
        assert isinstance(want, str) and str(exc).startswith("line 1: ")
    else:
        assert got == want
    integrated = BinanceRecordingDecoder(INSTRUMENTS)
    try:
        integrated.decode_hftbacktest_buffer(buf)
        assert integrated.flush().tobytes() == want
    except DecodeError as exc:
        assert str(exc) == want


# ---------------------------------------------------------------------------------------------- API
def test_decode_into_room_and_positions() -> None:
    dec = _wire()
    out = empty_events(4)
    with pytest.raises(ValidationError, match=r"room for 4 records from pos 0; the message needs 5"):
        dec.decode_into(DEPTH, 1, out)
    big = empty_events(20)
    assert dec.decode_into(DEPTH, 1, big, 3) == 5 and big["kind"][:3].tolist() == [0, 0, 0]
    assert big["price"][0] == RAW_NULL, "records before pos are untouched"
    assert dec.decode_into(bytearray(TRADE_MSG), 1, big, 8) == 1 and big["kind"][8] == TRADE
    assert dec.decode_into(memoryview(TICKER), 1, big, 9) == 2
    with pytest.raises(ValidationError, match="outside the array"):
        dec.decode_into(TRADE_MSG, 1, big, 21)
    with pytest.raises(ShrivenQuantTypeError, match="EVENT_DTYPE"):
        dec.decode_into(TRADE_MSG, 1, np.zeros(4, dtype=np.int64))
    with pytest.raises(ShrivenQuantTypeError, match="bytes-like"):
        dec.decode_into("text", 1, big)
    with pytest.raises(ValidationError, match="writable"):
        dec.decode_into(TRADE_MSG, 1, big[::2])
    with pytest.raises(ValidationError, match="does not fit in int64"):
        dec.decode_into(TRADE_MSG, 2**63, big)
    stats = dec.take_stats()
    assert stats["messages"] == {"depthUpdate": 1, "trade": 1, "bookTicker": 1}
    assert stats["lines"] == 3 and stats["records"] == 8 and stats["level_updates"] == 5


def test_decode_batch_statuses_and_resume() -> None:
    dec = _wire(default_symbol="BTCUSDT")
    lines = [TRADE_MSG, DEPTH, b'{"stream":"btcusdt@kline_1m","data":{}}', None, TRADE_MSG[:-3], TICKER, SNAPSHOT]
    ts = np.arange(1, len(lines) + 1, dtype=np.int64)
    out = empty_events(4)
    assert dec.decode_batch(lines, ts, 0, out, 0) == (FULL, 1, 1) and dec.records_needed == 5
    out = np.concatenate([out, empty_events(10)])
    assert dec.decode_batch(lines, ts, 1, out, 1) == (UNHANDLED, 2, 6) and "stream" in dec.last_unhandled
    assert dec.decode_batch(lines, ts, 3, out, 6) == (UNHANDLED, 3, 6) and "bytes" in dec.last_unhandled
    status, index, pos = dec.decode_batch(lines, ts, 4, out, 6)
    assert (status, index, pos) == (ERROR, 4, 6) and "truncated" in dec.last_error
    assert dec.decode_batch(lines, ts, 5, out, 6) == (DONE, 7, 12)
    assert out["kind"][:12].tolist() == [TRADE] + [LEVEL] * 5 + [BBO, BBO, CLEAR, LEVEL, LEVEL, LEVEL]
    assert out["ts_local"][:12].tolist() == [1] * 1 + [2] * 5 + [6, 6] + [7] * 4
    with pytest.raises(ValidationError, match="ts_locals has 2 entries for 7 lines"):
        dec.decode_batch(lines, ts[:2], 0, out, 0)


def test_decode_lines_and_hftbacktest_buffer_errors() -> None:
    dec = _wire(default_symbol="BTCUSDT")
    ev = dec.decode_lines([TRADE_MSG, DEPTH, SNAPSHOT] * 50, np.arange(150))
    assert len(ev) == 50 * 10 and ev.dtype == EVENT_DTYPE
    with pytest.raises(DecodeError, match=r"^lines\[1\]: message not handled .*BinanceRecordingDecoder"):
        dec.decode_lines([TRADE_MSG, b'{"result":null,"id":1}'], [1, 2])
    with pytest.raises(DecodeError, match=r"^lines\[1\]: cannot decode trade message at byte \d+: .*truncated"):
        dec.decode_lines([TRADE_MSG, TRADE_MSG[:50]], [1, 2])
    good = b"1723161255088176367 " + TRADE_MSG
    ev, stats = dec.decode_hftbacktest_buffer(b"\n".join([good, b"", b" \t\r", good[:-1] + b"}\r", good]))
    assert len(ev) == 3 and stats["lines"] == 3 and ev["ts_local"].tolist() == [1723161255088176367] * 3
    us, _ = dec.decode_hftbacktest_buffer(b"1680652700423575 " + TRADE_MSG)  # 16 digits: µs
    ms, _ = dec.decode_hftbacktest_buffer(b"1680652700423 " + TRADE_MSG)  # 13 digits: ms
    assert int(us["ts_local"][0]) == 1680652700423575000 and int(ms["ts_local"][0]) == 1680652700423000000
    for bad, match in ((b"17231612550 {}", r"^line 2: expected '<local_ts> <json>'"),
                       (b"9999999999999999999 " + TRADE_MSG, r"^line 2: local timestamp .* does not fit in int64"),
                       (b"1723161255088176367 " + TRADE_MSG[:-2], r"^line 2: cannot decode trade message"),
                       (b'1723161255088176367 {"result":null}', r"^line 2: message not handled")):
        with pytest.raises(DecodeError, match=match):
            dec.decode_hftbacktest_buffer(good + b"\n" + bad + b"\n" + good)
        # the integrated decoder gives the msgspec path's error, with the same line number
        integrated = BinanceRecordingDecoder()
        lines = [good, bad, good]
        if b"result" in bad:
            integrated.decode_hftbacktest_buffer(b"\n".join(lines))
            assert integrated.stats.skipped == {"response": 1} and integrated.stats.lines == 3
            continue
        with pytest.raises(DecodeError, match=r"^line 2: ") as info:
            integrated.decode_hftbacktest_buffer(b"\n".join(lines))
        ref = BinanceRecordingDecoder(native=False)
        with pytest.raises(DecodeError) as ref_info:
            ref.decode_lines(read_hftbacktest(io.BytesIO(b"\n".join(lines))))
        assert str(info.value) == str(ref_info.value) and integrated.stats == ref.stats


def test_scan_resumes_after_full() -> None:
    good = b"1723161255088176367 " + DEPTH
    data = b"\n".join([good] * 3)
    dec = _wire()
    out = empty_events(7)
    assert dec.scan_hftbacktest(data, 0, 0, out, 0) == (FULL, len(good) + 1, 1, 5)
    out = np.concatenate([out, empty_events(8)])
    assert dec.scan_hftbacktest(data, len(good) + 1, 1, out, 5) == (DONE, len(data), 3, 15)
    assert dec.take_stats()["lines"] == 3


def test_symbol_table() -> None:
    dec = BinanceWireDecoder({"BTCUSDT": (4, 2, 3)}, default_symbol="BTCUSDT", mark_rounding=None)
    for i in range(40):  # grows the table and its index
        dec.add_symbol(f"S{i}", 10 + i, 1, 0)
    assert dec.symbols["S39"] == (49, 1, 0) and dec.symbols["BTCUSDT"] == (4, 2, 3) and len(dec.symbols) == 41
    out = empty_events(2)
    assert dec.decode_into(TRADE_MSG.replace(b"BTCUSDT", b"S17").replace(b'"61800.30"', b'"61800.3"')
                           .replace(b'"0.006"', b'"6"'), 1, out) == 1
    assert (int(out["instrument_id"][0]), int(out["price"][0]), int(out["qty"][0])) == (27, 618003, 6)
    with pytest.raises(InstrumentError, match="already"):
        dec.add_symbol("S3", 1, 1, 1)
    with pytest.raises(ValidationError, match="price_precision"):
        dec.add_symbol("Z", 1, 19, 1)
    with pytest.raises(ValidationError, match="instrument_id"):
        dec.add_symbol("Z", -1, 1, 1)
    with pytest.raises(ValidationError, match="longer than"):
        dec.add_symbol("Z" * 64, 1, 1, 1)
    with pytest.raises(ValidationError, match="mark_rounding"):
        BinanceWireDecoder(mark_rounding=42)
    with pytest.raises(ValidationError, match=r"must be \(instrument_id"):
        BinanceWireDecoder({"X": (1, 2)})
    dec.default_symbol = None
    assert dec.default_symbol is None
    assert MESSAGE_TYPES == ("depthUpdate", "snapshot", "trade", "aggTrade", "bookTicker", "markPriceUpdate")


def test_recording_native_switch() -> None:
    assert BinanceRecordingDecoder().native and not BinanceRecordingDecoder(native=False).native
    assert BinanceRecordingDecoder(native=True).native
