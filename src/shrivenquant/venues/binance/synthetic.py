"""A small, deterministic, Binance USD-M-style market-data stream in the hftbacktest recording format.

:func:`generate_stream` simulates one perpetual's matching engine with integers only (prices in ticks of
0.10, sizes in steps of 0.001, times in ns) from a seeded :class:`random.Random`, and writes what a
recorder on ``<sym>@depth@0ms``, ``<sym>@trade`` and ``<sym>@bookTicker`` plus one REST
``/fapi/v1/depth`` call would have stored: lines ``<local_ns> <json>``, exactly like the files of
``binance-hftbacktest`` (combined-stream envelopes; the snapshot a bare JSON object). Properties:

* every book change gets an update id (ids increase with gaps, as on Binance, where ids are shared
  by all symbols); a ``depthUpdate`` carries 1–8 changes as ``U`` (first id), ``u`` (last id) and
  ``pu`` (the previous message's ``u``), with each changed level's final size (0 deletes);
* the best price random-walks on the tick grid: trades consume the best level, liquidity refills
  around the top; the book never crosses;
* a ``bookTicker`` (``u`` = the ``u`` of the depth message after which it holds) is sent whenever
  the top changed, so it always equals the top of the book rebuilt from snapshot + diffs;
* the REST snapshot (``lastUpdateId`` = an id inside a depth message, prices up to 1000 levels per
  side) is taken after the stream started and written a few messages later: the recording starts
  with depth messages a consumer must buffer and then drop by Binance's sync rule
  (``u < lastUpdateId`` dropped; the first applied message has ``U <= lastUpdateId <= u``);
* local receive times are non-decreasing ns; ``E``/``T`` are ms.

The same ``(n_messages, seed)`` always gives the same bytes. Streams shorter than 100 messages take
the snapshot in the first depth message and write it right after it (within the first ~20 lines).
The symbol is ``SYNTHUSDT`` by default so that the data cannot be taken for a real market.
"""

from __future__ import annotations

import gzip
import os
import random
from pathlib import Path
from typing import Any

import orjson

from shrivenquant._native.fixed import Money, Price, Quantity
from shrivenquant.core.enums import InstrumentKind
from shrivenquant.core.instrument import Instrument
from shrivenquant.errors import ValidationError
from shrivenquant.venues.binance.exchange_info import USDM_VENUE

__all__ = [
    "SYNTHETIC_SYMBOL",
    "generate_stream",
    "synthetic_exchange_info",
    "synthetic_instrument",
    "write_stream",
]

SYNTHETIC_SYMBOL = "SYNTHUSDT"
_START_NS = 1_723_161_600_000_000_000  # 2024-08-09 00:00:00 UTC
_START_TICKS = 300_000  # 30000.0 in ticks of 0.10
_SNAPSHOT_LIMIT = 1000
_SHORT_STREAM = 100  # below this many messages the snapshot is taken in the first depth message


def synthetic_instrument(symbol: str = SYNTHETIC_SYMBOL) -> Instrument:
    """The instrument of the synthetic stream: a USDT-margined perpetual, tick 0.10, step 0.001."""
    base = symbol.removesuffix("USDT") or symbol
    return Instrument(
        venue=USDM_VENUE,
        symbol=symbol,
        kind=InstrumentKind.PERPETUAL,
        base=base,
        quote="USDT",
        settlement="USDT",
        price_tick=Price("0.10"),
        size_step=Quantity("0.001"),
        min_qty=Quantity("0.001"),
        max_qty=Quantity("1000"),
        min_notional=Money("100", "USDT"),
    )


def synthetic_exchange_info(symbol: str = SYNTHETIC_SYMBOL) -> dict[str, Any]:
    """A ``GET /fapi/v1/exchangeInfo``-shaped answer listing only the synthetic symbol."""
    base = symbol.removesuffix("USDT") or symbol
    return {
        "timezone": "UTC",
        "serverTime": _START_NS // 1_000_000,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [
            {
                "symbol": symbol,
                "pair": symbol,
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": 1569398400000,
                "status": "TRADING",
                "baseAsset": base,
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
                "pricePrecision": 2,
                "quantityPrecision": 3,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.10", "maxPrice": "1000000", "tickSize": "0.10"},
                    {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
                    {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.001", "maxQty": "120", "minQty": "0.001"},
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MIN_NOTIONAL", "notional": "100"},
                    {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
                     "multiplierDecimal": "4"},
                ],
                "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            }
        ],
    }


def _price(ticks: int) -> str:
    """Ticks of 0.10 as Binance writes USD-M prices (2 decimals): 300001 -> '30000.10'."""
    return f"{ticks // 10}.{ticks % 10}0"


def _qty(steps: int) -> str:
    """Steps of 0.001 as a 3-decimal string: 1500 -> '1.500'."""
    return f"{steps // 1000}.{steps % 1000:03d}"


class _Engine:
    """Integer order-book simulation: price -> size maps, best prices kept incrementally."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        for i in range(150):
            if i < 2 or rng.randrange(10) < 8:
                self.bids[_START_TICKS - i] = self.size()
                self.asks[_START_TICKS + 1 + i] = self.size()
        self.best_bid = max(self.bids)
        self.best_ask = min(self.asks)

    def size(self) -> int:
        rng = self.rng
        if rng.randrange(20) == 0:
            return rng.randrange(2_000, 60_000)
        return rng.randrange(1, 2_000)

    def distance(self) -> int:
        """Ticks away from the top: geometric, mostly near it."""
        d = 0
        while d < 120 and self.rng.randrange(100) < 78:
            d += 1
        return d

    def set(self, side: int, price: int, size: int) -> None:
        book = self.bids if side == 1 else self.asks
        if size:
            book[price] = size
            if side == 1 and price > self.best_bid:
                self.best_bid = price
            elif side == 2 and price < self.best_ask:
                self.best_ask = price
        else:
            del book[price]
            if side == 1 and price == self.best_bid:
                self.best_bid = max(book)
            elif side == 2 and price == self.best_ask:
                self.best_ask = min(book)

    def top(self) -> tuple[int, int, int, int]:
        return self.best_bid, self.bids[self.best_bid], self.best_ask, self.asks[self.best_ask]

    def passive(self) -> tuple[int, int, int]:
        """A resting-order change near the top: (side, price, new size); size 0 deletes."""
        rng = self.rng
        side = 1 + rng.randrange(2)
        book = self.bids if side == 1 else self.asks
        spread = self.best_ask - self.best_bid
        if spread > 1 and rng.randrange(100) < 45:  # improve into the spread
            price = self.best_bid + 1 if side == 1 else self.best_ask - 1
            return side, price, self.size()
        price = self.best_bid - self.distance() if side == 1 else self.best_ask + self.distance()
        if price in book and len(book) > 40 and rng.randrange(100) < 35:
            return side, price, 0
        return side, price, self.size()

    def aggressive(self) -> tuple[int, int, int, int] | None:
        """A taker hitting the top: (aggressor side, price, traded size, size left at the level).

        None when the book side is too thin to take a whole level and the level has size 1.
        """
        rng = self.rng
        side = 1 + rng.randrange(2)  # 1: buyer lifts the ask, 2: seller hits the bid
        book = self.asks if side == 1 else self.bids
        price = self.best_ask if side == 1 else self.best_bid
        level = book[price]
        if len(book) > 40:
            traded = level if rng.randrange(100) < 30 else rng.randrange(1, level + 1)
        elif level > 1:
            traded = rng.randrange(1, level)
        else:
            return None
        return side, price, traded, level - traded


def generate_stream(n_messages: int = 20_000, seed: int = 7, *,
                    symbol: str = SYNTHETIC_SYMBOL) -> tuple[Instrument, list[bytes]]:
    """``n_messages`` recording lines (``b"<local_ns> <json>"``, no newline) and their instrument.

    Deterministic in ``(n_messages, seed, symbol)``; see the module docstring for what the stream holds.
    """
    if n_messages < 1:
        raise ValidationError(f"n_messages must be >= 1, got {n_messages}")
    rng = random.Random(seed)
    eng = _Engine(rng)
    stream = symbol.lower()
    dumps = orjson.dumps
    lines: list[bytes] = []
    now = _START_NS  # engine time, ns
    local = _START_NS  # last local receive time, ns
    uid = 5_000_000_000_000 + rng.randrange(1_000_000)
    prev_u = uid - rng.randrange(1, 50)
    trade_id = 4_000_000_000 + rng.randrange(1_000_000)
    last_ticker: tuple[int, int, int, int] | None = None
    # the batch in which the REST snapshot is taken, and how many batches later it is written
    short = n_messages < _SHORT_STREAM
    snapshot_batch = 0 if short else 3 + rng.randrange(4)
    snapshot_lag = 1 if short else 2
    snapshot: tuple[int, int, dict[int, int], dict[int, int]] | None = None  # (id, T ms, bids, asks)
    snapshot_written = False
    batch_no = 0

    def emit(obj: dict[str, Any], delay_ns: int) -> None:
        nonlocal local
        local = max(local, now + delay_ns)
        lines.append(b"%d %s" % (local, dumps(obj)))

    while len(lines) < n_messages:
        changes: dict[tuple[int, int], int] = {}  # (side, price) -> final size in this batch
        first_id = 0
        size = 1 + rng.randrange(8)
        snap_at = rng.randrange(size) if batch_no == snapshot_batch else -1  # any change of the batch
        for i in range(size):
            now += 20_000 + rng.randrange(1_500_000)
            uid += 1 + rng.randrange(4)
            if i == 0:
                first_id = uid
            taker = eng.aggressive() if rng.randrange(100) < 22 else None
            if taker is not None:
                side, price, traded, left = taker
                trade_id += 1
                t_ms = now // 1_000_000
                emit({"stream": f"{stream}@trade", "data": {
                    "e": "trade", "E": t_ms + rng.randrange(3), "T": t_ms, "s": symbol, "t": trade_id,
                    "p": _price(price), "q": _qty(traded), "X": "MARKET", "m": side == 2}},
                    300_000 + rng.randrange(2_000_000))
                book_side = 2 if side == 1 else 1
                eng.set(book_side, price, left)
                changes[(book_side, price)] = left
            else:
                side, price, new_size = eng.passive()
                eng.set(side, price, new_size)
                changes[(side, price)] = new_size
            if i == snap_at:
                snapshot = (uid, now // 1_000_000, dict(eng.bids), dict(eng.asks))
        t_ms = now // 1_000_000
        e_ms = t_ms + rng.randrange(4)
        bids = sorted((p, s) for (sd, p), s in changes.items() if sd == 1)
        asks = sorted((p, s) for (sd, p), s in changes.items() if sd == 2)
        depth = {"stream": f"{stream}@depth@0ms", "data": {
            "e": "depthUpdate", "E": e_ms, "T": t_ms, "s": symbol, "U": first_id, "u": uid, "pu": prev_u,
            "b": [[_price(p), _qty(s)] for p, s in bids], "a": [[_price(p), _qty(s)] for p, s in asks]}}
        prev_u = uid
        top = eng.top()
        ticker = None
        if top != last_ticker:
            last_ticker = top
            ticker = {"stream": f"{stream}@bookTicker", "data": {
                "e": "bookTicker", "u": uid, "s": symbol, "b": _price(top[0]), "B": _qty(top[1]),
                "a": _price(top[2]), "A": _qty(top[3]), "T": t_ms, "E": t_ms + rng.randrange(3)}}
        if ticker is not None and rng.randrange(100) < 60:  # the ticker stream is usually faster
            emit(ticker, 250_000 + rng.randrange(1_000_000))
            ticker = None
        emit(depth, 400_000 + rng.randrange(2_500_000))
        if ticker is not None:
            emit(ticker, 250_000 + rng.randrange(1_000_000))
        batch_no += 1
        if snapshot is not None and not snapshot_written and batch_no >= snapshot_batch + snapshot_lag:
            snap_id, snap_ms, sb, sa = snapshot
            snap = {"lastUpdateId": snap_id, "E": snap_ms + 1, "T": snap_ms,
                    "bids": [[_price(p), _qty(sb[p])] for p in sorted(sb, reverse=True)[:_SNAPSHOT_LIMIT]],
                    "asks": [[_price(p), _qty(sa[p])] for p in sorted(sa)[:_SNAPSHOT_LIMIT]]}
            emit(snap, 5_000_000 + rng.randrange(20_000_000))
            snapshot_written = True
    return synthetic_instrument(symbol), lines[:n_messages]


def write_stream(path: str | os.PathLike[str], n_messages: int = 20_000, seed: int = 7, *,
                 symbol: str = SYNTHETIC_SYMBOL) -> Instrument:
    """Write :func:`generate_stream` lines to ``path`` (gzip if it ends in ``.gz``); returns the instrument."""
    instrument, lines = generate_stream(n_messages, seed, symbol=symbol)
    data = b"\n".join(lines) + b"\n"
    path = Path(path)
    if path.suffix == ".gz":
        # no name, mtime 0: the same bytes on every run
        with path.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(data)
    else:
        path.write_bytes(data)
    return instrument
