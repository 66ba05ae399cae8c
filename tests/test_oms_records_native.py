"""The native journal encoder writes exactly the bytes of the msgspec encoder it stands in for."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shrivenquant._native import oms_core
from shrivenquant._native.fixed import Money, Price, Quantity
from shrivenquant.core.enums import LiquiditySide, OrderSide, OrderType, TimeInForce
from shrivenquant.core.order_events import OrderAccepted, OrderCanceled, OrderFilled, OrderRejected
from shrivenquant.core.orders import Order
from shrivenquant.core.serialization import enc_hook
from shrivenquant.oms.records import (
    CancelRequested,
    Denied,
    ModifyRequested,
    Submitted,
    decode_record,
    encode_record,
)

_reference = msgspec.msgpack.Encoder(enc_hook=enc_hook)


class _Any(msgspec.Struct, tag="AnyRec", tag_field="type"):
    a: Any
    b: Any = None


class _Plain(msgspec.Struct):
    x: Any


oms_core.register_struct(_Any)
oms_core.register_struct(_Plain)


def _same(rec: Any) -> bytes:
    got = encode_record(rec)
    assert got == _reference.encode(rec)
    return got


_INT_EDGES = [0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63,
              2**64 - 1, -1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769, -2**31 + 1, -2**31,
              -2**31 - 1, -2**63 + 1, -2**63]


@pytest.mark.parametrize("value", _INT_EDGES)
def test_int_encodings_at_every_width_boundary(value: int) -> None:
    _same(_Any(a=value, b=(value, value // 3)))


@pytest.mark.parametrize("n", [0, 1, 31, 32, 255, 256, 65535, 65536])
def test_str_encodings_at_every_length_boundary(n: int) -> None:
    _same(_Any(a="x" * n, b="é" * (n // 2)))


def test_values_it_leaves_to_msgspec_give_the_same_bytes_or_error() -> None:
    for value in (1.5, [1, 2], {"k": 1}, b"raw", tuple(range(20)), tuple(range(70_000)), "x" * 10_000,
                  _Plain(x=_Plain(x=_Plain(x=_Plain(x=_Plain(x=1))))), OrderSide.SELL, LiquiditySide.MAKER,
                  True, False, None, Money("-1.25", "USD"), Money("3"), Price("0.000001"), Quantity("12345678.9")):
        _same(_Any(a=value))
    for bad in (2**64, -2**63 - 1, object()):
        with pytest.raises((OverflowError, TypeError, msgspec.EncodeError, NotImplementedError)):
            encode_record(_Any(a=bad))
        with pytest.raises((OverflowError, TypeError, msgspec.EncodeError, NotImplementedError)):
            _reference.encode(_Any(a=bad))


_ids = st.text(alphabet="ABCXYZabc0123456789._-", min_size=1, max_size=36)
_texts = st.text(min_size=1, max_size=300).map(str.strip).filter(bool)
_ts = st.integers(0, 2**63 - 1)


@st.composite
def _fixed(draw: Any, cls: type) -> Any:
    p = draw(st.integers(0, 9))
    raw = draw(st.integers(1, 10**12))
    return cls.from_raw(raw, p)


@st.composite
def _orders(draw: Any) -> Order:
    kind = draw(st.sampled_from([OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_MARKET, OrderType.STOP_LIMIT]))
    price = draw(_fixed(Price)) if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    trig = draw(_fixed(Price)) if kind in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT) else None
    tif = TimeInForce.IOC if kind is OrderType.MARKET else draw(st.sampled_from([TimeInForce.GTC, TimeInForce.DAY]))
    return Order(client_order_id=draw(_ids), instrument_id=draw(_ids) + ".VEN", side=draw(st.sampled_from(OrderSide)),
                 order_type=kind, quantity=draw(_fixed(Quantity)), ts_init=draw(_ts), price=price,
                 trigger_price=trig, time_in_force=tif, reduce_only=draw(st.booleans()),
                 tags=tuple(draw(st.lists(_texts, max_size=3))))


@given(order=_orders(), ts=_ts, parent=st.none() | _ids, oco=st.lists(_ids, max_size=3), hold=st.booleans())
def test_submitted_and_denied_bytes_equal_msgspec(order: Order, ts: int, parent: str | None, oco: list[str],
                                                  hold: bool) -> None:
    data = _same(Submitted(order=order, ts=ts, parent=parent, oco=tuple(oco), hold=hold))
    assert decode_record(data) == Submitted(order=order, ts=ts, parent=parent, oco=tuple(oco), hold=hold)
    _same(Denied(order=order, reason="r" * len(oco), check="MAX_QTY", ts=ts, parent=parent))


@given(coid=_ids, vid=_ids, tid=_ids, ts=_ts, side=st.sampled_from(OrderSide), q=_fixed(Quantity), px=_fixed(Price),
       fee_raw=st.integers(-10**12, 10**12), fee_cur=st.sampled_from(["USDT", "BTC", "USD"]),
       liq=st.sampled_from(LiquiditySide), reason=_texts)
def test_venue_event_bytes_equal_msgspec(coid: str, vid: str, tid: str, ts: int, side: OrderSide, q: Quantity,
                                         px: Price, fee_raw: int, fee_cur: str, liq: LiquiditySide,
                                         reason: str) -> None:
    common = {"client_order_id": coid, "instrument_id": "BTCUSDT.BINANCE", "ts_event": ts, "ts_init": ts}
    fill = OrderFilled(**common, venue_order_id=vid, trade_id=tid, order_side=side, last_qty=q, last_px=px,
                       fee=Money.from_raw(fee_raw, 8, fee_cur), liquidity_side=liq)
    assert decode_record(_same(fill)) == fill
    _same(OrderAccepted(**common, venue_order_id=vid))
    _same(OrderCanceled(**common, venue_order_id=None))
    _same(OrderRejected(**common, reason=reason))
    _same(CancelRequested(client_order_id=coid, ts=ts))
    _same(ModifyRequested(client_order_id=coid, ts=ts, quantity=q, price=px))
