"""Order latency models: how long a request takes to reach the venue and its answer to come back.

Times are int ns. ``entry(ts)`` is the delay from the local send at ``ts`` to the venue's receipt;
``response(ts)`` the delay from the venue's event at ``ts`` to its local receipt. Both are >= 0.

* :class:`ConstantLatency`: fixed entry and response delays.
* :class:`InterpolatedLatency`: piecewise-linear in time between recorded samples
  ``(ts, entry, response)`` (for example round trips measured on the live venue; hftbacktest's
  ``IntpOrderLatency``), held flat before the first and after the last sample.
* :func:`feed_latency_samples`: samples taken from the market data itself, ``ts_local - ts_event`` of the
  records with a venue timestamp, a common proxy when no order latencies were recorded.
"""

from __future__ import annotations

import numpy as np

from shrivenquant.core.events import EVENT_DTYPE, EventFlag
from shrivenquant.errors import ValidationError

__all__ = ["ConstantLatency", "InterpolatedLatency", "LatencyModel", "feed_latency_samples"]


class ConstantLatency:
    """Fixed delays: ``entry_ns`` from send to venue receipt, ``response_ns`` from venue event to receipt."""

    __slots__ = ("entry_ns", "response_ns")

    def __init__(self, entry_ns: int = 0, response_ns: int = 0) -> None:
        if entry_ns < 0 or response_ns < 0:
            raise ValidationError(f"latencies must be >= 0 ns, got entry {entry_ns}, response {response_ns}")
        self.entry_ns = int(entry_ns)
        self.response_ns = int(response_ns)

    def entry(self, ts: int) -> int:
        return self.entry_ns

    def response(self, ts: int) -> int:
        return self.response_ns

    def __repr__(self) -> str:
        return f"ConstantLatency(entry_ns={self.entry_ns}, response_ns={self.response_ns})"


class InterpolatedLatency:
    """Latency interpolated linearly in time between samples (ns); flat outside the sampled range.

    Args:
        ts: sample times, ns, non-decreasing.
        entry: entry latency at each sample, ns (>= 0).
        response: response latency at each sample, ns (>= 0).
    """

    __slots__ = ("_entry", "_response", "_ts")

    def __init__(self, ts: np.ndarray, entry: np.ndarray, response: np.ndarray) -> None:
        t = np.asarray(ts, dtype=np.int64)
        e = np.asarray(entry, dtype=np.int64)
        r = np.asarray(response, dtype=np.int64)
        if t.ndim != 1 or t.size == 0 or e.shape != t.shape or r.shape != t.shape:
            raise ValidationError("InterpolatedLatency needs equal, non-empty 1-D arrays ts, entry, response")
        if (np.diff(t) < 0).any():
            raise ValidationError("InterpolatedLatency sample times must be non-decreasing")
        if (e < 0).any() or (r < 0).any():
            raise ValidationError("InterpolatedLatency latencies must be >= 0 ns")
        self._ts, self._entry, self._response = t, e, r

    @staticmethod
    def _at(ts: int, t: np.ndarray, v: np.ndarray) -> int:
        i = int(np.searchsorted(t, ts, side="right"))
        if i == 0:
            return int(v[0])
        if i == t.size:
            return int(v[-1])
        t0, t1, v0, v1 = int(t[i - 1]), int(t[i]), int(v[i - 1]), int(v[i])
        if t1 == t0:
            return v1
        return v0 + (v1 - v0) * (ts - t0) // (t1 - t0)  # exact integer interpolation, floor

    def entry(self, ts: int) -> int:
        return self._at(ts, self._ts, self._entry)

    def response(self, ts: int) -> int:
        return self._at(ts, self._ts, self._response)

    @classmethod
    def from_feed(cls, events: np.ndarray, *, multiplier: float = 1.0, min_ns: int = 0,
                  max_samples: int = 10_000) -> InterpolatedLatency:
        """Entry and response latency = ``multiplier`` x the feed latency of ``events``, clamped at ``min_ns``."""
        ts, lat = feed_latency_samples(events, max_samples=max_samples)
        lat = np.maximum((lat * multiplier).astype(np.int64), min_ns)
        return cls(ts, lat, lat)

    def __repr__(self) -> str:
        return f"InterpolatedLatency({self._ts.size} samples)"


LatencyModel = ConstantLatency | InterpolatedLatency


def feed_latency_samples(events: np.ndarray, *, max_samples: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """``(ts_local, ts_local - ts_event)`` of records with a venue timestamp, thinned to ``max_samples``.

    Raises :class:`ValidationError` if no record carries a venue timestamp, or if the feed latency is
    negative (the recorder's clock ran behind the venue's: the offset is not a latency).
    """
    if events.dtype != EVENT_DTYPE:
        raise ValidationError(f"expected an EVENT_DTYPE array, got dtype {events.dtype}")
    good = events[((events["flags"] & EventFlag.BAD_TS) == 0) & (events["ts_event"] > 0)]
    if not good.size:
        raise ValidationError("no record carries a venue timestamp: feed latency is unknown")
    step = max(1, good.size // max_samples)
    good = good[::step]
    lat = good["ts_local"] - good["ts_event"]
    if (lat < 0).mean() > 0.5:
        raise ValidationError(
            f"median feed latency is negative ({int(np.median(lat))} ns): the recorder's clock is offset from "
            "the venue's; use ConstantLatency instead")
    return good["ts_local"].astype(np.int64), np.maximum(lat, 0).astype(np.int64)
