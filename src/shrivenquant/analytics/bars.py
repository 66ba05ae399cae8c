"""Bars from trades: time bars (equal to pandas ``resample``) and tick / volume / dollar bars.

Inputs are NumPy arrays — trade timestamps (int64 ns, UTC, non-decreasing), prices and sizes (float64) —
or the project's event records through :func:`trades_from_events`. Outputs are :class:`TimeBars` /
:class:`ThresholdBars` (NumPy columns; ``to_arrow()``, ``to_pandas()``, ``to_polars()``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from numba import njit

from shrivenquant.analytics._tables import Columns
from shrivenquant.core.events import EVENT_DTYPE, EventKind
from shrivenquant.errors import ValidationError

__all__ = [
    "NS_PER_DAY",
    "ThresholdBars",
    "TimeBars",
    "Trades",
    "dollar_bars",
    "tick_bars",
    "time_bars",
    "trades_from_events",
    "volume_bars",
]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
NS_PER_DAY = 86_400_000_000_000
Origin = Literal["start_day", "epoch"] | int


class Trades(Columns, frozen=True):
    """Trades as columns: ``ts`` (ns), ``price``, ``qty`` (float, instrument units), ``side`` (aggressor:
    1 buy, 2 sell, 0 unknown)."""

    ts: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    side: np.ndarray


class TimeBars(Columns, frozen=True):
    """Time bars: ``ts`` is each bar's left edge (bins are left-closed, left-labelled, as pandas). Empty
    bars (kept on request) have NaN open/high/low/close/vwap and 0 volume and count."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vwap: np.ndarray
    count: np.ndarray


class ThresholdBars(Columns, frozen=True):
    """Tick / volume / dollar bars: ``ts_open`` / ``ts_close`` are the first and last trade's times,
    ``first`` the index of the bar's first trade (the bar holds trades ``first .. first + count - 1``)."""

    ts_open: np.ndarray
    ts_close: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    dollar: np.ndarray
    vwap: np.ndarray
    count: np.ndarray
    first: np.ndarray


# ------------------------------------------------------------------------------------------- inputs
def check_trades(ts: Any, price: Any, qty: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate trade arrays: equal lengths, int64 ns timestamps in non-decreasing order, finite prices,
    finite non-negative sizes."""
    t, p, q = _trade_arrays(ts, price, qty)
    _raise_for(*_validate(t, p, q), p, q)
    return t, p, q


def _raise_for(code: int, k: int, p: np.ndarray, q: np.ndarray) -> None:
    if code == 1:
        raise ValidationError(f"trade timestamps must be non-decreasing (trade {k} is earlier than trade {k - 1})")
    if code == 2:
        raise ValidationError(f"trade prices must be finite (trade {k}: {p[k]!r})")
    if code == 3:
        raise ValidationError(f"trade sizes must be finite and >= 0 (trade {k}: {q[k]!r})")


def _trade_arrays(ts: Any, price: Any, qty: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.ascontiguousarray(ts)
    if t.dtype.kind == "M":
        t = t.astype("datetime64[ns]").view(np.int64)
    if t.dtype.kind not in "iu":
        raise ValidationError(f"trade timestamps must be integer ns (or datetime64), got {t.dtype}")
    t = t.astype(np.int64, copy=False)
    p = np.ascontiguousarray(price, dtype=np.float64)
    q = np.ascontiguousarray(qty, dtype=np.float64)
    if not (t.ndim == p.ndim == q.ndim == 1) or not (t.shape == p.shape == q.shape):
        raise ValidationError(f"ts, price and qty must be 1-D of one length, got {t.shape}, {p.shape}, {q.shape}")
    return t, p, q


@njit(**_JIT)
def _validate(t: np.ndarray, p: np.ndarray, q: np.ndarray) -> tuple:
    """One pass, no allocation: (0, -1) if fine, else (1 unsorted | 2 bad price | 3 bad size, index)."""
    for k in range(t.shape[0]):
        if k > 0 and t[k] < t[k - 1]:
            return 1, k
        if not math.isfinite(p[k]):
            return 2, k
        if not (q[k] >= 0.0 and math.isfinite(q[k])):
            return 3, k
    return 0, -1


def trades_from_events(records: np.ndarray, *, price_precision: int, size_precision: int,
                       instrument_id: int | None = None, use_local_time: bool = False) -> Trades:
    """The ``TRADE`` records of an event array as :class:`Trades` (raw ints scaled to floats by the
    instrument's precisions; ``side`` is the aggressor). Records keep their order; ``ts`` is ``ts_event``
    (``ts_local`` with ``use_local_time``)."""
    if not isinstance(records, np.ndarray) or records.dtype != EVENT_DTYPE:
        raise ValidationError("records must be an EVENT_DTYPE array (shrivenquant.core.EVENT_DTYPE)")
    mask = records["kind"] == int(EventKind.TRADE)
    if instrument_id is not None:
        mask &= records["instrument_id"] == instrument_id
    sel = records[mask]
    ts = sel["ts_local" if use_local_time else "ts_event"].astype(np.int64)
    return Trades(ts, sel["price"] / 10.0**price_precision, sel["qty"] / 10.0**size_precision,
                  sel["side"].astype(np.int8))


def _origin(ts: np.ndarray, origin: Origin) -> int:
    if isinstance(origin, bool):
        raise ValidationError(f"origin must be 'start_day', 'epoch' or an int (ns), got {origin!r}")
    if isinstance(origin, int | np.integer):
        return int(origin)
    if origin == "epoch":
        return 0
    if origin == "start_day":
        return int(ts[0] // NS_PER_DAY * NS_PER_DAY) if ts.shape[0] else 0
    raise ValidationError(f"origin must be 'start_day', 'epoch' or an int (ns), got {origin!r}")


# --------------------------------------------------------------------------------------- time bars
@njit(**_JIT)
def _pairwise_leaf(p: np.ndarray, q: np.ndarray, i0: int, n: int, prod: bool) -> float:
    """NumPy's ``pairwise_sum_DOUBLE`` for n <= 128: sequential below 8, else 8 accumulators."""
    if n < 8:
        res = 0.0
        for i in range(i0, i0 + n):
            res += p[i] * q[i] if prod else q[i]
        return res
    if prod:
        r0, r1, r2, r3 = p[i0] * q[i0], p[i0 + 1] * q[i0 + 1], p[i0 + 2] * q[i0 + 2], p[i0 + 3] * q[i0 + 3]
        r4, r5, r6, r7 = p[i0 + 4] * q[i0 + 4], p[i0 + 5] * q[i0 + 5], p[i0 + 6] * q[i0 + 6], p[i0 + 7] * q[i0 + 7]
    else:
        r0, r1, r2, r3 = q[i0], q[i0 + 1], q[i0 + 2], q[i0 + 3]
        r4, r5, r6, r7 = q[i0 + 4], q[i0 + 5], q[i0 + 6], q[i0 + 7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        b = i0 + i
        if prod:
            r0 += p[b] * q[b]
            r1 += p[b + 1] * q[b + 1]
            r2 += p[b + 2] * q[b + 2]
            r3 += p[b + 3] * q[b + 3]
            r4 += p[b + 4] * q[b + 4]
            r5 += p[b + 5] * q[b + 5]
            r6 += p[b + 6] * q[b + 6]
            r7 += p[b + 7] * q[b + 7]
        else:
            r0 += q[b]
            r1 += q[b + 1]
            r2 += q[b + 2]
            r3 += q[b + 3]
            r4 += q[b + 4]
            r5 += q[b + 5]
            r6 += q[b + 6]
            r7 += q[b + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += p[i0 + i] * q[i0 + i] if prod else q[i0 + i]
        i += 1
    return res


@njit(**_JIT)
def _pairwise(p: np.ndarray, q: np.ndarray, i0: int, n: int, prod: bool, st: np.ndarray,  # noqa: PLR0917
              st_left: np.ndarray) -> float:
    """NumPy's pairwise float64 sum (``pairwise_sum_DOUBLE``: blocks of <= 128 with 8 accumulators; above,
    halves rounded to a multiple of 8, left + right) of ``q[i0:i0+n]`` (or of ``p * q`` with ``prod``),
    step for step. The recursion runs on an explicit stack given by the caller (``st``: (64, 3) int64
    rows of start, length, state; ``st_left``: 64 floats), so nothing is allocated per call."""
    if n <= 128:
        return _pairwise_leaf(p, q, i0, n, prod)
    sp = 1
    st[0, 0] = i0
    st[0, 1] = n
    st[0, 2] = 0  # 0: left child pending, 1: right child pending
    while True:
        top = sp - 1
        nn = st[top, 1]
        n2 = nn // 2
        n2 -= n2 % 8
        if st[top, 2] == 0:
            ci, cn = st[top, 0], n2
        else:
            ci, cn = st[top, 0] + n2, nn - n2
        if cn > 128:  # descend
            st[sp, 0] = ci
            st[sp, 1] = cn
            st[sp, 2] = 0
            sp += 1
            continue
        val = _pairwise_leaf(p, q, ci, cn, prod)
        while True:  # deliver val to the frame on top
            top = sp - 1
            if st[top, 2] == 0:
                st_left[top] = val
                st[top, 2] = 1
                break
            val = st_left[top] + val
            sp -= 1
            if sp == 0:
                return val


@njit(**_JIT)
def _segment_sum(p: np.ndarray, q: np.ndarray, i0: int, n: int, prod: bool, st: np.ndarray,  # noqa: PLR0917
                 st_left: np.ndarray) -> float:
    """A bin's sum as pandas' resample ``sum`` gives it (= ``np.add.reduceat``): the first value plus the
    pairwise sum of the rest."""
    first = p[i0] * q[i0] if prod else q[i0]
    return first + _pairwise(p, q, i0 + 1, n - 1, prod, st, st_left)


@njit(**_JIT)
def time_bars_kernel(ts: np.ndarray, price: np.ndarray, qty: np.ndarray, origin: int, interval: int,  # noqa: PLR0917
                     b0: int, nb: int, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
                     vol: np.ndarray, pq: np.ndarray, cnt: np.ndarray) -> tuple:
    """One pass that also checks the trades (returns ``_validate``'s code); a bin index is computed (one
    integer division) only when a trade leaves the current bar. A bar's trades are contiguous, so its sums
    are taken over that slice when the bar closes."""
    for i in range(nb):
        o[i] = np.nan
        h[i] = np.nan
        lo[i] = np.nan
        c[i] = np.nan
        vol[i] = 0.0
        pq[i] = 0.0
        cnt[i] = 0
    n = ts.shape[0]
    if n == 0:
        return 0, -1
    st = np.empty((64, 3), np.int64)  # the pairwise sums' stack, allocated once per call
    st_left = np.empty(64)
    cur = (ts[0] - origin) // interval - b0
    end = origin + (cur + b0 + 1) * interval
    start = 0
    o[cur] = price[0]
    h[cur] = price[0]
    lo[cur] = price[0]
    for k in range(n):  # the checks of _validate, fused into the pass
        t = ts[k]
        p = price[k]
        if k > 0 and t < ts[k - 1]:
            return 1, k
        if not math.isfinite(p):
            return 2, k
        if not (qty[k] >= 0.0 and math.isfinite(qty[k])):
            return 3, k
        if t >= end:
            m = k - start
            vol[cur] = _segment_sum(price, qty, start, m, False, st, st_left)
            pq[cur] = _segment_sum(price, qty, start, m, True, st, st_left)
            cnt[cur] = m
            cur = (t - origin) // interval - b0
            if cur >= nb:  # beyond the last trade's bar: a later trade must be earlier
                for kk in range(k + 1, n):
                    if ts[kk] < ts[kk - 1]:
                        return 1, kk
                return 1, n - 1
            end = origin + (cur + b0 + 1) * interval
            start = k
            o[cur] = p
            h[cur] = p
            lo[cur] = p
        else:
            h[cur] = max(h[cur], p)
            lo[cur] = min(lo[cur], p)
        c[cur] = p
    m = n - start
    vol[cur] = _segment_sum(price, qty, start, m, False, st, st_left)
    pq[cur] = _segment_sum(price, qty, start, m, True, st, st_left)
    cnt[cur] = m
    return 0, -1


def time_bars(ts: Any, price: Any, qty: Any, interval_ns: int, *, origin: Origin = "start_day",
              empty: Literal["keep", "drop"] = "keep") -> TimeBars:
    """OHLCV bars of ``interval_ns`` from trades, equal to pandas'
    ``resample(interval, origin=...)`` — ``.ohlc()`` on price, ``.sum()`` on size (summed in pandas' order:
    first value plus NumPy's pairwise sum of the rest), ``.count()``, VWAP = ``sum(price * size) /
    sum(size)`` — bit for bit.

    ``origin``: ``"start_day"`` (pandas' default: midnight UTC of the first trade's day), ``"epoch"`` or an
    int ns. ``empty="keep"`` returns every interval from the first trade's to the last's (as pandas);
    ``"drop"`` only those with trades.
    """
    t, p, q = _trade_arrays(ts, price, qty)
    interval = int(interval_ns)
    if interval <= 0:
        raise ValidationError(f"interval_ns must be positive, got {interval_ns!r}")
    if empty not in ("keep", "drop"):
        raise ValidationError(f"empty must be 'keep' or 'drop', got {empty!r}")
    org = _origin(t, origin)
    if t.shape[0] == 0:
        z = np.empty(0)
        return TimeBars(np.empty(0, np.int64), z, z.copy(), z.copy(), z.copy(), z.copy(), z.copy(),
                        np.empty(0, np.int64))
    b0 = (int(t[0]) - org) // interval
    nb = (int(t[-1]) - org) // interval - b0 + 1
    if nb <= 0:
        _raise_for(*_validate(t, p, q), p, q)
    o, h, lo, c, vol, pq = (np.empty(nb) for _ in range(6))
    cnt = np.empty(nb, np.int64)
    _raise_for(*time_bars_kernel(t, p, q, org, interval, b0, nb, o, h, lo, c, vol, pq, cnt), p, q)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = pq / vol
    start = org + (b0 + np.arange(nb, dtype=np.int64)) * interval
    bars = TimeBars(start, o, h, lo, c, vol, vwap, cnt)
    if empty == "drop":
        keep = cnt > 0
        bars = TimeBars(*(col[keep] for col in bars.columns().values()))
    return bars


# --------------------------------------------------------------------------------- threshold bars
@njit(**_JIT)
def threshold_bars_kernel(ts: np.ndarray, price: np.ndarray, qty: np.ndarray, mode: int, threshold: float,  # noqa: PLR0917
                          partial: bool, out_f: np.ndarray, out_i: np.ndarray) -> int:
    """Close-at-threshold-and-reset: add trades to the bar; the trade that brings its count (mode 0),
    size (1) or notional (2) to >= threshold closes it, overshoot included; the next bar starts at zero.
    Returns the number of bars written (out_f rows: o, h, l, c, vol, dollar, vwap; out_i: ts_open,
    ts_close, count, first)."""
    nbar = 0
    acc = 0.0
    vol = 0.0
    dol = 0.0
    first = 0
    o = h = lo = 0.0
    n = ts.shape[0]
    for k in range(n):
        p = price[k]
        q = qty[k]
        if k == first:
            o = p
            h = p
            lo = p
        else:
            h = max(h, p)
            lo = min(lo, p)
        vol += q
        dol += p * q
        if mode == 0:
            acc += 1.0
        elif mode == 1:
            acc += q
        else:
            acc += p * q
        if acc >= threshold or (partial and k == n - 1):
            out_f[nbar, 0] = o
            out_f[nbar, 1] = h
            out_f[nbar, 2] = lo
            out_f[nbar, 3] = p
            out_f[nbar, 4] = vol
            out_f[nbar, 5] = dol
            out_f[nbar, 6] = dol / vol
            out_i[nbar, 0] = ts[first]
            out_i[nbar, 1] = ts[k]
            out_i[nbar, 2] = k - first + 1
            out_i[nbar, 3] = first
            nbar += 1
            acc = 0.0
            vol = 0.0
            dol = 0.0
            first = k + 1
    return nbar


def _threshold_bars(ts: Any, price: Any, qty: Any, mode: int, threshold: float,  # noqa: PLR0917
                    include_partial: bool) -> ThresholdBars:
    t, p, q = check_trades(ts, price, qty)
    thr = float(threshold)
    if not (thr > 0 and math.isfinite(thr)):
        raise ValidationError(f"threshold must be positive and finite, got {threshold!r}")
    n = t.shape[0]
    out_f = np.empty((n, 7))
    out_i = np.empty((n, 4), np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        nbar = threshold_bars_kernel(t, p, q, mode, thr, bool(include_partial), out_f, out_i)
    f = out_f[:nbar]
    i = out_i[:nbar]
    return ThresholdBars(i[:, 0].copy(), i[:, 1].copy(), *(f[:, c].copy() for c in range(7)), i[:, 2].copy(),
                         i[:, 3].copy())


def tick_bars(ts: Any, price: Any, qty: Any, n_trades: int, *, include_partial: bool = False) -> ThresholdBars:
    """A bar every ``n_trades`` trades (the last, shorter one only with ``include_partial``)."""
    if isinstance(n_trades, bool) or not isinstance(n_trades, int | np.integer) or n_trades < 1:
        raise ValidationError(f"n_trades must be a positive integer, got {n_trades!r}")
    return _threshold_bars(ts, price, qty, 0, float(n_trades), include_partial)


def volume_bars(ts: Any, price: Any, qty: Any, threshold: float, *, include_partial: bool = False) -> ThresholdBars:
    """Close-at-threshold-and-reset volume bars: the trade bringing the bar's size to >= ``threshold``
    closes it (its overshoot stays in it) and the next bar starts from zero — not the ``cumsum // V``
    shortcut, which carries the overshoot over and shifts every later boundary."""
    return _threshold_bars(ts, price, qty, 1, threshold, include_partial)


def dollar_bars(ts: Any, price: Any, qty: Any, threshold: float, *, include_partial: bool = False) -> ThresholdBars:
    """As :func:`volume_bars` on notional ``price * qty`` (quote currency)."""
    return _threshold_bars(ts, price, qty, 2, threshold, include_partial)
