"""Backtest benchmark cases: events through the engine (Python callbacks, Numba mode) and the order round trip.

* ``backtest_python_events`` (ns per event record): the whole engine over a synchronised Binance stream
  (generated, 40,000 messages) with a trivial Python strategy called after every book update (it reads the
  best bid). Same-run baselines: a per-event no-op Python call (the floor of any per-event callback) and a
  per-message one; NautilusTrader 1.221's ``BacktestEngine`` with a trivial strategy over the stream's
  quote ticks (bookTicker pairs; QuoteTick objects built before the timing), when ``nautilus_trader`` is
  importable. Its figure is divided by the stream's record count like ours (it sees only the quotes: per
  quote it is ~9x higher on the real recording); run the suite with ``PYTHONPATH=src
  /tmp/benchvenv/bin/python`` to include it.
* ``backtest_python_events_real``: the same on the real USD-M BTCUSDT recording (skipped without it).
* ``backtest_numba_events`` (ns per event): the Numba-mode market maker over the real recording (or the
  generated stream); baselines: a Numba pass that only reads the same columns, and the native L2 book
  applying the stream's level records (``OrderBook.apply_events``).
* the Numba cases also time ``run_numba_taker`` (the imbalance taker, market orders walking the book) on the
  same stream, beside the quoting kernel.
* ``backtest_order_round_trip`` (ns per round trip): a market order from Python through
  ``OrderManager.submit`` -> native pre-trade risk -> OMS journal -> simulated venue (zero latency) ->
  match -> ``OrderAccepted`` + ``OrderFilled`` back through ``om.apply`` -> position; buys and sells
  alternate so the position stays bounded. Baselines: the OMS submit + ack alone (no venue), and the
  simulated exchange's matching alone.
"""

from __future__ import annotations

from typing import Any

from shrivenquant.bench.harness import Case, Variant

__all__ = ["backtest_cases"]

_REAL = "binance-hftbacktest/usdm_btcusdt_20240808.gz"
_INFO = "binance-cryptofeed/BINANCE_FUTURES.0.gz"
_GEN_MESSAGES = 40_000
_GEN_EVENTS = 89_938  # records of the generated stream (40,000 messages, seed 5), checked when it is built
_REAL_EVENTS = 598_754  # BTCUSDT records of the real recording, checked when it is read
_CACHE: dict[str, Any] = {}


def _generated() -> tuple[Any, list[Any]]:
    if "gen" not in _CACHE:
        from shrivenquant.backtest import generated_events

        ev, insts, _ = generated_events(_GEN_MESSAGES, seed=5)
        if ev.size != _GEN_EVENTS:
            raise RuntimeError(f"generated stream has {ev.size} records, expected {_GEN_EVENTS}")
        _CACHE["gen"] = (ev, insts)
    return _CACHE["gen"]  # type: ignore[no-any-return]


def _real() -> tuple[Any, list[Any]]:
    if "real" not in _CACHE:
        from shrivenquant.backtest import recording_events
        from shrivenquant.bench.harness import shared_data_dir
        from shrivenquant.venues.binance.exchange_info import load_exchange_info

        d = shared_data_dir()
        ev, table = recording_events([str(d / _REAL)], load_exchange_info(d / _INFO))
        k = next(i for i, inst in enumerate(table) if inst is not None and inst.symbol == "BTCUSDT")
        ev = ev[ev["instrument_id"] == k]
        ev["instrument_id"] = 0
        if ev.size != _REAL_EVENTS:
            raise RuntimeError(f"recording has {ev.size} BTCUSDT records, expected {_REAL_EVENTS}")
        _CACHE["real"] = (ev, [table[k]])
    return _CACHE["real"]  # type: ignore[no-any-return]


def _python_engine(real: bool) -> Any:
    def setup() -> dict[str, Any]:
        from shrivenquant.backtest import BacktestEngine, Strategy

        ev, insts = _real() if real else _generated()

        class Trivial(Strategy):
            def __init__(self) -> None:
                self.n = 0
                self.last = 0

            def on_book(self, ctx: Any, instrument: int) -> None:
                self.n += 1
                self.last = ctx.books[instrument].best_bid_price_raw

        def run() -> None:
            BacktestEngine(insts, Trivial(), progress=False).run(ev)

        return {"run": run}

    return setup


def _noop_calls(real: bool, per_message: bool) -> Any:
    def setup() -> dict[str, Any]:
        import numpy as np

        ev, _ = _real() if real else _generated()
        n = int(np.count_nonzero(ev["flags"] & 1)) if per_message else int(ev.size)

        def noop(ctx: Any, i: int) -> None:
            pass

        def run() -> None:
            for _ in range(n):
                noop(None, 0)

        return {"run": run}

    return setup


def _nautilus(real: bool) -> Any:
    def setup() -> dict[str, Any]:
        import numpy as np
        from nautilus_trader.backtest.engine import BacktestEngine as NtEngine
        from nautilus_trader.backtest.engine import BacktestEngineConfig
        from nautilus_trader.config import LoggingConfig
        from nautilus_trader.model.currencies import USDT
        from nautilus_trader.model.data import QuoteTick
        from nautilus_trader.model.enums import AccountType, OmsType
        from nautilus_trader.model.identifiers import Venue
        from nautilus_trader.model.objects import Money
        from nautilus_trader.test_kit.providers import TestInstrumentProvider
        from nautilus_trader.trading.strategy import Strategy as NtStrategy

        ev, _ = _real() if real else _generated()
        bbo = ev[ev["kind"] == 8]
        bid_idx = np.flatnonzero((bbo["side"][:-1] == 1) & (bbo["side"][1:] == 2))
        inst = TestInstrumentProvider.btcusdt_binance()
        pp = inst.price_precision
        sp = inst.size_precision
        src_pp = 2 if real else 1
        quotes = []
        for i in bid_idx.tolist():  # built before the timing
            b, a = bbo[i], bbo[i + 1]
            quotes.append(QuoteTick.from_raw(
                inst.id, int(b["price"]) * 10 ** (9 - src_pp), int(a["price"]) * 10 ** (9 - src_pp), pp, pp,
                max(int(b["qty"]), 1) * 10**6, max(int(a["qty"]), 1) * 10**6, sp, sp,
                int(b["ts_local"]), int(b["ts_local"])))
        _CACHE["nt_quotes"] = len(quotes)

        class Trivial(NtStrategy):
            def on_start(self) -> None:
                self.subscribe_quote_ticks(inst.id)

            def on_quote_tick(self, tick: Any) -> None:
                pass

        def run() -> None:
            eng = NtEngine(config=BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
            eng.add_venue(venue=Venue("BINANCE"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                          base_currency=None, starting_balances=[Money(1_000_000, USDT)])
            eng.add_instrument(inst)
            eng.add_data(quotes)
            eng.add_strategy(Trivial())
            eng.run()
            eng.dispose()

        return {"run": run}

    return setup


def _numba_engine(real: bool) -> Any:
    def setup() -> dict[str, Any]:
        import numpy as np

        from shrivenquant.backtest.numba_mode import run_numba

        ev, insts = _real() if real else _generated()
        qty = 2 if real else 10
        params = np.array([0, 2 * qty, 10 * qty])
        run_numba(ev, insts[0], qty=qty, params=params)  # compile / load the cache outside the timing

        def run() -> None:
            run_numba(ev, insts[0], qty=qty, params=params, entry_latency_ns=1_000_000,
                      response_latency_ns=1_000_000)

        return {"run": run}

    return setup


def _numba_taker(real: bool) -> Any:
    def setup() -> dict[str, Any]:
        import numpy as np

        from shrivenquant.backtest.numba_mode import run_numba_taker

        ev, insts = _real() if real else _generated()
        qty = 2 if real else 10
        params = np.array([qty, 5, 10 * qty, 100_000_000])
        fparams = np.array([0.4])
        run_numba_taker(ev, insts[0], params=params, fparams=fparams)  # compile / load the cache outside the timing

        def run() -> None:
            run_numba_taker(ev, insts[0], params=params, fparams=fparams, entry_latency_ns=1_000_000,
                            response_latency_ns=1_000_000)

        return {"run": run}

    return setup


def _numba_floor(real: bool) -> Any:
    def setup() -> dict[str, Any]:
        from numba import njit

        ev, _ = _real() if real else _generated()

        @njit(cache=False, nogil=True)
        def touch(kind: Any, side: Any, price: Any, qty: Any, flags: Any, ts: Any) -> int:  # noqa: PLR0917
            s = 0
            for i in range(kind.shape[0]):
                if flags[i] & 1:
                    s += ts[i] & 7
                s += (price[i] ^ qty[i]) + kind[i] + side[i]
            return s

        cols = (ev["kind"], ev["side"], ev["price"], ev["qty"], ev["flags"], ev["ts_local"])
        touch(*cols)

        def run() -> None:
            touch(*cols)

        return {"run": run}

    return setup


def _book_floor(real: bool) -> Any:
    def setup() -> dict[str, Any]:
        import numpy as np

        from shrivenquant.book import OrderBook

        ev, insts = _real() if real else _generated()
        inst = insts[0]
        lv = np.ascontiguousarray(ev[(ev["kind"] == 1) | (ev["kind"] == 2)])
        tick = inst.price_tick.raw_at(inst.price_precision)

        def run() -> None:
            OrderBook(inst.price_precision, inst.size_precision, tick).apply_events(lv)

        return {"run": run}

    return setup


def _round_trip_engine() -> Any:
    """An engine on a static two-sided book with zero latency, risk gate on; returns (engine, ctx)."""
    from decimal import Decimal

    from shrivenquant._native.fixed import Price, Quantity
    from shrivenquant.backtest import BacktestEngine, Strategy
    from shrivenquant.core import Instrument, InstrumentKind
    from shrivenquant.core.events import EventFlag, EventKind, empty_events
    from shrivenquant.oms import PreTradeRiskGate
    from shrivenquant.risk import InstrumentLimits, PreTradeRisk, RiskConfig

    inst = Instrument(venue="BINANCE_USDM", symbol="BTCUSDT", kind=InstrumentKind.PERPETUAL, quote="USDT",
                      settlement="USDT", base="BTC", price_tick=Price("0.10"), size_step=Quantity("0.001"))
    ev = empty_events(2)
    for r, (side, px) in zip(ev, ((1, 6_177_350), (2, 6_177_360)), strict=True):
        r["kind"], r["side"], r["price"], r["qty"], r["flags"] = EventKind.LEVEL, side, px, 10**9, EventFlag.MBP
        r["ts_local"] = r["ts_event"] = 1_700_000_000_000_000_000
    ev[-1]["flags"] |= EventFlag.LAST
    cfg = RiskConfig(currency="USDT", instruments=(InstrumentLimits(instrument_id=inst.id,
                                                                    max_order_qty=Decimal(1)),))
    risk = PreTradeRiskGate(PreTradeRisk.from_config(cfg, [inst]))
    eng = BacktestEngine([inst], Strategy(), risk=risk, progress=False)
    eng.run(ev)  # the book is loaded; the engine keeps its state
    eng._pre.set_reference(inst.id, Price("61773.60"))
    return eng


def _round_trip() -> Any:
    def setup() -> dict[str, Any]:
        state = {"eng": _round_trip_engine(), "i": 0}

        def rt() -> None:
            eng = state["eng"]
            i = state["i"]
            if i == 50_000:  # keep the OMS's order table bounded: a fresh engine now and then (amortized)
                eng = state["eng"] = _round_trip_engine()
                i = 0
            eng.ctx.market(0, 1 + (i & 1), 1)
            eng._run_due(eng.now)
            state["i"] = i + 1

        return {"rt": rt}

    return setup


def _oms_only() -> Any:
    def setup() -> dict[str, Any]:
        from shrivenquant.bench.cases_oms import _round_trip as oms_rt

        return oms_rt(None, True)()

    return setup


def _exchange_only() -> Any:
    def setup() -> dict[str, Any]:
        from shrivenquant._native.fixed import Quantity
        from shrivenquant.core import Order, OrderSide

        eng = _round_trip_engine()
        ex = eng.exchanges["BINANCE_USDM"]
        ex.emit = lambda ts, e: None
        orders = [Order.market(client_order_id=f"X{i}", instrument_id="BTCUSDT.BINANCE_USDM",
                               side=OrderSide.BUY if i & 1 else OrderSide.SELL, quantity=Quantity("0.001"),
                               ts_init=1) for i in range(50_000)]
        state = {"i": 0}

        def match() -> None:
            i = state["i"]
            if i == 50_000:
                ex.orders.clear()
                i = 0
            ex.submit(orders[i], 5)
            ex.markets[0].consumed.clear()
            state["i"] = i + 1

        return {"match": match}

    return setup


def backtest_cases() -> list[Case]:
    """The backtest benchmark cases (see the module docstring)."""
    nt_gen = Variant("NautilusTrader 1.221 BacktestEngine, trivial strategy on the stream's quote ticks only "
                     "(time per stream record)", "run()", _nautilus(False), requires="nautilus_trader")
    nt_real = Variant("NautilusTrader 1.221 BacktestEngine, trivial strategy on the stream's 66,089 quote ticks "
                      "only (time per stream record)", "run()", _nautilus(True), requires="nautilus_trader",
                      data=_REAL)
    return [
        Case("backtest_python_events", "Backtest engine, Python strategy callback per book update "
             f"(generated Binance stream, {_GEN_MESSAGES} messages; ns per event record)", (
                 Variant("shrivenquant BacktestEngine + Python on_book", "run()", _python_engine(False),
                         role="target"),
                 Variant("per-event no-op Python call (floor)", "run()", _noop_calls(False, False)),
                 Variant("per-message no-op Python call", "run()", _noop_calls(False, True)),
                 nt_gen,
             ), ops_per_stmt=_GEN_EVENTS, budget_ns=1000.0, unit="ns/event", loops=1, tags=("backtest",)),
        Case("backtest_python_events_real", "Backtest engine, Python strategy callback per book update "
             "(USD-M BTCUSDT recording, 598,754 records; ns per event record)", (
                 Variant("shrivenquant BacktestEngine + Python on_book", "run()", _python_engine(True),
                         role="target", data=_REAL),
                 Variant("per-event no-op Python call (floor)", "run()", _noop_calls(True, False), data=_REAL),
                 Variant("per-message no-op Python call", "run()", _noop_calls(True, True), data=_REAL),
                 nt_real,
             ), ops_per_stmt=_REAL_EVENTS, budget_ns=1000.0, unit="ns/event", loops=1, tags=("backtest",)),
        Case("backtest_numba_events", "Numba-mode market maker over the USD-M BTCUSDT recording "
             "(ns per event record)", (
                 Variant("shrivenquant run_numba (book + venue + latency + strategy)", "run()", _numba_engine(True),
                         role="target", data=_REAL),
                 Variant("shrivenquant run_numba_taker (imbalance taker)", "run()", _numba_taker(True), data=_REAL),
                 Variant("Numba pass reading the same columns (floor)", "run()", _numba_floor(True), data=_REAL),
                 Variant("native OrderBook.apply_events of the level records", "run()", _book_floor(True),
                         data=_REAL),
             ), ops_per_stmt=_REAL_EVENTS, budget_ns=100.0, unit="ns/event", loops=1, tags=("backtest",)),
        Case("backtest_numba_events_generated", "Numba-mode market maker over the generated stream "
             "(ns per event record)", (
                 Variant("shrivenquant run_numba (book + venue + latency + strategy)", "run()",
                         _numba_engine(False), role="target"),
                 Variant("shrivenquant run_numba_taker (imbalance taker: market orders walking the book)", "run()",
                         _numba_taker(False)),
                 Variant("Numba pass reading the same columns (floor)", "run()", _numba_floor(False)),
                 Variant("native OrderBook.apply_events of the level records", "run()", _book_floor(False)),
             ), ops_per_stmt=_GEN_EVENTS, budget_ns=100.0, unit="ns/event", loops=1, tags=("backtest",)),
        Case("backtest_order_round_trip", "Order round trip from Python: submit -> risk -> OMS -> simulated "
             "match -> accepted + fill -> position", (
                 Variant("shrivenquant engine: ctx.market + venue events applied", "rt()", _round_trip(),
                         role="target"),
                 Variant("OMS submit + ack only (native risk, in-memory journal, no venue)", "rt()", _oms_only()),
                 Variant("simulated exchange matching only (no OMS, events dropped)", "match()", _exchange_only()),
             ), budget_ns=20_000.0, loops=20_000, tags=("backtest",)),
    ]
