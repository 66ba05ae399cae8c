"""Helpers shared by the risk engine's batch tests: running records one call at a time, recording hook calls."""

from __future__ import annotations

from typing import Any

import numpy as np

from shrivenquant.risk import RiskOp


def one_by_one(e: Any, recs: np.ndarray) -> np.ndarray:
    """Apply ``recs`` (``RISK_OP_DTYPE``) to ``e`` through the per-record methods, in order; the int16 results that
    ``RiskEngine.process`` must return for the same records (0 for MARK, REFERENCE and BALANCE)."""
    out = np.zeros(len(recs), dtype=np.int16)
    for k, rec in enumerate(recs.tolist()):
        ts, oid, px, qty, i, s, op, side = rec[:8]
        if op == RiskOp.NEW:
            out[k] = e.check(i, s, side, px, qty, ts, oid)
        elif op == RiskOp.MODIFY:
            out[k] = e.check_modify(oid, px, qty, ts)
        elif op == RiskOp.CANCEL:
            out[k] = e.check_cancel(oid, ts)
        elif op == RiskOp.ACCEPTED:
            out[k] = e.on_accepted(oid)
        elif op == RiskOp.REJECTED:
            out[k] = e.on_rejected(oid)
        elif op == RiskOp.CANCELED:
            out[k] = e.on_canceled(oid)
        elif op == RiskOp.FILLED:
            out[k] = e.on_fill(oid, i, s, side, px, qty, ts)
        elif op == RiskOp.MARK:
            e.on_mark(i, px)
        elif op == RiskOp.REFERENCE:
            e.set_reference(i, px)
        else:
            e.set_balance(qty)
    return out


def record_hooks(engines: tuple[Any, ...], on: bool) -> list[list[Any]]:
    """One list per engine that its audit, kill and breaker hooks append their calls to (when ``on``)."""
    logs: list[list[Any]] = [[] for _ in engines]
    if on:
        for e, log in zip(engines, logs, strict=True):
            e.audit_hook = lambda *a, log=log: log.append(a)
            e.kill_hook = lambda s, ids, log=log: log.append((s, tuple(ids)))
            e.breaker_hook = lambda *a, log=log: log.append(a)
    return logs
