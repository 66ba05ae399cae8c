"""QuoteTick, TradeTick and Bar: validation, spread, immutability, hashing and exact round trips."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import assert_round_trips

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant.core.enums import AggressorSide, OrderSide
from shrivenquant.core.market import Bar, QuoteTick, TradeTick
from shrivenquant.core.serialization import from_json, from_msgpack, to_json, to_msgpack
from shrivenquant.errors import ValidationError

INT64_MAX = 2**63 - 1
IID = "BTCUSDT.BINANCE"
T0 = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000


def quote(**overrides: Any) -> QuoteTick:
    kwargs: dict[str, Any] = {
        "instrument_id": IID,
        "bid_price": Price("61773.60"),
        "ask_price": Price("61773.70"),
        "bid_size": Quantity("1.250"),
        "ask_size": Quantity("0.004"),
        "ts_event": T0,
        "ts_local": T0 + 150_000,
    }
    kwargs.update(overrides)
    return QuoteTick(**kwargs)


def trade(**overrides: Any) -> TradeTick:
    kwargs: dict[str, Any] = {
        "instrument_id": IID,
        "price": Price("61773.60"),
        "size": Quantity("0.004"),
        "aggressor_side": AggressorSide.BUYER,
        "trade_id": "3912873201",
        "ts_event": T0,
        "ts_local": T0 + 150_000,
    }
    kwargs.update(overrides)
    return TradeTick(**kwargs)


def bar(**overrides: Any) -> Bar:
    kwargs: dict[str, Any] = {
        "instrument_id": IID,
        "interval_ns": MINUTE,
        "ts_open": T0,
        "ts_close": T0 + MINUTE - 1_000_000,
        "open": Price("100.10"),
        "high": Price("101.00"),
        "low": Price("99.50"),
        "close": Price("100.70"),
        "volume": Quantity("12.345"),
        "trade_count": 42,
    }
    kwargs.update(overrides)
    return Bar(**kwargs)


def json_with(obj: msgspec.Struct, **overrides: Any) -> bytes:
    d = msgspec.json.decode(to_json(obj))
    d.update(overrides)
    return msgspec.json.encode(d)


# ---------------------------------------------------------------------------------------- QuoteTick


def test_quote_fields_and_spread() -> None:
    q = quote()
    assert q.instrument_id == IID
    assert q.bid_size == Quantity("1.25")
    spread = q.spread
    assert isinstance(spread, Price)
    assert spread.raw == 10 and spread.precision == 2


def test_quote_crossed_and_locked_are_kept() -> None:
    crossed = quote(bid_price=Price("10.5"), ask_price=Price("10.4"))
    assert crossed.spread == Price("-0.1")
    assert quote(bid_price=Price("10.5"), ask_price=Price("10.5")).spread.is_zero()


def test_quote_zero_sizes_allowed() -> None:
    q = quote(bid_size=Quantity("0.000"), ask_size=Quantity("0.000"))
    assert q.bid_size.is_zero() and q.ask_size.is_zero()


def test_quote_price_precisions_must_match() -> None:
    with pytest.raises(ValidationError, match=r"QuoteTick\.bid_price and ask_price must have the same"):
        quote(ask_price=Price("61773.7"))


def test_quote_size_precisions_must_match() -> None:
    with pytest.raises(ValidationError, match=r"QuoteTick\.bid_size and ask_size must have the same precis"):
        quote(ask_size=Quantity("0.0040"))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("instrument_id", "BTCUSDT", r"QuoteTick\.instrument_id must be 'SYMBOL\.VENUE'"),
    ("instrument_id", "", r"QuoteTick\.instrument_id must be 'SYMBOL\.VENUE'"),
    ("bid_price", "61773.60", r"QuoteTick\.bid_price must be a Price"),
    ("ask_price", Quantity("1"), r"QuoteTick\.ask_price must be a Price"),
    ("bid_size", Price("1.000"), r"QuoteTick\.bid_size must be a Quantity"),
    ("ask_size", 1, r"QuoteTick\.ask_size must be a Quantity"),
    ("ts_event", -1, r"QuoteTick\.ts_event must be from 0"),
    ("ts_event", 1.5, r"QuoteTick\.ts_event must be an int"),
    ("ts_local", True, r"QuoteTick\.ts_local must be an int"),
    ("ts_local", INT64_MAX + 1, r"QuoteTick\.ts_local must be from 0"),
])
def test_quote_field_validation(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        quote(**{field: value})


# ---------------------------------------------------------------------------------------- TradeTick


def test_trade_fields() -> None:
    t = trade()
    assert t.price == Price("61773.60")
    assert t.size == Quantity("0.004")
    assert t.aggressor_side is AggressorSide.BUYER
    assert t.trade_id == "3912873201"


@pytest.mark.parametrize("side", list(AggressorSide))
def test_trade_any_aggressor_side(side: AggressorSide) -> None:
    assert trade(aggressor_side=side).aggressor_side is side


@pytest.mark.parametrize(("field", "value", "message"), [
    ("instrument_id", "BTCUSDT.", r"TradeTick\.instrument_id must be 'SYMBOL\.VENUE'"),
    ("price", 61773.6, r"TradeTick\.price must be a Price"),
    ("size", Quantity("0"), r"TradeTick\.size must be > 0"),
    ("size", Price("1"), r"TradeTick\.size must be a Quantity"),
    ("aggressor_side", OrderSide.BUY, r"TradeTick\.aggressor_side must be an AggressorSide"),
    ("aggressor_side", 1, r"TradeTick\.aggressor_side must be an AggressorSide"),
    ("trade_id", "", r"TradeTick\.trade_id must be a non-empty string"),
    ("trade_id", 3912873201, r"TradeTick\.trade_id must be a non-empty string"),
    ("ts_event", -1, r"TradeTick\.ts_event must be from 0"),
    ("ts_local", None, r"TradeTick\.ts_local must be an int"),
])
def test_trade_field_validation(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        trade(**{field: value})


# ---------------------------------------------------------------------------------------------- Bar


def test_bar_fields_and_default_trade_count() -> None:
    b = bar()
    assert b.high == Price("101.00") and b.low == Price("99.50")
    kwargs = {f: getattr(b, f) for f in b.__struct_fields__ if f != "trade_count"}
    assert Bar(**kwargs).trade_count == 0


def test_bar_flat_and_zero_volume_valid() -> None:
    p = Price("5.00")
    b = bar(open=p, high=p, low=p, close=p, volume=Quantity("0"), trade_count=0)
    assert b.volume.is_zero()


@pytest.mark.parametrize(("o", "h", "lo", "c"), [
    ("100.00", "100.00", "99.00", "99.00"),  # opens at the high, closes at the low
    ("99.00", "100.00", "99.00", "100.00"),  # opens at the low, closes at the high
    ("-3.00", "-1.00", "-4.00", "-2.00"),  # negative prices
])
def test_bar_ohlc_edges_valid(o: str, h: str, lo: str, c: str) -> None:
    b = bar(open=Price(o), high=Price(h), low=Price(lo), close=Price(c))
    assert b.low <= b.open <= b.high and b.low <= b.close <= b.high


@pytest.mark.parametrize(("o", "h", "lo", "c", "message"), [
    ("100.10", "101.00", "101.50", "100.70", r"Bar\.high 101\.00 must be >= low 101\.50"),
    ("101.10", "101.00", "99.50", "100.70", r"Bar\.high 101\.00 must be >= open 101\.10 and close"),
    ("100.10", "101.00", "99.50", "101.01", r"Bar\.high 101\.00 must be >= open .* and close 101\.01"),
    ("99.40", "101.00", "99.50", "100.70", r"Bar\.low 99\.50 must be <= open 99\.40 and close"),
    ("100.10", "101.00", "99.50", "99.49", r"Bar\.low 99\.50 must be <= open .* and close 99\.49"),
])
def test_bar_ohlc_consistency(o: str, h: str, lo: str, c: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        bar(open=Price(o), high=Price(h), low=Price(lo), close=Price(c))


@pytest.mark.parametrize("field", ["high", "low", "close"])
def test_bar_prices_share_one_precision(field: str) -> None:
    with pytest.raises(ValidationError, match=rf"Bar\.{field} must have the precision of open \(2\), got 3"):
        bar(**{field: Price(str(getattr(bar(), field)) + "0")})


@pytest.mark.parametrize(("field", "value", "message"), [
    ("instrument_id", "BTC USDT.BINANCE", r"Bar\.instrument_id must be 'SYMBOL\.VENUE'"),
    ("interval_ns", 0, r"Bar\.interval_ns must be from 1"),
    ("interval_ns", -MINUTE, r"Bar\.interval_ns must be from 1"),
    ("interval_ns", 60.0, r"Bar\.interval_ns must be an int"),
    ("ts_open", -1, r"Bar\.ts_open must be from 0"),
    ("ts_close", "x", r"Bar\.ts_close must be an int"),
    ("ts_close", T0, r"Bar\.ts_close must be after ts_open"),
    ("ts_close", T0 - 1, r"Bar\.ts_close must be after ts_open"),
    ("open", "100.10", r"Bar\.open must be a Price"),
    ("high", Quantity("101.00"), r"Bar\.high must be a Price"),
    ("low", None, r"Bar\.low must be a Price"),
    ("close", 100.7, r"Bar\.close must be a Price"),
    ("volume", Price("1"), r"Bar\.volume must be a Quantity"),
    ("trade_count", -1, r"Bar\.trade_count must be from 0"),
    ("trade_count", True, r"Bar\.trade_count must be an int"),
])
def test_bar_field_validation(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        bar(**{field: value})


# --------------------------------------------------------------------------------- frozen, eq, hash


@pytest.mark.parametrize(("obj", "field", "value"), [
    (quote(), "bid_price", Price("1.00")),
    (trade(), "size", Quantity("1")),
    (bar(), "close", Price("100.00")),
    (bar(), "trade_count", 0),
])
def test_frozen_refuses_mutation(obj: msgspec.Struct, field: str, value: Any) -> None:
    before = getattr(obj, field)
    with pytest.raises(AttributeError):
        setattr(obj, field, value)
    assert getattr(obj, field) == before


@pytest.mark.parametrize("factory", [quote, trade, bar])
def test_equality_and_hash(factory: Any) -> None:
    a, b = factory(), factory()
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    c = factory(ts_event=T0 + 1) if factory is not bar else factory(trade_count=1)
    assert a != c


def test_quote_and_trade_with_overlapping_fields_are_distinct_types() -> None:
    assert quote() != trade()
    assert len({quote(), trade(), bar()}) == 3


# ------------------------------------------------------------------------------------ serialization


@pytest.mark.parametrize("obj", [
    quote(),
    quote(bid_price=Price("-0.000000000000000001"), ask_price=Price("9.223372036854775807"),
          bid_size=Quantity.from_raw(INT64_MAX, 0), ask_size=Quantity("0"), ts_event=0, ts_local=INT64_MAX),
    trade(),
    trade(aggressor_side=AggressorSide.NONE, price=Price("1E+3"), size=Quantity("0.10000")),
    bar(),
    bar(ts_open=0, ts_close=1, interval_ns=1, trade_count=INT64_MAX),
])
def test_round_trip_exact(obj: msgspec.Struct) -> None:
    assert_round_trips(obj)


def test_json_keeps_exact_decimal_strings() -> None:
    d = msgspec.json.decode(to_json(bar(volume=Quantity("12.3450"))))
    assert d["open"] == "100.10"
    assert d["volume"] == "12.3450"
    back = from_json(to_json(bar(volume=Quantity("12.3450"))), Bar)
    assert back.volume.raw == 123450 and back.volume.precision == 4


@pytest.mark.parametrize("cls", [QuoteTick, TradeTick, Bar])
@pytest.mark.parametrize("data", [b"", b"{", b"[1, 2]", b'"x"', b"{}"])
def test_malformed_json_raises_validation_error(cls: type, data: bytes) -> None:
    with pytest.raises(ValidationError, match=rf"cannot decode {cls.__name__} from JSON"):
        from_json(data, cls)


@pytest.mark.parametrize(("obj", "overrides", "where"), [
    (quote(), {"bid_price": 61773.6}, "bid_price"),
    (quote(), {"ask_size": "-1"}, "ask_size"),
    (quote(), {"ts_event": "now"}, "ts_event"),
    (quote(), {"ask_price": "61773.7"}, r"QuoteTick\.bid_price and ask_price must have the same precision"),
    (trade(), {"aggressor_side": 5}, "aggressor_side"),
    (trade(), {"size": "0"}, r"TradeTick\.size must be > 0"),
    (trade(), {"trade_id": 123}, "trade_id"),
    (trade(), {"instrument_id": "BTCUSDT"}, r"TradeTick\.instrument_id"),
    (bar(), {"high": "99.00"}, r"Bar\.high 99\.00 must be >= low"),
    (bar(), {"interval_ns": 0}, r"Bar\.interval_ns must be from 1"),
    (bar(), {"trade_count": 1.5}, "trade_count"),
    (bar(), {"volume": None}, "volume"),
])
def test_bad_fields_on_decode_raise_validation_error(
    obj: msgspec.Struct, overrides: dict[str, Any], where: str
) -> None:
    data = json_with(obj, **overrides)
    with pytest.raises(ValidationError, match=where):
        from_json(data, type(obj))
    with pytest.raises(ValidationError, match=where):
        from_msgpack(msgspec.msgpack.encode(msgspec.json.decode(data)), type(obj))


def test_malformed_msgpack_raises_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"cannot decode TradeTick from msgpack"):
        from_msgpack(to_msgpack(trade())[:5], TradeTick)


# ----------------------------------------------------------------------------------- property tests

RAW = st.integers(-INT64_MAX, INT64_MAX)
PREC = st.integers(0, 18)
timestamps = st.integers(0, INT64_MAX)
iids = st.builds(lambda s, v: f"{s}.{v}", st.text(alphabet="ABCXYZ0123456789-_.", min_size=1, max_size=16),
                 st.sampled_from(["BINANCE", "NSE", "NFO"]))


@st.composite
def quotes(draw: st.DrawFn) -> QuoteTick:
    pp, sp = draw(PREC), draw(PREC)
    return QuoteTick(
        instrument_id=draw(iids),
        bid_price=Price.from_raw(draw(RAW), pp),
        ask_price=Price.from_raw(draw(RAW), pp),
        bid_size=Quantity.from_raw(draw(st.integers(0, INT64_MAX)), sp),
        ask_size=Quantity.from_raw(draw(st.integers(0, INT64_MAX)), sp),
        ts_event=draw(timestamps),
        ts_local=draw(timestamps),
    )


@st.composite
def trades(draw: st.DrawFn) -> TradeTick:
    return TradeTick(
        instrument_id=draw(iids),
        price=Price.from_raw(draw(RAW), draw(PREC)),
        size=Quantity.from_raw(draw(st.integers(1, INT64_MAX)), draw(PREC)),
        aggressor_side=draw(st.sampled_from(list(AggressorSide))),
        trade_id=draw(st.text(min_size=1, max_size=24).map(str.strip).filter(bool)),
        ts_event=draw(timestamps),
        ts_local=draw(timestamps),
    )


@st.composite
def bars(draw: st.DrawFn) -> Bar:
    p = draw(PREC)
    lo, a, b, hi = sorted(draw(st.lists(RAW, min_size=4, max_size=4)))
    o, c = (a, b) if draw(st.booleans()) else (b, a)
    ts_open = draw(st.integers(0, INT64_MAX - 1))
    return Bar(
        instrument_id=draw(iids),
        interval_ns=draw(st.integers(1, INT64_MAX)),
        ts_open=ts_open,
        ts_close=draw(st.integers(ts_open + 1, INT64_MAX)),
        open=Price.from_raw(o, p),
        high=Price.from_raw(hi, p),
        low=Price.from_raw(lo, p),
        close=Price.from_raw(c, p),
        volume=Quantity.from_raw(draw(st.integers(0, INT64_MAX)), draw(PREC)),
        trade_count=draw(st.integers(0, INT64_MAX)),
    )


@settings(max_examples=300, deadline=None)
@given(quotes())
def test_property_random_quotes_round_trip_bit_identically(q: QuoteTick) -> None:
    assert_round_trips(q)


@settings(max_examples=300, deadline=None)
@given(trades())
def test_property_random_trades_round_trip_bit_identically(t: TradeTick) -> None:
    assert_round_trips(t)


@settings(max_examples=300, deadline=None)
@given(bars())
def test_property_random_bars_round_trip_bit_identically(b: Bar) -> None:
    assert_round_trips(b)
