"""Type stubs for ``shrivenquant._native.sim_core`` (compiled from ``src/_native/sim_core.pyx``)."""

from typing import Any, final

from typing_extensions import disjoint_base

@final
class SimOrder:
    ahead: dict[int, int] | None
    client_order_id: str
    cum_trade: int
    display: int
    expire: int | None
    filled: int
    front: int
    inst: int
    instrument_id: str
    leaves: int
    order_side: Any
    otype: int
    post_only: bool
    price: int | None
    qty: int
    qty_obj: Any
    reduce_only: bool
    shown: int
    side: int
    tif: int
    trigger: int | None
    venue_order_id: str

@disjoint_base
class MarketBase:
    asks: dict[int, list[SimOrder]]
    bids: dict[int, list[SimOrder]]
    book: Any
    consumed: dict[tuple[int, int], int]
    fee_cur: Any
    fee_den: int
    fee_maker: int
    fee_scale: int
    fee_taker: int
    fee_zero: Any
    index: int
    inst: Any
    l3: bool
    last_trade: int
    max_qty: int
    min_notional: tuple[int, int] | None
    min_qty: int
    mult: int
    notional_scale: int
    position: int
    pp: int
    sp: int
    step: int
    stops: list[SimOrder]
    tick: int

@disjoint_base
class ExchangeBase:
    by_id: dict[str, Any]
    markets: list[Any]
    orders: dict[str, SimOrder]
    emit: Any
    fills: int
    _next_venue_id: int
    _next_trade_id: int
    _resp_const: int | None
    _latency: Any

def configure(accepted_tpl: object, fill_tpl: object, maker: object, taker: object, market: object, ioc: object,
              raw_null: object, round_half_even: object, ot_market: object, tif_ioc: object) -> None: ...
def fill(ex: ExchangeBase, m: MarketBase, o: SimOrder, price: object, qty: object, ts: object, liq: object) -> None: ...
def submit_market_ioc(ex: ExchangeBase, m: MarketBase, order: object, ts: object) -> None: ...
def submit(ex: ExchangeBase, order: object, ts: object) -> None: ...
def venue_submit(venue: object, order: object) -> None: ...
def on_book_message(ex: ExchangeBase, instrument: object, records: object, start: object, stop: object,
                    ts: object) -> None: ...
def on_trade(ex: ExchangeBase, instrument: object, aggressor: object, price: object, qty: object,
             ts: object) -> None: ...
