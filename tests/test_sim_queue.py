"""Queue-position models on L2 data and exact FIFO on L3 data."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from sim_support import TICK, events_of, instrument, levels, order, trade

from shrivenquant.core import OrderFilled
from shrivenquant.core.events import EventFlag, EventKind, empty_events
from shrivenquant.sim import ProbQueue, RiskAverseQueue, SimulatedExchange

BASE = 1_000_000


def _resting(model: object, level_qty: int = 1000, qty: int = 100) -> SimulatedExchange:
    ex = SimulatedExchange([instrument()], queue_model=model)  # type: ignore[arg-type]
    ev = levels([(1, BASE, level_qty), (2, BASE + TICK, 1000)])
    ex.on_book_message(0, ev, 0, ev.size, 1)
    ex.submit(order("Q", 1, qty, BASE), 2)
    assert ex.orders["Q"].front == level_qty
    return ex


def _level(ex: SimulatedExchange, qty: int, ts: int) -> None:
    ev = levels([(1, BASE, qty)], ts=ts)
    ex.on_book_message(0, ev, 0, 1, ts)


def test_risk_averse_moves_only_when_the_level_shrinks_below_the_order() -> None:
    ex = _resting(RiskAverseQueue())
    _level(ex, 1500, 3)  # others join behind
    assert ex.orders["Q"].front == 1000
    _level(ex, 600, 4)  # cancels: assumed behind us until the level is smaller than our front
    assert ex.orders["Q"].front == 600
    ex.on_trade(0, 2, BASE, 550, 5)
    assert ex.orders["Q"].front == 50 and not events_of(ex, OrderFilled)
    ex.on_trade(0, 2, BASE, 80, 6)  # 50 ahead, 30 of ours
    (f,) = events_of(ex, OrderFilled)
    assert f.last_qty.raw == 30 and ex.orders["Q"].leaves == 70


def test_trade_through_the_price_fills_everything() -> None:
    ex = _resting(RiskAverseQueue())
    ex.on_trade(0, 2, BASE - TICK, 1, 3)
    assert sum(f.last_qty.raw for f in events_of(ex, OrderFilled)) == 100 and "Q" not in ex.orders


def test_book_moving_through_the_order_fills_it() -> None:
    ex = _resting(RiskAverseQueue())
    ev = levels([(2, BASE + TICK, 0), (2, BASE, 500), (1, BASE, 0)], ts=3)
    ex.on_book_message(0, ev, 0, ev.size, 3)
    assert sum(f.last_qty.raw for f in events_of(ex, OrderFilled)) == 100


def test_probabilistic_queue_splits_a_decrease() -> None:
    # front 1000, then 2000 join behind (level 3000), then 1000 leave: p = back^2 / (back^2 + front^2) = 0.8
    ex = _resting(ProbQueue.power(2))
    _level(ex, 3000, 3)
    _level(ex, 2000, 4)
    front, back, chg = 1000, 2000, 1000
    p = back**2 / (back**2 + front**2)
    assert ex.orders["Q"].front == round(front - (1 - p) * chg + min(back - p * chg, 0))
    ex2 = _resting(ProbQueue.log())
    _level(ex2, 3000, 3)
    _level(ex2, 2000, 4)
    p = math.log1p(back) / (math.log1p(back) + math.log1p(front))
    assert ex2.orders["Q"].front == round(front - (1 - p) * chg)
    ra = _resting(RiskAverseQueue())
    _level(ra, 3000, 3)
    _level(ra, 2000, 4)
    assert ra.orders["Q"].front == 1000 > ex.orders["Q"].front


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.tuples(st.just("level"), st.integers(0, 4000)),
                          st.tuples(st.just("trade"), st.integers(1, 300))), max_size=25))
def test_probabilistic_front_never_behind_risk_averse(steps: list[tuple[str, int]]) -> None:
    models = [_resting(RiskAverseQueue(), qty=10_000), _resting(ProbQueue.power(3), qty=10_000),
              _resting(ProbQueue.log(), qty=10_000)]
    for ts, (what, v) in enumerate(steps, start=3):
        for ex in models:
            if what == "level":
                _level(ex, v, ts)
            else:
                ex.on_trade(0, 2, BASE, v, ts)
        ra, *probs = (ex.orders["Q"].front if "Q" in ex.orders else -1 for ex in models)
        filled = [sum(f.last_qty.raw for f in events_of(ex, OrderFilled)) for ex in models]
        for p, fp in zip(probs, filled[1:], strict=True):
            assert p <= ra or ra == -1
            assert fp >= filled[0]
        for ex in models:  # the front never exceeds the level
            if "Q" in ex.orders:
                assert ex.orders["Q"].front <= max(ex.book(0).qty_at(1, BASE), 0)


def _l3(kind: EventKind, oid: int, side: int, px: int, qty: int, ts: int) -> object:
    ev = empty_events(1)
    r = ev[0]
    r["kind"], r["order_id"], r["side"], r["price"], r["qty"] = kind, oid, side, px, qty
    r["flags"] = EventFlag.LAST
    r["ts_local"] = r["ts_event"] = ts
    return ev


def test_l3_exact_fifo() -> None:
    ex = SimulatedExchange([instrument()], book_type="l3")
    for i, (oid, q) in enumerate([(1, 100), (2, 200)]):
        ev = _l3(EventKind.ADD, oid, 1, BASE, q, 1 + i)
        ex.on_book_message(0, ev, 0, 1, 1 + i)
    ev = _l3(EventKind.ADD, 9, 2, BASE + TICK, 500, 3)
    ex.on_book_message(0, ev, 0, 1, 3)
    ex.submit(order("Q", 1, 50, BASE), 4)
    assert ex.orders["Q"].front == 300
    steps = [(EventKind.ADD, 3, 400), (EventKind.CANCEL, 1, 100), (EventKind.FILL, 2, 150)]
    for t, (kind, oid, q) in enumerate(steps, start=5):
        ev = _l3(kind, oid, 1, BASE, q, t)
        ex.on_book_message(0, ev, 0, 1, t)
    assert ex.orders["Q"].front == 50 and not events_of(ex, OrderFilled)  # order 2 has 50 left ahead of us
    ev = _l3(EventKind.FILL, 2, 1, BASE, 50, 9)
    ex.on_book_message(0, ev, 0, 1, 9)
    assert ex.orders["Q"].front == 0
    ev = _l3(EventKind.FILL, 3, 1, BASE, 30, 10)  # order 3 is behind us: FIFO gives the 30 to us
    ex.on_book_message(0, ev, 0, 1, 10)
    (f,) = events_of(ex, OrderFilled)
    assert f.last_qty.raw == 30 and ex.orders["Q"].leaves == 20


def test_iceberg_slice_rejoins_the_back() -> None:
    ex = SimulatedExchange([instrument()])
    ev = levels([(1, BASE, 1000), (2, BASE + TICK, 1000)])
    ex.on_book_message(0, ev, 0, ev.size, 1)
    from shrivenquant import Quantity

    ex.submit(order("I", 1, 300, BASE, display_qty=Quantity.from_raw(100, 3)), 2)
    ex.on_trade(0, 2, BASE, 1100, 3)  # 1000 ahead, then our 100 displayed
    assert [f.last_qty.raw for f in events_of(ex, OrderFilled)] == [100]
    assert ex.orders["I"].front == ex.book(0).qty_at(1, BASE) and ex.orders["I"].leaves == 200


def test_trade_helper_is_a_single_message() -> None:
    assert trade(1, BASE, 5).size == 1
