"""OMS benchmark cases: order round trip (submit -> risk -> journal -> accepted) and fill -> position/PnL.

Targets run the real stack: :class:`~shrivenquant.oms.OrderManager` behind
:class:`~shrivenquant.oms.PreTradeRiskGate` (the native risk engine), journaling to
:class:`~shrivenquant.oms.WalJournal` (policy ``none`` or ``batch``) in a temporary directory. Orders
and venue events are built before the timing (a venue adapter builds them anyway); every timed op uses
a fresh client order id, and every ``_POOL`` ops the stack is rebuilt (amortized in the figure).

Baselines in the same run: the same manager with no risk gate and an in-memory journal (the cost split);
a plain-dict pure-Python OMS (dicts and tuples, no serialization, one max-quantity check); and, when
``nautilus_trader`` 1.221 is importable, NautilusTrader's ``Order.apply`` of OrderSubmitted and
OrderAccepted (its state machine only: no risk engine, no cache, no journal) and, for fills,
``Order.apply(fill)`` plus ``Position.apply(fill)``.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from shrivenquant.bench.harness import Case, Variant

__all__ = ["oms_cases"]

_POOL = 50_000
_LOOPS = 20_000
# a full run times 1000 warm-up ops then 7 x _LOOPS: NautilusTrader's objects are all built beforehand
_NT_OPS = 1000 + 7 * _LOOPS + 1000
_FILL_LOOPS = 10_000
_FILLS_PER_ORDER = 10
_NT = "nautilus_trader"


def _instrument() -> Any:
    from shrivenquant import Price, Quantity
    from shrivenquant.core import Instrument, InstrumentKind

    return Instrument(venue="BINANCE", symbol="BTCUSDT", kind=InstrumentKind.PERPETUAL, quote="USDT",
                      settlement="USDT", base="BTC", price_tick=Price("0.01"), size_step=Quantity("0.001"))


def _stack(inst: Any, policy: str | None, risk: bool) -> Any:
    from shrivenquant.oms import MemoryJournal, OrderManager, PreTradeRiskGate

    gate = None
    if risk:
        from shrivenquant.risk import InstrumentLimits, PreTradeRisk, RiskConfig

        cfg = RiskConfig(currency="USDT", instruments=(InstrumentLimits(
            instrument_id=inst.id, max_order_qty=Decimal("10"), max_order_notional=Decimal("1000000")),))
        gate = PreTradeRiskGate(PreTradeRisk.from_config(cfg, [inst]))
    if policy is None:
        journal: Any = MemoryJournal()
    else:
        from shrivenquant.oms import WalJournal

        journal = WalJournal(tempfile.mkdtemp(prefix="sq-oms-bench-"), sync=policy)
    ticks = itertools.count(1_700_000_000_000_000_000, 1000)
    return OrderManager([inst], journal=journal, risk=gate, clock=ticks.__next__)


def _round_trip(policy: str | None, risk: bool) -> Callable[[], dict[str, Any]]:
    def setup() -> dict[str, Any]:
        from shrivenquant import Price, Quantity
        from shrivenquant.core import Order, OrderAccepted, OrderSide

        inst = _instrument()
        qty, px = Quantity("0.010"), Price("61773.60")
        orders = [Order.limit(client_order_id=f"O{i}", instrument_id=inst.id, side=OrderSide.BUY, quantity=qty,
                              price=px, ts_init=1) for i in range(_POOL)]
        acks = [OrderAccepted(client_order_id=f"O{i}", instrument_id=inst.id, ts_event=1, ts_init=1,
                              venue_order_id=f"V{i}") for i in range(_POOL)]
        state = {"i": 0, "om": _stack(inst, policy, risk)}

        def rt() -> None:
            i = state["i"]
            if i == _POOL:
                state["om"].journal.close()
                state["om"] = _stack(inst, policy, risk)
                i = 0
            om = state["om"]
            om.submit(orders[i])
            om.apply(acks[i])
            state["i"] = i + 1

        return {"rt": rt}

    return setup


def _fills(policy: str | None, risk: bool) -> Callable[[], dict[str, Any]]:
    def setup() -> dict[str, Any]:
        from shrivenquant import Money, Price, Quantity
        from shrivenquant.core import LiquiditySide, Order, OrderAccepted, OrderFilled, OrderSide

        inst = _instrument()
        pxs = [Price(f"{61700 + (i * 37) % 150}.{i % 100:02d}") for i in range(64)]
        fee = Money("0.0123", "USDT")
        n_orders = _POOL // _FILLS_PER_ORDER
        sides = [OrderSide.BUY if k % 2 == 0 else OrderSide.SELL for k in range(n_orders)]
        fills = []
        for i in range(_POOL):  # buy and sell orders alternate: the position opens, closes and realizes
            k = (i // (2 * _FILLS_PER_ORDER)) * 2 + i % 2
            fills.append(OrderFilled(client_order_id=f"F{k}", instrument_id=inst.id, ts_event=1, ts_init=1,
                                     venue_order_id=f"V{k}", trade_id=f"T{i}", order_side=sides[k],
                                     last_qty=Quantity("0.001"), last_px=pxs[i % 64], fee=fee,
                                     liquidity_side=LiquiditySide.MAKER))
        orders = [Order.limit(client_order_id=f"F{k}", instrument_id=inst.id, side=sides[k],
                              quantity=Quantity("0.010"), price=Price("61773.60"), ts_init=1) for k in range(n_orders)]
        acks = [OrderAccepted(client_order_id=f"F{k}", instrument_id=inst.id, ts_event=1, ts_init=1,
                              venue_order_id=f"V{k}") for k in range(n_orders)]

        def fresh() -> Any:  # orders submitted and acknowledged outside the timing
            om = _stack(inst, policy, risk)
            for o, a in zip(orders, acks, strict=True):
                om.submit(o)
                om.apply(a)
            return om

        state: dict[str, Any] = {"i": 0, "om": fresh(), "next": fresh()}

        def fill() -> None:
            i = state["i"]
            if i == _POOL:
                state["om"].journal.close()
                state["om"] = state["next"] or fresh()
                state["next"] = None
                i = 0
            state["om"].apply(fills[i])
            state["i"] = i + 1

        return {"fill": fill}

    return setup


class _DictOms:
    """A plain-dict Python OMS: the least a Python OMS does (id check, qty check, status, journal tuple)."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.by_venue: dict[str, str] = {}
        self.journal: list[tuple[Any, ...]] = []
        self.positions: dict[str, list[int]] = {}
        self.max_qty = 10_000

    def submit(self, coid: str, iid: str, side: int, qty: int, px: int) -> str:
        if coid in self.orders:
            raise ValueError(f"duplicate {coid}")
        if qty > self.max_qty:
            self.journal.append(("denied", coid))
            return "DENIED"
        self.journal.append(("submit", coid, iid, side, qty, px))
        self.orders[coid] = {"status": "SUBMITTED", "iid": iid, "side": side, "qty": qty, "px": px, "filled": 0,
                             "trades": set()}
        return "SUBMITTED"

    def accepted(self, coid: str, vid: str) -> None:
        o = self.orders[coid]
        if o["status"] not in ("SUBMITTED", "PENDING_UPDATE", "PENDING_CANCEL"):
            raise ValueError(f"{coid}: ACCEPTED in {o['status']}")
        self.journal.append(("accepted", coid, vid))
        o["status"] = "ACCEPTED"
        o["vid"] = vid
        self.by_venue[vid] = coid

    def filled(self, coid: str, trade_id: str, qty: int, px: int, fee: int) -> None:
        o = self.orders[coid]
        if trade_id in o["trades"]:
            return
        if o["filled"] + qty > o["qty"]:
            raise ValueError("overfill")
        self.journal.append(("filled", coid, trade_id, qty, px, fee))
        o["trades"].add(trade_id)
        o["filled"] += qty
        o["status"] = "FILLED" if o["filled"] == o["qty"] else "PARTIALLY_FILLED"
        pos = self.positions.setdefault(o["iid"], [0, 0, 0])  # qty, cost, realized
        q, cost = pos[0], pos[1]
        signed = qty if o["side"] == 1 else -qty
        if q == 0 or (q > 0) == (signed > 0):
            pos[0] = q + signed
            pos[1] = cost + signed * px
        else:
            removed = cost * qty // abs(q)
            pos[2] += (1 if q > 0 else -1) * qty * px - removed
            pos[1] = cost - removed
            pos[0] = q + signed


def _dict_round_trip() -> dict[str, Any]:
    state = {"i": 0, "om": _DictOms()}
    ids = [(f"O{i}", f"V{i}") for i in range(_POOL)]

    def rt() -> None:
        i = state["i"]
        if i == _POOL:
            state["om"] = _DictOms()
            i = 0
        om = state["om"]
        coid, vid = ids[i]
        om.submit(coid, "BTCUSDT.BINANCE", 1, 10, 6177360)
        om.accepted(coid, vid)
        state["i"] = i + 1

    return {"rt": rt}


def _dict_fills() -> dict[str, Any]:
    n_orders = _POOL // _FILLS_PER_ORDER
    trades = [f"T{i}" for i in range(_POOL)]
    pxs = [6170000 + (i * 37) % 15000 for i in range(_POOL)]
    coids = [f"F{(i // (2 * _FILLS_PER_ORDER)) * 2 + i % 2}" for i in range(_POOL)]

    def fresh() -> _DictOms:
        om = _DictOms()
        for k in range(n_orders):
            om.submit(f"F{k}", "BTCUSDT.BINANCE", 1 if k % 2 == 0 else 2, _FILLS_PER_ORDER, 6177360)
            om.accepted(f"F{k}", f"V{k}")
        return om

    state: dict[str, Any] = {"i": 0, "om": fresh()}

    def fill() -> None:
        i = state["i"]
        if i == _POOL:
            state["om"] = fresh()
            i = 0
        state["om"].filled(coids[i], trades[i], 1, pxs[i], 1230000)
        state["i"] = i + 1

    return {"fill": fill}


def _nt_round_trip() -> dict[str, Any]:
    from nautilus_trader.model.identifiers import ClientOrderId
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.test_kit.stubs.events import TestEventStubs
    from nautilus_trader.test_kit.stubs.execution import TestExecStubs

    inst = TestInstrumentProvider.btcusdt_binance()
    pool = []
    for i in range(_NT_OPS):  # every op of the run, built before the timing
        o = TestExecStubs.limit_order(instrument=inst, client_order_id=ClientOrderId(f"O-{i}"))
        pool.append((o, TestEventStubs.order_submitted(o), TestEventStubs.order_accepted(o)))
    it = iter(pool)

    def rt() -> None:
        o, s, a = next(it)
        o.apply(s)
        o.apply(a)

    return {"rt": rt}


def _nt_fills() -> dict[str, Any]:
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.identifiers import ClientOrderId, PositionId, TradeId
    from nautilus_trader.model.objects import Price, Quantity
    from nautilus_trader.model.position import Position
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.test_kit.stubs.events import TestEventStubs
    from nautilus_trader.test_kit.stubs.execution import TestExecStubs

    inst = TestInstrumentProvider.btcusdt_binance()
    pxs = [Price.from_str(f"{61700 + (i * 37) % 150}.{i % 100:02d}") for i in range(64)]
    qty = Quantity.from_str("0.001")
    n_fills = 1000 + 7 * _FILL_LOOPS + 1000
    orders = []
    for k in range(n_fills // _FILLS_PER_ORDER + 2):
        o = TestExecStubs.limit_order(instrument=inst, order_side=OrderSide.BUY if k % 2 == 0 else OrderSide.SELL,
                                      quantity=Quantity.from_str("0.010"), client_order_id=ClientOrderId(f"F{k}"))
        o.apply(TestEventStubs.order_submitted(o))
        o.apply(TestEventStubs.order_accepted(o))
        orders.append(o)
    pool = []
    for i in range(n_fills):
        o = orders[(i // (2 * _FILLS_PER_ORDER)) * 2 + i % 2]
        # one NT position per 100 fills: its fill and trade-id lists grow with every fill it takes
        f = TestEventStubs.order_filled(o, inst, trade_id=TradeId(f"T{i}"), position_id=PositionId(f"P-{i // 100}"),
                                        last_qty=qty, last_px=pxs[i % 64])
        pool.append((o, f, i % 100 == 0))
    it = iter(pool)
    state: dict[str, Any] = {}

    def fill() -> None:
        o, f, first = next(it)
        o.apply(f)
        if first:
            state["pos"] = Position(inst, f)
        else:
            state["pos"].apply(f)

    return {"fill": fill}


def oms_cases() -> list[Case]:
    """Order round trip and fill -> position cases with their same-run baselines."""
    nt_rt = Variant("NautilusTrader 1.221 Order.apply(Submitted)+apply(Accepted) (state machine only)", "rt()",
                    _nt_round_trip, requires=_NT)
    dict_rt = Variant("plain-dict pure-Python OMS (no serialization, tuple journal)", "rt()", _dict_round_trip)
    return [
        Case("oms_round_trip_none", "Order round trip: submit -> risk -> journal (WAL, policy none) -> accepted", (
            Variant("shrivenquant OMS + native risk + WAL journal (none)", "rt()", _round_trip("none", True),
                    role="target"),
            Variant("shrivenquant OMS, no risk gate, in-memory journal", "rt()", _round_trip(None, False)),
            dict_rt, nt_rt,
        ), budget_ns=10_000.0, loops=_LOOPS, tags=("oms",)),
        Case("oms_round_trip_batch", "Order round trip: submit -> risk -> journal (WAL, policy batch) -> accepted", (
            Variant("shrivenquant OMS + native risk + WAL journal (batch)", "rt()", _round_trip("batch", True),
                    role="target"),
            dict_rt, nt_rt,
        ), loops=_LOOPS, tags=("oms",)),
        Case("oms_fill", "Fill -> order, position (average cost), PnL, account, journal (WAL none); "
                         "10 fills per order", (
            Variant("shrivenquant OMS + native risk + WAL journal (none)", "fill()", _fills("none", True),
                    role="target"),
            Variant("shrivenquant OMS, no risk gate, in-memory journal", "fill()", _fills(None, False)),
            Variant("plain-dict pure-Python OMS (no serialization, tuple journal)", "fill()", _dict_fills),
            Variant("NautilusTrader 1.221 Order.apply(fill) + Position.apply(fill)", "fill()", _nt_fills,
                    requires=_NT),
        ), loops=_FILL_LOOPS, tags=("oms",)),
    ]
