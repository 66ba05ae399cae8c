"""Shared pieces for the OMS tests: instruments, a scripted venue, and a deterministic random session.

The scripted venue is an :class:`~shrivenquant.oms.ExecutionClient` that records what it is sent and
builds the venue events a real venue would answer with (acks, fills with unique trade ids, cancels ...).
:func:`run_session` drives a seeded random trading session through an :class:`OrderManager`; the crash
test runs it in a subprocess (``python tests/oms_harness.py DIR SEED OPS SNAPSHOT_EVERY SYNC``) and kills it.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

from shrivenquant import Money, Price, Quantity
from shrivenquant.core import (
    Instrument,
    InstrumentKind,
    LiquiditySide,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderSide,
    OrderTriggered,
    TimeInForce,
)
from shrivenquant.oms import (
    CancelRejected,
    ManagedOrder,
    ModifyRejected,
    OmsType,
    OrderManager,
    OrderStatus,
    PositionLeg,
)

SPOT = Instrument(venue="BINANCE", symbol="BTCUSDT", kind=InstrumentKind.SPOT, quote="USDT", base="BTC",
                  price_tick=Price("0.01"), size_step=Quantity("0.001"))
PERP = Instrument(venue="BINANCE_USDM", symbol="ETHUSDT", kind=InstrumentKind.PERPETUAL, quote="USDT",
                  settlement="USDT", base="ETH", price_tick=Price("0.01"), size_step=Quantity("0.001"))
INSTRUMENTS = (SPOT, PERP)


class Clock:
    """A deterministic ns clock: every call advances 1 µs."""

    def __init__(self, start: int = 1_700_000_000_000_000_000) -> None:
        self.t = start

    def __call__(self) -> int:
        self.t += 1000
        return self.t


class ScriptedVenue:
    """Records requests and builds venue events with deterministic ids and timestamps."""

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self.sent: list[tuple[object, ...]] = []
        self.clock = clock or Clock()
        self._vid = 0
        self._tid = 0
        self.vids: dict[str, str] = {}

    # ExecutionClient
    def submit(self, order: ManagedOrder) -> None:
        self.sent.append(("submit", order.client_order_id, order.quantity_raw))

    def cancel(self, order: ManagedOrder) -> None:
        self.sent.append(("cancel", order.client_order_id))

    def modify(self, order: ManagedOrder, quantity: Quantity | None, price: Price | None,
               trigger_price: Price | None) -> None:
        self.sent.append(("modify", order.client_order_id, quantity, price, trigger_price))

    # event builders
    def _base(self, mo: ManagedOrder) -> dict[str, object]:
        t = self.clock()
        return {"client_order_id": mo.client_order_id, "instrument_id": mo.instrument_id, "ts_event": t,
                "ts_init": t, "venue_order_id": self.vid(mo)}

    def vid(self, mo: ManagedOrder) -> str:
        if mo.client_order_id not in self.vids:
            self._vid += 1
            self.vids[mo.client_order_id] = f"V{self._vid}"
        return self.vids[mo.client_order_id]

    def accepted(self, mo: ManagedOrder) -> OrderAccepted:
        return OrderAccepted(**self._base(mo))  # type: ignore[arg-type]

    def rejected(self, mo: ManagedOrder, reason: str = "insufficient balance") -> OrderRejected:
        return OrderRejected(**self._base(mo), reason=reason)  # type: ignore[arg-type]

    def canceled(self, mo: ManagedOrder) -> OrderCanceled:
        return OrderCanceled(**self._base(mo))  # type: ignore[arg-type]

    def expired(self, mo: ManagedOrder) -> OrderExpired:
        return OrderExpired(**self._base(mo))  # type: ignore[arg-type]

    def triggered(self, mo: ManagedOrder) -> OrderTriggered:
        return OrderTriggered(**self._base(mo))  # type: ignore[arg-type]

    def modified(self, mo: ManagedOrder, **terms: object) -> OrderModified:
        return OrderModified(**self._base(mo), **terms)  # type: ignore[arg-type]

    def cancel_rejected(self, mo: ManagedOrder, reason: str = "unknown order") -> CancelRejected:
        return CancelRejected(client_order_id=mo.client_order_id, reason=reason, ts=self.clock())

    def modify_rejected(self, mo: ManagedOrder, reason: str = "would cross") -> ModifyRejected:
        return ModifyRejected(client_order_id=mo.client_order_id, reason=reason, ts=self.clock())

    def filled(self, mo: ManagedOrder, qty: Quantity, px: Price, *, fee: Money | None = None,
               maker: bool = False, trade_id: str | None = None) -> OrderFilled:
        self._tid += 1
        return OrderFilled(**self._base(mo), trade_id=trade_id or f"T{self._tid}",  # type: ignore[arg-type]
                           order_side=mo.side, last_qty=qty, last_px=px,
                           fee=fee if fee is not None else Money("0", "USDT"),
                           liquidity_side=LiquiditySide.MAKER if maker else LiquiditySide.TAKER)


def limit(coid: str, side: OrderSide, qty: str, px: str, inst: Instrument = SPOT, **kw: object) -> Order:
    return Order.limit(client_order_id=coid, instrument_id=inst.id, side=side, quantity=Quantity(qty),
                       price=Price(px), ts_init=1, **kw)  # type: ignore[arg-type]


def market(coid: str, side: OrderSide, qty: str, inst: Instrument = SPOT, **kw: object) -> Order:
    return Order.market(client_order_id=coid, instrument_id=inst.id, side=side, quantity=Quantity(qty), ts_init=1,
                        **kw)  # type: ignore[arg-type]


def stop_market(coid: str, side: OrderSide, qty: str, trig: str, inst: Instrument = SPOT, **kw: object) -> Order:
    return Order.stop_market(client_order_id=coid, instrument_id=inst.id, side=side, quantity=Quantity(qty),
                             trigger_price=Price(trig), ts_init=1, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ random session
def session_step(om: OrderManager, venue: ScriptedVenue, rng: random.Random, n: int) -> None:
    """One random step of a trading session: a new order, a venue event, a cancel or a modify."""
    inst = PERP if rng.random() < 0.5 else SPOT
    live = [mo for mo in om.orders.values() if mo.is_open]
    r = rng.random()
    if r < 0.3 or not live:
        side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
        qty = f"0.{rng.randint(1, 20):03d}"
        px = f"{rng.randint(1900, 2100)}.{rng.randint(0, 99):02d}"
        if rng.random() < 0.15:
            tp = f"{int(px.split('.', maxsplit=1)[0]) + 50}.00"
            sl = f"{int(px.split('.', maxsplit=1)[0]) - 50}.00"
            other = side.opposite()
            om.submit_bracket(limit(f"E{n}", side, qty, px, inst),
                              limit(f"TP{n}", other, qty, tp, inst, reduce_only=True),
                              stop_market(f"SL{n}", other, qty, sl, inst, reduce_only=True))
        else:
            tif = TimeInForce.IOC if rng.random() < 0.1 else TimeInForce.GTC
            om.submit(limit(f"O{n}", side, qty, px, inst, time_in_force=tif))
        return
    mo = live[rng.randrange(len(live))]
    st = mo.status
    if st is OrderStatus.SUBMITTED:
        ev = venue.accepted(mo) if rng.random() < 0.9 else venue.rejected(mo)
        om.apply(ev)
    elif st is OrderStatus.PENDING_CANCEL:
        pick = rng.random()
        if pick < 0.6:
            om.apply(venue.canceled(mo))
        elif pick < 0.8:
            om.apply(venue.cancel_rejected(mo))
        else:  # a fill racing the cancel
            _fill(om, venue, rng, mo)
    elif st is OrderStatus.PENDING_UPDATE:
        if rng.random() < 0.7:
            om.apply(venue.modified(mo, price=Price(f"{rng.randint(1900, 2100)}.00")))
        else:
            om.apply(venue.modify_rejected(mo))
    else:
        pick = rng.random()
        if pick < 0.55:
            _fill(om, venue, rng, mo)
        elif pick < 0.75 and mo.price is not None:
            om.cancel(mo.client_order_id)
        elif pick < 0.85 and mo.price is not None:
            om.modify(mo.client_order_id, price=Price(f"{rng.randint(1900, 2100)}.00"))
        else:
            om.apply(venue.expired(mo))
    if rng.random() < 0.05:
        leg = PositionLeg.NET if om.oms_type is OmsType.NETTING else PositionLeg(rng.choice([1, 2]))
        om.funding(PERP.id, Money(f"{rng.randint(-100, 100)}.0001", "USDT"), leg)


def _fill(om: OrderManager, venue: ScriptedVenue, rng: random.Random, mo: ManagedOrder) -> None:
    leaves = mo.quantity_raw - mo.filled_raw
    q = leaves if rng.random() < 0.5 else rng.randint(1, leaves)
    px = mo.price if mo.price is not None else Price(f"{rng.randint(1900, 2100)}.00")
    fee = Money(f"0.{rng.randint(0, 999999):06d}", "USDT")
    ev = venue.filled(mo, Quantity.from_raw(q, 3), px, fee=fee, maker=rng.random() < 0.5)
    om.apply(ev)
    if rng.random() < 0.1:
        om.apply(ev)  # a duplicate delivery: must change nothing


def run_session(om: OrderManager, seed: int, ops: int, *, on_step: Callable[[int], None] | None = None) -> None:
    """A deterministic random session of ``ops`` steps (deposits first)."""
    rng = random.Random(seed)
    venue = om.venue if isinstance(om.venue, ScriptedVenue) else ScriptedVenue(om.clock)
    om.deposit("BINANCE", Money("1000000", "USDT"))
    om.deposit("BINANCE", Money("100", "BTC"))
    om.deposit("BINANCE_USDM", Money("1000000", "USDT"))
    for n in range(ops):
        session_step(om, venue, rng, n)
        if on_step is not None:
            on_step(n)


def _child_main(directory: str, seed: int, ops: int, snapshot_every: int, sync: str) -> None:
    """Subprocess entry for the crash test: run the session on a WAL journal, print the journal's durable
    seq after each step ("acknowledged")."""
    from shrivenquant.oms.wal_journal import WalJournal

    clock = Clock()
    journal = WalJournal(directory, sync=sync)
    om = OrderManager(INSTRUMENTS, journal=journal, venue=ScriptedVenue(clock), clock=clock,
                      snapshot_every=snapshot_every)
    out = sys.stdout

    def ack(_: int) -> None:
        out.write(f"{journal.commit()}\n")
        out.flush()

    run_session(om, seed, ops, on_step=ack)
    journal.close()
    out.write("done\n")
    out.flush()


if __name__ == "__main__":
    _child_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])


# ------------------------------------------------------------------------------------ crash check
def reference_run(seed: int, ops: int, snapshot_every: int) -> list[bytes]:
    """The journal payloads of the same session run in memory (the crash test's oracle)."""
    from shrivenquant.oms import MemoryJournal

    clock = Clock()
    journal = MemoryJournal()
    om = OrderManager(INSTRUMENTS, journal=journal, venue=ScriptedVenue(clock), clock=clock,
                      snapshot_every=snapshot_every)
    run_session(om, seed, ops)
    return journal.payloads


def check_recovery(directory: str, seed: int, ops: int, snapshot_every: int, acked: int) -> int:
    """Recover from ``directory`` and compare with the in-memory replay of the same records.

    Asserts: every acknowledged record survived; the surviving records are byte-identical to the
    reference session's first records (nothing lost, duplicated or altered); the recovered state equals a
    replay of exactly those records from scratch; no fill is counted twice and every position is the sum
    of its orders' signed fills. Returns the number of records recovered.
    """
    from shrivenquant.oms import MemoryJournal
    from shrivenquant.oms.wal_journal import WalJournal

    journal = WalJournal(directory, sync="none")
    try:
        om = OrderManager.recover(journal, INSTRUMENTS)
        got = [p for _, p in journal.records(1)]
    finally:
        journal.close()
    n = len(got)
    assert n >= acked, f"acknowledged record {acked} lost: only {n} recovered"
    ref = reference_run(seed, ops, snapshot_every)
    assert got == ref[:n], "recovered records differ from the session's records"
    plain = MemoryJournal()
    plain.payloads.extend(ref[:n])
    assert OrderManager.recover(plain, INSTRUMENTS).state() == om.state(), "snapshot + tail != full replay"
    seen: set[tuple[str, str]] = set()
    per_inst: dict[str, int] = {}
    for mo in om.orders.values():
        for t in mo.trade_ids:
            assert (mo.client_order_id, t) not in seen
            seen.add((mo.client_order_id, t))
        per_inst[mo.instrument_id] = per_inst.get(mo.instrument_id, 0) + mo.sign * mo.filled_raw
    for (iid, _), pos in om.positions.items():
        assert pos.qty == per_inst.get(iid, 0), f"position {iid} != sum of fills"
    return n
