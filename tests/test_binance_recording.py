"""Binance recording decoder: real hftbacktest / cryptofeed files against an independent orjson + Decimal
oracle, flags, errors with line numbers (including fuzzed lines), and the synthetic stream round trip with
an L2 book rebuilt from the decoded records."""

from __future__ import annotations

import gzip
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant._native.fixed import Price, Quantity, Rounding
from shrivenquant.core.enums import InstrumentKind
from shrivenquant.core.events import EVENT_DTYPE, RAW_NULL, EventFlag, EventKind
from shrivenquant.core.instrument import Instrument
from shrivenquant.errors import DecodeError, PrecisionError
from shrivenquant.venues.binance import parse_exchange_info
from shrivenquant.venues.binance.recording import (
    BinanceRecordingDecoder,
    decode_file,
    detect_format,
    read_cryptofeed,
    read_hftbacktest,
)
from shrivenquant.venues.binance.synthetic import (
    generate_stream,
    synthetic_exchange_info,
    synthetic_instrument,
    write_stream,
)

HFT = "binance-hftbacktest"
CF = "binance-cryptofeed"
LAST, SNAP, TOB, MBP, BAD = (int(f) for f in (EventFlag.LAST, EventFlag.SNAPSHOT, EventFlag.TOB,
                                              EventFlag.MBP, EventFlag.BAD_TS))
LEVEL, CLEAR, TRADE, BBO, MARK = (int(k) for k in (EventKind.LEVEL, EventKind.CLEAR, EventKind.TRADE,
                                                   EventKind.BBO, EventKind.MARK))


# ---------------------------------------------------------------------------------------------- helpers
def _instrument(symbol: str, tick: str, step: str, venue: str = "BINANCE_USDM") -> Instrument:
    return Instrument(venue=venue, symbol=symbol, kind=InstrumentKind.PERPETUAL, quote="USDT",
                      price_tick=Price(tick), size_step=Quantity(step))


def _kinds(ev: np.ndarray) -> dict[str, int]:
    counts = np.bincount(ev["kind"], minlength=10)
    return {EventKind(k).name: int(c) for k, c in enumerate(counts) if c}


def _oracle(path: Path) -> list[tuple[Any, ...]]:
    """Expected records of an hftbacktest file, from orjson and the documented mapping only.

    Rows: (ts_local, ts_event, kind, side, price str, qty str, seq, aux, order_id, flags, round price).
    """
    rows: list[tuple[Any, ...]] = []
    with gzip.open(path, "rb") as f:
        for raw in f:
            ts, js = raw.rstrip(b"\n").split(b" ", 1)
            ts_local = int(ts) * (1000 if len(ts) == 16 else 1)
            o = orjson.loads(js)
            if "stream" not in o:  # REST snapshot
                t = o.get("T", o.get("E"))
                flags = SNAP | MBP | (0 if t is not None else BAD)
                ev = t * 1_000_000 if t is not None else ts_local
                levels = [(1, p, q) for p, q in o["bids"]] + [(2, p, q) for p, q in o["asks"]]
                lu = o["lastUpdateId"]
                rows.append((ts_local, ev, CLEAR, 0, None, None, lu, 0, 0, flags | (0 if levels else LAST), False))
                rows.extend((ts_local, ev, LEVEL, side, p, q, lu, 0, 0, flags | (LAST if i == len(levels) - 1 else 0),
                             False) for i, (side, p, q) in enumerate(levels))
                continue
            d = o["data"]
            kind = o["stream"].split("@", 1)[1]
            if kind.startswith("depth"):
                t = d.get("T", d["E"])
                levels = [(1, p, q) for p, q in d["b"]] + [(2, p, q) for p, q in d["a"]]
                rows.extend((ts_local, t * 1_000_000, LEVEL, side, p, q, d["u"], d["U"], d.get("pu", 0),
                             MBP | (LAST if i == len(levels) - 1 else 0), False)
                            for i, (side, p, q) in enumerate(levels))
            elif kind == "trade":
                rows.append((ts_local, d["T"] * 1_000_000, TRADE, 2 if d["m"] else 1, d["p"], d["q"], d["t"], 0, 0,
                             LAST, False))
            elif kind == "bookTicker":
                t = d.get("T", d.get("E"))
                ev = t * 1_000_000 if t is not None else ts_local
                flags = TOB | (0 if t is not None else BAD)
                rows.append((ts_local, ev, BBO, 1, d["b"], d["B"], d["u"], 0, 0, flags, False))
                rows.append((ts_local, ev, BBO, 2, d["a"], d["A"], d["u"], 0, 0, flags | LAST, False))
            elif kind.startswith("markPrice"):
                rows.append((ts_local, d["E"] * 1_000_000, MARK, 0, d["p"], None, 0, d["i"], 0, LAST, True))
            else:
                raise AssertionError(f"oracle: unexpected stream {kind}")
    return rows


def _raw(text: str, precision: int, rounded: bool = False) -> int:
    """Exact raw integer of a decimal string (Decimal arithmetic); HALF_EVEN if ``rounded``."""
    d = Decimal(text).scaleb(precision)
    if rounded:
        d = d.to_integral_value(ROUND_HALF_EVEN)
    assert d == d.to_integral_value(), f"{text} is not exact at precision {precision}"
    return int(d)


def _check_against_oracle(ev: np.ndarray, rows: list[tuple[Any, ...]], pp: int, sp: int) -> None:
    assert len(ev) == len(rows)
    cols = list(zip(*rows, strict=True))
    for name, i in (("ts_local", 0), ("ts_event", 1), ("kind", 2), ("side", 3), ("seq", 6), ("flags", 9)):
        assert np.array_equal(ev[name], np.array(cols[i], dtype=ev[name].dtype)), name
    assert np.array_equal(ev["order_id"], np.array(cols[8], dtype=np.uint64))
    assert not ev["reserved"].any()
    assert (ev["instrument_id"] == 0).all()
    # every price and quantity against Decimal of the original string
    for rec_price, rec_qty, rec_aux, row in zip(ev["price"].tolist(), ev["qty"].tolist(), ev["aux"].tolist(),
                                                rows, strict=True):
        price_s, qty_s, aux, rounded = row[4], row[5], row[7], row[10]
        assert rec_price == (RAW_NULL if price_s is None else _raw(price_s, pp, rounded)), row
        assert rec_qty == (RAW_NULL if qty_s is None else _raw(qty_s, sp)), row
        assert rec_aux == (_raw(aux, pp, True) if isinstance(aux, str) else aux), row


def _structure_checks(ev: np.ndarray, stats: Any) -> None:
    """Flags and pairing that hold for every decoded hftbacktest file."""
    kind, flags = ev["kind"], ev["flags"]
    assert np.all(np.diff(ev["ts_local"]) >= 0), "ts_local is non-decreasing"
    assert int((flags & LAST != 0).sum()) == sum(stats.messages.values()), "one LAST per message"
    assert np.all(flags[kind == BBO] & TOB) and not np.any(flags[kind == BBO] & MBP)
    assert np.all(flags[kind == LEVEL] & MBP) and not np.any(flags[kind == LEVEL] & TOB)
    assert int((flags & SNAP != 0).sum()) == stats.messages.get("snapshot", 0) + stats.snapshot_levels
    bbo = ev[kind == BBO]
    assert np.array_equal(bbo["side"][0::2], np.ones(len(bbo) // 2)) and np.all(bbo["side"][1::2] == 2)
    assert np.array_equal(bbo["seq"][0::2], bbo["seq"][1::2])
    assert np.all(bbo["flags"][1::2] & LAST) and not np.any(bbo["flags"][0::2] & LAST)
    depth = ev[(kind == LEVEL) & (flags & SNAP == 0)]
    assert np.all(depth["aux"].astype(np.uint64) <= depth["seq"]), "U <= u"
    assert np.all(ev["ts_local"] > 1_600_000_000 * 10**9) and np.all(ev["ts_local"] < 1_800_000_000 * 10**9)
    assert np.all(ev["ts_event"] > 1_600_000_000 * 10**9) and np.all(ev["ts_event"] < 1_800_000_000 * 10**9)
    assert np.all(ev["side"][np.isin(kind, (LEVEL, TRADE, BBO))] > 0)
    assert np.all(ev["qty"][np.isin(kind, (LEVEL, TRADE, BBO))] >= 0)


# ---------------------------------------------------------------------------------------------- real files
@pytest.fixture(scope="module")
def usdm_0808(shared_data: Path) -> tuple[np.ndarray, Any]:
    return decode_file(shared_data / HFT / "usdm_btcusdt_20240808.gz")


def test_usdm_20240808_counts_match_readme(usdm_0808: tuple[np.ndarray, Any]) -> None:
    ev, stats = usdm_0808
    assert ev.dtype == EVENT_DTYPE
    # README table: REST snapshot=1, bookTicker=66089, depth@0ms=6551, trade=21313 (93954 lines)
    assert stats.lines == 93954
    assert stats.messages == {"snapshot": 1, "bookTicker": 66089, "depthUpdate": 6551, "trade": 21313}
    assert stats.skipped == {}
    # 443521 [price, qty] entries in the 6551 depth messages; the limit=1000 snapshot has 1000 + 1000
    assert stats.level_updates == 443521 and stats.snapshot_levels == 2000
    assert _kinds(ev) == {"LEVEL": 443521 + 2000, "CLEAR": 1, "TRADE": 21313, "BBO": 2 * 66089}
    assert stats.records == len(ev)
    info = stats.symbols["BTCUSDT"]
    assert (info.instrument_id, info.price_precision, info.size_precision, info.inferred) == (0, 2, 3, True)
    _structure_checks(ev, stats)
    # futures: every depth record carries pu (order_id) and ts_event = T; the chain pu == previous u holds
    last = ev[(ev["kind"] == LEVEL) & (ev["flags"] & LAST != 0) & (ev["flags"] & SNAP == 0)]
    assert len(last) == 6551 and np.all(last["order_id"] > 0)
    assert np.array_equal(last["order_id"][1:], last["seq"][:-1]), "pu chains to the previous u"


def test_usdm_20240808_first_lines_exact(usdm_0808: tuple[np.ndarray, Any], shared_data: Path) -> None:
    ev, _ = usdm_0808
    with gzip.open(shared_data / HFT / "usdm_btcusdt_20240808.gz", "rb") as f:
        head = [next(f) for _ in range(200)]
    rows: list[tuple[Any, ...]] = []
    for raw in head:  # the same oracle, on the first 200 lines
        ts, js = raw.split(b" ", 1)
        o = orjson.loads(js)
        if "stream" in o and o["stream"].endswith("@trade"):
            rows.append((int(ts), o["data"]))
    first_trades = ev[ev["kind"] == TRADE][: len(rows)]
    for rec, (ts, d) in zip(first_trades, rows, strict=True):
        assert int(rec["ts_local"]) == ts and int(rec["ts_event"]) == d["T"] * 1_000_000
        assert int(rec["price"]) == _raw(d["p"], 2) and int(rec["qty"]) == _raw(d["q"], 3)
        assert int(rec["seq"]) == d["t"] and int(rec["side"]) == (2 if d["m"] else 1)


def test_usdm_2023_microsecond_file_every_record(shared_data: Path) -> None:
    path = shared_data / HFT / "usdm_btcusdt_20230404.dat.gz"
    ev, stats = decode_file(path)
    # README: REST snapshot=1, bookTicker=6765, depth@0ms=4322, markPrice@1s=99, trade=2197
    assert stats.messages == {"snapshot": 1, "bookTicker": 6765, "depthUpdate": 4322, "markPriceUpdate": 99,
                              "trade": 2197}
    assert _kinds(ev)["MARK"] == 99 and _kinds(ev)["BBO"] == 2 * 6765
    with gzip.open(path, "rb") as f:
        first_ts = f.readline().split(b" ", 1)[0]
    assert len(first_ts) == 16 and int(ev["ts_local"][0]) == int(first_ts) * 1000, "µs -> ns"
    assert stats.first_ts_local == int(first_ts) * 1000
    _structure_checks(ev, stats)
    # every record: ids, times, flags, and price/qty/index against Decimal of the original string
    # (mark and index prices have 8 decimals and are rounded HALF_EVEN to the 2-decimal precision)
    _check_against_oracle(ev, _oracle(path), 2, 3)


def test_spot_2024_every_record(shared_data: Path) -> None:
    path = shared_data / HFT / "spot_btcusdt_20240808.gz"
    ev, stats = decode_file(path)
    # README: REST snapshot=1, bookTicker=28040, depth@100ms=3451, trade=9757
    assert stats.messages == {"snapshot": 1, "bookTicker": 28040, "depthUpdate": 3451, "trade": 9757}
    info = stats.symbols["BTCUSDT"]
    assert (info.price_precision, info.size_precision) == (8, 8), "inferred from '61737.63000000'"
    _structure_checks(ev, stats)
    # spot: bookTicker and the snapshot carry no venue time -> ts_event = ts_local and BAD_TS
    bbo = ev[ev["kind"] == BBO]
    assert np.all(bbo["flags"] & BAD) and np.array_equal(bbo["ts_event"], bbo["ts_local"])
    clear = ev[ev["kind"] == CLEAR]
    assert len(clear) == 1 and clear["flags"][0] & BAD
    depth = ev[(ev["kind"] == LEVEL) & (ev["flags"] & SNAP == 0)]
    assert not np.any(depth["flags"] & BAD) and not np.any(depth["order_id"]), "spot depth has no pu"
    _check_against_oracle(ev, _oracle(path), 8, 8)


def test_coinm_snapshot_names_its_symbol(shared_data: Path) -> None:
    ev, stats = decode_file(shared_data / HFT / "cm_btcusd_perp_20240808.gz")
    # README: REST snapshot=1, bookTicker=19136, depth@0ms=26847, trade=2286
    assert stats.messages == {"snapshot": 1, "bookTicker": 19136, "depthUpdate": 26847, "trade": 2286}
    info = stats.symbols["BTCUSD_PERP"]
    assert (info.price_precision, info.size_precision) == (1, 0)
    assert list(stats.symbols) == ["BTCUSD_PERP"]
    _structure_checks(ev, stats)


def test_instruments_fix_precision_and_ids(shared_data: Path) -> None:
    path = shared_data / HFT / "usdm_btcusdt_20230404.dat.gz"
    other = _instrument("ETHUSDT", "0.01", "0.001")
    btc = _instrument("BTCUSDT", "0.10", "0.001")  # the real USD-M BTCUSDT tick: precision 1
    ev, stats = decode_file(path, [other, btc])
    assert np.all(ev["instrument_id"] == 1), "instrument_id = index in the list given"
    assert stats.symbols["BTCUSDT"].inferred is False and stats.symbols["BTCUSDT"].price_precision == 1
    inferred, _ = decode_file(path)
    priced = inferred["price"] != RAW_NULL
    marks = inferred["kind"] == MARK
    # exact rescale 2 -> 1 decimals for every book/trade price (all on the 0.10 tick)
    assert np.array_equal(ev["price"][priced & ~marks] * 10, inferred["price"][priced & ~marks])
    assert np.array_equal(ev["qty"], inferred["qty"])
    as_mapping, _ = decode_file(path, {"BTCUSDT": btc})
    assert np.array_equal(as_mapping["instrument_id"], np.zeros(len(as_mapping), np.uint32))
    assert np.array_equal(as_mapping["price"], ev["price"])


def test_precision_error_names_the_line(shared_data: Path) -> None:
    path = shared_data / HFT / "usdm_btcusdt_20230404.dat.gz"
    with gzip.open(path, "rb") as f:
        first_mark = next(i for i, raw in enumerate(f, 1) if b"@markPrice" in raw[:80])
    with pytest.raises(DecodeError, match=rf"^line {first_mark}: .*markPriceUpdate.*not exact") as info:
        decode_file(path, mark_rounding=None)
    assert isinstance(info.value.__cause__, PrecisionError)
    coarse = _instrument("BTCUSDT", "1", "0.001")  # 28145.10 is not a whole number
    with pytest.raises(DecodeError, match=r"^line 1: ") as info:
        decode_file(path, [coarse])
    assert isinstance(info.value.__cause__, PrecisionError)


def test_cryptofeed_ws_and_rest_files(shared_data: Path) -> None:
    path = shared_data / CF / "BINANCE_FUTURES.ws.1.0.gz"
    assert detect_format(path) == "cryptofeed"
    ev, stats = decode_file(path)
    # README: depth@100ms 764, bookTicker 613, aggTrade 91, kline_1m 67 (skipped, counted)
    assert stats.messages == {"bookTicker": 613, "depthUpdate": 764, "aggTrade": 91}
    assert stats.skipped == {"kline_1m": 67}
    assert stats.lines == 1535, "the connect line is not a message"
    assert list(stats.symbols) == ["SUSHIUSDT", "AKROUSDT", "KEEPUSDT", "CTKUSDT"]
    assert np.all(np.diff(ev["ts_local"]) >= 0)
    with gzip.open(path, "rb") as f:
        f.readline()
        ts = f.readline().partition(b": ")[0]
    assert ts == b"1626992741.06217" and int(ev["ts_local"][0]) == 1_626_992_741_062_170_000
    with gzip.open(path, "rb") as f:
        aggs = [orjson.loads(line.partition(b": ")[2])["data"] for line in f if b'@aggTrade","data"' in line[:80]]
    trades = ev[ev["kind"] == TRADE]
    precision = {s: i.price_precision or 0 for s, i in stats.symbols.items()}
    ids = {i.instrument_id: s for s, i in stats.symbols.items()}
    for rec, d in zip(trades, aggs, strict=True):
        assert (int(rec["seq"]), int(rec["aux"])) == (d["a"], d["f"])
        assert int(rec["side"]) == (2 if d["m"] else 1) and int(rec["ts_event"]) == d["T"] * 1_000_000
        assert ids[int(rec["instrument_id"])] == d["s"]
        assert int(rec["price"]) == _raw(d["p"], precision[d["s"]])
    # REST snapshots: the symbol comes from the URL
    rest, rstats = decode_file(shared_data / CF / "BINANCE.http.0.0.gz")
    assert rstats.messages == {"snapshot": 4}
    assert list(rstats.symbols) == ["NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"]
    clears = rest[rest["kind"] == CLEAR]
    assert clears["instrument_id"].tolist() == [0, 1, 2, 3] and clears["seq"][0] == 499869752
    assert np.all(clears["flags"] & BAD)


def test_unknown_symbols_policy(shared_data: Path) -> None:
    path = shared_data / CF / "BINANCE_FUTURES.ws.1.0.gz"
    sushi = _instrument("SUSHIUSDT", "0.001", "1")
    ev, stats = decode_file(path, [sushi], unknown_symbols="skip")
    assert set(np.unique(ev["instrument_id"]).tolist()) == {0}
    assert stats.skipped["symbol AKROUSDT"] > 0 and stats.skipped["kline_1m"] == 67
    with pytest.raises(DecodeError, match=r"^line \d+: symbol 'AKROUSDT' is not among the instruments"):
        decode_file(path, [sushi], unknown_symbols="error")
    _, istats = decode_file(path, [sushi])
    assert istats.symbols["AKROUSDT"].instrument_id == 1 and istats.symbols["AKROUSDT"].inferred


# ---------------------------------------------------------------------------------------------- errors
def _decode(lines: list[bytes], **kw: Any) -> np.ndarray:
    dec = BinanceRecordingDecoder(**kw)
    dec.decode_lines(read_hftbacktest(lines))
    return dec.flush()


_GOOD_TRADE = (b'1723161255088176367 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,'
               b'"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET",'
               b'"m":false}}')


@pytest.mark.parametrize(
    ("line", "match"),
    [
        (b"1723161255088176367", r"expected '<local_ts> <json>'"),
        (b"17231612550 {}", r"19-digit ns"),
        (b"172316125508817636x {}", r"expected '<local_ts> <json>'"),
        (_GOOD_TRADE[:-5], r"cannot decode .*truncated"),
        (_GOOD_TRADE.replace(b'"t":5266583935', b'"t":"5266583935"'), r"Expected `int`, got `str`"),
        (_GOOD_TRADE.replace(b'"p":"61800.30"', b'"p":61800.30'), r"Expected `str`, got `float`"),
        (_GOOD_TRADE.replace(b'"p":"61800.30"', b'"p":"61,800.30"'), r"invalid decimal"),
        (_GOOD_TRADE.replace(b'"q":"0.006"', b'"q":"-0.006"'), r"negative trade quantity"),
        (_GOOD_TRADE.replace(b'"t":5266583935', b'"t":-1'), r"Expected `int` >= 0"),
        (_GOOD_TRADE.replace(b'"m":false', b'"m":0'), r"Expected `bool`"),
        (_GOOD_TRADE.replace(b'"T":1723161256322,', b""), r"missing required field `T`"),
        (b'1723161255088176367 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT",'
         b'"U":1,"u":2,"b":[["1.0"]],"a":[]}}', r"Expected `array` of length 2"),
        (b'1723161255088176367 {"stream":"btcusdt@bookTicker","data":"x"}', r"Expected `object`"),
        (b'1723161255088176367 {"stream":"btcusdt@trade"}', r"missing required field `data`"),
        (b'1723161255088176367 {"stream":"btcusdt@trade","data":{}}', r"missing required field"),
        (b'1723161255088176367 {"stream":"btcusdt@kline_1m","data":{"k":', r"truncated"),
        (b'1723161255088176367 {"foo":1}', r"unrecognised message"),
        (b"1723161255088176367 [1,2]", r"Expected `object`, got `array`"),
        (b'1723161255088176367 {"lastUpdateId":5,"bids":[["1.0","2"]]}', r"without 'bids' and 'asks'"),
    ],
)
def test_malformed_line_raises_decode_error_with_line_number(line: bytes, match: str) -> None:
    lines = [_GOOD_TRADE, b"", line, _GOOD_TRADE]  # the bad line is line 3 (a blank line 2 is skipped)
    with pytest.raises(DecodeError, match=r"^line 3: .*" + match):
        _decode(lines)


def test_snapshot_symbol_resolution() -> None:
    snap = b'1723161255088176367 {"lastUpdateId":5,"bids":[["1.0","2"]],"asks":[["1.5","3"]]}'
    with pytest.raises(DecodeError, match=r"^line 1: REST depth snapshot names no symbol .*pass default_symbol="):
        _decode([snap])
    ev = _decode([snap], default_symbol="ABCUSDT")
    assert ev["kind"].tolist() == [CLEAR, LEVEL, LEVEL] and ev["flags"].tolist() == [
        SNAP | MBP | BAD, SNAP | MBP | BAD, SNAP | MBP | BAD | LAST]
    assert ev["price"].tolist()[1:] == [10, 15] and ev["side"].tolist() == [0, 1, 2]
    assert ev["seq"].tolist() == [5, 5, 5] and ev["price"][0] == RAW_NULL
    two = [_GOOD_TRADE, _GOOD_TRADE.replace(b"BTCUSDT", b"ETHUSDT"), snap]
    with pytest.raises(DecodeError, match=r"^line 3: .*symbols met: \['BTCUSDT', 'ETHUSDT'\]"):
        _decode(two)
    assert len(_decode([*two[:1], snap])) == 4, "the only symbol met so far"


def test_failed_message_adds_nothing() -> None:
    dec = BinanceRecordingDecoder()
    assert dec.decode(_GOOD_TRADE.split(b" ", 1)[1], 1, line=1) == 1
    depth = (b'{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,'
             b'"b":[["1.00","2.000"],["0.90","x"]],"a":[]}}')
    with pytest.raises(DecodeError, match="^line 2: cannot decode depthUpdate"):
        dec.decode(depth, 2, line=2)
    assert len(dec) == 1 and dec.stats.messages == {"trade": 1} and dec.stats.lines == 1
    # a bad first message does not fix a wrong inferred precision: '1' would have given 0 decimals
    fresh = BinanceRecordingDecoder()
    with pytest.raises(DecodeError):
        fresh.decode(b'{"stream":"x@trade","data":{"s":"X","t":1,"p":"1","q":"bad","T":1,"m":true}}', 5)
    fresh.decode(b'{"stream":"x@trade","data":{"s":"X","t":1,"p":"1.25","q":"3","T":1,"m":true}}', 6)
    assert fresh.symbols["X"].price_precision == 2 and int(fresh.flush()["price"][0]) == 125


def test_bare_events_responses_and_empty_depth() -> None:
    dec = BinanceRecordingDecoder()
    dec.decode(b'{"result":null,"id":1}', 1)
    dec.decode(b'{"e":"kline","E":1,"s":"BTCUSDT","k":{}}', 2)
    dec.decode(b'{"stream":"btcusdt@depth5@100ms","data":{"lastUpdateId":1,"bids":[],"asks":[]}}', 2)
    dec.decode(b'{"e":"depthUpdate","E":1700000000000,"s":"BTCUSDT","U":7,"u":9,"pu":6,"b":[],"a":[]}', 3)
    dec.decode(b'{"e":"aggTrade","E":1,"s":"BTCUSDT","a":11,"p":"2.50","q":"1.5","f":100,"l":102,"T":1700000000001,'
               b'"m":false}', 4)
    ev = dec.flush()
    assert dec.stats.skipped == {"response": 1, "kline": 1, "depth5@100ms": 1}, "partial depth is not a diff"
    assert ev["kind"].tolist() == [int(EventKind.NONE), TRADE]
    none = ev[0]
    assert (int(none["seq"]), int(none["aux"]), int(none["order_id"])) == (9, 7, 6), "the id chain is kept"
    assert int(none["flags"]) == MBP | LAST and none["price"] == RAW_NULL
    assert (int(ev[1]["seq"]), int(ev[1]["aux"]), int(ev[1]["side"])) == (11, 100, 1)
    assert int(ev[1]["ts_event"]) == 1_700_000_000_001_000_000


def test_cryptofeed_reader_errors() -> None:
    lines = [b"wss://x/stream?streams=a@trade <-> 1626992740.179554", b"1626992741.5: {}", b"not a line"]
    got: list[tuple[int, int, bytes, str | None]] = []
    with pytest.raises(DecodeError, match=r"^line 3: expected '<ts>: <json>'"):
        got.extend(read_cryptofeed(lines))
    assert got == [(2, 1_626_992_741_500_000_000, b"{}", None)]
    with pytest.raises(DecodeError, match=r"^line 1: expected a timestamp in seconds"):
        list(read_cryptofeed([b"12a.5: {}"]))


_FUZZ_INSTRUMENT, _FUZZ_LINES = generate_stream(60, seed=11)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(_FUZZ_LINES) - 1),
    op=st.sampled_from(["truncate", "replace", "delete", "insert"]),
    pos=st.integers(0, 10**6),
    byte=st.integers(0, 255),
)
def test_fuzzed_lines_decode_or_raise_decode_error(index: int, op: str, pos: int, byte: int) -> None:
    line = _FUZZ_LINES[index]
    pos %= len(line)
    if op == "truncate":
        mutated = line[:pos]
    elif op == "replace":
        mutated = line[:pos] + bytes([byte]) + line[pos + 1:]
    elif op == "delete":
        mutated = line[:pos] + line[pos + 1:]
    else:
        mutated = line[:pos] + bytes([byte]) + line[pos:]
    if not mutated or mutated.isspace():
        return  # a blank line is skipped, not malformed
    lines = [*_FUZZ_LINES[:index], mutated, *_FUZZ_LINES[index + 1:]]
    try:
        _decode(lines, instruments=[_FUZZ_INSTRUMENT])
    except DecodeError as exc:
        assert str(exc).startswith(f"line {index + 1}: "), str(exc)
    else:
        assert op != "truncate", "a truncated line never decodes"


# ---------------------------------------------------------------------------------------------- synthetic
def _book_check(ev: np.ndarray) -> tuple[int, int]:
    """Rebuild the L2 book from the decoded records (Binance USD-M sync rule) and compare every
    bookTicker; returns (depth messages applied, bookTickers checked)."""
    kind, flags = ev["kind"], ev["flags"]
    clear = np.nonzero(kind == CLEAR)[0]
    assert len(clear) == 1
    last_update_id = int(ev["seq"][clear[0]])
    book: dict[int, dict[int, int]] = {1: {}, 2: {}}
    for rec in ev[(flags & SNAP != 0) & (kind == LEVEL)]:
        book[int(rec["side"])][int(rec["price"])] = int(rec["qty"])
    diffs = ev[(kind == LEVEL) & (flags & SNAP == 0)]
    ends = np.nonzero(diffs["flags"] & LAST)[0] + 1
    tops: dict[int, tuple[int, int, int, int]] = {}
    prev_u = None
    for msg in np.split(diffs, ends[:-1]):
        first_u, u, pu = int(msg["aux"][0]), int(msg["seq"][0]), int(msg["order_id"][0])
        if u < last_update_id:
            continue  # buffered before the snapshot: dropped
        if prev_u is None:
            assert first_u <= last_update_id <= u, "the first applied message straddles lastUpdateId"
        else:
            assert pu == prev_u, "pu chains"
        prev_u = u
        for side, price, qty in zip(msg["side"].tolist(), msg["price"].tolist(), msg["qty"].tolist(), strict=True):
            if qty:
                book[side][price] = qty
            else:  # Binance may delete a level the book never had (added and removed within one message)
                book[side].pop(price, None)
        bid, ask = max(book[1]), min(book[2])
        assert bid < ask, "the book never crosses"
        tops[u] = (bid, book[1][bid], ask, book[2][ask])
    bbo = ev[kind == BBO]
    checked = 0
    for b, a in zip(bbo[0::2], bbo[1::2], strict=True):
        u = int(b["seq"])
        if u < last_update_id:
            continue
        if u > max(tops):
            continue  # its depth message fell after the end of the stream
        assert tops[u] == (int(b["price"]), int(b["qty"]), int(a["price"]), int(a["qty"])), u
        checked += 1
    return len(tops), checked


def test_synthetic_round_trip_and_book() -> None:
    instrument, lines = generate_stream(20_000, seed=7)
    assert len(lines) == 20_000
    assert instrument == synthetic_instrument() and instrument.price_precision == 1
    ev = _decode(lines, instruments=[instrument])
    stats_ev, stats = _decode_each(lines, instrument)
    assert np.array_equal(ev, stats_ev)
    assert stats.messages["snapshot"] == 1 and stats.skipped == {}
    assert set(stats.messages) == {"snapshot", "depthUpdate", "trade", "bookTicker"}
    _structure_checks(ev, stats)
    applied, checked = _book_check(ev)
    assert applied > 5000 and checked > 4000
    # the chain holds over the whole file, the pre-snapshot messages included
    last = ev[(ev["kind"] == LEVEL) & (ev["flags"] & LAST != 0) & (ev["flags"] & SNAP == 0)]
    assert np.array_equal(last["order_id"][1:], last["seq"][:-1])
    # the snapshot line comes after some depth messages, like the real recordings
    first_clear = int(np.nonzero(ev["kind"] == CLEAR)[0][0])
    assert np.any(ev["kind"][:first_clear] == LEVEL)
    # the wire format: compact envelopes, 2-decimal prices, 3-decimal sizes, 19-digit ns stamps
    ts, js = lines[-1].split(b" ", 1)
    assert len(ts) == 19 and js.startswith(b'{"stream":"synthusdt@')
    # decoding with inferred precision gives 2 decimals, i.e. every price x10
    inferred = _decode(lines)
    priced = inferred["price"] != RAW_NULL
    assert np.array_equal(inferred["price"][priced], ev["price"][priced] * 10)


def _decode_each(lines: list[bytes], instrument: Instrument) -> tuple[np.ndarray, Any]:
    dec = BinanceRecordingDecoder({instrument.symbol: instrument})
    for i, raw in enumerate(lines, 1):
        ts, js = raw.split(b" ", 1)
        dec.decode(js, int(ts), line=i)
    return dec.flush(), dec.stats


def test_synthetic_is_deterministic(tmp_path: Path) -> None:
    assert generate_stream(800, seed=3)[1] == generate_stream(800, seed=3)[1]
    assert generate_stream(800, seed=3)[1] != generate_stream(800, seed=4)[1]
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    instrument = write_stream(a, 800, seed=3)
    write_stream(b, 800, seed=3)
    assert a.read_bytes() == b.read_bytes(), "gzip output is byte-identical (mtime 0)"
    plain = tmp_path / "c.txt"
    write_stream(plain, 800, seed=3)
    assert plain.read_bytes() == b"\n".join(generate_stream(800, seed=3)[1]) + b"\n"
    ev_gz, stats = decode_file(a, [instrument])
    ev_txt, _ = decode_file(plain, [instrument])
    assert np.array_equal(ev_gz, ev_txt) and stats.lines == 800
    for n in (1, 7, 99):
        assert len(generate_stream(n, seed=1)[1]) == n
    assert _book_check(_decode(generate_stream(99, seed=5)[1]))[0] > 0, "short streams have their snapshot"


def test_synthetic_exchange_info_matches_instrument() -> None:
    (parsed,) = parse_exchange_info(orjson.dumps(synthetic_exchange_info()))
    inst = synthetic_instrument()
    assert (parsed.symbol, parsed.venue, parsed.kind) == (inst.symbol, inst.venue, inst.kind)
    assert parsed.price_tick == inst.price_tick and parsed.size_step == inst.size_step
    assert (parsed.price_precision, parsed.size_precision) == (1, 3)


def test_mark_rounding_modes() -> None:
    mark = b'{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1700000000000,"s":"BTCUSDT",' \
           b'"p":"28147.27500000","i":"28159.76500000","r":"0.0001","T":1700000800000}}'
    btc = _instrument("BTCUSDT", "0.01", "0.001")
    for mode, price, index in ((Rounding.HALF_EVEN, 2814728, 2815976), (Rounding.DOWN, 2814727, 2815976)):
        dec = BinanceRecordingDecoder([btc], mark_rounding=mode)
        dec.decode(mark, 5)
        rec = dec.flush()[0]
        assert (int(rec["price"]), int(rec["aux"]), int(rec["kind"])) == (price, index, MARK)
        assert rec["qty"] == RAW_NULL and int(rec["ts_event"]) == 1_700_000_000_000_000_000
