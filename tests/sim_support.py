"""Helpers for the simulated-exchange tests: an instrument, book messages, and order builders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shrivenquant import Money, Price, Quantity
from shrivenquant.core import Instrument, InstrumentKind, Order, OrderSide
from shrivenquant.core.enums import OrderType, TimeInForce
from shrivenquant.core.events import EventFlag, EventKind, empty_events

TICK = 5  # raw price units per tick (price precision 2, tick 0.05)


def instrument(**kw: object) -> Instrument:
    args: dict[str, object] = {"venue": "SIM", "symbol": "BTCUSDT", "kind": InstrumentKind.PERPETUAL,
                               "quote": "USDT", "settlement": "USDT", "base": "BTC", "price_tick": Price("0.05"),
                               "size_step": Quantity("0.001")}
    args.update(kw)
    return Instrument(**args)  # type: ignore[arg-type]


def levels(entries: Sequence[tuple[int, int, int]], *, ts: int = 1, clear: bool = False) -> np.ndarray:
    """One L2 message: (side, price_raw, qty_raw) per level, LAST on the final record."""
    n = len(entries) + (1 if clear else 0)
    ev = empty_events(n)
    i = 0
    if clear:
        ev[0]["kind"] = EventKind.CLEAR
        i = 1
    for side, px, q in entries:
        r = ev[i]
        r["kind"], r["side"], r["price"], r["qty"] = EventKind.LEVEL, side, px, q
        r["flags"] = EventFlag.MBP
        i += 1
    ev["ts_local"] = ts
    ev["ts_event"] = ts
    ev[-1]["flags"] |= EventFlag.LAST
    return ev


def trade(aggressor: int, px: int, q: int, *, ts: int = 1, seq: int = 1) -> np.ndarray:
    ev = empty_events(1)
    ev[0]["kind"], ev[0]["side"], ev[0]["price"], ev[0]["qty"] = EventKind.TRADE, aggressor, px, q
    ev[0]["flags"] = EventFlag.LAST
    ev[0]["ts_local"] = ev[0]["ts_event"] = ts
    ev[0]["seq"] = seq
    return ev


def order(coid: str, side: int, qty_raw: int, price_raw: int | None = None, *, otype: OrderType | None = None,
          tif: TimeInForce = TimeInForce.GTC, iid: str = "BTCUSDT.SIM", **kw: object) -> Order:
    if otype is None:
        otype = OrderType.MARKET if price_raw is None else OrderType.LIMIT
    if otype is OrderType.MARKET and tif is TimeInForce.GTC:
        tif = TimeInForce.IOC
    return Order(client_order_id=coid, instrument_id=iid, side=OrderSide(side), order_type=otype,
                 quantity=Quantity.from_raw(qty_raw, 3), ts_init=0,
                 price=None if price_raw is None else Price.from_raw(price_raw, 2), time_in_force=tif,
                 **kw)  # type: ignore[arg-type]


def events_of(ex: object, cls: type) -> list:  # type: ignore[type-arg]
    return [e for _, e in ex.collected if type(e) is cls]  # type: ignore[attr-defined]


__all__ = ["TICK", "Money", "events_of", "instrument", "levels", "order", "trade"]
