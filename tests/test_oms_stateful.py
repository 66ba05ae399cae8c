"""Hypothesis stateful test: random commands and venue events against a simple reference model.

Invariants after every step: filled <= quantity for every order; each order's filled quantity equals the
sum of its distinct fills; each position equals the sum of signed fills; cash balances equal deposits
minus the signed notional of fills minus fees; margin balances equal deposits plus realized PnL minus fees
plus funding; every status change the manager made is a transition of the table; a refused command or
event leaves the state unchanged; a recovery from the journal gives the same state.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from oms_harness import INSTRUMENTS, PERP, SPOT, Clock, ScriptedVenue, limit

from shrivenquant import Money, Price, Quantity
from shrivenquant.core import OrderSide
from shrivenquant.errors import InvalidTransitionError, OrderError
from shrivenquant.oms import TRANSITIONS, Keep, OrderManager, OrderStatus, Outcome
from shrivenquant.oms.states import PREVIOUS

_SCALE = 10 ** 18


def _reachable(src: OrderStatus, dst: OrderStatus, prev: OrderStatus) -> bool:
    """Can one event take ``src`` to ``dst`` according to the table (prev: status under a pending one)?"""
    if src == dst:
        return True
    for out in TRANSITIONS[src].values():
        if out == dst or (out is PREVIOUS and prev == dst):
            return True
        if isinstance(out, Keep) and src == dst:
            return True
    return False


class OmsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.venue = ScriptedVenue(self.clock)
        self.om = OrderManager(INSTRUMENTS, venue=self.venue, clock=self.clock)
        self.n = 0
        self.fills: dict[str, dict[str, tuple[int, int, int]]] = {}  # coid -> trade id -> (sign, qty, px)
        self.fees: dict[str, int] = {"BINANCE": 0, "BINANCE_USDM": 0}
        self.deposits = {("BINANCE", "USDT"): 0, ("BINANCE", "BTC"): 0, ("BINANCE_USDM", "USDT"): 0}
        self.funding = 0
        self.last_status: dict[str, tuple[OrderStatus, OrderStatus]] = {}
        self.sent_fills: list[object] = []

    # ------------------------------------------------------------------ helpers
    def _open(self) -> list[str]:
        return [c for c, m in self.om.orders.items() if m.is_open]

    def _guard(self, fn: object) -> None:
        before = self.om.state()
        n = self.om.journal.last_seq
        try:
            fn()  # type: ignore[operator]
        except (InvalidTransitionError, OrderError):
            assert self.om.state() == before and self.om.journal.last_seq == n

    # ------------------------------------------------------------------ rules
    @rule(venue=st.sampled_from(["BINANCE", "BINANCE_USDM"]), amount=st.integers(1, 10**6))
    def deposit(self, venue: str, amount: int) -> None:
        self.om.deposit(venue, Money(str(amount), "USDT"))
        self.deposits[(venue, "USDT")] += amount * _SCALE

    @rule(spot=st.booleans(), buy=st.booleans(), qty=st.integers(1, 5000), px=st.integers(1, 10**6))
    def submit(self, spot: bool, buy: bool, qty: int, px: int) -> None:
        self.n += 1
        inst = SPOT if spot else PERP
        side = OrderSide.BUY if buy else OrderSide.SELL
        mo = self.om.submit(limit(f"O{self.n}", side, str(Quantity.from_raw(qty, 3)), str(Price.from_raw(px, 2)),
                                  inst))
        assert mo.status is OrderStatus.SUBMITTED
        self.fills[mo.client_order_id] = {}

    @rule(spot=st.booleans(), buy=st.booleans(), qty=st.integers(1, 5000), px=st.integers(2000, 10**6))
    def bracket(self, spot: bool, buy: bool, qty: int, px: int) -> None:
        self.n += 1
        inst = SPOT if spot else PERP
        side = OrderSide.BUY if buy else OrderSide.SELL
        q = str(Quantity.from_raw(qty, 3))
        e, tp, sl = self.om.submit_bracket(
            limit(f"E{self.n}", side, q, str(Price.from_raw(px, 2)), inst),
            limit(f"TP{self.n}", side.opposite(), q, str(Price.from_raw(px + 1000 * (1 if buy else -1), 2)), inst),
            limit(f"SL{self.n}", side.opposite(), q, str(Price.from_raw(px - 1000 * (1 if buy else -1), 2)), inst))
        assert (e.status, tp.status, sl.status) == (OrderStatus.SUBMITTED, OrderStatus.INITIALIZED,
                                                    OrderStatus.INITIALIZED)
        for mo in (e, tp, sl):
            self.fills[mo.client_order_id] = {}

    @rule(data=st.data())
    def resubmit_same_id(self, data: st.DataObject) -> None:
        if not self.om.orders:
            return
        coid = data.draw(st.sampled_from(sorted(self.om.orders)))
        self._guard(lambda: self.om.submit(limit(coid, OrderSide.BUY, "1", "1", SPOT)))

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data(), kind=st.sampled_from(["accept", "cancel", "expire", "reject", "cancel_req", "modify_req",
                                                "cancel_rej", "modify_rej", "modified"]))
    def event(self, data: st.DataObject, kind: str) -> None:
        coid = data.draw(st.sampled_from(self._open()))
        mo = self.om.order(coid)
        v = self.venue
        act = {
            "accept": lambda: self.om.apply(v.accepted(mo)),
            "cancel": lambda: self.om.apply(v.canceled(mo)),
            "expire": lambda: self.om.apply(v.expired(mo)),
            "reject": lambda: self.om.apply(v.rejected(mo)),
            "cancel_req": lambda: self.om.cancel(coid),
            "modify_req": lambda: self.om.modify(coid, price=Price("123.45")),
            "cancel_rej": lambda: self.om.apply(v.cancel_rejected(mo)),
            "modify_rej": lambda: self.om.apply(v.modify_rejected(mo)),
            "modified": lambda: self.om.apply(v.modified(mo, price=Price("123.45"))),
        }[kind]
        self._guard(act)

    @rule(data=st.data(), px=st.integers(1, 10**6), fee=st.integers(0, 10**6), late=st.booleans())
    def fill(self, data: st.DataObject, px: int, fee: int, late: bool) -> None:
        pool = [c for c, m in self.om.orders.items() if m.filled_raw < m.quantity_raw and m.sent
                and (m.is_open or (late and m.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED)))]
        if not pool:
            return
        coid = data.draw(st.sampled_from(sorted(pool)))
        mo = self.om.order(coid)
        qty = data.draw(st.integers(1, mo.quantity_raw - mo.filled_raw))
        ev = self.venue.filled(mo, Quantity.from_raw(qty, 3), Price.from_raw(px, 2), fee=Money.from_raw(fee, 6, "USDT"))
        before = self.om.state()
        try:
            out = self.om.apply(ev)
        except InvalidTransitionError:
            assert self.om.state() == before
            return
        assert out is Outcome.APPLIED
        self.fills[coid][ev.trade_id] = (mo.sign, qty, px)
        self.fees[self.om.instruments[mo.instrument_id].venue] += fee * 10 ** 12
        self.sent_fills.append(ev)

    @precondition(lambda self: bool(self.sent_fills))
    @rule(data=st.data())
    def duplicate_fill(self, data: st.DataObject) -> None:
        ev = data.draw(st.sampled_from(self.sent_fills))
        before = self.om.state()
        assert self.om.apply(ev) is Outcome.DUPLICATE_FILL
        assert self.om.state() == before

    @rule(amount=st.integers(-10**6, 10**6))
    def funding(self, amount: int) -> None:
        self.om.funding(PERP.id, Money.from_raw(amount, 4, "USDT"))
        self.funding += amount * 10 ** 14

    # ------------------------------------------------------------------ invariants
    @invariant()
    def orders_consistent(self) -> None:
        for coid, mo in self.om.orders.items():
            assert 0 <= mo.filled_raw <= mo.quantity_raw
            assert mo.filled_raw == sum(q for _, q, _ in self.fills.get(coid, {}).values())
            assert mo.notional_raw == sum(q * p for _, q, p in self.fills.get(coid, {}).values())
            old = self.last_status.get(coid)
            if old is not None and not _reachable(old[0], mo.status, old[1]):
                # one venue event may resolve a child's request and let the manager resize it for a late fill
                # of its parent at once: two table steps, the second into PENDING_UPDATE by that resize
                resized = any(r[0] == "modify" and r[1] == coid and r[2] is not None for r in self.venue.sent)
                assert resized and mo.status is OrderStatus.PENDING_UPDATE, (coid, old, mo.status)
                assert any(_reachable(old[0], mid, old[1]) and _reachable(mid, mo.status, mo.prev_status)
                           for mid in OrderStatus), (coid, old, mo.status)
            self.last_status[coid] = (mo.status, mo.prev_status)
            assert mo.is_open == (coid in {m.client_order_id for m in self.om.open_orders()})

    @invariant()
    def contingent_children_wait_for_their_parent(self) -> None:
        for mo in self.om.orders.values():
            if mo.parent is None:
                continue
            parent = self.om.orders[mo.parent]
            if mo.hold:
                assert mo.status is OrderStatus.INITIALIZED
            elif mo.status is not OrderStatus.CANCELED or mo.filled_raw:
                # released: only once the entry completed, or ended partly filled, with its filled quantity
                assert parent.status is OrderStatus.FILLED or (parent.is_done and parent.filled_raw)
                if mo.quantity_raw != parent.filled_raw and parent.status is not OrderStatus.FILLED:
                    # a late fill grew the entry after the release: the manager asks the venue to resize every
                    # child still open as soon as no other request is pending; a done child keeps what it had
                    assert mo.quantity_raw < parent.filled_raw
                    resize = ("modify", mo.client_order_id, Quantity.from_raw(parent.filled_raw, mo.size_prec),
                              None, None)
                    assert mo.is_done or resize in self.venue.sent or mo.status in (
                        OrderStatus.PENDING_UPDATE, OrderStatus.PENDING_CANCEL), (mo.client_order_id, mo.status)

    @invariant()
    def positions_and_balances(self) -> None:
        signed = {SPOT.id: 0, PERP.id: 0}
        flow = {SPOT.id: 0, PERP.id: 0}
        for coid, fills in self.fills.items():
            iid = self.om.orders[coid].instrument_id
            for sign, q, p in fills.values():
                signed[iid] += sign * q
                flow[iid] += sign * q * p
        for iid, total in signed.items():
            pos = self.om.positions.get((iid, 0))
            assert (pos.qty if pos else 0) == total
            if pos is not None and pos.qty == 0:
                assert pos.realized == -flow[iid]
        accs = self.om.accounts
        if "BINANCE" in accs:
            b = accs["BINANCE"].balances
            # cash: USDT = deposits - signed notional (scale 5 -> 18) - fees; BTC = deposits + signed qty
            assert b.get("USDT", 0) == (self.deposits[("BINANCE", "USDT")] - flow[SPOT.id] * 10 ** 13
                                        - self.fees["BINANCE"])
            assert b.get("BTC", 0) == signed[SPOT.id] * 10 ** 15
        if "BINANCE_USDM" in accs:
            pos = self.om.positions.get((PERP.id, 0))
            realized = pos.realized if pos else 0
            assert accs["BINANCE_USDM"].balances.get("USDT", 0) == (
                self.deposits[("BINANCE_USDM", "USDT")] + realized * 10 ** 13 - self.fees["BINANCE_USDM"]
                + self.funding)

    def teardown(self) -> None:
        event(f"fills applied: {'some' if self.sent_fills else 'none'}")
        event(f"statuses seen: {len({m.status for m in self.om.orders.values()}) >= 3}")
        again = OrderManager.recover(self.om.journal, INSTRUMENTS)
        assert again.state() == self.om.state()


TestOmsMachine = OmsMachine.TestCase
TestOmsMachine.settings = settings(max_examples=100, stateful_step_count=50, deadline=None,
                                   suppress_health_check=[HealthCheck.too_slow])
