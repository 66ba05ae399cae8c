"""Order events: shared-field and per-event validation, the tagged union, immutability and round trips."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import assert_round_trips

from shrivenquant._native.fixed import Money, Price, Quantity
from shrivenquant.core.enums import LiquiditySide, OrderSide
from shrivenquant.core.order_events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderEventBase,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
)
from shrivenquant.core.serialization import from_json, from_msgpack, to_json, to_msgpack
from shrivenquant.errors import ValidationError

INT64_MAX = 2**63 - 1
IID = "BTCUSDT.BINANCE"

COMMON: dict[str, Any] = {
    "client_order_id": "ord-1",
    "instrument_id": IID,
    "ts_event": 1_700_000_000_000_000_000,
    "ts_init": 1_700_000_000_000_500_000,
    "venue_order_id": "8389765",
}

#: the fields each event needs besides the common ones
EXTRA: dict[type, dict[str, Any]] = {
    OrderSubmitted: {},
    OrderAccepted: {},
    OrderRejected: {"reason": "insufficient balance"},
    OrderModified: {"price": Price("61773.70")},
    OrderCanceled: {},
    OrderExpired: {},
    OrderTriggered: {},
    OrderFilled: {
        "trade_id": "T-1",
        "order_side": OrderSide.BUY,
        "last_qty": Quantity("0.004"),
        "last_px": Price("61773.60"),
        "fee": Money("0.00000400 BTC"),
        "liquidity_side": LiquiditySide.TAKER,
    },
}
EVENT_TYPES = list(EXTRA)


def make(cls: type, **overrides: Any) -> Any:
    kwargs = {**COMMON, **EXTRA[cls], **overrides}
    return cls(**kwargs)


def json_dict(event: msgspec.Struct) -> dict[str, Any]:
    return msgspec.json.decode(to_json(event))


# -------------------------------------------------------------------------------------------- valid


@pytest.mark.parametrize("cls", EVENT_TYPES)
def test_every_event_builds_and_is_an_order_event(cls: type) -> None:
    ev = make(cls)
    assert isinstance(ev, OrderEventBase)
    assert isinstance(ev, OrderEvent)
    assert ev.client_order_id == "ord-1"
    assert ev.instrument_id == IID
    assert ev.venue_order_id == "8389765"
    assert ev.ts_event == COMMON["ts_event"]
    assert ev.ts_init == COMMON["ts_init"]


@pytest.mark.parametrize("cls", [OrderSubmitted, OrderRejected, OrderModified, OrderCanceled,
                                 OrderExpired, OrderTriggered])
def test_venue_order_id_optional(cls: type) -> None:
    assert make(cls, venue_order_id=None).venue_order_id is None


def test_filled_fields() -> None:
    ev = make(OrderFilled)
    assert ev.trade_id == "T-1"
    assert ev.order_side is OrderSide.BUY
    assert ev.last_qty == Quantity("0.004")
    assert ev.last_px == Price("61773.60")
    assert ev.fee == Money("0.000004", "BTC")
    assert ev.liquidity_side is LiquiditySide.TAKER


@pytest.mark.parametrize("fee", [Money("-0.01 USDT"), Money("0"), Money("0.5", "BNB")])
def test_filled_fee_may_be_rebate_zero_or_currencyless(fee: Money) -> None:
    assert make(OrderFilled, fee=fee).fee == fee


@pytest.mark.parametrize("side", list(LiquiditySide))
def test_filled_any_liquidity_side(side: LiquiditySide) -> None:
    assert make(OrderFilled, liquidity_side=side).liquidity_side is side


@pytest.mark.parametrize("changes", [
    {"quantity": Quantity("2")},
    {"price": Price("1.5")},
    {"trigger_price": Price("1.4")},
    {"quantity": Quantity("2"), "price": Price("1.5"), "trigger_price": Price("1.4")},
])
def test_modified_with_some_new_values(changes: dict[str, Any]) -> None:
    ev = OrderModified(**COMMON, **changes)
    for name in ("quantity", "price", "trigger_price"):
        assert getattr(ev, name) == changes.get(name)


# ------------------------------------------------------------------------------------ common fields


@pytest.mark.parametrize("cls", EVENT_TYPES)
@pytest.mark.parametrize(("field", "value", "message"), [
    ("client_order_id", "", r"\.client_order_id must be 1-36"),
    ("client_order_id", "x" * 37, r"\.client_order_id must be 1-36"),
    ("client_order_id", "bad id", r"\.client_order_id must be 1-36"),
    ("instrument_id", "BTCUSDT", r"\.instrument_id must be 'SYMBOL\.VENUE'"),
    ("instrument_id", None, r"\.instrument_id must be a str"),
    ("ts_event", -1, r"\.ts_event must be from 0"),
    ("ts_event", True, r"\.ts_event must be an int"),
    ("ts_event", INT64_MAX + 1, r"\.ts_event must be from 0"),
    ("ts_init", -5, r"\.ts_init must be from 0"),
    ("ts_init", 1.0, r"\.ts_init must be an int"),
    ("venue_order_id", "", r"\.venue_order_id must be a non-empty string"),
    ("venue_order_id", " 12", r"\.venue_order_id must be a non-empty string"),
    ("venue_order_id", 12, r"\.venue_order_id must be a non-empty string"),
])
def test_common_field_validation(cls: type, field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=rf"^{cls.__name__}{message}"):
        make(cls, **{field: value})


def test_base_is_abstract() -> None:
    with pytest.raises(ValidationError, match=r"OrderEventBase is abstract"):
        OrderEventBase(**COMMON)


@pytest.mark.parametrize("cls", [OrderAccepted, OrderFilled])
def test_venue_order_id_required(cls: type) -> None:
    with pytest.raises(ValidationError, match=rf"{cls.__name__}\.venue_order_id is required"):
        make(cls, venue_order_id=None)


# ---------------------------------------------------------------------------------------- per event


@pytest.mark.parametrize("reason", ["", "  ", " padded", 42, None])
def test_rejected_reason(reason: Any) -> None:
    with pytest.raises(ValidationError, match=r"OrderRejected\.reason must be a non-empty string"):
        make(OrderRejected, reason=reason)


def test_modified_needs_a_change() -> None:
    with pytest.raises(ValidationError, match=r"OrderModified needs at least one of quantity, price or"):
        OrderModified(**COMMON)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("quantity", Quantity("0"), r"OrderModified\.quantity must be > 0"),
    ("quantity", Price("1"), r"OrderModified\.quantity must be a Quantity"),
    ("price", "1.5", r"OrderModified\.price must be a Price or None"),
    ("trigger_price", Quantity("1"), r"OrderModified\.trigger_price must be a Price or None"),
])
def test_modified_field_types(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OrderModified(**COMMON, **{field: value})


@pytest.mark.parametrize(("field", "value", "message"), [
    ("trade_id", "", r"OrderFilled\.trade_id must be a non-empty string"),
    ("trade_id", 123, r"OrderFilled\.trade_id must be a non-empty string"),
    ("order_side", 1, r"OrderFilled\.order_side must be an OrderSide"),
    ("last_qty", Quantity("0.000"), r"OrderFilled\.last_qty must be > 0"),
    ("last_qty", "0.004", r"OrderFilled\.last_qty must be a Quantity"),
    ("last_px", Quantity("1"), r"OrderFilled\.last_px must be a Price"),
    ("fee", Price("0.1"), r"OrderFilled\.fee must be a Money"),
    ("fee", None, r"OrderFilled\.fee must be a Money"),
    ("liquidity_side", OrderSide.BUY, r"OrderFilled\.liquidity_side must be a LiquiditySide"),
])
def test_filled_field_validation(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make(OrderFilled, **{field: value})


# --------------------------------------------------------------------------------- frozen, eq, hash


@pytest.mark.parametrize("cls", EVENT_TYPES)
def test_frozen_refuses_mutation(cls: type) -> None:
    ev = make(cls)
    with pytest.raises(AttributeError):
        ev.ts_event = 0
    with pytest.raises(AttributeError):
        ev.venue_order_id = "other"
    assert ev.ts_event == COMMON["ts_event"]


@pytest.mark.parametrize("cls", EVENT_TYPES)
def test_equality_and_hash(cls: type) -> None:
    a, b = make(cls), make(cls)
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != make(cls, ts_init=COMMON["ts_init"] + 1)


def test_different_event_types_with_same_fields_are_not_equal() -> None:
    canceled, expired = make(OrderCanceled), make(OrderExpired)
    assert canceled != expired
    assert len({canceled, expired, make(OrderTriggered), make(OrderSubmitted), make(OrderAccepted)}) == 5


def test_fills_differing_only_in_fee_currency_are_not_equal() -> None:
    assert make(OrderFilled, fee=Money("0.1 USDT")) != make(OrderFilled, fee=Money("0.1 USDC"))


# ------------------------------------------------------------------------------------- tagged union


@pytest.mark.parametrize("cls", EVENT_TYPES)
def test_tag_is_class_name(cls: type) -> None:
    assert json_dict(make(cls))["type"] == cls.__name__


@pytest.mark.parametrize("cls", EVENT_TYPES)
def test_round_trip_exact(cls: type) -> None:
    assert_round_trips(make(cls), OrderEvent)


@pytest.mark.parametrize("cls", EVENT_TYPES)
def test_union_decode_picks_class_by_tag(cls: type) -> None:
    ev = make(cls)
    for data, dec in ((to_json(ev), from_json), (to_msgpack(ev), from_msgpack)):
        back = dec(data, OrderEvent)
        assert type(back) is cls
        assert back == ev


def test_union_decode_of_mixed_list() -> None:
    events = [make(cls) for cls in EVENT_TYPES]
    back = from_json(to_json(events), list[OrderEvent])
    assert [type(e) for e in back] == EVENT_TYPES
    assert back == events
    assert from_msgpack(to_msgpack(events), list[OrderEvent]) == events


def test_filled_json_keeps_exact_strings() -> None:
    d = json_dict(make(OrderFilled, fee=Money("0.0000040 BTC"), last_px=Price("61773.60")))
    assert d["fee"] == "0.0000040 BTC"
    assert d["last_px"] == "61773.60"
    assert d["last_qty"] == "0.004"
    back = from_json(to_json(make(OrderFilled, fee=Money("0.0000040 BTC"))), OrderEvent)
    assert isinstance(back, OrderFilled)
    assert back.fee.raw == 40 and back.fee.precision == 7
    assert back.fee.currency is not None and back.fee.currency.code == "BTC"


def test_unknown_tag_raises_validation_error() -> None:
    d = json_dict(make(OrderCanceled))
    d["type"] = "OrderExploded"
    with pytest.raises(ValidationError, match=r"Invalid value 'OrderExploded' - at `\$\.type`"):
        from_json(msgspec.json.encode(d), OrderEvent)


def test_missing_tag_raises_validation_error() -> None:
    d = json_dict(make(OrderCanceled))
    del d["type"]
    with pytest.raises(ValidationError, match=r"missing required field `type`"):
        from_json(msgspec.json.encode(d), OrderEvent)


def test_decoding_as_the_wrong_concrete_class_raises() -> None:
    with pytest.raises(ValidationError, match=r"Invalid value 'OrderCanceled'"):
        from_json(to_json(make(OrderCanceled)), OrderExpired)


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"42", b'{"type": "OrderCanceled"}'])
def test_malformed_json_raises_validation_error(data: bytes) -> None:
    with pytest.raises(ValidationError, match=r"cannot decode .* from JSON"):
        from_json(data, OrderEvent)


def test_malformed_msgpack_raises_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"cannot decode .* from msgpack"):
        from_msgpack(to_msgpack(make(OrderFilled))[:-2], OrderEvent)


@pytest.mark.parametrize(("field", "value", "where"), [
    ("last_qty", 0.004, "last_qty"),
    ("last_qty", "0", r"OrderFilled\.last_qty must be > 0"),
    ("last_px", 61773.6, "last_px"),
    ("fee", "0.1 NOTACOIN", "unknown currency 'NOTACOIN'"),
    ("fee", 0.1, "fee"),
    ("order_side", "BUY", "order_side"),
    ("liquidity_side", 7, "liquidity_side"),
    ("ts_event", "123", "ts_event"),
    ("ts_event", -1, r"OrderFilled\.ts_event must be from 0"),
    ("venue_order_id", None, r"OrderFilled\.venue_order_id is required"),
    ("venue_order_id", 8389765, "venue_order_id"),
    ("trade_id", "", r"OrderFilled\.trade_id"),
])
def test_wrong_field_values_on_decode_raise_validation_error(field: str, value: Any, where: str) -> None:
    d = json_dict(make(OrderFilled))
    d[field] = value
    with pytest.raises(ValidationError, match=where):
        from_json(msgspec.json.encode(d), OrderEvent)
    with pytest.raises(ValidationError, match=where):
        from_msgpack(msgspec.msgpack.encode(d), OrderEvent)


def test_modified_without_changes_fails_on_decode() -> None:
    d = json_dict(make(OrderModified))
    d["price"] = None
    with pytest.raises(ValidationError, match=r"OrderModified needs at least one of"):
        from_json(msgspec.json.encode(d), OrderEvent)


# ----------------------------------------------------------------------------------- property tests

prices = st.builds(Price.from_raw, st.integers(-INT64_MAX, INT64_MAX), st.integers(0, 18))
positive_qtys = st.builds(Quantity.from_raw, st.integers(1, INT64_MAX), st.integers(0, 18))
moneys = st.builds(
    Money.from_raw,
    st.integers(-INT64_MAX, INT64_MAX),
    st.integers(0, 18),
    st.sampled_from([None, "USD", "INR", "USDT", "BTC", "BNB", "JPY"]),
)
timestamps = st.integers(0, INT64_MAX)
ids = st.text(alphabet="abcXYZ0123456789-_", min_size=1, max_size=20)
COID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:/_-"
coids = st.text(alphabet=COID_CHARS, min_size=1, max_size=36)


@st.composite
def events(draw: st.DrawFn) -> Any:
    cls = draw(st.sampled_from(EVENT_TYPES))
    needs_voi = cls in (OrderAccepted, OrderFilled)
    common = {
        "client_order_id": draw(coids),
        "instrument_id": f"{draw(ids)}.{draw(st.sampled_from(['BINANCE', 'NSE', 'NFO']))}",
        "ts_event": draw(timestamps),
        "ts_init": draw(timestamps),
        "venue_order_id": draw(ids) if needs_voi else draw(st.none() | ids),
    }
    extra: dict[str, Any] = {}
    if cls is OrderRejected:
        extra["reason"] = draw(st.text(min_size=1, max_size=40).map(str.strip).filter(bool))
    elif cls is OrderModified:
        extra = {
            "quantity": draw(st.none() | positive_qtys),
            "price": draw(st.none() | prices),
            "trigger_price": draw(st.none() | prices),
        }
        if all(v is None for v in extra.values()):
            extra["price"] = draw(prices)
    elif cls is OrderFilled:
        extra = {
            "trade_id": draw(ids),
            "order_side": draw(st.sampled_from(list(OrderSide))),
            "last_qty": draw(positive_qtys),
            "last_px": draw(prices),
            "fee": draw(moneys),
            "liquidity_side": draw(st.sampled_from(list(LiquiditySide))),
        }
    return cls(**common, **extra)


@settings(max_examples=300, deadline=None)
@given(events())
def test_property_random_events_round_trip_bit_identically(event: Any) -> None:
    assert_round_trips(event, OrderEvent)
