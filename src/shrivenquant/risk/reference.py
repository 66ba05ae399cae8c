# ruff: noqa: PLR0917  (mirrors the native engine's positional raw-int API, argument for argument)
"""A plain-Python model of the risk engine's rules, written for clarity (the oracle of the property tests).

:class:`ReferenceRiskModel` has the raw-int API of :class:`shrivenquant._native.risk.RiskEngine` and the
same rules in the same order, written with dicts and Python ints; the tests drive both with the same
random sequences and compare every decision and the whole state, and the benchmarks use it as the
pure-Python baseline. It keeps a list of timestamps per throttle and a dict of seen ids (the native
engine uses rings and open-addressing tables), so the two share rules, not code.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from shrivenquant.errors import ValidationError
from shrivenquant.risk.reasons import RejectReason as R
from shrivenquant.risk.reasons import RiskOp

__all__ = ["ReferenceRiskModel"]

NONE = 2**63 - 1
ORDER_CAP = 2**61  # as the native engine: an order's quantity and notional stay below 2^61
SUM_CAP = 2**62    # open-order notional (credit) and gross quantity below 2^62
_N_REASONS = len(R)


def _ceil_div(v: int, den: int) -> int:
    return min(-(-v // den), NONE)


def _floor_div(v: int, den: int) -> int:
    return max(min(v // den, NONE), -NONE)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _reducing(pos: int, open_same: int, qty: int, side: int) -> bool:
    if side == 1:
        return pos < 0 and open_same + qty <= -pos
    return pos > 0 and open_same + qty <= pos


def _state_reason(state: int, cause: int) -> R:
    if cause == 1:
        return R.DAILY_LOSS_LIMIT
    if cause == 2:
        return R.DRAWDOWN_LIMIT
    return R.TRADING_HALTED if state == 2 else R.REDUCE_ONLY


class _Window:
    """At most ``limit`` events in (now - window, now]."""

    def __init__(self, limit: int | None, window: int) -> None:
        self.limit, self.window, self.times = limit, window, deque[int]()

    def allows(self, now: int) -> bool:
        if self.limit is None or len(self.times) < self.limit:
            return True
        return self.times[0] <= now - self.window

    def push(self, now: int) -> None:
        if self.limit is None:
            return
        self.times.append(now)
        if len(self.times) > self.limit:
            self.times.popleft()


class ReferenceRiskModel:
    """The rules of :class:`~shrivenquant._native.risk.RiskEngine` in plain Python (same API, raw ints)."""

    def __init__(self, n_instruments: int, n_strategies: int = 1) -> None:
        self.ni, self.ns = n_instruments, n_strategies
        self.inst = [self._new_inst() for _ in range(n_instruments)]
        self.strat = [self._new_strat() for _ in range(n_strategies)]
        self.pos: dict[tuple[int, int], dict[str, int]] = {}
        self.acct: dict[str, Any] = {
            "killed": 0, "state": 0, "cause": 0, "credit_limit": SUM_CAP, "max_open": NONE, "daily_limit": NONE,
            "daily_action": 2, "dd_limit": NONE, "dd_action": 2, "margin_on": False, "balance": 0,
            "open_notional": 0, "order_margin": 0, "pos_margin": 0, "n_open": 0, "realized": 0, "unrealized": 0,
            "day_base": 0, "peak": 0,
        }
        self.orders: dict[int, dict[str, int]] = {}
        self.dup_window = 0
        self.seen: dict[int, int] = {}
        self.rejects = [0] * _N_REASONS
        self.checks = 0
        self.last: tuple[int, int, int, int] = (0, 0, 0, 0)
        self.audit_hook: Any = None
        self.kill_hook: Any = None
        self.breaker_hook: Any = None

    @staticmethod
    def _new_inst() -> dict[str, Any]:
        return {"tick": 1, "lot": 1, "min_qty": 0, "max_qty": ORDER_CAP, "min_notional": 0, "max_notional": ORDER_CAP,
                "restricted": False, "collar_unit": 0, "bands": (NONE, NONE, NONE, NONE), "max_net": NONE,
                "max_gross": SUM_CAP, "max_open": NONE, "margin_bps": 10000, "num": 1, "den": 1,
                "ref": 0, "lo": (0, 0), "hi": (NONE, NONE), "mark": 0,
                "net_pos": 0, "gross_pos": 0, "open_buy": 0, "open_sell": 0, "n_open": 0, "pos_margin": 0}

    @staticmethod
    def _new_strat() -> dict[str, Any]:
        return {"killed": 0, "state": 0, "cause": 0, "max_notional": NONE, "credit_limit": SUM_CAP, "max_open": NONE,
                "orders": _Window(None, 0), "modifies": _Window(None, 0), "cancels": _Window(None, 0),
                "execs": _Window(None, 0), "otr_x1000": None, "otr_min": 0, "daily_limit": NONE,
                "daily_action": 2, "dd_limit": NONE, "dd_action": 2, "open_notional": 0, "n_open": 0, "msgs": 0,
                "trades": 0, "realized": 0, "unrealized": 0, "day_base": 0, "peak": 0}

    def _p(self, s: int, i: int) -> dict[str, int]:
        p = self.pos.get((s, i))
        if p is None:
            p = self.pos[(s, i)] = {"pos": 0, "cost": 0, "open_buy": 0, "open_sell": 0, "upnl": 0}
        return p

    # ---------------------------------------------------------------------------------- configuration
    def configure_instrument(self, instrument: int, *, tick: int = 1, lot: int = 1, min_qty: int = 0,
                             max_qty: int | None = None, min_notional: int = 0, max_notional: int | None = None,
                             restricted: bool = False, collar_unit: int = 0, buy_up: int | None = None,
                             buy_down: int | None = None, sell_up: int | None = None, sell_down: int | None = None,
                             max_net: int | None = None, max_gross: int | None = None, max_open: int | None = None,
                             margin_bps: int = 10000, notional_num: int = 1, notional_den: int = 1) -> None:
        """As :meth:`RiskEngine.configure_instrument`."""
        def lim(v: int | None) -> int:
            return NONE if v is None else v

        d = self.inst[instrument]
        d.update(tick=tick, lot=lot, min_qty=min_qty, max_qty=min(lim(max_qty), ORDER_CAP),
                 min_notional=min_notional, max_notional=min(lim(max_notional), ORDER_CAP),
                 restricted=bool(restricted), collar_unit=collar_unit,
                 bands=(lim(buy_up), lim(buy_down), lim(sell_up), lim(sell_down)), max_net=lim(max_net),
                 max_gross=min(lim(max_gross), SUM_CAP), max_open=lim(max_open), margin_bps=margin_bps,
                 num=notional_num, den=notional_den)
        self.set_reference(instrument, d["ref"], _allow_zero=True)
        self._pos_margin(instrument)

    def configure_strategy(self, strategy: int, *, max_notional: int | None = None, credit_limit: int | None = None,
                           max_open: int | None = None, order_limit: int | None = None, order_window_ns: int = 0,
                           modify_limit: int | None = None, modify_window_ns: int = 0,
                           cancel_limit: int | None = None, cancel_window_ns: int = 0,
                           exec_limit: int | None = None, exec_window_ns: int = 0, otr_x1000: int | None = None,
                           otr_min_messages: int = 0, daily_loss: int | None = None, daily_loss_action: int = 2,
                           drawdown: int | None = None, drawdown_action: int = 2) -> None:
        """As :meth:`RiskEngine.configure_strategy`."""
        s = self.strat[strategy]
        s.update(max_notional=NONE if max_notional is None else max_notional,
                 credit_limit=SUM_CAP if credit_limit is None else min(credit_limit, SUM_CAP),
                 max_open=NONE if max_open is None else max_open,
                 orders=_Window(order_limit, order_window_ns), modifies=_Window(modify_limit, modify_window_ns),
                 cancels=_Window(cancel_limit, cancel_window_ns), execs=_Window(exec_limit, exec_window_ns),
                 otr_x1000=otr_x1000, otr_min=otr_min_messages,
                 daily_limit=NONE if daily_loss is None else daily_loss, daily_action=daily_loss_action,
                 dd_limit=NONE if drawdown is None else drawdown, dd_action=drawdown_action)

    def configure_account(self, *, credit_limit: int | None = None, max_open: int | None = None,
                          daily_loss: int | None = None, daily_loss_action: int = 2, drawdown: int | None = None,
                          drawdown_action: int = 2, margin: bool = False, balance: int = 0,
                          duplicate_window_ns: int = 0) -> None:
        """As :meth:`RiskEngine.configure_account`."""
        a = self.acct
        a.update(credit_limit=SUM_CAP if credit_limit is None else min(credit_limit, SUM_CAP),
                 max_open=NONE if max_open is None else max_open,
                 daily_limit=NONE if daily_loss is None else daily_loss, daily_action=daily_loss_action,
                 dd_limit=NONE if drawdown is None else drawdown, dd_action=drawdown_action,
                 margin_on=bool(margin), balance=balance)
        self.dup_window = duplicate_window_ns
        for i in range(self.ni):
            self._pos_margin(i)

    # ---------------------------------------------------------------------------------- helpers
    def _notional(self, i: int, px: int, qty: int) -> int:
        d = self.inst[i]
        return _ceil_div(px * qty * d["num"], d["den"])

    def _margin_of(self, i: int, notional: int) -> int:
        return _ceil_div(notional * self.inst[i]["margin_bps"], 10000)

    def _reject(self, reason: R, value: int = 0, limit: int = 0, scope: int = 0, index: int = -1) -> int:
        self.rejects[reason] += 1
        self.last = (value, limit, scope, index)
        return int(reason)

    def _rules(self, i: int, s: int, side: int, px: int, qty: int, market: bool) -> tuple[int, int]:
        d, st = self.inst[i], self.strat[s]
        if market:
            if d["ref"] <= 0:
                return self._reject(R.NO_REFERENCE_PRICE, 0, 0, 1, i), 0
            px = d["ref"]
        elif px % d["tick"]:
            return self._reject(R.TICK_SIZE, px, d["tick"], 1, i), 0
        if qty % d["lot"]:
            return self._reject(R.LOT_SIZE, qty, d["lot"], 1, i), 0
        if qty < d["min_qty"]:
            return self._reject(R.MIN_QTY, qty, d["min_qty"], 1, i), 0
        if qty > d["max_qty"]:
            return self._reject(R.MAX_ORDER_QTY, qty, d["max_qty"], 1, i), 0
        if not market and d["collar_unit"]:
            if d["ref"] <= 0:
                return self._reject(R.NO_REFERENCE_PRICE, 0, 0, 1, i), 0
            k = 0 if side == 1 else 1
            if px < d["lo"][k]:
                return self._reject(R.PRICE_COLLAR, px, d["lo"][k], 1, i), 0
            if px > d["hi"][k]:
                return self._reject(R.PRICE_COLLAR, px, d["hi"][k], 1, i), 0
        n = self._notional(i, px, qty)
        if n < d["min_notional"]:
            return self._reject(R.MIN_NOTIONAL, n, d["min_notional"], 1, i), 0
        if n > d["max_notional"]:
            return self._reject(R.MAX_ORDER_NOTIONAL, n, d["max_notional"], 1, i), 0
        if n > st["max_notional"]:
            return self._reject(R.MAX_ORDER_NOTIONAL, n, st["max_notional"], 2, s), 0
        return 0, n

    def _otr_blocks(self, st: dict[str, Any]) -> bool:
        if st["otr_x1000"] is None or st["msgs"] < st["otr_min"]:
            return False
        return (st["msgs"] + 1) * 1000 > st["otr_x1000"] * max(st["trades"], 1)

    def _audit(self, reason: int, op: int, order_id: int, i: int, s: int, side: int, px: int, qty: int,
               ts: int) -> None:
        if reason and self.audit_hook is not None:
            self.audit_hook(reason, op, order_id, i, s, side, px, qty, ts)

    # ---------------------------------------------------------------------------------- checks
    def check(self, instrument: int, strategy: int, side: int, price: int, qty: int, ts: int, order_id: int) -> int:
        """As :meth:`RiskEngine.check`."""
        r = self._check(instrument, strategy, side, price, qty, ts, order_id)
        self._audit(r, RiskOp.NEW, order_id, instrument, strategy, side, price, qty, ts)
        return r

    def _check(self, i: int, s: int, side: int, px: int, qty: int, ts: int, oid: int) -> int:
        self.checks += 1
        if not (0 <= i < self.ni and 0 <= s < self.ns) or side not in (1, 2) or qty <= 0 or px < 0 or oid <= 0:
            return self._reject(R.INVALID_ORDER, 0, 0, 0, -1)
        d, st, a, p = self.inst[i], self.strat[s], self.acct, self._p(s, i)
        if a["killed"]:
            return self._reject(R.KILL_SWITCH_GLOBAL, 0, 0, 3, -1)
        if st["killed"]:
            return self._reject(R.REPEATED_EXECUTION if st["killed"] == 2 else R.KILL_SWITCH_STRATEGY, 0, 0, 2, s)
        if d["restricted"]:
            return self._reject(R.RESTRICTED_INSTRUMENT, 0, 0, 1, i)
        acct_reducing = _reducing(d["net_pos"], d["open_buy"] if side == 1 else d["open_sell"], qty, side)
        if a["state"] and (a["state"] == 2 or not acct_reducing):
            return self._reject(_state_reason(a["state"], a["cause"]), a["state"], 0, 3, -1)
        if st["state"] and (st["state"] == 2 or not _reducing(p["pos"], p["open_buy"] if side == 1 else p["open_sell"],
                                                             qty, side)):
            return self._reject(_state_reason(st["state"], st["cause"]), st["state"], 0, 2, s)
        if oid in self.orders:
            return self._reject(R.DUPLICATE_ORDER_ID, oid, 0, 0, -1)
        if self.dup_window > 0 and oid in self.seen and self.seen[oid] > ts - self.dup_window:
            return self._reject(R.DUPLICATE_ORDER_ID, oid, self.dup_window, 0, -1)
        market = px == 0
        r, n = self._rules(i, s, side, px, qty, market)
        if r:
            return r
        if market:
            px = d["ref"]
        for count, limit, scope, idx in ((st["n_open"], st["max_open"], 2, s), (d["n_open"], d["max_open"], 1, i),
                                         (a["n_open"], a["max_open"], 3, -1)):
            if count >= limit:
                return self._reject(R.MAX_OPEN_ORDERS, count + 1, limit, scope, idx)
        if st["open_notional"] + n > st["credit_limit"]:
            return self._reject(R.CREDIT_LIMIT, st["open_notional"] + n, st["credit_limit"], 2, s)
        if a["open_notional"] + n > a["credit_limit"]:
            return self._reject(R.CREDIT_LIMIT, a["open_notional"] + n, a["credit_limit"], 3, -1)
        worst = d["net_pos"] + d["open_buy"] + qty if side == 1 else -(d["net_pos"] - d["open_sell"] - qty)
        if worst > d["max_net"]:
            return self._reject(R.POSITION_LIMIT_NET, worst, d["max_net"], 1, i)
        gross = d["gross_pos"] + d["open_buy"] + d["open_sell"] + qty
        if gross > d["max_gross"]:
            return self._reject(R.POSITION_LIMIT_GROSS, gross, d["max_gross"], 1, i)
        m = 0
        if a["margin_on"]:
            m = 0 if acct_reducing else self._margin_of(i, n)
            need, equity = a["order_margin"] + a["pos_margin"] + m, a["balance"] + a["unrealized"]
            if need > equity:
                return self._reject(R.MARGIN, need, equity, 3, -1)
        if self._otr_blocks(st):
            return self._reject(R.ORDER_TO_TRADE_RATIO, st["msgs"] + 1, st["otr_x1000"], 2, s)
        if not st["orders"].allows(ts):
            return self._reject(R.ORDER_RATE, st["orders"].limit + 1, st["orders"].limit, 2, s)
        if self.dup_window > 0:
            self.seen[oid] = ts
        self.orders[oid] = {"inst": i, "strat": s, "side": side, "price": px, "leaves": qty,
                            "margin_free": int(acct_reducing), "market": int(market), "acked": 0}
        key = "open_buy" if side == 1 else "open_sell"
        d[key] += qty
        p[key] += qty
        d["n_open"] += 1
        st["n_open"] += 1
        a["n_open"] += 1
        st["open_notional"] += n
        a["open_notional"] += n
        a["order_margin"] += m
        st["orders"].push(ts)
        st["msgs"] += 1
        return 0

    def _order_margin(self, o: dict[str, int], n: int) -> int:
        return 0 if (not self.acct["margin_on"] or o["margin_free"]) else self._margin_of(o["inst"], n)

    def check_modify(self, order_id: int, price: int, qty: int, ts: int) -> int:
        """As :meth:`RiskEngine.check_modify`."""
        r = self._check_modify(order_id, price, qty, ts)
        if r:
            o = self.orders.get(order_id)
            i, s, side = (o["inst"], o["strat"], o["side"]) if o else (-1, -1, 0)
            self._audit(r, RiskOp.MODIFY, order_id, i, s, side, price, qty, ts)
        return r

    def _check_modify(self, oid: int, px: int, qty: int, ts: int) -> int:
        self.checks += 1
        if qty <= 0 or px < 0:
            return self._reject(R.INVALID_ORDER, 0, 0, 0, -1)
        o = self.orders.get(oid) if oid > 0 else None
        if o is None:
            return self._reject(R.UNKNOWN_ORDER, oid, 0, 0, -1)
        i, s, side = o["inst"], o["strat"], o["side"]
        if o["market"] or px == 0:
            return self._reject(R.INVALID_ORDER, 0, 0, 0, -1)
        d, st, a, p = self.inst[i], self.strat[s], self.acct, self._p(s, i)
        if a["killed"]:
            return self._reject(R.KILL_SWITCH_GLOBAL, 0, 0, 3, -1)
        if st["killed"]:
            return self._reject(R.REPEATED_EXECUTION if st["killed"] == 2 else R.KILL_SWITCH_STRATEGY, 0, 0, 2, s)
        if d["restricted"]:
            return self._reject(R.RESTRICTED_INSTRUMENT, 0, 0, 1, i)
        if a["state"] == 2 or (a["state"] == 1 and qty > o["leaves"]):
            return self._reject(_state_reason(a["state"], a["cause"]), a["state"], 0, 3, -1)
        if st["state"] == 2 or (st["state"] == 1 and qty > o["leaves"]):
            return self._reject(_state_reason(st["state"], st["cause"]), st["state"], 0, 2, s)
        r, n = self._rules(i, s, side, px, qty, False)
        if r:
            return r
        n_old = self._notional(i, o["price"], o["leaves"])
        if st["open_notional"] - n_old + n > st["credit_limit"]:
            return self._reject(R.CREDIT_LIMIT, st["open_notional"] - n_old + n, st["credit_limit"], 2, s)
        if a["open_notional"] - n_old + n > a["credit_limit"]:
            return self._reject(R.CREDIT_LIMIT, a["open_notional"] - n_old + n, a["credit_limit"], 3, -1)
        dq = qty - o["leaves"]
        worst = d["net_pos"] + d["open_buy"] + dq if side == 1 else -(d["net_pos"] - d["open_sell"] - dq)
        if dq > 0 and worst > d["max_net"]:
            return self._reject(R.POSITION_LIMIT_NET, worst, d["max_net"], 1, i)
        gross = d["gross_pos"] + d["open_buy"] + d["open_sell"] + dq
        if dq > 0 and gross > d["max_gross"]:
            return self._reject(R.POSITION_LIMIT_GROSS, gross, d["max_gross"], 1, i)
        m_old, m_new = self._order_margin(o, n_old), self._order_margin(o, n)
        if a["margin_on"] and m_new > m_old:
            need, equity = a["order_margin"] - m_old + m_new + a["pos_margin"], a["balance"] + a["unrealized"]
            if need > equity:
                return self._reject(R.MARGIN, need, equity, 3, -1)
        if self._otr_blocks(st):
            return self._reject(R.ORDER_TO_TRADE_RATIO, st["msgs"] + 1, st["otr_x1000"], 2, s)
        if not st["modifies"].allows(ts):
            return self._reject(R.MODIFY_RATE, st["modifies"].limit + 1, st["modifies"].limit, 2, s)
        st["open_notional"] += n - n_old
        a["open_notional"] += n - n_old
        a["order_margin"] += m_new - m_old
        key = "open_buy" if side == 1 else "open_sell"
        d[key] += dq
        p[key] += dq
        o["price"], o["leaves"] = px, qty
        st["modifies"].push(ts)
        st["msgs"] += 1
        return 0

    def check_cancel(self, order_id: int, ts: int) -> int:
        """As :meth:`RiskEngine.check_cancel`."""
        self.checks += 1
        o = self.orders.get(order_id) if order_id > 0 else None
        if o is None:
            r = self._reject(R.UNKNOWN_ORDER, order_id, 0, 0, -1)
            self._audit(r, RiskOp.CANCEL, order_id, -1, -1, 0, 0, 0, ts)
            return r
        st = self.strat[o["strat"]]
        if not st["cancels"].allows(ts):
            r = self._reject(R.CANCEL_RATE, st["cancels"].limit + 1, st["cancels"].limit, 2, o["strat"])
            self._audit(r, RiskOp.CANCEL, order_id, o["inst"], o["strat"], o["side"], 0, 0, ts)
            return r
        st["cancels"].push(ts)
        st["msgs"] += 1
        return 0

    # ---------------------------------------------------------------------------------- OMS updates
    def _release(self, oid: int, q: int) -> None:
        o = self.orders[oid]
        i, s = o["inst"], o["strat"]
        d, st, a, p = self.inst[i], self.strat[s], self.acct, self._p(s, i)
        n0, n1 = self._notional(i, o["price"], o["leaves"]), self._notional(i, o["price"], o["leaves"] - q)
        st["open_notional"] -= n0 - n1
        a["open_notional"] -= n0 - n1
        a["order_margin"] -= self._order_margin(o, n0) - self._order_margin(o, n1)
        key = "open_buy" if o["side"] == 1 else "open_sell"
        d[key] -= q
        p[key] -= q
        o["leaves"] -= q
        if o["leaves"] == 0:
            del self.orders[oid]
            d["n_open"] -= 1
            st["n_open"] -= 1
            a["n_open"] -= 1

    def on_accepted(self, order_id: int) -> int:
        """As :meth:`RiskEngine.on_accepted`."""
        o = self.orders.get(order_id)
        if o is None:
            return int(R.UNKNOWN_ORDER)
        o["acked"] = 1
        return 0

    def on_rejected(self, order_id: int) -> int:
        """As :meth:`RiskEngine.on_rejected`."""
        return self.on_canceled(order_id)

    def on_canceled(self, order_id: int) -> int:
        """As :meth:`RiskEngine.on_canceled`."""
        o = self.orders.get(order_id)
        if o is None:
            return int(R.UNKNOWN_ORDER)
        self._release(order_id, o["leaves"])
        return 0

    def release_all(self, strategy: int | None = None) -> int:
        """As :meth:`RiskEngine.release_all`."""
        ids = [k for k, o in self.orders.items() if strategy is None or o["strat"] == strategy]
        for k in ids:
            self._release(k, self.orders[k]["leaves"])
        return len(ids)

    def _upnl(self, i: int, p: dict[str, int]) -> int:
        d = self.inst[i]
        if d["mark"] <= 0 or (p["pos"] == 0 and p["cost"] == 0):
            return 0
        return _floor_div((p["pos"] * d["mark"] - p["cost"]) * d["num"], d["den"])

    def _pos_margin(self, i: int) -> None:
        d, a = self.inst[i], self.acct
        pm = self._margin_of(i, self._notional(i, d["mark"], abs(d["net_pos"]))) \
            if a["margin_on"] and d["mark"] > 0 else 0
        a["pos_margin"] += pm - d["pos_margin"]
        d["pos_margin"] = pm

    @staticmethod
    def _breakers(x: dict[str, Any]) -> bool:
        pnl = x["realized"] + x["unrealized"] - x["day_base"]
        tripped = False
        x["peak"] = max(x["peak"], pnl)
        for limit, action, value, cause in ((x["daily_limit"], x["daily_action"], -pnl, 1),
                                            (x["dd_limit"], x["dd_action"], x["peak"] - pnl, 2)):
            if limit != NONE and value > limit and action > x["state"]:
                x["state"], x["cause"] = action, cause
                tripped = True
        return tripped

    def on_mark(self, instrument: int, price: int) -> None:
        """As :meth:`RiskEngine.on_mark`."""
        if not 0 <= instrument < self.ni or price <= 0:
            raise ValidationError(f"on_mark: instrument index and price > 0 expected, got {instrument}, {price}")
        if self._mark(instrument, price):
            self._notify()

    def _mark(self, i: int, px: int) -> bool:
        self.inst[i]["mark"] = px
        tripped = False
        for s in range(self.ns):
            p = self.pos.get((s, i))
            if p is None or (p["pos"] == 0 and p["cost"] == 0 and p["upnl"] == 0):
                continue
            u = self._upnl(i, p)
            self.strat[s]["unrealized"] += u - p["upnl"]
            self.acct["unrealized"] += u - p["upnl"]
            p["upnl"] = u
            tripped |= self._breakers(self.strat[s])
        self._pos_margin(i)
        tripped |= self._breakers(self.acct)
        return tripped

    def on_fill(self, order_id: int, instrument: int, strategy: int, side: int, price: int, qty: int,
                ts: int) -> int:
        """As :meth:`RiskEngine.on_fill`."""
        if qty <= 0 or price <= 0:
            raise ValidationError(f"on_fill: invalid fill (qty {qty}, price {price})")
        o = self.orders.get(order_id) if order_id > 0 else None
        if o is None and (not (0 <= instrument < self.ni and 0 <= strategy < self.ns) or side not in (1, 2)):
            raise ValidationError("on_fill: invalid fill of an unknown order")
        result = 0
        if o is not None:
            i, s, side = o["inst"], o["strat"], o["side"]
            self._release(order_id, min(qty, o["leaves"]))
        else:
            i, s = instrument, strategy
            result = int(R.UNKNOWN_ORDER)
        d, st, a, p = self.inst[i], self.strat[s], self.acct, self._p(s, i)
        dq = qty if side == 1 else -qty
        p0 = p["pos"]
        if p0 == 0 or (p0 > 0) == (dq > 0):
            p["pos"] += dq
            p["cost"] += dq * price
        else:
            ap, sgn = abs(p0), (1 if p0 > 0 else -1)
            close = min(qty, ap)
            released = _trunc_div(p["cost"] * close, ap)
            r = _floor_div((sgn * close * price - released) * d["num"], d["den"])
            st["realized"] += r
            a["realized"] += r
            p["cost"] -= released
            p["pos"] = p0 - sgn * close
            if qty > close:
                p["pos"], p["cost"] = -sgn * (qty - close), -sgn * (qty - close) * price
        d["net_pos"] += p["pos"] - p0
        d["gross_pos"] += abs(p["pos"]) - abs(p0)
        st["trades"] += 1
        event = False
        if st["execs"].limit is not None:
            if not st["execs"].allows(ts) and st["killed"] == 0:
                st["killed"] = 2
                event = True
            st["execs"].push(ts)
        if d["mark"] <= 0:
            event |= self._mark(i, price)
        else:
            u = self._upnl(i, p)
            st["unrealized"] += u - p["upnl"]
            a["unrealized"] += u - p["upnl"]
            p["upnl"] = u
            self._pos_margin(i)
            event |= self._breakers(st)
            event |= self._breakers(a)
        if event:
            self._notify()
        return result

    def _notify(self) -> None:
        seen = getattr(self, "_seen", None)
        if seen is None:
            seen = self._seen = {"state": [0] * (self.ns + 1), "kill": [0] * (self.ns + 1)}
        for s in range(-1, self.ns):
            x = self.acct if s < 0 else self.strat[s]
            if x["state"] != seen["state"][s + 1]:
                seen["state"][s + 1] = x["state"]
                if self.breaker_hook is not None:
                    self.breaker_hook(s, x["state"], x["cause"])
            if s >= 0 and x["killed"] == 2 and not seen["kill"][s + 1]:
                seen["kill"][s + 1] = 1
                if self.kill_hook is not None:
                    self.kill_hook(s, self.working_orders(s))

    def set_reference(self, instrument: int, price: int, *, _allow_zero: bool = False) -> None:
        """As :meth:`RiskEngine.set_reference`."""
        if not _allow_zero and (not 0 <= instrument < self.ni or price <= 0):
            raise ValidationError(f"set_reference: instrument index and price > 0 expected, got {instrument}, {price}")
        d = self.inst[instrument]
        d["ref"] = price
        bu, bd, su, sd = d["bands"]
        lo, hi = [], []
        for up, dn in ((bu, bd), (su, sd)):
            if d["collar_unit"] == 0 or price <= 0:
                lo.append(0)
                hi.append(NONE)
                continue
            if up == NONE:
                hi.append(NONE)
            elif d["collar_unit"] == 1:
                hi.append(_floor_div(price * (10000 + up), 10000))
            else:
                hi.append(min(price + up * d["tick"], NONE))
            if dn == NONE:
                lo.append(0)
            elif d["collar_unit"] == 1:
                lo.append(_ceil_div(price * (10000 - dn), 10000))
            else:
                lo.append(price - dn * d["tick"])
        d["lo"], d["hi"] = tuple(lo), tuple(hi)

    def set_balance(self, balance: int) -> None:
        """As :meth:`RiskEngine.set_balance`."""
        self.acct["balance"] = balance

    def reset_day(self) -> None:
        """As :meth:`RiskEngine.reset_day`."""
        for x in self.strat:
            x["day_base"] = x["realized"] + x["unrealized"]
            x["peak"] = 0
            x["msgs"] = x["trades"] = 0
        self.acct["day_base"] = self.acct["realized"] + self.acct["unrealized"]
        self.acct["peak"] = 0

    def reset(self) -> None:
        """As :meth:`RiskEngine.reset`: the state right after configuration (limits, references, balance kept)."""
        for d in self.inst:
            d.update(mark=0, net_pos=0, gross_pos=0, open_buy=0, open_sell=0, n_open=0, pos_margin=0)
        for x in self.strat:
            x.update(killed=0, state=0, cause=0, open_notional=0, n_open=0, msgs=0, trades=0, realized=0,
                     unrealized=0, day_base=0, peak=0)
            for w in ("orders", "modifies", "cancels", "execs"):
                x[w].times.clear()
        self.pos.clear()
        self.acct.update(killed=0, state=0, cause=0, open_notional=0, order_margin=0, pos_margin=0, n_open=0,
                         realized=0, unrealized=0, day_base=0, peak=0)
        self.orders.clear()
        self.seen.clear()
        self.rejects = [0] * _N_REASONS
        self.checks = 0
        self.last = (0, 0, 0, 0)
        if getattr(self, "_seen", None) is not None:
            self._seen = {"state": [0] * (self.ns + 1), "kill": [0] * (self.ns + 1)}

    # ---------------------------------------------------------------------------------- kill / states
    def kill(self, strategy: int | None = None) -> None:
        """As :meth:`RiskEngine.kill`."""
        x = self.acct if strategy is None else self.strat[strategy]
        x["killed"] = 1
        self._ensure_seen()["kill"][0 if strategy is None else strategy + 1] = 1
        if self.kill_hook is not None:
            self.kill_hook(-1 if strategy is None else strategy, self.working_orders(strategy))

    def reset_kill(self, strategy: int | None = None) -> None:
        """As :meth:`RiskEngine.reset_kill`."""
        (self.acct if strategy is None else self.strat[strategy])["killed"] = 0
        self._ensure_seen()["kill"][0 if strategy is None else strategy + 1] = 0

    def kill_state(self, strategy: int | None = None) -> int:
        """As :meth:`RiskEngine.kill_state`."""
        return int((self.acct if strategy is None else self.strat[strategy])["killed"])

    def set_trading_state(self, state: int, strategy: int | None = None) -> None:
        """As :meth:`RiskEngine.set_trading_state`."""
        x = self.acct if strategy is None else self.strat[strategy]
        x["state"], x["cause"] = state, 0
        self._ensure_seen()["state"][0 if strategy is None else strategy + 1] = state

    def trading_state(self, strategy: int | None = None) -> tuple[int, int]:
        """As :meth:`RiskEngine.trading_state`."""
        x = self.acct if strategy is None else self.strat[strategy]
        return (x["state"], x["cause"])

    def _ensure_seen(self) -> dict[str, list[int]]:
        if getattr(self, "_seen", None) is None:
            self._seen = {"state": [0] * (self.ns + 1), "kill": [0] * (self.ns + 1)}
        return self._seen

    # ---------------------------------------------------------------------------------- reading
    def working_orders(self, strategy: int | None = None) -> np.ndarray:
        """As :meth:`RiskEngine.working_orders`."""
        ids = sorted(k for k, o in self.orders.items() if strategy is None or o["strat"] == strategy)
        return np.array(ids, dtype=np.int64)

    def reject_counts(self) -> np.ndarray:
        """As :meth:`RiskEngine.reject_counts`."""
        return np.array(self.rejects, dtype=np.int64)

    def last_reject(self) -> tuple[int, int, int, int]:
        """As :meth:`RiskEngine.last_reject`."""
        return self.last

    def order(self, order_id: int) -> tuple[int, int, int, int, int, bool] | None:
        """As :meth:`RiskEngine.order`."""
        o = self.orders.get(order_id)
        if o is None:
            return None
        return (o["inst"], o["strat"], o["side"], o["price"], o["leaves"], bool(o["acked"]))

    def snapshot(self) -> dict[str, Any]:
        """As :meth:`RiskEngine.snapshot` (same keys and values)."""
        a = self.acct
        keys_a = ("killed", "state", "cause", "open_notional", "order_margin", "pos_margin", "n_open", "realized",
                  "unrealized", "day_base", "peak", "balance")
        keys_i = ("net_pos", "gross_pos", "open_buy", "open_sell", "n_open", "pos_margin", "ref", "mark")
        keys_s = ("killed", "state", "cause", "open_notional", "n_open", "msgs", "trades", "realized", "unrealized",
                  "day_base", "peak")
        positions = {}
        for (s, i), p in sorted(self.pos.items()):
            if p["pos"] or p["open_buy"] or p["open_sell"] or p["upnl"]:
                positions[(s, i)] = {k: p[k] for k in ("pos", "open_buy", "open_sell", "upnl")}
        return {
            "account": {k: a[k] for k in keys_a},
            "instruments": [{k: d[k] for k in keys_i} for d in self.inst],
            "strategies": [{k: x[k] for k in keys_s} for x in self.strat],
            "positions": positions,
            "orders": {k: self.order(k) for k in self.orders},
            "rejects": list(self.rejects),
            "checks": self.checks,
        }

    # ---------------------------------------------------------------------------------- batch
    def process(self, records: np.ndarray) -> np.ndarray:
        """As :meth:`RiskEngine.process`, one record at a time."""
        out = np.zeros(len(records), dtype=np.int16)
        for k, rec in enumerate(records.tolist()):
            ts, oid, px, qty, i, s, op, side = rec[:8]
            if op == RiskOp.NEW:
                r = self.check(i, s, side, px, qty, ts, oid)
            elif op == RiskOp.MODIFY:
                r = self.check_modify(oid, px, qty, ts)
            elif op == RiskOp.CANCEL:
                r = self.check_cancel(oid, ts)
            elif op == RiskOp.ACCEPTED:
                r = self.on_accepted(oid)
            elif op in (RiskOp.REJECTED, RiskOp.CANCELED):
                r = self.on_canceled(oid)
            elif op == RiskOp.FILLED:
                r = self.on_fill(oid, i, s, side, px, qty, ts)
            elif op == RiskOp.MARK:
                self.on_mark(i, px)
                r = 0
            elif op == RiskOp.REFERENCE:
                self.set_reference(i, px)
                r = 0
            elif op == RiskOp.BALANCE:
                self.set_balance(qty)
                r = 0
            else:
                raise ValidationError(f"process: record {k} has an unknown op {op}")
            out[k] = r
        return out
