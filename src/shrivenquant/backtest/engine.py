"""The backtest engine: a deterministic event loop over market data, a strategy, the OMS, risk and the
simulated exchange.

One local clock (``ts_local`` of the records, ns). Per venue message (records up to a ``LAST`` flag):

1. every scheduled item due at or before its time runs first, in (time, sequence) order: requests
   reaching the exchange (sent at ``t``, due at ``t + entry latency``), venue events reaching the OMS
   (due at ``t + response latency``), strategy timers and GTD expiries;
2. the message is applied: book messages go to the venue's book (queue positions and resting fills
   updated), trades to the exchange (queue advance, fills through the price, stop triggers);
3. the strategy's callback runs (``on_book`` / ``on_trade``); orders it sends go through
   ``OrderManager.submit`` (risk gate, journal) to the :class:`~shrivenquant.sim.SimulatedVenue`.

Venue events are applied to the OMS (``om.apply``) and then given to ``on_order_event`` / ``on_fill``.
Everything is integer and ordered by (time, sequence): a re-run on the same data gives bit-identical
results. The exchange applies market data at the same local time the strategy sees it, so the modelled
delay between a decision and its effect at the venue is the order entry latency.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import msgspec
import numpy as np

from shrivenquant._native.backtest_core import EngineCore
from shrivenquant._native.fixed import RAW_NULL, Money, Price
from shrivenquant.backtest.data import as_chunks, merge_sources
from shrivenquant.backtest.strategy import Bar, Context, Strategy
from shrivenquant.core.enums import OrderSide
from shrivenquant.core.events import EventFlag, EventKind
from shrivenquant.core.instrument import Instrument
from shrivenquant.core.order_events import OrderFilled
from shrivenquant.errors import ValidationError
from shrivenquant.oms.fees import FeeModel
from shrivenquant.oms.interfaces import Journal, MemoryJournal, RiskGate
from shrivenquant.oms.manager import OrderManager
from shrivenquant.sim.exchange import SimulatedExchange
from shrivenquant.sim.latency import ConstantLatency, LatencyModel
from shrivenquant.sim.queue import ProbQueue, QueueModel, RiskAverseQueue
from shrivenquant.sim.venue import SimulatedVenue

__all__ = ["FILL_DTYPE", "BacktestEngine", "BacktestResult", "VenueConfig", "queue_model_from_name"]

_INT64_MAX = 9_223_372_036_854_775_807
_LAST = int(EventFlag.LAST)
_MBP = int(EventFlag.MBP)
_BOOK_KINDS = frozenset(int(k) for k in (EventKind.LEVEL, EventKind.CLEAR, EventKind.ADD, EventKind.MODIFY,
                                         EventKind.CANCEL, EventKind.FILL))
_NONE = int(EventKind.NONE)
_TRADE = int(EventKind.TRADE)
_MARK = int(EventKind.MARK)
_BUY_SIDE = OrderSide.BUY
_POW10 = [10**i for i in range(40)]
_POW10F = [10.0**i for i in range(40)]

#: One row per fill: raw price/qty at the instrument's precisions, fee raw at ``fee_precision``.
FILL_DTYPE = np.dtype([("ts", "<i8"), ("instrument", "<u4"), ("side", "u1"), ("liquidity", "u1"),
                       ("price", "<i8"), ("qty", "<i8"), ("fee", "<i8"), ("fee_precision", "u1"),
                       ("order", "<i8")])


class VenueConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Simulated venue settings (one per venue; frozen, serialisable).

    Attributes:
        book_type: ``"l2"`` (market-by-price data, queue model) or ``"l3"`` (market-by-order, exact FIFO).
        queue: L2 queue model: ``"risk_averse"``, ``"power<n>"`` (e.g. ``"power2"``) or ``"log"``.
        entry_latency_ns, response_latency_ns: constant order latencies (a ``latency`` model passed to the
            engine overrides them).
        maker_fee, taker_fee: fee rates as decimal strings (``"0.0002"`` = 2 bp; negative = rebate).
        fee_currency: currency of fees (default: the instrument's settlement or quote currency).
        stp: self-trade prevention mode (``expire_maker``, ``expire_taker``, ``expire_both``).
    """

    book_type: str = "l2"
    queue: str = "risk_averse"
    entry_latency_ns: int = 0
    response_latency_ns: int = 0
    maker_fee: str = "0"
    taker_fee: str = "0"
    fee_currency: str | None = None
    stp: str = "expire_maker"


def queue_model_from_name(name: str) -> QueueModel:
    """``"risk_averse"``, ``"log"`` or ``"power<n>"`` to a queue model."""
    if name == "risk_averse":
        return RiskAverseQueue()
    if name == "log":
        return ProbQueue.log()
    if name.startswith("power"):
        try:
            n = float(name[5:] or 2)
        except ValueError:
            raise ValidationError(f"bad queue model {name!r}: expected power<n>, e.g. power2") from None
        return ProbQueue.power(n)
    raise ValidationError(f"unknown queue model {name!r}: use risk_averse, log or power<n>")


class BacktestResult:
    """What a run produced.

    Attributes:
        fills: structured array (:data:`FILL_DTYPE`), in the order the OMS received them.
        orders: one dict per order: client id, instrument, side, type, status, quantity, filled, reason.
        positions: instrument id -> signed net position (Decimal string) and realized PnL (Money string).
        equity_ts, equity: the equity curve in the quote currency, sampled every ``sample_ns`` of data time.
        fees: total fees per currency (Money strings; negative = rebates received).
        events: records processed; messages; wall_seconds of the loop.
        om: the order manager at the end (full state).
    """

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)

    def returns(self) -> np.ndarray:
        """Simple returns between equity samples."""
        e = self.equity
        if e.size < 2:
            return np.zeros(0)
        return np.diff(e) / e[:-1]

    def summary(self) -> dict[str, Any]:
        """Headline figures as a JSON-ready dict."""
        e = self.equity
        pnl = float(e[-1] - e[0]) if e.size else 0.0
        dd = 0.0
        if e.size:
            peak = np.maximum.accumulate(e)
            dd = float(((e - peak) / peak).min())
        buys = int((self.fills["side"] == 1).sum())
        maker = int((self.fills["liquidity"] == 1).sum())
        return {
            "events": self.events, "messages": self.messages, "wall_seconds": round(self.wall_seconds, 3),
            "events_per_second": round(self.events / self.wall_seconds) if self.wall_seconds > 0 else None,
            "orders": len(self.orders), "fills": int(self.fills.size), "buy_fills": buys,
            "sell_fills": int(self.fills.size) - buys, "maker_fills": maker,
            "taker_fills": int(self.fills.size) - maker,
            "denied": sum(1 for o in self.orders if o["status"] == "DENIED"),
            "rejected": sum(1 for o in self.orders if o["status"] == "REJECTED"),
            "positions": self.positions, "fees": self.fees,
            "equity_start": float(e[0]) if e.size else None, "equity_end": float(e[-1]) if e.size else None,
            "pnl": pnl, "max_drawdown": dd,
        }

    def report(self, title: str = "Backtest") -> Any:
        """The analytics tearsheet (:class:`~shrivenquant.analytics.report.Report`) of the equity curve."""
        from shrivenquant.analytics.report import Report

        r = self.returns()
        if r.size < 2:
            raise ValidationError("the run is too short for a tearsheet: fewer than 3 equity samples")
        year = 365.0 * 86_400e9 / self.sample_ns
        return Report(r, periods_per_year=year, dates=self.equity_ts[1:], title=title)


class BacktestEngine:
    """Deterministic event loop (see the module docstring).

    Args:
        instruments: the run's instrument table; ``instrument_id`` of the records indexes it (None entries
            are instruments the data mentions but the run does not trade: their records are skipped).
        strategy: a :class:`Strategy` (Python callbacks).
        venues: :class:`VenueConfig` per venue code (default settings for venues not listed).
        latency: a latency model for every venue (overrides the config's constant latencies).
        risk: the OMS's risk gate (e.g. :class:`~shrivenquant.oms.PreTradeRiskGate`), or None (allow all).
        journal: the OMS journal (default in memory; a ``WalJournal`` journals the run to disk).
        initial_balance: deposits per venue, e.g. ``{"BINANCE_USDM": Money("10000", "USDT")}`` (default
            10,000 of each venue's first instrument's settlement currency).
        sample_ns: equity sampling period of data time (default 1 s).
        bar_interval_ns: time-bar period for ``on_bar`` (0: no bars).
        progress: print a progress bar to stderr (True), never (False), or when stderr is a terminal (None).
    """

    def __init__(self, instruments: Iterable[Instrument | None], strategy: Strategy, *,
                 venues: dict[str, VenueConfig] | None = None, latency: LatencyModel | None = None,
                 risk: RiskGate | None = None, journal: Journal | None = None,
                 initial_balance: dict[str, Money] | None = None, sample_ns: int = 1_000_000_000,
                 bar_interval_ns: int = 0, progress: bool | None = None) -> None:
        table = list(instruments)
        tradable = [i for i in table if i is not None]
        if not tradable:
            raise ValidationError("a backtest needs at least one instrument")
        if sample_ns <= 0:
            raise ValidationError(f"sample_ns must be > 0, got {sample_ns}")
        self.instruments: list[Instrument] = table  # type: ignore[assignment]
        self.strategy = strategy
        self.sample_ns = int(sample_ns)
        self.bar_ns = int(bar_interval_ns)
        self.progress = progress
        self.now = 0
        self._heap: list[tuple[int, int, int, Any]] = []
        self._clock: Callable[[], int] = partial(getattr, self, "now")  # the loop's time, no Python frame per read
        # the heap, its sequence numbers and event delivery run natively (backtest_core.EngineCore): requests are
        # scheduled with _schedule_action(ts, action), venue events with _deliver_later(ts, event), and
        # _run_due(ts) runs what is due, delivering venue events through _deliver (om.apply, then bookkeeping
        # and the strategy)
        core = self._core = EngineCore(self, self._heap, OrderFilled, _BUY_SIDE, _POW10, _POW10F)
        self._schedule_action = core.schedule_action
        self._deliver_later = core.deliver_later
        venues = venues or {}
        by_venue: dict[str, list[int]] = {}
        for k, inst in enumerate(table):
            if inst is not None:
                by_venue.setdefault(inst.venue, []).append(k)
        self.exchanges: dict[str, SimulatedExchange] = {}
        self.route: list[tuple[SimulatedExchange, int] | None] = [None] * len(table)
        self.books: list[Any] = [None] * len(table)
        self.venues: dict[str, SimulatedVenue] = {}
        for vname, idxs in by_venue.items():
            cfg = venues.get(vname, VenueConfig())
            lat = latency if latency is not None else ConstantLatency(cfg.entry_latency_ns, cfg.response_latency_ns)
            first = table[idxs[0]]
            assert first is not None
            fees = None
            if cfg.maker_fee != "0" or cfg.taker_fee != "0" or cfg.fee_currency is not None:
                fees = FeeModel(currency=cfg.fee_currency or first.settlement or first.quote,
                                maker_rate=cfg.maker_fee, taker_rate=cfg.taker_fee)
            ex = SimulatedExchange([table[k] for k in idxs], book_type=cfg.book_type,  # type: ignore[misc]
                                   queue_model=queue_model_from_name(cfg.queue), latency=lat, fees=fees,
                                   stp=cfg.stp, emit=self._deliver_later, venue=vname)
            self.exchanges[vname] = ex
            for local, k in enumerate(idxs):
                self.route[k] = (ex, local)
                self.books[k] = ex.markets[local].book
            self.venues[vname] = SimulatedVenue(ex, now=self._clock, schedule=self._schedule_action, latency=lat)
        self._exchange_list = list(self.exchanges.values())
        # one venue: the OMS sends to it directly (every instrument the OMS knows is on it), else a router
        router: Any = next(iter(self.venues.values())) if len(self.venues) == 1 else _Router(self.venues)
        self.om = OrderManager(tradable, journal=journal if journal is not None else MemoryJournal(), risk=risk,
                               venue=router, clock=self._clock)
        self._iid = {inst.id: k for k, inst in enumerate(table) if inst is not None}
        if initial_balance is None:
            initial_balance = {}
            for vname, idxs in by_venue.items():
                inst = table[idxs[0]]
                assert inst is not None
                initial_balance[vname] = Money("10000", inst.settlement or inst.quote)
        self.initial_balance = initial_balance
        for vname, amount in initial_balance.items():
            self.om.deposit(vname, amount)
        self.ctx = Context(self)
        # equity bookkeeping (exact ints per instrument)
        n = len(table)
        self._pos = [0] * n
        self._cash = [0] * n  # -sum(signed qty * px * mult), raw at scale pp + sp + mult precision
        self._scale = [1.0] * n
        for k, inst in enumerate(table):
            if inst is not None:
                self._scale[k] = float(10 ** (inst.price_precision + inst.size_precision
                                              + inst.multiplier.precision))
        self._mult = [inst.multiplier.raw if inst is not None else 1 for inst in table]
        self._fee_total: dict[str, int] = {}
        self._fee_float = 0.0
        self._fills: list[OrderFilled] = []
        self._bars: list[list[int] | None] = [None] * n
        self._marks = [RAW_NULL] * n
        # the pre-trade risk engine hears trade prices (reference for market orders and the collar) and
        # mark prices, as a live feed handler would tell it
        self._pre = getattr(risk, "risk", None)
        self._ref: list[tuple[str, int] | None] | None = None
        if self._pre is not None and hasattr(self._pre, "set_reference"):
            refs: list[tuple[str, int] | None] = [None] * n
            for k, inst in enumerate(table):
                if inst is not None and inst.id in getattr(self._pre, "_inst_index", {}):
                    refs[k] = (inst.id, inst.price_precision)
            self._ref = refs
        core.bind()
        self._run_due = core.run_due
        self._deliver = core.deliver

    # ------------------------------------------------------------------ scheduling
    def _now(self) -> int:
        return self.now

    def schedule_timer(self, ts: int, name: str) -> None:
        """Call the strategy's ``on_timer`` at local time ``ts``."""
        if ts < self.now:
            raise ValidationError(f"timer {name!r} at {ts} is in the past (now {self.now})")
        self._core.push(ts, 2, name)

    def position_raw(self, instrument: int) -> int:
        """Signed net position of ``instrument`` (raw), from the fills the OMS received."""
        return self._pos[instrument]

    def equity(self) -> float:
        """Equity now: deposits + cash flows of fills + positions at mid - fees (quote currency, float)."""
        total = sum(float(m.raw) / 10.0 ** m.precision for m in self.initial_balance.values()) - self._fee_float
        for k, book in enumerate(self.books):
            if book is None or (self._pos[k] == 0 and self._cash[k] == 0):
                continue
            bid, ask = book.best_bid_price_raw, book.best_ask_price_raw
            if RAW_NULL not in (bid, ask):
                mid2 = bid + ask
                value = self._cash[k] * 2 + self._pos[k] * mid2 * self._mult[k]
                total += value / (2.0 * self._scale[k])
            else:
                mark = self._marks[k]
                if mark != RAW_NULL:
                    total += (self._cash[k] + self._pos[k] * mark * self._mult[k]) / self._scale[k]
                else:
                    total += self._cash[k] / self._scale[k]
        return total

    # ------------------------------------------------------------------ the loop
    def run(self, *sources: np.ndarray | Iterable[np.ndarray], total_events: int | None = None) -> BacktestResult:
        """Run over the data sources (event arrays or iterables of chunks, merged by ``ts_local``)."""
        if not sources:
            raise ValidationError("run() needs at least one data source")
        strat = self.strategy
        cls = type(strat)
        on_book = cls.on_book is not Strategy.on_book
        on_trade = cls.on_trade is not Strategy.on_trade
        on_bar = cls.on_bar is not Strategy.on_bar and self.bar_ns > 0
        self._core.on_order_event = cls.on_order_event is not Strategy.on_order_event
        self._core.on_fill = cls.on_fill is not Strategy.on_fill
        ctx = self.ctx
        if total_events is None and all(isinstance(s, np.ndarray) for s in sources):
            total_events = sum(int(s.size) for s in sources)  # type: ignore[union-attr]
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        chunks = merge_sources([as_chunks(s) for s in sources]) if len(sources) > 1 else as_chunks(sources[0])
        route = self.route
        refs = self._ref
        heap = self._heap
        book_kinds = _BOOK_KINDS
        eq_ts: list[int] = []
        eq_val: list[float] = []
        next_sample = -1
        sample_ns = self.sample_ns
        n_events = 0
        n_messages = 0
        t0 = time.perf_counter()
        last_shown = t0
        carry: np.ndarray | None = None
        started = False
        for piece in chunks:
            chunk = piece
            if carry is not None and carry.size:
                chunk = np.concatenate((carry, piece))
                carry = None
            flags = chunk["flags"]
            stops = np.flatnonzero(flags & _LAST) + 1
            end = int(stops[-1]) if stops.size else 0
            if end < chunk.size:
                carry = chunk[end:]
                chunk = chunk[:end]
                if not stops.size:
                    continue
            starts = np.empty_like(stops)
            starts[0] = 0
            starts[1:] = stops[:-1]
            heads = chunk[starts]
            if not started:
                started = True
                self.now = int(heads["ts_local"][0])
                next_sample = self.now
                strat.on_start(ctx)
            n_events += int(chunk.size)
            n_messages += int(stops.size)
            iids = heads["instrument_id"].tolist()
            for s, e, kind, iid, ts, fl in zip(starts.tolist(), stops.tolist(), heads["kind"].tolist(), iids,
                                               heads["ts_local"].tolist(), heads["flags"].tolist(), strict=True):
                if heap and heap[0][0] <= ts:
                    self._run_due(ts)
                self.now = ts
                if ts >= next_sample:
                    eqv = self.equity()
                    while next_sample <= ts:
                        eq_ts.append(next_sample)
                        eq_val.append(eqv)
                        next_sample += sample_ns
                r = route[iid] if iid < len(route) else None
                if r is None:
                    continue
                if kind in book_kinds or (kind == _NONE and fl & _MBP):
                    r[0].on_book_message(r[1], chunk, s, e, ts)
                    if on_book:
                        strat.on_book(ctx, iid)
                elif kind == _TRADE:
                    ex, local = r
                    if refs is not None and refs[iid] is not None:
                        rid, rpp = refs[iid]
                        self._pre.set_reference(rid, Price.from_raw(int(chunk["price"][e - 1]), rpp))
                    for j in range(s, e):
                        rec = chunk[j]
                        side, px, q = int(rec["side"]), int(rec["price"]), int(rec["qty"])
                        ex.on_trade(local, side, px, q, ts)
                        if on_bar:
                            self._bar(iid, ts, px, q)
                        if on_trade:
                            strat.on_trade(ctx, iid, side, px, q)
                elif kind == _MARK:
                    self._marks[iid] = int(chunk["price"][s])
                    if refs is not None and refs[iid] is not None:
                        self._pre.update_mark(refs[iid][0], Price.from_raw(self._marks[iid], refs[iid][1]))
            if show and time.perf_counter() - last_shown > 0.5:
                last_shown = time.perf_counter()
                _progress(n_events, total_events, last_shown - t0)
        if carry is not None and carry.size:
            raise ValidationError(f"the data ends inside a venue message: {carry.size} records without a LAST flag")
        if started:
            self._run_due(self.now)
            strat.on_stop(ctx)
            self._run_due(self.now)
            eq_ts.append(self.now)
            eq_val.append(self.equity())
        wall = time.perf_counter() - t0
        if show:
            _progress(n_events, total_events, wall, final=True)
        return self._result(n_events, n_messages, wall, eq_ts, eq_val)

    def _bar(self, iid: int, ts: int, px: int, q: int) -> None:
        b = self._bars[iid]
        ns = self.bar_ns
        if b is not None and ts >= b[1]:
            self.strategy.on_bar(self.ctx, Bar(iid, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]))
            b = None
        if b is None:
            start = ts - ts % ns
            self._bars[iid] = [start, start + ns, px, px, px, px, q, 1]
            return
        b[3] = max(b[3], px)
        b[4] = min(b[4], px)
        b[5] = px
        b[6] += q
        b[7] += 1

    def _result(self, n_events: int, n_messages: int, wall: float, eq_ts: list[int],
                eq_val: list[float]) -> BacktestResult:
        rows = []
        iid = self._iid
        for e in self._fills:
            fee = e.fee
            rows.append((e.ts_event, iid[e.instrument_id], int(e.order_side), int(e.liquidity_side), e.last_px.raw,
                         e.last_qty.raw, fee.raw, fee.precision, int(e.venue_order_id or 0)))
        fills = np.array(rows, dtype=FILL_DTYPE) if rows else np.zeros(0, FILL_DTYPE)
        orders = []
        for mo in self.om.orders.values():
            o = mo.order
            orders.append({"client_order_id": mo.client_order_id, "instrument_id": mo.instrument_id,
                           "side": o.side.name, "type": o.order_type.name, "status": mo.status.name,
                           "quantity_raw": mo.quantity_raw, "filled_raw": mo.filled_raw, "reason": mo.reason})
        positions = {}
        for (iid, _leg), pos in self.om.positions.items():
            inst = self.om.instruments[iid]
            positions[iid] = {"qty": _fmt(pos.qty, inst.size_precision), "fills": pos.fills}
        totals = dict(self._fee_total)
        for e in self._fills:  # currencies of fee-free fills are listed too (at 0)
            totals.setdefault(e.fee.currency.code, 0)
        fees = {c: _fmt(v, 18).rstrip("0").rstrip(".") or "0" for c, v in sorted(totals.items())}
        return BacktestResult(fills=fills, orders=orders, positions=positions,
                              equity_ts=np.asarray(eq_ts, dtype=np.int64), equity=np.asarray(eq_val),
                              fees=fees, events=n_events, messages=n_messages, wall_seconds=wall, om=self.om,
                              sample_ns=self.sample_ns)


def _fmt(raw: int, precision: int) -> str:
    sign = "-" if raw < 0 else ""
    a = abs(raw)
    if precision == 0:
        return f"{sign}{a}"
    s = str(a).rjust(precision + 1, "0")
    return f"{sign}{s[:-precision]}.{s[-precision:]}"


def _progress(done: int, total: int | None, seconds: float, final: bool = False) -> None:
    rate = done / seconds if seconds > 0 else 0.0
    if total:
        frac = min(done / total, 1.0)
        bar = "#" * int(frac * 30)
        msg = f"\r[{bar:<30}] {frac:6.1%} {done:,}/{total:,} events {rate / 1e6:.2f} M/s"
    else:
        msg = f"\r{done:,} events {rate / 1e6:.2f} M/s"
    sys.stderr.write(msg + ("\n" if final else ""))
    sys.stderr.flush()


class _Router:
    """The OMS's execution client: sends each request to its instrument's venue."""

    __slots__ = ("_by_instrument", "_venues")

    def __init__(self, venues: dict[str, SimulatedVenue]) -> None:
        self._venues = venues
        self._by_instrument: dict[str, SimulatedVenue] = {}

    def _venue(self, mo: Any) -> SimulatedVenue:
        iid = mo.instrument_id
        v = self._by_instrument.get(iid)
        if v is None:
            v = self._by_instrument[iid] = self._venues[iid.rsplit(".", 1)[1]]
        return v

    def submit(self, order: Any) -> None:
        v = self._by_instrument.get(order.instrument_id)
        if v is None:
            v = self._venue(order)
        v.submit(order)

    def cancel(self, order: Any) -> None:
        self._venue(order).cancel(order)

    def modify(self, order: Any, quantity: Any, price: Any, trigger_price: Any) -> None:
        self._venue(order).modify(order, quantity, price, trigger_price)
