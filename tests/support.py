"""Helpers shared by the tests: bit-identity of structs, round trips, the Rounding -> decimal map."""

from __future__ import annotations

import decimal
from typing import Any

import msgspec

from shrivenquant._native.fixed import RAW_NULL, Money, Price, Quantity, Rounding
from shrivenquant.core.serialization import from_json, from_msgpack, to_json, to_msgpack

#: shrivenquant rounding modes and their decimal-module equivalents (EXACT has none).
DEC_MODE = {
    Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    Rounding.HALF_UP: decimal.ROUND_HALF_UP,
    Rounding.HALF_DOWN: decimal.ROUND_HALF_DOWN,
    Rounding.DOWN: decimal.ROUND_DOWN,
    Rounding.UP: decimal.ROUND_UP,
    Rounding.FLOOR: decimal.ROUND_FLOOR,
    Rounding.CEILING: decimal.ROUND_CEILING,
}


def identity_key(v: Any) -> Any:
    """Everything that makes a value bit-identical: type, raw, precision (and currency)."""
    if isinstance(v, Money):
        return ("Money", v.raw, v.precision, None if v.currency is None else v.currency.code)
    if isinstance(v, Price | Quantity):
        return (type(v).__name__, v.raw, v.precision)
    if isinstance(v, tuple):
        return tuple(identity_key(x) for x in v)
    return (type(v).__name__, v)


def assert_identical(a: msgspec.Struct, b: msgspec.Struct) -> None:
    """Same type, equal, same hash, and every field bit-identical."""
    assert type(a) is type(b)
    assert a == b
    assert hash(a) == hash(b)
    for name in a.__struct_fields__:
        assert identity_key(getattr(a, name)) == identity_key(getattr(b, name)), name


def assert_round_trips(obj: msgspec.Struct, *targets: Any) -> None:
    """JSON and msgpack round trips into ``type(obj)`` (and each of ``targets``) are bit-identical."""
    for enc, dec in ((to_json, from_json), (to_msgpack, from_msgpack)):
        data = enc(obj)
        for target in (type(obj), *targets):
            back = dec(data, target)
            assert_identical(obj, back)
            assert enc(back) == data


class ReferenceL2Book:
    """A deliberately simple L2 book (a dict per side, sorted on query): the reference model."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def apply(self, side: int, price: int, qty: int) -> None:
        levels = self.bids if side == 1 else self.asks
        if qty == 0:
            levels.pop(price, None)
        else:
            levels[price] = qty

    def apply_events(self, records: Any) -> int:
        n = 0
        for rec in records.tolist():  # EVENT_DTYPE fields in order
            kind, side = rec[8], rec[9]
            if kind == 1:
                self.apply(side, rec[2], rec[3])
                n += 1
            elif kind == 2:
                if side in (0, 1):
                    self.bids.clear()
                if side in (0, 2):
                    self.asks.clear()
                n += 1
        return n

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    @property
    def best_bid_price_raw(self) -> int:
        return max(self.bids) if self.bids else RAW_NULL

    @property
    def best_ask_price_raw(self) -> int:
        return min(self.asks) if self.asks else RAW_NULL

    @property
    def best_bid_qty_raw(self) -> int:
        return self.bids[max(self.bids)] if self.bids else RAW_NULL

    @property
    def best_ask_qty_raw(self) -> int:
        return self.asks[min(self.asks)] if self.asks else RAW_NULL
