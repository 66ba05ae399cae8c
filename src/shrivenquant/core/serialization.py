"""msgspec encode/decode hooks for the fixed-point types, and JSON / msgpack helpers.

On the wire a ``Price`` or ``Quantity`` is its exact decimal string (``"61773.60"``), a ``Money`` is
``"12.50 USD"`` (or ``"12.50"`` without a currency) and a ``Currency`` is its code. Decoding goes
through the same exact constructors, so a round trip is bit-identical (raw and precision).
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

import msgspec

from shrivenquant._native.fixed import Currency, Money, Price, Quantity
from shrivenquant.errors import FixedPointOverflowError, ValidationError

__all__ = [
    "dec_hook",
    "enc_hook",
    "from_json",
    "from_msgpack",
    "to_json",
    "to_msgpack",
]

T = TypeVar("T")

_FIXED = (Price, Quantity, Money)


def enc_hook(obj: Any) -> Any:
    """msgspec ``enc_hook``: fixed-point values and currencies as exact strings."""
    if isinstance(obj, _FIXED):
        return str(obj)
    if isinstance(obj, Currency):
        return obj.code
    raise NotImplementedError(f"cannot encode objects of type {type(obj).__name__}")


def dec_hook(type_: type, obj: Any) -> Any:
    """msgspec ``dec_hook``: rebuild fixed-point values and currencies from their strings."""
    if type_ in _FIXED:
        if not isinstance(obj, str):
            raise ValidationError(f"expected a decimal string for {type_.__name__}, got {type(obj).__name__}")
        try:
            return type_(obj)
        except FixedPointOverflowError as exc:  # msgspec wraps ValueError/TypeError only
            raise ValidationError(str(exc)) from exc
    if type_ is Currency:
        if not isinstance(obj, str):
            raise ValidationError(f"expected a currency code string, got {type(obj).__name__}")
        return Currency.of(obj)
    raise NotImplementedError(f"cannot decode objects of type {type_.__name__}")


_json_encoder = msgspec.json.Encoder(enc_hook=enc_hook)
_msgpack_encoder = msgspec.msgpack.Encoder(enc_hook=enc_hook)
_json_decoders: dict[Any, msgspec.json.Decoder] = {}
_msgpack_decoders: dict[Any, msgspec.msgpack.Decoder] = {}


def to_json(obj: Any) -> bytes:
    """Encode a Struct (or any msgspec-supported value) as JSON bytes."""
    return _json_encoder.encode(obj)


def to_msgpack(obj: Any) -> bytes:
    """Encode a Struct (or any msgspec-supported value) as msgpack bytes."""
    return _msgpack_encoder.encode(obj)


@overload
def from_json(data: bytes | str, type_: type[T]) -> T: ...
@overload
def from_json(data: bytes | str, type_: Any) -> Any: ...
def from_json(data: bytes | str, type_: Any) -> Any:
    """Decode JSON into ``type_`` (a type or a union alias); bad input raises :class:`ValidationError`."""
    dec = _json_decoders.get(type_)
    if dec is None:
        dec = _json_decoders[type_] = msgspec.json.Decoder(type_, dec_hook=dec_hook)
    try:
        return dec.decode(data)
    except msgspec.DecodeError as exc:
        name = getattr(type_, "__name__", type_)
        raise ValidationError(f"cannot decode {name} from JSON: {exc}") from exc


@overload
def from_msgpack(data: bytes, type_: type[T]) -> T: ...
@overload
def from_msgpack(data: bytes, type_: Any) -> Any: ...
def from_msgpack(data: bytes, type_: Any) -> Any:
    """Decode msgpack into ``type_`` (a type or a union alias); bad input raises :class:`ValidationError`."""
    dec = _msgpack_decoders.get(type_)
    if dec is None:
        dec = _msgpack_decoders[type_] = msgspec.msgpack.Decoder(type_, dec_hook=dec_hook)
    try:
        return dec.decode(data)
    except msgspec.DecodeError as exc:
        name = getattr(type_, "__name__", type_)
        raise ValidationError(f"cannot decode {name} from msgpack: {exc}") from exc
