"""Orders: an :class:`Order` is the frozen description of one order request.

It says *what* to trade (instrument, side, quantity, prices) and *how* (type, time in force,
execution instructions); the order's life (accepted, filled, canceled ...) is told by the events of
:mod:`shrivenquant.core.order_events`. Prices and quantities are exact fixed-point values at the
instrument's precisions; timestamps are ns since the Unix epoch, UTC.

Rules (checked in ``__post_init__``, so on construction and on decode; a breach raises
:class:`~shrivenquant.errors.ValidationError` naming the field):

==============  ======  ==============  ========================  =========  =============
type            price   trigger_price   time_in_force             post_only  display_qty
==============  ======  ==============  ========================  =========  =============
MARKET          no      no              GTC, IOC, FOK, DAY        no         no
LIMIT           yes     no              any                       yes [1]_   yes [2]_
STOP_MARKET     no      yes             any                       no         no
STOP_LIMIT      yes     yes             any                       no         yes [2]_
==============  ======  ==============  ========================  =========  =============

.. [1] not with IOC or FOK: an order that never rests cannot be post-only.
.. [2] ``0 < display_qty <= quantity`` and not with IOC or FOK: only a resting order can hide size.

``expire_time_ns`` is required with GTD (and must be after ``ts_init``) and forbidden otherwise; a
MARKET order cannot be GTD, as in NautilusTrader (a market order executes at once, so an expiry
means nothing), while GTC, IOC, FOK and DAY are accepted and left to the venue adapter to map.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant.core.enums import OrderSide, OrderType, TimeInForce
from shrivenquant.errors import ValidationError

__all__ = ["CLIENT_ORDER_ID_MAX_LEN", "Order"]

#: Longest client order id accepted (Binance ``newClientOrderId``: ``^[.A-Z:/a-z0-9_-]{1,36}$``).
CLIENT_ORDER_ID_MAX_LEN = 36
_CLIENT_ORDER_ID_RE = re.compile(rf"[A-Za-z0-9.:/_-]{{1,{CLIENT_ORDER_ID_MAX_LEN}}}")
_INSTRUMENT_ID_RE = re.compile(r"\S+\.[^\s.]+")  # SYMBOL (may hold dots) . VENUE, no whitespace
_INT64_MAX = 2**63 - 1

_LIMIT_TYPES = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_STOP_TYPES = (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
_IMMEDIATE_TIFS = (TimeInForce.IOC, TimeInForce.FOK)


# ---------------------------------------------------------------------------------------------------
# Field checks shared by the order, order-event and market-data structs (messages name the field).
# ---------------------------------------------------------------------------------------------------

def _a(name: str) -> str:
    return f"an {name}" if name[0] in "AEIOU" else f"a {name}"


def _check_type(owner: str, name: str, value: Any, expected: type) -> None:
    if type(value) is not expected:
        raise ValidationError(f"{owner}.{name} must be {_a(expected.__name__)}, got {value!r}")


def _check_optional_type(owner: str, name: str, value: Any, expected: type) -> None:
    if value is not None and type(value) is not expected:
        raise ValidationError(f"{owner}.{name} must be {_a(expected.__name__)} or None, got {value!r}")


def _check_bool(owner: str, name: str, value: Any) -> None:
    if type(value) is not bool:
        raise ValidationError(f"{owner}.{name} must be a bool, got {value!r}")


def _check_int(owner: str, name: str, value: Any, *, minimum: int) -> None:
    """``value`` must be an int (not a bool) in [minimum, 2**63 - 1]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{owner}.{name} must be an int, got {value!r}")
    if value < minimum or value > _INT64_MAX:
        raise ValidationError(f"{owner}.{name} must be from {minimum} to 2**63 - 1, got {value}")


def _check_ts(owner: str, name: str, value: Any) -> None:
    """A timestamp: int ns since the Unix epoch, UTC, in [0, 2**63 - 1]."""
    _check_int(owner, name, value, minimum=0)


def _check_text(owner: str, name: str, value: Any) -> None:
    """A non-empty string without leading or trailing whitespace."""
    if type(value) is not str or not value or value != value.strip():
        raise ValidationError(
            f"{owner}.{name} must be a non-empty string without surrounding whitespace, got {value!r}")


def _check_instrument_id(owner: str, value: Any) -> None:
    """``"SYMBOL.VENUE"``: split at the last dot, both parts non-empty, no whitespace."""
    if type(value) is not str:
        raise ValidationError(f"{owner}.instrument_id must be a str 'SYMBOL.VENUE', got {value!r}")
    if _INSTRUMENT_ID_RE.fullmatch(value) is None:
        raise ValidationError(
            f"{owner}.instrument_id must be 'SYMBOL.VENUE' (e.g. 'BTCUSDT.BINANCE'), got {value!r}")


def _check_client_order_id(owner: str, value: Any) -> None:
    """1 to 36 characters from ``A-Z a-z 0-9 . : / _ -`` (Binance's ``newClientOrderId`` rule)."""
    if type(value) is not str or _CLIENT_ORDER_ID_RE.fullmatch(value) is None:
        raise ValidationError(
            f"{owner}.client_order_id must be 1-{CLIENT_ORDER_ID_MAX_LEN} characters from "
            f"'A-Z a-z 0-9 . : / _ -', got {value!r}")


def _check_positive_qty(owner: str, name: str, value: Any) -> None:
    _check_type(owner, name, value, Quantity)
    if value.raw <= 0:
        raise ValidationError(f"{owner}.{name} must be > 0, got {value}")


# ---------------------------------------------------------------------------------------------------


class Order(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An order request (immutable, hashable).

    Attributes:
        client_order_id: our id for the order, 1-36 chars of ``A-Z a-z 0-9 . : / _ -``.
        instrument_id: ``"SYMBOL.VENUE"``, e.g. ``"BTCUSDT.BINANCE"``.
        side: buy or sell.
        order_type: market, limit, stop-market or stop-limit.
        quantity: order size (> 0) at the instrument's size precision.
        price: limit price at the instrument's price precision; LIMIT and STOP_LIMIT only.
        trigger_price: stop trigger price; STOP_MARKET and STOP_LIMIT only.
        time_in_force: how long the order works (default GTC).
        expire_time_ns: expiry, ns since the epoch UTC; required with GTD (after ``ts_init``), else None.
        post_only: LIMIT only, not with IOC/FOK: reject rather than take liquidity.
        reduce_only: may only reduce a position.
        display_qty: iceberg visible size, ``0 < display_qty <= quantity``; LIMIT and STOP_LIMIT only,
            not with IOC/FOK.
        ts_init: when this order object was created, ns since the epoch UTC.
        tags: free-form labels (strategy name, signal id ...).
    """

    client_order_id: str
    instrument_id: str
    side: OrderSide
    order_type: OrderType
    quantity: Quantity
    ts_init: int
    price: Price | None = None
    trigger_price: Price | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_time_ns: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    display_qty: Quantity | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        owner = "Order"
        _check_client_order_id(owner, self.client_order_id)
        _check_instrument_id(owner, self.instrument_id)
        _check_type(owner, "side", self.side, OrderSide)
        _check_type(owner, "order_type", self.order_type, OrderType)
        _check_type(owner, "time_in_force", self.time_in_force, TimeInForce)
        _check_positive_qty(owner, "quantity", self.quantity)
        _check_ts(owner, "ts_init", self.ts_init)
        _check_bool(owner, "post_only", self.post_only)
        _check_bool(owner, "reduce_only", self.reduce_only)
        if type(self.tags) is not tuple or not all(type(t) is str and t for t in self.tags):
            raise ValidationError(f"Order.tags must be a tuple of non-empty strings, got {self.tags!r}")

        otype, tif = self.order_type, self.time_in_force
        kind = otype.name
        # price: limit types only
        if otype in _LIMIT_TYPES:
            if self.price is None:
                raise ValidationError(
                    f"Order.price is required for a {kind} order: expected a Price, got None")
            _check_type(owner, "price", self.price, Price)
        elif self.price is not None:
            raise ValidationError(f"Order.price must be None for a {kind} order, got {self.price}")
        # trigger_price: stop types only
        if otype in _STOP_TYPES:
            if self.trigger_price is None:
                raise ValidationError(
                    f"Order.trigger_price is required for a {kind} order: expected a Price, got None")
            _check_type(owner, "trigger_price", self.trigger_price, Price)
        elif self.trigger_price is not None:
            raise ValidationError(
                f"Order.trigger_price must be None for a {kind} order, got {self.trigger_price}")
        # time in force and expiry
        if otype is OrderType.MARKET and tif is TimeInForce.GTD:
            raise ValidationError(
                "Order.time_in_force GTD is not allowed for a MARKET order: use GTC, IOC, FOK or DAY")
        if tif is TimeInForce.GTD:
            if self.expire_time_ns is None:
                raise ValidationError(
                    "Order.expire_time_ns is required with time_in_force GTD: expected int ns UTC, got None")
            _check_ts(owner, "expire_time_ns", self.expire_time_ns)
            if self.expire_time_ns <= self.ts_init:
                raise ValidationError(
                    f"Order.expire_time_ns must be after ts_init ({self.ts_init}), got {self.expire_time_ns}")
        elif self.expire_time_ns is not None:
            raise ValidationError(
                f"Order.expire_time_ns must be None unless time_in_force is GTD (it is {tif.name}), "
                f"got {self.expire_time_ns!r}")
        # execution instructions
        if self.post_only:
            if otype is not OrderType.LIMIT:
                raise ValidationError(f"Order.post_only is only allowed on a LIMIT order, not {kind}")
            if tif in _IMMEDIATE_TIFS:
                raise ValidationError(f"Order.post_only is not allowed with time_in_force {tif.name}")
        if self.display_qty is not None:
            if otype not in _LIMIT_TYPES:
                raise ValidationError(
                    f"Order.display_qty is only allowed on LIMIT or STOP_LIMIT orders, not {kind}")
            _check_positive_qty(owner, "display_qty", self.display_qty)
            if self.display_qty > self.quantity:
                raise ValidationError(
                    f"Order.display_qty must be <= quantity {self.quantity}, got {self.display_qty}")
            if tif in _IMMEDIATE_TIFS:
                raise ValidationError(f"Order.display_qty is not allowed with time_in_force {tif.name}")

    # ------------------------------------------------------------------ convenience constructors
    @classmethod
    def market(
        cls,
        *,
        client_order_id: str,
        instrument_id: str,
        side: OrderSide,
        quantity: Quantity,
        ts_init: int,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        tags: tuple[str, ...] = (),
    ) -> Order:
        """A MARKET order (time in force GTC, IOC, FOK or DAY)."""
        return cls(
            client_order_id=client_order_id, instrument_id=instrument_id, side=side,
            order_type=OrderType.MARKET, quantity=quantity, ts_init=ts_init,
            time_in_force=time_in_force, reduce_only=reduce_only, tags=tags,
        )

    @classmethod
    def limit(
        cls,
        *,
        client_order_id: str,
        instrument_id: str,
        side: OrderSide,
        quantity: Quantity,
        price: Price,
        ts_init: int,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_time_ns: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        display_qty: Quantity | None = None,
        tags: tuple[str, ...] = (),
    ) -> Order:
        """A LIMIT order at ``price``."""
        return cls(
            client_order_id=client_order_id, instrument_id=instrument_id, side=side,
            order_type=OrderType.LIMIT, quantity=quantity, price=price, ts_init=ts_init,
            time_in_force=time_in_force, expire_time_ns=expire_time_ns, post_only=post_only,
            reduce_only=reduce_only, display_qty=display_qty, tags=tags,
        )

    @classmethod
    def stop_market(
        cls,
        *,
        client_order_id: str,
        instrument_id: str,
        side: OrderSide,
        quantity: Quantity,
        trigger_price: Price,
        ts_init: int,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_time_ns: int | None = None,
        reduce_only: bool = False,
        tags: tuple[str, ...] = (),
    ) -> Order:
        """A STOP_MARKET order: a market order once the market touches ``trigger_price``."""
        return cls(
            client_order_id=client_order_id, instrument_id=instrument_id, side=side,
            order_type=OrderType.STOP_MARKET, quantity=quantity, trigger_price=trigger_price,
            ts_init=ts_init, time_in_force=time_in_force, expire_time_ns=expire_time_ns,
            reduce_only=reduce_only, tags=tags,
        )

    @classmethod
    def stop_limit(
        cls,
        *,
        client_order_id: str,
        instrument_id: str,
        side: OrderSide,
        quantity: Quantity,
        price: Price,
        trigger_price: Price,
        ts_init: int,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_time_ns: int | None = None,
        reduce_only: bool = False,
        display_qty: Quantity | None = None,
        tags: tuple[str, ...] = (),
    ) -> Order:
        """A STOP_LIMIT order: a limit order at ``price`` once the market touches ``trigger_price``."""
        return cls(
            client_order_id=client_order_id, instrument_id=instrument_id, side=side,
            order_type=OrderType.STOP_LIMIT, quantity=quantity, price=price,
            trigger_price=trigger_price, ts_init=ts_init, time_in_force=time_in_force,
            expire_time_ns=expire_time_ns, reduce_only=reduce_only, display_qty=display_qty, tags=tags,
        )

    # ------------------------------------------------------------------ properties
    @property
    def is_buy(self) -> bool:
        """True for a BUY order."""
        return self.side is OrderSide.BUY

    @property
    def is_sell(self) -> bool:
        """True for a SELL order."""
        return self.side is OrderSide.SELL

    @property
    def is_aggressive(self) -> bool:
        """True for a MARKET order (it takes liquidity), as in NautilusTrader."""
        return self.order_type is OrderType.MARKET

    @property
    def is_passive(self) -> bool:
        """True for any order that is not MARKET (it may rest and provide liquidity)."""
        return self.order_type is not OrderType.MARKET
