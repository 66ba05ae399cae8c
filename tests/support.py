"""Helpers shared by the tests: bit-identity of structs, round trips, the Rounding -> decimal map."""

from __future__ import annotations

import decimal
from typing import Any

import msgspec

from shrivenquant._native.fixed import Money, Price, Quantity, Rounding
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
