"""Order: validation rules, convenience constructors, immutability, hashing and exact round trips."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import assert_round_trips

from shrivenquant._native.fixed import Money, Price, Quantity
from shrivenquant.core.enums import OrderSide, OrderType, TimeInForce
from shrivenquant.core.orders import CLIENT_ORDER_ID_MAX_LEN, Order
from shrivenquant.core.serialization import from_json, from_msgpack, to_json, to_msgpack
from shrivenquant.errors import ValidationError

INT64_MAX = 2**63 - 1
IID = "BTCUSDT.BINANCE"


def make(**overrides: Any) -> Order:
    """A valid LIMIT order, with fields overridden."""
    kwargs: dict[str, Any] = {
        "client_order_id": "ord-1",
        "instrument_id": IID,
        "side": OrderSide.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": Quantity("0.010"),
        "price": Price("61773.60"),
        "ts_init": 1_700_000_000_000_000_000,
    }
    kwargs.update(overrides)
    return Order(**kwargs)


def json_of(**overrides: Any) -> bytes:
    """JSON of a valid LIMIT order with raw fields overridden (None deletes a field)."""
    d = msgspec.json.decode(to_json(make()))
    for k, v in overrides.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return msgspec.json.encode(d)


# -------------------------------------------------------------------------------------------- valid


def test_limit_order_fields_and_defaults() -> None:
    o = make()
    assert o.client_order_id == "ord-1"
    assert o.instrument_id == IID
    assert o.side is OrderSide.BUY
    assert o.order_type is OrderType.LIMIT
    assert o.quantity.raw == 10 and o.quantity.precision == 3
    assert o.price is not None and o.price.raw == 6177360 and o.price.precision == 2
    assert o.trigger_price is None
    assert o.time_in_force is TimeInForce.GTC
    assert o.expire_time_ns is None
    assert o.post_only is False and o.reduce_only is False
    assert o.display_qty is None
    assert o.tags == ()


def test_market_constructor() -> None:
    o = Order.market(client_order_id="m1", instrument_id=IID, side=OrderSide.SELL,
                     quantity=Quantity("1.5"), ts_init=5, reduce_only=True, tags=("alpha",))
    assert o.order_type is OrderType.MARKET
    assert o.price is None and o.trigger_price is None
    assert o.time_in_force is TimeInForce.GTC
    assert o.reduce_only is True
    assert o.tags == ("alpha",)
    assert o.is_sell and not o.is_buy
    assert o.is_aggressive and not o.is_passive


def test_limit_constructor() -> None:
    o = Order.limit(client_order_id="l1", instrument_id=IID, side=OrderSide.BUY, quantity=Quantity("2"),
                    price=Price("100.5"), ts_init=10, time_in_force=TimeInForce.GTD, expire_time_ns=11,
                    post_only=True, display_qty=Quantity("1"))
    assert o.order_type is OrderType.LIMIT
    assert o.price == Price("100.5")
    assert o.expire_time_ns == 11
    assert o.post_only is True
    assert o.display_qty == Quantity("1")
    assert o.is_buy and not o.is_sell
    assert o.is_passive and not o.is_aggressive


def test_stop_market_constructor() -> None:
    o = Order.stop_market(client_order_id="s1", instrument_id=IID, side=OrderSide.SELL,
                          quantity=Quantity("3"), trigger_price=Price("99"), ts_init=0,
                          time_in_force=TimeInForce.DAY)
    assert o.order_type is OrderType.STOP_MARKET
    assert o.price is None
    assert o.trigger_price == Price("99")
    assert o.time_in_force is TimeInForce.DAY
    assert o.is_passive


def test_stop_limit_constructor() -> None:
    o = Order.stop_limit(client_order_id="sl1", instrument_id=IID, side=OrderSide.BUY, quantity=Quantity("3"),
                         price=Price("101"), trigger_price=Price("100"), ts_init=0,
                         display_qty=Quantity("1"), reduce_only=True)
    assert o.order_type is OrderType.STOP_LIMIT
    assert o.price == Price("101")
    assert o.trigger_price == Price("100")
    assert o.display_qty == Quantity("1")
    assert o.reduce_only is True


@pytest.mark.parametrize("tif", [TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.DAY])
def test_market_accepts_gtc_ioc_fok_day(tif: TimeInForce) -> None:
    o = Order.market(client_order_id="m", instrument_id=IID, side=OrderSide.BUY, quantity=Quantity("1"),
                     ts_init=0, time_in_force=tif)
    assert o.time_in_force is tif


def test_market_rejects_gtd() -> None:
    with pytest.raises(ValidationError, match=r"time_in_force GTD is not allowed for a MARKET"):
        Order(client_order_id="m", instrument_id=IID, side=OrderSide.BUY, order_type=OrderType.MARKET,
              quantity=Quantity("1"), ts_init=0, time_in_force=TimeInForce.GTD, expire_time_ns=10)


@pytest.mark.parametrize("tif", list(TimeInForce))
def test_limit_accepts_every_time_in_force(tif: TimeInForce) -> None:
    expire = 2 if tif is TimeInForce.GTD else None
    o = make(ts_init=1, time_in_force=tif, expire_time_ns=expire)
    assert o.time_in_force is tif


# -------------------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    "coid", ["a", "x" * CLIENT_ORDER_ID_MAX_LEN, "A.b:c/d_e-f0", "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f"])
def test_client_order_id_valid(coid: str) -> None:
    assert make(client_order_id=coid).client_order_id == coid


@pytest.mark.parametrize(
    "coid", ["", "x" * (CLIENT_ORDER_ID_MAX_LEN + 1), "has space", "hash#", "é", "a\n", 123, None])
def test_client_order_id_invalid(coid: Any) -> None:
    with pytest.raises(ValidationError, match=r"Order\.client_order_id must be 1-36 characters"):
        make(client_order_id=coid)


@pytest.mark.parametrize("iid", ["BTCUSDT.BINANCE", "NIFTY24AUGFUT.NFO", "BRK.B.NYSE", "M&M.NSE"])
def test_instrument_id_valid(iid: str) -> None:
    assert make(instrument_id=iid).instrument_id == iid


@pytest.mark.parametrize(
    "iid", ["BTCUSDT", ".BINANCE", "BTCUSDT.", "", "BTC USDT.BINANCE", "BTCUSDT.BINANCE\n", b"A.B", 7])
def test_instrument_id_invalid(iid: Any) -> None:
    with pytest.raises(ValidationError, match=r"Order\.instrument_id must be"):
        make(instrument_id=iid)


# ---------------------------------------------------------------------------------- enums and types


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("side", 1, "an OrderSide"), ("side", "BUY", "an OrderSide"), ("side", None, "an OrderSide"),
    ("order_type", 2, "an OrderType"), ("order_type", TimeInForce.GTC, "an OrderType"),
    ("time_in_force", 1, "a TimeInForce"), ("time_in_force", OrderSide.BUY, "a TimeInForce"),
])
def test_enum_fields_need_their_enum(field: str, value: Any, expected: str) -> None:
    with pytest.raises(ValidationError, match=rf"Order\.{field} must be {expected}, got {value!r}"):
        make(**{field: value})


@pytest.mark.parametrize("qty", [Quantity("0"), Quantity("0.000")])
def test_quantity_must_be_positive(qty: Quantity) -> None:
    with pytest.raises(ValidationError, match=r"Order\.quantity must be > 0"):
        make(quantity=qty)


@pytest.mark.parametrize("qty", ["1", 1, 1.0, Price("1"), None])
def test_quantity_must_be_a_quantity(qty: Any) -> None:
    with pytest.raises(ValidationError, match=r"Order\.quantity must be a Quantity"):
        make(quantity=qty)


@pytest.mark.parametrize("field", ["post_only", "reduce_only"])
@pytest.mark.parametrize("value", [0, 1, "true", None])
def test_bool_fields_need_bool(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=rf"Order\.{field} must be a bool"):
        make(**{field: value})


@pytest.mark.parametrize("ts", [-1, True, 1.0, "1", None, INT64_MAX + 1])
def test_ts_init_must_be_int64_ns(ts: Any) -> None:
    with pytest.raises(ValidationError, match=r"Order\.ts_init must be"):
        make(ts_init=ts)


def test_ts_init_bounds_valid() -> None:
    assert make(ts_init=0).ts_init == 0
    assert make(ts_init=INT64_MAX).ts_init == INT64_MAX


@pytest.mark.parametrize("tags", [["a"], ("a", ""), ("a", 1), "ab", None])
def test_tags_must_be_tuple_of_non_empty_str(tags: Any) -> None:
    with pytest.raises(ValidationError, match=r"Order\.tags must be a tuple"):
        make(tags=tags)


# ---------------------------------------------------------------------------------- price / trigger


@pytest.mark.parametrize("otype", [OrderType.LIMIT, OrderType.STOP_LIMIT])
def test_price_required_for_limit_types(otype: OrderType) -> None:
    with pytest.raises(ValidationError, match=rf"Order\.price is required for a {otype.name} order"):
        make(order_type=otype, price=None, trigger_price=Price("1"))


@pytest.mark.parametrize("otype", [OrderType.MARKET, OrderType.STOP_MARKET])
def test_price_forbidden_for_market_types(otype: OrderType) -> None:
    with pytest.raises(ValidationError, match=rf"Order\.price must be None for a {otype.name} order"):
        make(order_type=otype, price=Price("1"), trigger_price=Price("1"))


@pytest.mark.parametrize("price", ["61773.60", 61773.6, Quantity("1"), Money("1", "USD")])
def test_price_must_be_a_price(price: Any) -> None:
    with pytest.raises(ValidationError, match=r"Order\.price must be a Price"):
        make(price=price)


def test_negative_and_zero_prices_are_allowed() -> None:
    # spreads and some futures trade at or below zero; tick/sign rules belong to the instrument
    assert make(price=Price("-1.25")).price == Price("-1.25")
    assert make(price=Price("0")).price == Price("0")


@pytest.mark.parametrize("otype", [OrderType.STOP_MARKET, OrderType.STOP_LIMIT])
def test_trigger_required_for_stop_types(otype: OrderType) -> None:
    price = Price("1") if otype is OrderType.STOP_LIMIT else None
    with pytest.raises(ValidationError, match=rf"Order\.trigger_price is required for a {otype.name} order"):
        make(order_type=otype, price=price)


@pytest.mark.parametrize("otype", [OrderType.MARKET, OrderType.LIMIT])
def test_trigger_forbidden_for_non_stop_types(otype: OrderType) -> None:
    price = Price("1") if otype is OrderType.LIMIT else None
    with pytest.raises(ValidationError, match=rf"Order\.trigger_price must be None for a {otype.name} order"):
        make(order_type=otype, price=price, trigger_price=Price("1"))


def test_trigger_must_be_a_price() -> None:
    with pytest.raises(ValidationError, match=r"Order\.trigger_price must be a Price"):
        make(order_type=OrderType.STOP_MARKET, price=None, trigger_price="100")


# ------------------------------------------------------------------------------------------- expiry


def test_gtd_requires_expire_time() -> None:
    with pytest.raises(ValidationError, match=r"Order\.expire_time_ns is required with time_in_force GTD"):
        make(time_in_force=TimeInForce.GTD)


@pytest.mark.parametrize("expire", [100, 99, 0])
def test_gtd_expire_must_be_after_ts_init(expire: int) -> None:
    with pytest.raises(ValidationError, match=r"Order\.expire_time_ns must be after ts_init"):
        make(ts_init=100, time_in_force=TimeInForce.GTD, expire_time_ns=expire)


@pytest.mark.parametrize("expire", [-1, True, 1.5, "200"])
def test_gtd_expire_must_be_int_ns(expire: Any) -> None:
    with pytest.raises(ValidationError, match=r"Order\.expire_time_ns must be"):
        make(ts_init=0, time_in_force=TimeInForce.GTD, expire_time_ns=expire)


@pytest.mark.parametrize("tif", [TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.DAY])
def test_expire_time_forbidden_without_gtd(tif: TimeInForce) -> None:
    with pytest.raises(ValidationError, match=rf"Order\.expire_time_ns must be None unless .* {tif.name}"):
        make(time_in_force=tif, expire_time_ns=2 * 10**18)


# ---------------------------------------------------------------------------------------- post_only


@pytest.mark.parametrize("tif", [TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD])
def test_post_only_limit_valid(tif: TimeInForce) -> None:
    expire = 2 if tif is TimeInForce.GTD else None
    assert make(post_only=True, ts_init=1, time_in_force=tif, expire_time_ns=expire).post_only is True


@pytest.mark.parametrize("otype", [OrderType.MARKET, OrderType.STOP_MARKET, OrderType.STOP_LIMIT])
def test_post_only_only_for_limit(otype: OrderType) -> None:
    price = Price("1") if otype is OrderType.STOP_LIMIT else None
    trigger = None if otype is OrderType.MARKET else Price("1")
    message = rf"Order\.post_only is only allowed on a LIMIT order, not {otype.name}$"
    with pytest.raises(ValidationError, match=message):
        make(order_type=otype, price=price, trigger_price=trigger, post_only=True)


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
def test_post_only_not_with_ioc_fok(tif: TimeInForce) -> None:
    message = rf"Order\.post_only is not allowed with time_in_force {tif.name}$"
    with pytest.raises(ValidationError, match=message):
        make(post_only=True, time_in_force=tif)


# -------------------------------------------------------------------------------------- display_qty


@pytest.mark.parametrize("shown", ["0.001", "0.010", "0.0100"])
def test_display_qty_valid(shown: str) -> None:
    assert make(display_qty=Quantity(shown)).display_qty == Quantity(shown)


def test_display_qty_on_stop_limit_valid() -> None:
    o = make(order_type=OrderType.STOP_LIMIT, trigger_price=Price("61000"), display_qty=Quantity("0.005"))
    assert o.display_qty == Quantity("0.005")


def test_display_qty_must_be_positive() -> None:
    with pytest.raises(ValidationError, match=r"Order\.display_qty must be > 0"):
        make(display_qty=Quantity("0"))


def test_display_qty_must_not_exceed_quantity() -> None:
    with pytest.raises(ValidationError, match=r"Order\.display_qty must be <= quantity"):
        make(display_qty=Quantity("0.0101"))


def test_display_qty_must_be_a_quantity() -> None:
    with pytest.raises(ValidationError, match=r"Order\.display_qty must be a Quantity"):
        make(display_qty=Price("0.001"))


@pytest.mark.parametrize("otype", [OrderType.MARKET, OrderType.STOP_MARKET])
def test_display_qty_only_for_limit_types(otype: OrderType) -> None:
    trigger = Price("1") if otype is OrderType.STOP_MARKET else None
    message = rf"Order\.display_qty is only allowed on LIMIT or STOP_LIMIT orders, not {otype.name}$"
    with pytest.raises(ValidationError, match=message):
        make(order_type=otype, price=None, trigger_price=trigger, display_qty=Quantity("0.001"))


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
def test_display_qty_not_with_ioc_fok(tif: TimeInForce) -> None:
    message = rf"Order\.display_qty is not allowed with time_in_force {tif.name}$"
    with pytest.raises(ValidationError, match=message):
        make(display_qty=Quantity("0.001"), time_in_force=tif)


# ------------------------------------------------------------------------ constructors validate too


def test_convenience_constructors_validate() -> None:
    with pytest.raises(ValidationError, match=r"Order\.quantity must be > 0"):
        Order.market(client_order_id="m", instrument_id=IID, side=OrderSide.BUY, quantity=Quantity("0"),
                     ts_init=0)
    with pytest.raises(ValidationError, match=r"Order\.post_only is not allowed with time_in_force IOC"):
        Order.limit(client_order_id="l", instrument_id=IID, side=OrderSide.BUY, quantity=Quantity("1"),
                    price=Price("1"), ts_init=0, time_in_force=TimeInForce.IOC, post_only=True)
    with pytest.raises(ValidationError, match=r"Order\.expire_time_ns is required"):
        Order.stop_market(client_order_id="s", instrument_id=IID, side=OrderSide.SELL, quantity=Quantity("1"),
                          trigger_price=Price("1"), ts_init=0, time_in_force=TimeInForce.GTD)
    with pytest.raises(ValidationError, match=r"Order\.display_qty must be <= quantity"):
        Order.stop_limit(client_order_id="sl", instrument_id=IID, side=OrderSide.SELL, quantity=Quantity("1"),
                         price=Price("1"), trigger_price=Price("1"), ts_init=0, display_qty=Quantity("2"))


def test_struct_replace_revalidates() -> None:
    o = make()
    with pytest.raises(ValidationError, match=r"Order\.price is required"):
        msgspec.structs.replace(o, price=None)
    assert msgspec.structs.replace(o, price=Price("1")).price == Price("1")


# --------------------------------------------------------------------------------- frozen, eq, hash


def test_frozen_refuses_mutation() -> None:
    o = make()
    with pytest.raises(AttributeError):
        o.quantity = Quantity("5")  # type: ignore[misc]
    with pytest.raises(AttributeError):
        o.post_only = True  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del o.price  # type: ignore[misc]
    assert o.quantity == Quantity("0.010")


def test_equality_and_hash() -> None:
    a, b = make(tags=("x",)), make(tags=("x",))
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert {a: 1}[b] == 1
    c = make(side=OrderSide.SELL)
    assert a != c
    assert make(client_order_id="other") != make()
    assert make(price=Price("61773.61")) != make()
    assert a != "not an order"


def test_equality_is_by_value_across_precisions() -> None:
    # Price and Quantity compare by value, so the structs do too; hashes agree with equality
    a = make(price=Price("100.5"))
    b = make(price=Price("100.50"))
    assert a == b and hash(a) == hash(b)


# ------------------------------------------------------------------------------------ serialization


@pytest.mark.parametrize("order", [
    make(),
    make(client_order_id="x" * 36, tags=("t1", "t2"), reduce_only=True, display_qty=Quantity("0.005")),
    make(ts_init=5, time_in_force=TimeInForce.GTD, expire_time_ns=INT64_MAX, post_only=True),
    make(price=Price("-0.000000000000000001"), quantity=Quantity.from_raw(INT64_MAX, 18)),
    Order.market(client_order_id="m", instrument_id="RELIANCE.NSE", side=OrderSide.SELL,
                 quantity=Quantity("10"), ts_init=0, time_in_force=TimeInForce.DAY),
    Order.stop_market(client_order_id="s", instrument_id=IID, side=OrderSide.BUY, quantity=Quantity("1.000"),
                      trigger_price=Price("62000.00"), ts_init=1),
    Order.stop_limit(client_order_id="sl", instrument_id=IID, side=OrderSide.SELL, quantity=Quantity("1.000"),
                     price=Price("60000.10"), trigger_price=Price("60000.00"), ts_init=1,
                     time_in_force=TimeInForce.FOK),
])
def test_round_trip_exact(order: Order) -> None:
    assert_round_trips(order)


def test_json_keeps_exact_decimal_strings() -> None:
    d = msgspec.json.decode(to_json(make(quantity=Quantity("0.0100"))))
    assert d["quantity"] == "0.0100"
    assert d["price"] == "61773.60"
    assert d["side"] == int(OrderSide.BUY)
    back = from_json(to_json(make(quantity=Quantity("0.0100"))), Order)
    assert back.quantity.raw == 100 and back.quantity.precision == 4


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"null", b'{"client_order_id": "a"}', b"\xff\xfe"])
def test_malformed_json_raises_validation_error(data: bytes) -> None:
    with pytest.raises(ValidationError, match=r"cannot decode Order from JSON"):
        from_json(data, Order)


@pytest.mark.parametrize(("overrides", "where"), [
    ({"side": "BUY"}, "side"),
    ({"side": 3}, "side"),
    ({"order_type": 9}, "order_type"),
    ({"quantity": 0.01}, "quantity"),
    ({"quantity": "-1"}, "quantity"),
    ({"quantity": "abc"}, "quantity"),
    ({"price": 61773.6}, "price"),
    ({"ts_init": "1"}, "ts_init"),
    ({"ts_init": 1.5}, "ts_init"),
    ({"post_only": 1}, "post_only"),
    ({"tags": "abc"}, "tags"),
    ({"tags": [1]}, "tags"),
    ({"client_order_id": 5}, "client_order_id"),
])
def test_wrong_types_on_decode_raise_validation_error(overrides: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError, match=where):
        from_json(json_of(**overrides), Order)


@pytest.mark.parametrize(("overrides", "where"), [
    ({"quantity": "0"}, r"Order\.quantity must be > 0"),
    ({"order_type": int(OrderType.MARKET)}, r"Order\.price must be None for a MARKET order"),
    ({"price": None}, r"Order\.price is required for a LIMIT order"),
    ({"client_order_id": ""}, r"Order\.client_order_id"),
    ({"instrument_id": "BTCUSDT"}, r"Order\.instrument_id"),
    ({"expire_time_ns": 5}, r"Order\.expire_time_ns must be None"),
    ({"ts_init": -1}, r"Order\.ts_init must be"),
    ({"display_qty": "1"}, r"Order\.display_qty must be <= quantity"),
])
def test_invalid_values_on_decode_raise_validation_error(overrides: dict[str, Any], where: str) -> None:
    data = json_of(**overrides)
    with pytest.raises(ValidationError, match=where):
        from_json(data, Order)
    as_msgpack = msgspec.msgpack.encode(msgspec.json.decode(data))
    with pytest.raises(ValidationError, match=where):
        from_msgpack(as_msgpack, Order)


def test_malformed_msgpack_raises_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"cannot decode Order from msgpack"):
        from_msgpack(b"\xc1", Order)
    with pytest.raises(ValidationError, match=r"cannot decode Order from msgpack"):
        from_msgpack(to_msgpack(make())[:-3], Order)


# ----------------------------------------------------------------------------------- property tests

prices = st.builds(Price.from_raw, st.integers(-INT64_MAX, INT64_MAX), st.integers(0, 18))
positive_qty_parts = st.tuples(st.integers(1, INT64_MAX), st.integers(0, 18))
COID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:/_-"
coids = st.text(alphabet=COID_CHARS, min_size=1, max_size=36)
symbols = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_&.", min_size=1, max_size=20)
venues = st.sampled_from(["BINANCE", "BINANCE_USDM", "NSE", "NFO", "BSE"])
tag_lists = st.lists(st.text(min_size=1, max_size=8), max_size=3).map(tuple)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    otype = draw(st.sampled_from(list(OrderType)))
    raw_q, prec_q = draw(positive_qty_parts)
    quantity = Quantity.from_raw(raw_q, prec_q)
    limit_like = otype in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    stop_like = otype in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
    tifs = [t for t in TimeInForce if not (otype is OrderType.MARKET and t is TimeInForce.GTD)]
    tif = draw(st.sampled_from(tifs))
    ts_init = draw(st.integers(0, INT64_MAX - 1))
    expire = draw(st.integers(ts_init + 1, INT64_MAX)) if tif is TimeInForce.GTD else None
    resting = tif not in (TimeInForce.IOC, TimeInForce.FOK)
    post_only = otype is OrderType.LIMIT and resting and draw(st.booleans())
    display_qty = None
    if limit_like and resting and draw(st.booleans()):
        display_qty = Quantity.from_raw(draw(st.integers(1, raw_q)), prec_q)
    return Order(
        client_order_id=draw(coids),
        instrument_id=f"{draw(symbols)}.{draw(venues)}",
        side=draw(st.sampled_from(list(OrderSide))),
        order_type=otype,
        quantity=quantity,
        ts_init=ts_init,
        price=draw(prices) if limit_like else None,
        trigger_price=draw(prices) if stop_like else None,
        time_in_force=tif,
        expire_time_ns=expire,
        post_only=post_only,
        reduce_only=draw(st.booleans()),
        display_qty=display_qty,
        tags=draw(tag_lists),
    )


@settings(max_examples=300, deadline=None)
@given(orders())
def test_property_random_orders_round_trip_bit_identically(order: Order) -> None:
    assert_round_trips(order)
