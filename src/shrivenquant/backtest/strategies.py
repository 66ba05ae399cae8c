"""Two real strategies: a market maker with inventory skew, and an order-book-imbalance taker.

Both work in raw ints at the instrument's precisions and send orders only through the
:class:`~shrivenquant.backtest.strategy.Context` (OMS, risk gate, venue), so they run unchanged against a
live venue.

:class:`MarketMaker` keeps one post-only GTC bid and one ask. After every book update it computes
``skew = position // skew_qty`` (ticks) and quotes ``bid = best_bid - (offset + skew) * tick`` and
``ask = best_ask + (offset - skew) * tick`` (never crossing: ``bid <= best_ask - tick``,
``ask >= best_bid + tick``), so a long position lowers both quotes (sells more readily, buys less) and a
short one raises them. A side stops quoting when ``|position|`` reaches ``max_position`` in its direction.
A quote whose price is stale is canceled; the replacement goes out after the cancel is confirmed.
The Numba mode (:mod:`shrivenquant.backtest.numba_mode`) runs exactly this logic.

:class:`ImbalanceTaker` reads the depth imbalance ``(B - A) / (B + A)`` over ``levels`` levels and sends
an IOC market order of ``qty`` in its direction when it exceeds ``threshold`` and the position allows,
then waits ``cooldown_ns``; it flattens with a reduce-only market order when the imbalance flips.
"""

from __future__ import annotations

from typing import Any

from shrivenquant._native.fixed import RAW_NULL
from shrivenquant.backtest.strategy import Context, Strategy
from shrivenquant.core.order_events import OrderCanceled, OrderExpired, OrderFilled, OrderRejected

__all__ = ["ImbalanceTaker", "MarketMaker"]

_DONE = (OrderCanceled, OrderRejected, OrderExpired)


class MarketMaker(Strategy):
    """Two-sided post-only quoting with inventory skew (see the module docstring).

    Args:
        instrument: index of the instrument in the run's table.
        qty: quote size, raw.
        offset_ticks: distance of each quote behind the best price, in ticks (0 = join the best).
        skew_qty: position (raw) per tick of skew.
        max_position: largest |position| (raw) a quote may build.
    """

    def __init__(self, instrument: int = 0, *, qty: int, offset_ticks: int = 0, skew_qty: int,
                 max_position: int) -> None:
        if qty <= 0 or skew_qty <= 0 or max_position <= 0 or offset_ticks < 0:
            from shrivenquant.errors import ValidationError

            raise ValidationError("MarketMaker needs qty, skew_qty, max_position > 0 and offset_ticks >= 0")
        self.instrument = instrument
        self.qty = qty
        self.offset = offset_ticks
        self.skew_qty = skew_qty
        self.max_position = max_position
        # per side (0 bid, 1 ask): client id, price, filled so far, cancel requested
        self.coid: list[str | None] = [None, None]
        self.price = [0, 0]
        self.filled = [0, 0]
        self.canceling = [False, False]
        self.tick = 1

    def on_start(self, ctx: Context) -> None:
        inst = ctx.instruments[self.instrument]
        self.tick = inst.price_tick.raw_at(inst.price_precision)

    def on_book(self, ctx: Context, instrument: int) -> None:
        if instrument != self.instrument:
            return
        book = ctx.books[instrument]
        bb, ba = book.best_bid_price_raw, book.best_ask_price_raw
        if RAW_NULL in (bb, ba):
            return
        tick = self.tick
        pos = ctx.position_raw(instrument)
        skew = pos // self.skew_qty
        bid = bb - (self.offset + skew) * tick
        ask = ba + (self.offset - skew) * tick
        bid = min(bid, ba - tick)
        ask = max(ask, bb + tick)
        self._side(ctx, 0, bid, pos < self.max_position)
        self._side(ctx, 1, ask, -pos < self.max_position)

    def _side(self, ctx: Context, k: int, px: int, allowed: bool) -> None:
        coid = self.coid[k]
        if coid is None:
            if allowed:
                mo = ctx.limit(self.instrument, 1 + k, px, self.qty, post_only=True)
                if mo.is_done:  # denied by the risk gate: nothing went out
                    return
                self.coid[k] = mo.client_order_id
                self.price[k] = px
                self.filled[k] = 0
                self.canceling[k] = False
            return
        if not self.canceling[k] and (self.price[k] != px or not allowed):
            self.canceling[k] = True
            ctx.cancel(coid)

    def on_order_event(self, ctx: Context, event: Any) -> None:
        coid = getattr(event, "client_order_id", None)
        for k in (0, 1):
            if coid is not None and coid == self.coid[k]:
                if type(event) is OrderFilled:
                    self.filled[k] += event.last_qty.raw
                    if self.filled[k] >= self.qty:
                        self.coid[k] = None
                elif isinstance(event, _DONE):
                    self.coid[k] = None


class ImbalanceTaker(Strategy):
    """Order-book-imbalance taker (see the module docstring).

    Args:
        instrument: index of the instrument.
        qty: order size, raw.
        levels: depth levels in the imbalance.
        threshold: enter when ``|imbalance| >= threshold`` (0..1).
        max_position: largest |position| (raw).
        cooldown_ns: minimum time between orders.
    """

    def __init__(self, instrument: int = 0, *, qty: int, levels: int = 5, threshold: float = 0.6,
                 max_position: int, cooldown_ns: int = 1_000_000_000) -> None:
        self.instrument = instrument
        self.qty = qty
        self.levels = levels
        self.threshold = threshold
        self.max_position = max_position
        self.cooldown = cooldown_ns
        self.next_ok = 0
        self.orders = 0

    def on_book(self, ctx: Context, instrument: int) -> None:
        if instrument != self.instrument or ctx.now < self.next_ok:
            return
        imb = ctx.books[instrument].imbalance(self.levels)
        if imb is None:
            return
        pos = ctx.position_raw(instrument)
        if imb >= self.threshold and pos + self.qty <= self.max_position:
            ctx.market(instrument, 1, self.qty)
        elif imb <= -self.threshold and pos - self.qty >= -self.max_position:
            ctx.market(instrument, 2, self.qty)
        elif pos > 0 and imb < 0:
            ctx.market(instrument, 2, pos, reduce_only=True)
        elif pos < 0 and imb > 0:
            ctx.market(instrument, 1, -pos, reduce_only=True)
        else:
            return
        self.orders += 1
        self.next_ok = ctx.now + self.cooldown
