"""Queue-position models for resting orders on L2 (market-by-price) data.

An L2 feed gives a level's total size, not who is in it. A resting order joins the back of its level:
``front`` = the quantity ahead of it (the level's size when it arrived). The models advance ``front``:

* **trades** at the order's price consume the front of the queue: ``front -= trade_qty``; when ``front``
  goes below zero, ``-front`` of the order is filled (all models);
* **size decreases** at the level (cancels, or fills not seen as trades) are attributed to the part of
  the queue in front of or behind the order:

  - :class:`RiskAverseQueue` (hftbacktest's ``RiskAdverseQueueModel``): a decrease only moves the order
    forward when the level shrinks below the order's front, ``front = min(front, new_size)``: cancels
    are assumed to come from behind the order, the worst case for it;
  - :class:`ProbQueue` (hftbacktest's ``ProbQueueModel``; Rigtorp's "estimating order queue position"):
    a decrease ``chg`` (net of the trades already counted) comes from the front with probability
    ``1 - p``, ``p = f(back) / (f(back) + f(front))``, ``back = prev_size - front``;
    ``front' = front - (1 - p) chg + min(back - p chg, 0)``, capped at the new size. ``f`` is
    ``x ** n`` (:meth:`ProbQueue.power`) or ``log(1 + x)`` (:meth:`ProbQueue.log`).

Quantities are raw ints at the instrument's size precision; the probabilistic estimate is rounded half
to even to a raw int. Size increases never move an order forward (new orders join the back).
"""

from __future__ import annotations

import math

from shrivenquant.errors import ValidationError

__all__ = ["ProbQueue", "QueueModel", "RiskAverseQueue"]


class QueueModel:
    """Base: ``depth(front, cum_trade, prev_qty, new_qty) -> new front`` for a size change at the level."""

    __slots__ = ()
    name = "base"

    def depth(self, front: int, cum_trade: int, prev_qty: int, new_qty: int) -> int:
        raise NotImplementedError


class RiskAverseQueue(QueueModel):
    """Only trades and a level shrinking below the order's front move it forward."""

    __slots__ = ()
    name = "risk_averse"

    def depth(self, front: int, cum_trade: int, prev_qty: int, new_qty: int) -> int:
        return new_qty if new_qty < front else front

    def __repr__(self) -> str:
        return "RiskAverseQueue()"


class ProbQueue(QueueModel):
    """Probabilistic queue model: a size decrease is split between the front and the back of the order.

    Use :meth:`power` (``f(x) = x ** n``; larger ``n`` = cancels more likely from the back) or :meth:`log`.
    """

    __slots__ = ("_f", "name")

    def __init__(self, f: object, name: str) -> None:
        if not callable(f):
            raise ValidationError("ProbQueue needs a callable f(x) -> float")
        self._f = f
        self.name = name

    @classmethod
    def power(cls, n: float = 2.0) -> ProbQueue:
        if not n > 0:
            raise ValidationError(f"power queue exponent must be > 0, got {n}")
        return cls(lambda x: float(x) ** n, f"power{n:g}")

    @classmethod
    def log(cls) -> ProbQueue:
        return cls(math.log1p, "log")

    def depth(self, front: int, cum_trade: int, prev_qty: int, new_qty: int) -> int:
        chg = prev_qty - new_qty - cum_trade  # trades were already taken off the front
        if chg <= 0:
            return new_qty if new_qty < front else front
        back = prev_qty - front
        fb, ff = self._f(max(back, 0)), self._f(max(front, 0))  # type: ignore[operator]
        p = fb / (fb + ff) if fb + ff > 0 else 1.0
        if not math.isfinite(p):
            p = 1.0
        est = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
        est_raw = round(est)
        est_raw = min(est_raw, new_qty)
        return max(est_raw, 0)

    def __repr__(self) -> str:
        return f"ProbQueue({self.name})"
