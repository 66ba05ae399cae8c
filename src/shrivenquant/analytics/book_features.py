"""Order-book features over snapshots: microprice, depth imbalance and depth slope.

A snapshot set is four (T, L) float arrays — bid and ask prices and sizes, level 0 the best — with NaN
where a side has fewer than L levels. :func:`book_snapshots` records them from the project's L2 book
(:class:`shrivenquant.book.OrderBook`) while replaying a decoded Binance recording.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from shrivenquant.analytics._tables import Columns
from shrivenquant.errors import ValidationError

__all__ = ["BookSnapshots", "book_snapshots", "depth_imbalance", "depth_slope", "microprice"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


class BookSnapshots(Columns, frozen=True):
    """(T, L) level arrays (``bid``, ``bid_qty``, ``ask``, ``ask_qty``; NaN beyond a side's depth) and the
    snapshot times ``ts`` (ns)."""

    ts: np.ndarray
    bid: np.ndarray
    bid_qty: np.ndarray
    ask: np.ndarray
    ask_qty: np.ndarray

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` with one list column per level array."""
        import pyarrow as pa

        cols = {"ts": pa.array(self.ts, type=pa.timestamp("ns", tz="UTC"))}
        for name in ("bid", "bid_qty", "ask", "ask_qty"):
            a = getattr(self, name)
            cols[name] = pa.FixedSizeListArray.from_arrays(pa.array(a.ravel()), a.shape[1])
        return pa.table(cols)


def _levels(*arrays: Any) -> list[np.ndarray]:
    out = []
    for a in arrays:
        x = np.ascontiguousarray(a, dtype=np.float64)
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        out.append(x)
    if len({x.shape for x in out}) != 1 or out[0].ndim != 2:
        raise ValidationError(f"level arrays must share one (T, L) shape, got {[x.shape for x in out]}")
    return out


def microprice(bid: Any, bid_qty: Any, ask: Any, ask_qty: Any) -> np.ndarray:
    """Size-weighted mid of the best levels, ``(bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty)``
    (the same definition as ``OrderBook.microprice()``; not Stoikov's 2018 micro-price). Accepts 1-D
    top-of-book arrays or (T, L) snapshots (level 0 used); NaN if a side is empty or both sizes are 0."""
    b, bq, a, aq = _levels(bid, bid_qty, ask, ask_qty)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (b[:, 0] * aq[:, 0] + a[:, 0] * bq[:, 0]) / (bq[:, 0] + aq[:, 0])


def depth_imbalance(bid_qty: Any, ask_qty: Any, levels: int = 1) -> np.ndarray:
    """``(B - A) / (B + A)`` with B, A the bid and ask sizes summed over the first ``levels`` levels (absent
    levels count 0); in [-1, 1], NaN when both are 0."""
    bq, aq = _levels(bid_qty, ask_qty)
    if not 1 <= levels <= bq.shape[1]:
        raise ValidationError(f"levels must be in [1, {bq.shape[1]}], got {levels!r}")
    b = np.nansum(bq[:, :levels], axis=1)
    a = np.nansum(aq[:, :levels], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (b - a) / (b + a)


@njit(**_JIT)
def _slope_kernel(px: np.ndarray, qty: np.ndarray, mid: np.ndarray, out: np.ndarray) -> None:
    t_n, lv = px.shape
    x = np.empty(lv)
    y = np.empty(lv)
    for t in range(t_n):
        m = 0
        cum = 0.0
        for j in range(lv):
            p = px[t, j]
            q = qty[t, j]
            if math.isnan(p) or math.isnan(q):
                break
            cum += q
            x[m] = abs(p - mid[t]) / mid[t] * 1e4
            y[m] = cum
            m += 1
        if m < 2 or math.isnan(mid[t]):
            out[t] = np.nan
            continue
        mx = 0.0
        my = 0.0
        for i in range(m):
            mx += x[i]
            my += y[i]
        mx /= m
        my /= m
        sxy = 0.0
        sxx = 0.0
        for i in range(m):
            sxy += (x[i] - mx) * (y[i] - my)
            sxx += (x[i] - mx) * (x[i] - mx)
        out[t] = sxy / sxx


def depth_slope(bid: Any, bid_qty: Any, ask: Any, ask_qty: Any,
                levels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Depth slope per side (after Næs & Skjeltorp 2006): the OLS slope of the cumulative size up to each
    level on that level's distance from the mid in basis points, over the first ``levels`` levels (all
    by default; at least 2 present, else NaN). Returns (bid slope, ask slope) in size units per bp; a
    larger slope is a deeper, more elastic side."""
    b, bq, a, aq = _levels(bid, bid_qty, ask, ask_qty)
    lv = b.shape[1] if levels is None else int(levels)
    if not 2 <= lv <= b.shape[1]:
        raise ValidationError(f"levels must be in [2, {b.shape[1]}], got {levels!r}")
    mid = (b[:, 0] + a[:, 0]) / 2.0
    out_b = np.empty(b.shape[0])
    out_a = np.empty(b.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        _slope_kernel(np.ascontiguousarray(b[:, :lv]), np.ascontiguousarray(bq[:, :lv]), mid, out_b)
        _slope_kernel(np.ascontiguousarray(a[:, :lv]), np.ascontiguousarray(aq[:, :lv]), mid, out_a)
    return out_b, out_a


def book_snapshots(events: np.ndarray, book: Any, market: str, *, levels: int = 10, every: int = 1,
                   instrument_id: int | None = None) -> BookSnapshots:
    """Replay a decoded Binance recording into ``book`` (``shrivenquant.book.replay_binance``) and record
    its top ``levels`` per side after every ``every``-th depth message applied to the synced book. Prices
    and sizes are scaled to floats by the book's precisions; ``ts`` is the message's ``ts_event``."""
    from shrivenquant.book import replay_binance

    if levels < 1 or every < 1:
        raise ValidationError("levels and every must be >= 1")
    rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    counter = [0]

    def on_update(bk: Any, records: np.ndarray) -> None:
        counter[0] += 1
        if counter[0] % every:
            return
        rows.append((int(records[-1]["ts_event"]), *bk.depth(levels)))

    replay_binance(events, book, market, instrument_id=instrument_id, check_bbo=False, on_update=on_update)
    t_n = len(rows)
    ps, qs = 10.0 ** book.price_precision, 10.0 ** book.size_precision
    arrs = [np.full((t_n, levels), np.nan) for _ in range(4)]
    ts = np.empty(t_n, np.int64)
    for i, (t, bp, bqq, ap, aqq) in enumerate(rows):
        ts[i] = t
        for arr, src, scale in zip(arrs, (bp, bqq, ap, aqq), (ps, qs, ps, qs), strict=True):
            arr[i, : len(src)] = np.asarray(src, dtype=np.float64) / scale
    return BookSnapshots(ts, *arrs)
