"""Benchmark cases of the pre-trade risk engine, each with same-run baselines.

Every per-order case runs the same statement shape in every variant: a fresh id and timestamp per call
(``o += 1`` on a closure cell), the call, and every 64th call a release of the working orders (so the
working set stays small, as in a live session where orders are filled or canceled). The empty-function
variant measures that frame; the reference model is the plain-Python implementation of the same rules.
NautilusTrader's RiskEngine lives in another virtualenv: :func:`nautilus_figures` times it there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from shrivenquant.bench.harness import Case, Variant

__all__ = ["all_checks_engine", "nautilus_figures", "risk_cases", "steady_engine"]

PRICE = 6_000_000  # 60000.00 at price precision 2
BIG_QTY = 10**10   # above max_qty: the reject path (after the kill switch, state, duplicate and tick checks)
NT_PYTHON = "/tmp/benchvenv/bin/python"


def all_checks_engine(cls: Any = None, order_limit: int = 10_000) -> Any:
    """An engine (native by default, or ``cls``) with every check enabled and limits that do not bind.

    Four instruments, two strategies, money precision 2; instrument 0 has a reference price of 60000.00
    and a 5 % collar on both sides; throttles, duplicate window, margin, breakers and OTR are all on.
    ``order_limit`` is each strategy's order-rate limit per 10,000 ns window (the per-order cases step ts by
    1 ns and need the high default; the batch cases use :func:`steady_engine`).
    """
    if cls is None:
        from shrivenquant._native.risk import RiskEngine as cls  # noqa: N813
    e = cls(4, 2)
    for i in range(4):
        e.configure_instrument(
            i, tick=1, lot=1, min_qty=1, max_qty=10**9, min_notional=1, max_notional=10**15, collar_unit=1,
            buy_up=500, buy_down=500, sell_up=500, sell_down=500, max_net=10**15, max_gross=10**16,
            max_open=10**8, margin_bps=1000, notional_num=1, notional_den=100)
        e.set_reference(i, PRICE)
    for s in range(2):
        e.configure_strategy(
            s, max_notional=10**15, credit_limit=10**18, max_open=10**8, order_limit=order_limit,
            order_window_ns=10_000, modify_limit=1000, modify_window_ns=10**6, cancel_limit=1000,
            cancel_window_ns=10**6, exec_limit=1000, exec_window_ns=10**6, otr_x1000=10**12, otr_min_messages=0,
            daily_loss=10**15, drawdown=10**15)
    e.configure_account(credit_limit=10**18, max_open=10**8, daily_loss=10**15, drawdown=10**15, margin=True,
                        balance=10**17, duplicate_window_ns=1000)
    return e


STEADY_ORDER_LIMIT = 1000


def steady_engine(cls: Any = None) -> Any:
    """The batch cases' engine: :func:`all_checks_engine` with an order-rate limit of 1,000 orders per strategy
    per 10,000 ns. The batch records send 50 orders per strategy per 10,000 ns (ts step 100 ns, strategies
    alternating), so nothing is rejected, but each strategy's 1,000-slot order-rate ring wraps 10 times in every
    20,000-order batch and its time test runs, as in a long session. (With a limit of 10,000 the ring never fills
    in a batch replayed after ``reset()``, and the batch path may skip the ring's test for the whole batch:
    a figure for the first 10,000 orders after a reset, not for a steady state.)
    """
    return all_checks_engine(cls, order_limit=STEADY_ORDER_LIMIT)


def _verified(e: Any) -> None:
    """Run the accept and reject statements' pattern on a twin engine: every call must give the expected result."""
    for o in range(1, 3001):
        if e.check(0, 0, 1, PRICE, 1, o, o) != 0:
            raise RuntimeError(f"risk benchmark: the accept path rejected order {o}")
        if not o & 63:
            e.release_all()
    for o in range(3001, 3101):
        if e.check(0, 0, 1, PRICE, BIG_QTY, o, o) != 16:  # MAX_ORDER_QTY
            raise RuntimeError(f"risk benchmark: the reject path did not give MAX_ORDER_QTY for order {o}")


def _native() -> dict[str, Any]:
    _verified(all_checks_engine())
    e = all_checks_engine()
    return {"o": 0, "chk": e.check, "rel": e.release_all, "P": PRICE, "Q": BIG_QTY}


def _reference() -> dict[str, Any]:
    from shrivenquant.risk.reference import ReferenceRiskModel

    _verified(all_checks_engine(ReferenceRiskModel))
    e = all_checks_engine(ReferenceRiskModel)
    return {"o": 0, "chk": e.check, "rel": e.release_all, "P": PRICE, "Q": BIG_QTY}


def _empty() -> dict[str, Any]:
    def chk(instrument: int, strategy: int, side: int, price: int, qty: int, ts: int, order_id: int) -> int:  # noqa: PLR0917
        return 0

    def rel() -> int:
        return 0

    return {"o": 0, "chk": chk, "rel": rel, "P": PRICE, "Q": BIG_QTY}


ACCEPT = "nonlocal o; o += 1; chk(0, 0, 1, P, 1, o, o); o & 63 or rel()"
REJECT = "nonlocal o; o += 1; chk(0, 0, 1, P, Q, o, o); o & 63 or rel()"

N_BATCH = 20_000


def _records(n: int, cancel_lag: int = 0) -> np.ndarray:
    """``n`` new orders (ts step 100 ns); with ``cancel_lag`` each is followed by the CANCELED record of the
    order ``cancel_lag`` earlier (2n records), so the working set stays at ``cancel_lag`` orders."""
    from shrivenquant.risk.reasons import RISK_OP_DTYPE, RiskOp

    k = np.arange(1, n + 1)
    new = np.zeros(n, dtype=RISK_OP_DTYPE)
    new["ts"] = k * 100
    new["order_id"] = k
    new["price"] = PRICE
    new["qty"] = 1
    new["instrument"] = k % 4
    new["strategy"] = k % 2
    new["op"] = int(RiskOp.NEW)
    new["side"] = 1 + (k % 2)
    if not cancel_lag:
        return new
    cxl = new.copy()
    cxl["op"] = int(RiskOp.CANCELED)
    cxl["order_id"] = k - cancel_lag  # ids <= 0 (before the first order) are unknown: UNKNOWN_ORDER, no effect
    recs = np.empty(2 * n, dtype=RISK_OP_DTYPE)
    recs[0::2] = new
    recs[1::2] = cxl
    return recs


def _batch_native(cancel_lag: int) -> Any:
    def setup() -> dict[str, Any]:
        e = steady_engine()
        recs = _records(N_BATCH, cancel_lag)
        first = e.process(recs)
        if first[recs["op"] == 1].any():
            raise RuntimeError(f"batch benchmark: expected every order accepted, got {set(first.tolist())}")
        e.release_all()
        recs["ts"] += N_BATCH * 100
        recs["order_id"] += N_BATCH
        return {"proc": e.process, "rel": e.release_all, "recs": recs, "span": N_BATCH * 100, "nspan": N_BATCH}
    return setup


def _batch_replay(cancel_lag: int, engine: Any = None) -> Any:
    """The same records every batch: ``process`` then ``reset()`` (back to the configured state: no working
    orders, empty windows and duplicate-id memory), so the records need no shifting between batches."""
    def setup() -> dict[str, Any]:
        e = (engine or steady_engine)()
        recs = _records(N_BATCH, cancel_lag)
        first = e.process(recs)
        if first[recs["op"] == 1].any():
            raise RuntimeError(f"batch benchmark: expected every order accepted, got {set(first.tolist())}")
        e.reset()
        if not np.array_equal(e.process(recs), first):
            raise RuntimeError("batch benchmark: a replay after reset() gave other results")
        e.reset()
        return {"proc": e.process, "rst": e.reset, "recs": recs}
    return setup


def _replay_frame(cancel_lag: int) -> Any:
    """The replay statement's frame alone (no-op calls)."""
    def setup() -> dict[str, Any]:
        def proc(recs: np.ndarray) -> None:
            return None

        def rst() -> None:
            return None

        return {"proc": proc, "rst": rst, "recs": _records(N_BATCH, cancel_lag)}
    return setup


def _plain_engine() -> Any:
    """An engine with only per-order limits (no throttles, no duplicate-id window, no margin, no OTR, no
    breakers): the same state updates per order, the rolling-window and account checks left out."""
    from shrivenquant._native.risk import RiskEngine

    e = RiskEngine(4, 2)
    for i in range(4):
        e.configure_instrument(i, tick=1, lot=1, min_qty=1, max_qty=10**9, min_notional=1, max_notional=10**15,
                               collar_unit=1, buy_up=500, buy_down=500, sell_up=500, sell_down=500,
                               max_net=10**15, max_gross=10**16, max_open=10**8, notional_num=1,
                               notional_den=100)
        e.set_reference(i, PRICE)
    return e


def _batch_frame(cancel_lag: int) -> Any:
    """The statement frame alone: the same statement with no-op calls (shifting the records' ts and ids)."""
    def setup() -> dict[str, Any]:
        def proc(recs: np.ndarray) -> None:
            return None

        def rel() -> int:
            return 0

        return {"proc": proc, "rel": rel, "recs": _records(N_BATCH, cancel_lag), "span": N_BATCH * 100,
                "nspan": N_BATCH}
    return setup


def _batch_python(cancel_lag: int) -> Any:
    def setup() -> dict[str, Any]:
        e = steady_engine()
        recs = _records(N_BATCH, cancel_lag)
        cols = [recs[c].tolist() for c in ("op", "instrument", "strategy", "side", "price", "qty", "ts", "order_id")]
        rows = list(zip(*cols, strict=True))
        state = {"off": 0}

        def one_by_one() -> None:
            chk, cxl, off = e.check, e.on_canceled, state["off"]
            for op, i, s, side, px, q, ts, oid in rows:
                if op == 1:
                    chk(i, s, side, px, q, ts + off * 100, oid + off)
                else:
                    cxl(oid + off)
            state["off"] = off + N_BATCH

        return {"proc": one_by_one, "rel": e.release_all}
    return setup


BATCH = "proc(recs); rel(); recs['ts'] += span; recs['order_id'] += nspan"
REPLAY = "proc(recs); rst()"


def risk_cases() -> list[Case]:
    """The risk engine's benchmark cases (per-order check from Python, reject path, batch)."""
    return [
        Case("risk_check_accept", "pre-trade check, accept path, every check enabled (per order from Python)", (
            Variant("shrivenquant RiskEngine.check (native, raw ints)", ACCEPT, _native, role="target"),
            Variant("empty Python function, same 7 arguments", ACCEPT, _empty),
            Variant("plain-Python reference model (same rules)", ACCEPT, _reference),
        ), budget_ns=100.0, loops=100_000),
        Case("risk_check_reject", "pre-trade check, reject path (MAX_ORDER_QTY after 9 earlier checks)", (
            Variant("shrivenquant RiskEngine.check (native, raw ints)", REJECT, _native, role="target"),
            Variant("empty Python function, same 7 arguments", REJECT, _empty),
            Variant("plain-Python reference model (same rules)", REJECT, _reference),
        ), loops=100_000),
        Case("risk_batch", f"pre-trade checks in one native call, {N_BATCH:,} orders each followed by the cancel of "
             "the order 32 earlier (per order: a NEW and a CANCELED record); target: the same records replayed "
             "after reset() each batch; order-rate limit 1,000 per 10 us so each strategy's ring wraps 10 times "
             "per batch without a reject (steady state, not the first orders after a reset)", (
                 Variant("shrivenquant RiskEngine.process, then reset() (same records every batch)", REPLAY,
                         _batch_replay(32), role="target"),
                 Variant("RiskEngine.process, then release_all() and the records' ts and ids shifted (older frame)",
                         BATCH, _batch_native(32)),
                 Variant("the same records through RiskEngine.check / on_canceled, one Python call each",
                         "proc(); rel()", _batch_python(32)),
                 Variant("RiskEngine.process + reset(), engine without throttles, duplicate window, margin, OTR, "
                         "breakers", REPLAY, _batch_replay(32, _plain_engine)),
                 Variant("the replay frame alone (no-op calls)", REPLAY, _replay_frame(32)),
                 Variant("the older frame alone (no-op calls; shifting the records' ts and ids)", BATCH,
                         _batch_frame(32)),
             ), ops_per_stmt=N_BATCH, budget_ns=10.0, loops=20),
        Case("risk_batch_growing", f"pre-trade checks of {N_BATCH:,} new orders in one native call, none released "
             "until the end of the batch (working set up to 20,000 orders; per order); target: the same records "
             "replayed after reset() each batch; order-rate limit 1,000 per 10 us (the ring wraps each batch)", (
                 Variant("shrivenquant RiskEngine.process, then reset() (same records every batch)", REPLAY,
                         _batch_replay(0), role="target"),
                 Variant("RiskEngine.process, then release_all() and the records' ts and ids shifted (older frame)",
                         BATCH, _batch_native(0)),
                 Variant("the same orders through RiskEngine.check, one Python call each", "proc(); rel()",
                         _batch_python(0)),
                 Variant("the replay frame alone (no-op calls)", REPLAY, _replay_frame(0)),
                 Variant("the older frame alone (no-op calls; shifting the records' ts and ids)", BATCH,
                         _batch_frame(0)),
             ), ops_per_stmt=N_BATCH, loops=20),
    ]


# --------------------------------------------------------------------------------- NautilusTrader

_NT_SCRIPT = textwrap.dedent(r'''
    import gc, json, statistics, sys, time
    from decimal import Decimal
    from nautilus_trader.common.component import MessageBus, TestClock
    from nautilus_trader.cache.cache import Cache
    from nautilus_trader.portfolio.portfolio import Portfolio
    from nautilus_trader.risk.engine import RiskEngine
    from nautilus_trader.risk.config import RiskEngineConfig
    from nautilus_trader.execution.messages import SubmitOrder
    from nautilus_trader.model.identifiers import TraderId, StrategyId, ClientOrderId
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.objects import Price, Quantity
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.test_kit.stubs.identifiers import TestIdStubs
    from nautilus_trader.common.factories import OrderFactory
    from nautilus_trader.core.uuid import UUID4

    n = int(sys.argv[1])
    clock = TestClock()
    trader_id = TraderId("TESTER-000")
    msgbus = MessageBus(trader_id=trader_id, clock=clock)
    cache = Cache()
    portfolio = Portfolio(msgbus=msgbus, cache=cache, clock=clock)
    cfg = RiskEngineConfig(max_order_submit_rate="1000000/00:00:01", max_order_modify_rate="1000000/00:00:01",
                           max_notional_per_order={"BTCUSDT.BINANCE": 10_000_000})
    risk = RiskEngine(portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock, config=cfg)
    inst = TestInstrumentProvider.btcusdt_binance()
    cache.add_instrument(inst)
    strategy_id = StrategyId("S-001")
    factory = OrderFactory(trader_id=trader_id, strategy_id=strategy_id, clock=clock)
    sent = []
    msgbus.register("ExecEngine.execute", sent.append)
    orders = [factory.limit(inst.id, OrderSide.BUY, Quantity.from_str("0.001000"), Price.from_str("60000.00"))
              for _ in range(n)]
    cmds = [SubmitOrder(trader_id=trader_id, strategy_id=strategy_id, order=o, command_id=UUID4(),
                        ts_init=0) for o in orders]
    gc.disable()
    times = []
    for rep in range(5):
        chunk = cmds[rep * (n // 5):(rep + 1) * (n // 5)]
        for c in chunk:
            cache.add_order(c.order, None)
        t = time.thread_time_ns()
        for c in chunk:
            risk.execute(c)
        times.append((time.thread_time_ns() - t) / len(chunk))
    def empty(c): pass
    t = time.thread_time_ns()
    for c in cmds: empty(c)
    floor = (time.thread_time_ns() - t) / len(cmds)
    print(json.dumps({"nt_execute_submit_ns": {"best": min(times), "median": statistics.median(times)},
                      "empty_call_ns": floor, "forwarded": len(sent), "n": n,
                      "denied": risk.command_count - len(sent) if hasattr(risk, "command_count") else None}))
''')


def nautilus_figures(n: int = 50_000, python: str = NT_PYTHON) -> dict[str, Any]:
    """Time NautilusTrader 1.221's ``RiskEngine.execute(SubmitOrder)`` (a limit order that passes) in the
    NT virtualenv ``python``; returns the figures, or ``{"skipped": reason}`` if that venv is missing."""
    if not Path(python).exists():
        return {"skipped": f"{python} not found (a virtualenv with nautilus_trader 1.221)"}
    proc = subprocess.run([python, "-c", _NT_SCRIPT, str(n)], capture_output=True, text=True, timeout=600,
                          check=False)
    if proc.returncode != 0:
        return {"skipped": f"NautilusTrader run failed: {proc.stderr.strip().splitlines()[-1:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":  # pragma: no cover - manual run
    from shrivenquant.bench.runner import format_table, run_cases

    print(format_table(run_cases(risk_cases(), quick="--quick" in sys.argv)))
    print(json.dumps(nautilus_figures(), indent=1))
