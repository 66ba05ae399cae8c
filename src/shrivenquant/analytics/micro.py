"""Market-microstructure measures: VWAP/TWAP over windows, volume profile, order-flow imbalance, VPIN with
bulk volume classification, realized volatility from trades and Parkinson / Garman–Klass from bars.

Every rule behind a number is a parameter (window, sampling grid, value-area fraction, bucket size,
classifier, sigma window); definitions and papers in ``docs/analytics.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from shrivenquant.analytics._metric_kernels import norm_cdf
from shrivenquant.analytics._tables import Columns
from shrivenquant.analytics.bars import NS_PER_DAY, Origin, _origin, check_trades
from shrivenquant.core.events import EVENT_DTYPE, EventFlag, EventKind
from shrivenquant.errors import ValidationError

__all__ = [
    "VPIN",
    "BinSums",
    "Quotes",
    "RealizedVol",
    "VolumeProfile",
    "bin_sum",
    "bvc_buy_volume",
    "garman_klass",
    "ofi",
    "parkinson",
    "quotes_from_events",
    "realized_volatility",
    "rolling_twap",
    "rolling_vwap",
    "volume_profile",
    "vpin",
]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValidationError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------------ VWAP / TWAP
@njit(**_JIT)
def _rolling_vwap_kernel(ts: np.ndarray, p: np.ndarray, q: np.ndarray, w: int, out: np.ndarray) -> None:
    """Two pointers; Neumaier-compensated running sums so removals do not drift."""
    sq = 0.0
    cq = 0.0
    spq = 0.0
    cpq = 0.0
    lo = 0
    for k in range(ts.shape[0]):
        v = q[k]
        t = sq + v
        cq += (sq - t) + v if abs(sq) >= abs(v) else (v - t) + sq
        sq = t
        v = p[k] * q[k]
        t = spq + v
        cpq += (spq - t) + v if abs(spq) >= abs(v) else (v - t) + spq
        spq = t
        while ts[lo] <= ts[k] - w:
            v = -q[lo]
            t = sq + v
            cq += (sq - t) + v if abs(sq) >= abs(v) else (v - t) + sq
            sq = t
            v = -(p[lo] * q[lo])
            t = spq + v
            cpq += (spq - t) + v if abs(spq) >= abs(v) else (v - t) + spq
            spq = t
            lo += 1
        out[k] = (spq + cpq) / (sq + cq)


def rolling_vwap(ts: Any, price: Any, qty: Any, window_ns: int) -> np.ndarray:
    """At each trade, the VWAP ``sum(p q) / sum(q)`` of the trades in the time window ``(t - window, t]``
    (NaN if their size is 0)."""
    t, p, q = check_trades(ts, price, qty)
    w = _positive_int(window_ns, "window_ns")
    out = np.empty(t.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        _rolling_vwap_kernel(t, p, q, w, out)
    return out


@njit(**_JIT)
def _rolling_twap_kernel(ts: np.ndarray, p: np.ndarray, w: int, out: np.ndarray) -> None:
    """Integral of the previous-tick price path over ``[max(t - w, t0), t]`` by two pointers over
    segments: each segment [ts[i], ts[i+1]) carries price p[i]; the earliest is clipped at the window."""
    n = ts.shape[0]
    if n == 0:
        return
    ref = p[0]
    area = 0.0  # integral of (price - ref) over the full segments from ts[lo] to ts[k]
    lo = 0
    for k in range(n):
        if k > 0:
            area += (p[k - 1] - ref) * float(ts[k] - ts[k - 1])
        start = ts[k] - w
        while lo < k and ts[lo + 1] <= start:
            area -= (p[lo] - ref) * float(ts[lo + 1] - ts[lo])
            lo += 1
        # the segment starting at ts[lo] may begin before the window: clip it
        clip = start - ts[lo] if start > ts[lo] else 0
        a = area - (p[lo] - ref) * float(clip)
        span = ts[k] - (start if start > ts[0] else ts[0])
        out[k] = p[k] if span <= 0 else ref + a / float(span)


def rolling_twap(ts: Any, price: Any, window_ns: int) -> np.ndarray:
    """At each trade, the time-weighted average of the previous-tick price path over ``[t - window, t]``
    (clipped at the first trade; a zero-length span gives the trade's price). The price between two
    trades is the earlier one's; the trade at ``t`` itself has zero weight."""
    p0 = np.asarray(price, dtype=np.float64)
    t, p, _ = check_trades(ts, p0, np.zeros_like(p0))
    w = _positive_int(window_ns, "window_ns")
    out = np.empty(t.shape[0])
    _rolling_twap_kernel(t, p, w, out)
    return out


# --------------------------------------------------------------------------------- volume profile
class VolumeProfile(Columns, frozen=True):
    """Volume per price bin (``price`` is each bin's lower edge, ``volume`` its size) with the point of
    control and the value area: ``poc`` is the lower edge of the bin with the most volume (the lowest
    such bin if tied), ``value_area_low`` / ``value_area_high`` the lower / upper edges of the value area
    (it holds ``value_area_volume`` >= ``fraction`` of ``total_volume``)."""

    price: np.ndarray
    volume: np.ndarray
    poc: float = math.nan
    value_area_low: float = math.nan
    value_area_high: float = math.nan
    value_area_volume: float = 0.0
    total_volume: float = 0.0
    fraction: float = 0.7

    def columns(self) -> dict[str, np.ndarray]:
        return {"price": self.price, "volume": self.volume}


@njit(**_JIT)
def _value_area(vol: np.ndarray, poc: int, target: float) -> tuple:
    """Grow from the POC one bin at a time towards the side whose next bin has more volume (ties go up),
    until the area holds >= target."""
    lo = poc
    hi = poc
    acc = vol[poc]
    nb = vol.shape[0]
    while acc < target and (lo > 0 or hi < nb - 1):
        up = vol[hi + 1] if hi < nb - 1 else -1.0
        dn = vol[lo - 1] if lo > 0 else -1.0
        if up >= dn:
            hi += 1
            acc += up
        else:
            lo -= 1
            acc += dn
    return lo, hi, acc


def volume_profile(price: Any, qty: Any, bin_size: float, *, value_area: float = 0.70) -> VolumeProfile:
    """Volume per price bin of width ``bin_size`` (``floor(price / bin_size)``, a price within 1e-9 bins of
    an edge counting as on it), the point of control and the value area (default 70 % of volume, grown
    one bin at a time from the POC towards the larger neighbour, ties upwards)."""
    p = np.ascontiguousarray(price, dtype=np.float64)
    q = np.ascontiguousarray(qty, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise ValidationError(f"price and qty must be 1-D of one length, got {p.shape} and {q.shape}")
    bs = float(bin_size)
    if not (bs > 0 and math.isfinite(bs)):
        raise ValidationError(f"bin_size must be positive, got {bin_size!r}")
    if not 0 < value_area <= 1:
        raise ValidationError(f"value_area must be in (0, 1], got {value_area!r}")
    if not (np.isfinite(p).all() and np.isfinite(q).all() and (q >= 0).all()):
        raise ValidationError("prices must be finite and sizes finite and >= 0")
    if p.shape[0] == 0:
        return VolumeProfile(np.empty(0), np.empty(0), fraction=value_area)
    k = p / bs
    kr = np.round(k)
    k = np.where(np.abs(k - kr) <= 1e-9 * np.maximum(1.0, np.abs(k)), kr, np.floor(k)).astype(np.int64)
    k0 = int(k.min())
    vol = np.bincount(k - k0, weights=q)
    poc = int(np.argmax(vol))
    total = float(vol.sum())
    lo, hi, acc = _value_area(vol, poc, value_area * total)
    idx = k0 + np.arange(vol.shape[0] + 1)
    inv = 1.0 / bs
    # k / 10 is the nearest double to 100.1 where k * 0.1 is not: divide when 1 / bin_size is an integer
    edges_all = idx / round(inv) if abs(inv - round(inv)) <= 1e-9 * inv else idx * bs
    edges = edges_all[:-1]
    return VolumeProfile(edges, vol, float(edges[poc]), float(edges[lo]), float(edges_all[hi + 1]), float(acc),
                         total, float(value_area))


# ------------------------------------------------------------------------------------------- OFI
class Quotes(Columns, frozen=True):
    """Best bid / ask states (one row per top-of-book update): ``ts`` ns, prices and sizes as floats."""

    ts: np.ndarray
    bid: np.ndarray
    bid_qty: np.ndarray
    ask: np.ndarray
    ask_qty: np.ndarray


def quotes_from_events(records: np.ndarray, *, price_precision: int, size_precision: int,
                       instrument_id: int | None = None, use_local_time: bool = False) -> Quotes:
    """Top-of-book states from ``BBO`` records (a bid record then an ask record per update, the ask
    flagged ``LAST``, as the Binance ``bookTicker`` decoder writes them): one row per complete pair."""
    if not isinstance(records, np.ndarray) or records.dtype != EVENT_DTYPE:
        raise ValidationError("records must be an EVENT_DTYPE array (shrivenquant.core.EVENT_DTYPE)")
    mask = records["kind"] == int(EventKind.BBO)
    if instrument_id is not None:
        mask &= records["instrument_id"] == instrument_id
    sel = records[mask]
    ask_idx = np.flatnonzero((sel["side"] == 2) & ((sel["flags"] & int(EventFlag.LAST)) != 0))
    ask_idx = ask_idx[ask_idx > 0]
    bid_idx = ask_idx - 1
    ok = sel["side"][bid_idx] == 1
    ask_idx, bid_idx = ask_idx[ok], bid_idx[ok]
    ps, qs = 10.0**price_precision, 10.0**size_precision
    a, b = sel[ask_idx], sel[bid_idx]
    ts = a["ts_local" if use_local_time else "ts_event"].astype(np.int64)
    return Quotes(ts, b["price"] / ps, b["qty"] / qs, a["price"] / ps, a["qty"] / qs)


@njit(**_JIT)
def _ofi_kernel(bp: np.ndarray, bq: np.ndarray, ap: np.ndarray, aq: np.ndarray, out: np.ndarray) -> None:
    if bp.shape[0] == 0:
        return
    out[0] = 0.0
    for n in range(1, bp.shape[0]):
        e = 0.0
        if bp[n] >= bp[n - 1]:
            e += bq[n]
        if bp[n] <= bp[n - 1]:
            e -= bq[n - 1]
        if ap[n] <= ap[n - 1]:
            e -= aq[n]
        if ap[n] >= ap[n - 1]:
            e += aq[n - 1]
        out[n] = e


def ofi(bid: Any, bid_qty: Any, ask: Any, ask_qty: Any) -> np.ndarray:
    """Cont–Kukanov–Stoikov (2014) order-flow imbalance of each best-quote update n-1 -> n:
    ``e_n = 1{Pb_n >= Pb_n-1} qb_n - 1{Pb_n <= Pb_n-1} qb_n-1 - 1{Pa_n <= Pa_n-1} qa_n
    + 1{Pa_n >= Pa_n-1} qa_n-1`` (``e_0 = 0``). OFI over an interval is the sum (see :func:`bin_sum`)."""
    arrs = [np.ascontiguousarray(a, dtype=np.float64) for a in (bid, bid_qty, ask, ask_qty)]
    if len({a.shape for a in arrs}) != 1 or arrs[0].ndim != 1:
        raise ValidationError("bid, bid_qty, ask, ask_qty must be 1-D of one length")
    out = np.empty(arrs[0].shape[0])
    _ofi_kernel(*arrs, out)
    return out


class BinSums(Columns, frozen=True):
    """Sums per time bin: ``ts`` the bin's left edge, ``value`` the sum, ``count`` the number of items."""

    ts: np.ndarray
    value: np.ndarray
    count: np.ndarray


def bin_sum(ts: Any, values: Any, interval_ns: int, *, origin: Origin = "start_day") -> BinSums:
    """Sum ``values`` per left-closed time bin of ``interval_ns`` (every bin from the first item's to the
    last's, empty ones 0), e.g. OFI per second or minute."""
    v = np.ascontiguousarray(values, dtype=np.float64)
    t, _, _ = check_trades(ts, np.zeros_like(v), np.zeros_like(v))
    if not np.isfinite(v).all():
        raise ValidationError("values must be finite")
    w = _positive_int(interval_ns, "interval_ns")
    if t.shape[0] == 0:
        return BinSums(np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64))
    org = _origin(t, origin)
    b = (t - org) // w
    b0 = int(b[0])
    idx = b - b0
    nb = int(idx[-1]) + 1
    return BinSums(org + (b0 + np.arange(nb, dtype=np.int64)) * w, np.bincount(idx, weights=v, minlength=nb),
                   np.bincount(idx, minlength=nb).astype(np.int64))


# ------------------------------------------------------------------------------------- VPIN / BVC
@njit(**_JIT)
def _bvc_kernel(close: np.ndarray, volume: np.ndarray, sigma_window: int, out: np.ndarray) -> None:
    n = close.shape[0]
    if n == 0:
        return
    out[0] = np.nan
    if sigma_window == 0:  # one sigma over the sample: std (ddof=1) of the price changes
        s = 0.0
        for i in range(1, n):
            s += close[i] - close[i - 1]
        m = s / (n - 1)
        ss = 0.0
        for i in range(1, n):
            d = (close[i] - close[i - 1]) - m
            ss += d * d
        sig = math.sqrt(ss / (n - 2)) if n > 2 else np.nan
        for i in range(1, n):
            out[i] = volume[i] * norm_cdf((close[i] - close[i - 1]) / sig)
        return
    for i in range(1, n):  # trailing window of changes ending at bar i (two-pass per window, w is small)
        lo = max(1, i - sigma_window + 1)
        k = i - lo + 1
        if k < 2:
            out[i] = np.nan
            continue
        s = 0.0
        for j in range(lo, i + 1):
            s += close[j] - close[j - 1]
        m = s / k
        ss = 0.0
        for j in range(lo, i + 1):
            d = (close[j] - close[j - 1]) - m
            ss += d * d
        out[i] = volume[i] * norm_cdf((close[i] - close[i - 1]) / math.sqrt(ss / (k - 1)))


def bvc_buy_volume(close: Any, volume: Any, *, sigma_window: int | None = None) -> np.ndarray:
    """Bulk volume classification (Easley, López de Prado, O'Hara 2016): the buy volume of bar i is
    ``V_i * Phi(dP_i / sigma)``, ``dP_i = close_i - close_i-1``, ``sigma`` the std (ddof=1) of the price
    changes over the whole sample (default) or over the trailing ``sigma_window`` changes. Bar 0 (no
    change) is NaN, as is a bar whose sigma is undefined."""
    c = np.ascontiguousarray(close, dtype=np.float64)
    v = np.ascontiguousarray(volume, dtype=np.float64)
    if c.shape != v.shape or c.ndim != 1:
        raise ValidationError("close and volume must be 1-D of one length")
    if not (np.isfinite(c).all() and np.isfinite(v).all()):
        raise ValidationError("close and volume must be finite (drop empty bars first)")
    w = 0 if sigma_window is None else _positive_int(sigma_window, "sigma_window")
    out = np.empty(c.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        _bvc_kernel(c, v, w, out)
    return out


class VPIN(Columns, frozen=True):
    """Equal-volume buckets and VPIN: ``ts`` is the time of the bar/trade that completed each bucket,
    ``buy`` / ``sell`` its classified volumes, ``vpin`` the mean ``|buy - sell| / bucket_volume`` over the
    last ``n_buckets`` buckets (NaN before ``n_buckets`` are complete)."""

    ts: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    vpin: np.ndarray


@njit(**_JIT)
def _bucket_kernel(ts: np.ndarray, vol: np.ndarray, buy: np.ndarray, size: float, out_ts: np.ndarray,  # noqa: PLR0917
                   out_b: np.ndarray, out_s: np.ndarray) -> int:
    """Pour each unit's volume into buckets of ``size``, splitting a unit across a boundary in proportion
    (its buy share kept); returns the number of completed buckets."""
    nb = 0
    room = size
    b = 0.0
    s = 0.0
    for i in range(vol.shape[0]):
        v = vol[i]
        if v <= 0.0 or math.isnan(buy[i]):
            continue
        share = buy[i] / v
        while v > 0.0:
            take = v if v < room else room
            b += take * share
            s += take * (1.0 - share)
            v -= take
            room -= take
            if room <= size * 1e-12:
                out_ts[nb] = ts[i]
                out_b[nb] = b
                out_s[nb] = s
                nb += 1
                room = size
                b = 0.0
                s = 0.0
    return nb


def vpin(ts: Any, volume: Any, buy_volume: Any, bucket_volume: float, *, n_buckets: int = 50) -> VPIN:
    """VPIN (Easley, López de Prado, O'Hara 2012): fill equal-volume buckets of ``bucket_volume`` from
    units (time bars, or trades) in order, splitting a unit across a bucket boundary in proportion; then
    ``VPIN_tau = sum over the last n buckets of |V_buy - V_sell| / (n * bucket_volume)``.

    ``buy_volume`` comes from a classifier: :func:`bvc_buy_volume` on time bars, or the exact aggressor
    side of trades (``qty * (side == 1)``). Units with NaN buy volume (e.g. BVC's first bar) are skipped.
    """
    v = np.ascontiguousarray(volume, dtype=np.float64)
    b = np.ascontiguousarray(buy_volume, dtype=np.float64)
    t = np.ascontiguousarray(ts).astype(np.int64, copy=False)
    if not (t.shape == v.shape == b.shape) or v.ndim != 1:
        raise ValidationError("ts, volume and buy_volume must be 1-D of one length")
    size = float(bucket_volume)
    if not (size > 0 and math.isfinite(size)):
        raise ValidationError(f"bucket_volume must be positive, got {bucket_volume!r}")
    n = _positive_int(n_buckets, "n_buckets")
    ok = ~np.isnan(b)
    if (v[ok] < 0).any() or (b[ok] < -1e-12 * np.maximum(v[ok], 1)).any() or (b[ok] > v[ok] * (1 + 1e-12)).any():
        raise ValidationError("volumes must be >= 0 and buy volumes within [0, volume]")
    cap = int(v[ok].sum() / size) + 2
    out_ts = np.empty(cap, np.int64)
    out_b = np.empty(cap)
    out_s = np.empty(cap)
    nb = _bucket_kernel(t, v, b, size, out_ts, out_b, out_s)
    bb, ss = out_b[:nb], out_s[:nb]
    imb = np.abs(bb - ss)
    c = np.concatenate([[0.0], np.cumsum(imb)])
    vp = np.full(nb, np.nan)
    if nb >= n:
        vp[n - 1:] = (c[n:] - c[:-n]) / (n * size)
    return VPIN(out_ts[:nb].copy(), bb.copy(), ss.copy(), vp)


# ------------------------------------------------------------------------------ realized volatility
class RealizedVol(Columns, frozen=True):
    """Realized variance and volatility per window: ``ts`` the window's left edge, ``variance`` the sum
    of squared log returns, ``volatility`` its square root (annualised if asked), ``n`` the returns."""

    ts: np.ndarray
    variance: np.ndarray
    volatility: np.ndarray
    n: np.ndarray


@njit(**_JIT)
def _rv_kernel(ts: np.ndarray, p: np.ndarray, origin: int, step: int, window: int, w0: int,  # noqa: PLR0917
               var: np.ndarray, cnt: np.ndarray) -> None:
    """Previous-tick prices on the grid ``origin + k * step`` from the first grid point at or after the
    first trade to the first at or after the last; the return over (g_k-1, g_k] goes to the window
    holding g_k-1."""
    n = ts.shape[0]
    k0 = -((origin - ts[0]) // step)  # ceil((ts0 - origin) / step)
    k1 = -((origin - ts[n - 1]) // step)
    i = 0
    prev = 0.0
    for kk in range(k0, k1 + 1):
        g = origin + kk * step
        while i + 1 < n and ts[i + 1] <= g:
            i += 1
        cur = p[i]
        if kk > k0:
            r = math.log(cur / prev)
            wi = (g - step - origin) // window - w0
            var[wi] += r * r
            cnt[wi] += 1
        prev = cur


def realized_volatility(ts: Any, price: Any, sample_ns: int, *, window_ns: int = NS_PER_DAY,
                        origin: Origin = "start_day", periods_per_year: float | None = None) -> RealizedVol:
    """Realized variance ``RV = sum r_k^2`` of log returns of the previous-tick price sampled every
    ``sample_ns`` on a calendar grid (Andersen, Bollerslev, Diebold, Labys 2003; 5 minutes is the usual
    choice, Liu, Patton, Sheppard 2015), per window of ``window_ns`` (a day by default). The grid runs
    from the first point at or after the first trade to the first at or after the last; the price at a
    point is the last trade's at or before it; a return belongs to the window holding its start.
    ``periods_per_year`` (windows per year, e.g. 365 for daily crypto windows) annualises the volatility
    by its square root."""
    p0 = np.asarray(price, dtype=np.float64)
    t, p, _ = check_trades(ts, p0, np.zeros_like(p0))
    if (p <= 0).any():
        raise ValidationError("prices must be > 0 for log returns")
    step = _positive_int(sample_ns, "sample_ns")
    window = _positive_int(window_ns, "window_ns")
    if window % step:
        raise ValidationError("window_ns must be a multiple of sample_ns")
    if t.shape[0] == 0:
        z = np.empty(0)
        return RealizedVol(np.empty(0, np.int64), z, z.copy(), np.empty(0, np.int64))
    org = _origin(t, origin)
    w0 = (int(t[0]) - org) // window
    nw = (int(t[-1]) + step - org) // window - w0 + 2
    var = np.zeros(nw)
    cnt = np.zeros(nw, np.int64)
    _rv_kernel(t, p, org, step, window, w0, var, cnt)
    keep = np.flatnonzero(cnt > 0)
    var, cnt = var[: keep[-1] + 1] if keep.size else var[:0], cnt[: keep[-1] + 1] if keep.size else cnt[:0]
    vol = np.sqrt(var)
    if periods_per_year is not None:
        vol = vol * math.sqrt(float(periods_per_year))
    start = org + (w0 + np.arange(var.shape[0], dtype=np.int64)) * window
    return RealizedVol(start, var, vol, cnt)


# ------------------------------------------------------------------------- range-based estimators
def _range_inputs(*cols: Any) -> list[np.ndarray]:
    arrs = [np.ascontiguousarray(c, dtype=np.float64) for c in cols]
    if len({a.shape for a in arrs}) != 1 or arrs[0].ndim != 1:
        raise ValidationError("bar columns must be 1-D of one length")
    for a in arrs:
        if not (np.isfinite(a).all() and (a > 0).all()):
            raise ValidationError("bar prices must be finite and > 0 (drop empty bars first)")
    return arrs


def _window_mean(x: np.ndarray, window: int | None, periods_per_year: float | None) -> np.ndarray | float:
    if window is None:
        v = float(np.mean(x)) if x.shape[0] else math.nan
        out = math.sqrt(v)
        return out * math.sqrt(periods_per_year) if periods_per_year is not None else out
    w = _positive_int(window, "window")
    c = np.concatenate([[0.0], np.cumsum(x)])
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] >= w:
        out[w - 1:] = np.sqrt(np.maximum((c[w:] - c[:-w]) / w, 0.0))
    return out * math.sqrt(periods_per_year) if periods_per_year is not None else out


def parkinson(high: Any, low: Any, *, window: int | None = None,
              periods_per_year: float | None = None) -> np.ndarray | float:
    """Parkinson (1980) volatility per bar: ``sqrt(mean(ln(H/L)^2) / (4 ln 2))`` over all bars (default) or
    a rolling ``window`` of bars; ``periods_per_year`` (bars per year) annualises."""
    h, lo = _range_inputs(high, low)
    return _window_mean(np.log(h / lo) ** 2 / (4.0 * math.log(2.0)), window, periods_per_year)


def garman_klass(open_: Any, high: Any, low: Any, close: Any, *, window: int | None = None,
                 periods_per_year: float | None = None) -> np.ndarray | float:
    """Garman–Klass (1980) volatility per bar: ``sqrt(mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2))``,
    over all bars or a rolling ``window``; ``periods_per_year`` annualises."""
    o, h, lo, c = _range_inputs(open_, high, low, close)
    x = 0.5 * np.log(h / lo) ** 2 - (2.0 * math.log(2.0) - 1.0) * np.log(c / o) ** 2
    return _window_mean(x, window, periods_per_year)


