"""Benchmark cases of the analytics: point and rolling metrics on a 2,520 x 5,000 panel, 1-minute bars from
10 M trades, and the first-call (JIT) cost, each beside same-run baselines.

Baselines: empyrical-reloaded, pandas and NumPy (when installed) and minimal hand-written Numba kernels
(the floor: the same arithmetic without NaN handling, conventions or edge cases). Goals (issue 7): rolling
252-day Sharpe >= 100x faster than empyrical; Sharpe / Sortino / max drawdown within 1.5x of the minimal
kernel and >= 5x faster than empyrical; 10 M trades into 1-minute bars >= 5x faster than pandas resample.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from shrivenquant.bench.harness import Case, Variant

__all__ = ["analytics_cases"]

T, N = 2520, 5000  # ten years of days x assets
N_EMPYRICAL_ROLL = 100  # empyrical's roll_* loop per asset: timed on 100 assets, per value like the rest
N_TRADES = 10_000_000
MINUTE = 60_000_000_000


@functools.cache
def _panel(n: int = N) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = rng.standard_t(4, (T, n)) * 0.01 + 0.0003
    return np.ascontiguousarray(x)


@functools.cache
def _trades() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    ts = np.sort(rng.integers(1_723_075_200_000_000_000, 1_723_161_600_000_000_000, N_TRADES))  # one day
    price = np.round(61_000 + np.cumsum(rng.normal(0, 0.5, N_TRADES)), 1)
    qty = np.round(rng.exponential(0.05, N_TRADES), 3) + 0.001
    return ts, price, qty


# ------------------------------------------------------------------------- minimal Numba kernels (floor)
def _floors() -> dict[str, Any]:
    from numba import njit

    @njit(cache=True, nogil=True, error_model="numpy")
    def sharpe(x: np.ndarray, ann: float) -> np.ndarray:  # two passes, no NaN handling
        t_n, n = x.shape
        s = np.zeros(n)
        for t in range(t_n):
            for j in range(n):
                s[j] += x[t, j]
        mean = s / t_n
        ss = np.zeros(n)
        for t in range(t_n):
            for j in range(n):
                d = x[t, j] - mean[j]
                ss[j] += d * d
        return mean / np.sqrt(ss / (t_n - 1)) * np.sqrt(ann)

    @njit(cache=True, nogil=True, error_model="numpy")
    def sortino(x: np.ndarray, ann: float) -> np.ndarray:
        t_n, n = x.shape
        s = np.zeros(n)
        s2 = np.zeros(n)
        for t in range(t_n):
            for j in range(n):
                v = x[t, j]
                s[j] += v
                if v < 0.0:
                    s2[j] += v * v
        return (s / t_n * ann) / (np.sqrt(s2 / t_n) * np.sqrt(ann))

    @njit(cache=True, nogil=True, error_model="numpy")
    def mdd(x: np.ndarray) -> np.ndarray:
        t_n, n = x.shape
        w = np.ones(n)
        hi = np.ones(n)
        out = np.zeros(n)
        for t in range(t_n):
            for j in range(n):
                w[j] *= 1.0 + x[t, j]
                hi[j] = max(hi[j], w[j])
                out[j] = min(out[j], w[j] / hi[j] - 1.0)
        return out

    @njit(cache=True, nogil=True, error_model="numpy")
    def rolling_sharpe(x: np.ndarray, win: int, ann: float, out: np.ndarray) -> None:  # plain running sums
        t_n, n = x.shape
        s1 = np.zeros(n)
        s2 = np.zeros(n)
        sq = np.sqrt(ann)
        for t in range(t_n):
            for j in range(n):
                v = x[t, j]
                s1[j] += v
                s2[j] += v * v
                if t >= win:
                    u = x[t - win, j]
                    s1[j] -= u
                    s2[j] -= u * u
                if t >= win - 1:
                    m = s1[j] / win
                    out[t, j] = m / np.sqrt((s2[j] - s1[j] * m) / (win - 1)) * sq
                else:
                    out[t, j] = np.nan

    @njit(cache=True, nogil=True)
    def minute_ohlcv(ts: np.ndarray, p: np.ndarray, q: np.ndarray, origin: int, interval: int,  # noqa: PLR0917
                     out: np.ndarray) -> None:  # one pass, plain sums, no checks
        b0 = (ts[0] - origin) // interval
        cur = -1
        end = ts[0]
        for k in range(ts.shape[0]):
            if ts[k] >= end or cur < 0:
                cur = (ts[k] - origin) // interval - b0
                end = origin + (cur + b0 + 1) * interval
                out[cur, 0] = p[k]
                out[cur, 1] = p[k]
                out[cur, 2] = p[k]
            else:
                out[cur, 1] = max(out[cur, 1], p[k])
                out[cur, 2] = min(out[cur, 2], p[k])
            out[cur, 3] = p[k]
            out[cur, 4] += q[k]
            out[cur, 5] += p[k] * q[k]
            out[cur, 6] += 1.0

    return {"sharpe": sharpe, "sortino": sortino, "mdd": mdd, "rolling_sharpe": rolling_sharpe,
            "minute_ohlcv": minute_ohlcv}


# ------------------------------------------------------------------------------------------ set-ups
def _warm(fn: Any, *args: Any, **kw: Any) -> None:
    """Compile (or load from the Numba cache) before timing."""
    fn(*args, **kw)


def _sq_point() -> dict[str, Any]:
    from shrivenquant import analytics as an

    x = _panel()
    for f in (an.sharpe_ratio, an.sortino_ratio):
        _warm(f, x[:10, :3], periods_per_year=252)
    _warm(an.max_drawdown, x[:10, :3])
    return {"x": x, "an": an}


def _floor_point() -> dict[str, Any]:
    fl = _floors()
    x = _panel()
    for k in ("sharpe", "sortino"):
        _warm(fl[k], x[:10, :3], 252.0)
    _warm(fl["mdd"], x[:10, :3])
    return {"x": x, "fl": fl}


def _empyrical() -> dict[str, Any]:
    import empyrical

    return {"x": _panel(), "ep": empyrical, "xs": _panel(N_EMPYRICAL_ROLL)}


def _np_mdd(x: np.ndarray) -> np.ndarray:
    wealth = np.vstack([np.ones((1, x.shape[1])), np.cumprod(1 + x, axis=0)])
    return (wealth / np.maximum.accumulate(wealth, axis=0) - 1).min(axis=0)


def _numpy() -> dict[str, Any]:
    return {"x": _panel(), "np": np, "np_mdd": _np_mdd}


def _sq_rolling() -> dict[str, Any]:
    from shrivenquant import analytics as an

    x = _panel()
    _warm(an.rolling_sharpe, x[:300, :3], 252, periods_per_year=252)
    return {"x": x, "xs": _panel(N_EMPYRICAL_ROLL), "an": an}


def _floor_rolling() -> dict[str, Any]:
    fl = _floors()
    x = _panel()
    out = np.empty_like(x)
    _warm(fl["rolling_sharpe"], x[:300, :3], 252, 252.0, out[:300, :3])
    return {"x": x, "fl": fl, "out": out}


def _pandas_panel() -> dict[str, Any]:
    import pandas as pd

    return {"df": pd.DataFrame(_panel()), "np": np}


def _sq_bars() -> dict[str, Any]:
    from shrivenquant.analytics import time_bars

    ts, p, q = _trades()
    _warm(time_bars, ts[:1000], p[:1000], q[:1000], MINUTE)
    return {"ts": ts, "p": p, "q": q, "time_bars": time_bars, "M": MINUTE}


def _floor_bars() -> dict[str, Any]:
    fl = _floors()
    ts, p, q = _trades()
    origin = int(ts[0] // 86_400_000_000_000 * 86_400_000_000_000)
    nb = int((ts[-1] - origin) // MINUTE - (ts[0] - origin) // MINUTE + 1)
    out = np.zeros((nb, 7))
    _warm(fl["minute_ohlcv"], ts[:1000], p[:1000], q[:1000], origin, MINUTE, np.zeros((nb, 7)))
    return {"ts": ts, "p": p, "q": q, "f": fl["minute_ohlcv"], "origin": origin, "M": MINUTE, "out": out}


def _pandas_bars() -> dict[str, Any]:
    import pandas as pd

    ts, p, q = _trades()
    idx = pd.DatetimeIndex(ts.view("datetime64[ns]"))
    ps, qs = pd.Series(p, index=idx), pd.Series(q, index=idx)
    pq = ps * qs

    def full() -> Any:  # the same columns as time_bars: OHLC, volume, count, VWAP
        ohlc = ps.resample("1min").ohlc()
        vol = qs.resample("1min").sum()
        return ohlc, vol, qs.resample("1min").count(), pq.resample("1min").sum() / vol

    return {"full": full, "ps": ps}


_JIT_PROBE = (
    "import os, tempfile\n{cache}"
    "import numpy as np\n"
    "from shrivenquant.analytics import sharpe_ratio, rolling_sharpe, max_drawdown, time_bars\n"
    "x = np.random.default_rng(0).normal(0, 0.01, (300, 4))\n"
    "sharpe_ratio(x, periods_per_year=252); max_drawdown(x); rolling_sharpe(x, 21, periods_per_year=252)\n"
    "ts = np.arange(1000, dtype=np.int64) * 10**8; time_bars(ts, np.ones(1000), np.ones(1000), 60 * 10**9)"
)


def analytics_cases() -> list[Case]:
    """The analytics benchmark cases (figures per panel value or per trade, CPU time)."""
    vals = T * N
    point = []
    for name, title, sq_stmt, fl_stmt, ep_stmt, np_stmt in (
        ("sharpe", "Sharpe ratio", "an.sharpe_ratio(x, periods_per_year=252)", "fl['sharpe'](x, 252.0)",
         "ep.sharpe_ratio(x)", "np.nanmean(x, axis=0) / np.nanstd(x, axis=0, ddof=1) * np.sqrt(252)"),
        ("sortino", "Sortino ratio", "an.sortino_ratio(x, periods_per_year=252)", "fl['sortino'](x, 252.0)",
         "ep.sortino_ratio(x)", None),
        ("max_drawdown", "Max drawdown", "an.max_drawdown(x)", "fl['mdd'](x)", "ep.max_drawdown(x)",
         "np_mdd(x)"),
    ):
        variants = [
            Variant("shrivenquant (Numba, NaN-aware, empyrical conventions)", sq_stmt, _sq_point, role="target",
                    requires="numba"),
            Variant("minimal hand-written Numba kernel (no NaN handling)", fl_stmt, _floor_point, requires="numba"),
            Variant("empyrical-reloaded", ep_stmt, _empyrical, requires="empyrical"),
        ]
        if np_stmt:
            variants.append(Variant("NumPy", np_stmt, _numpy))
        point.append(Case(f"analytics.{name}_panel", f"{title}, {T} x {N} panel (per value)", tuple(variants),
                          ops_per_stmt=vals, loops=1, unit="ns/value", tags=("analytics",)))
    return [
        *point,
        Case("analytics.rolling_sharpe_panel", f"Rolling 252-period Sharpe, {T} x {N} panel (per value)", (
            Variant("shrivenquant rolling_sharpe (O(T) shifted running sums)",
                    "an.rolling_sharpe(x, 252, periods_per_year=252)", _sq_rolling, role="target",
                    requires="numba"),
            Variant("minimal Numba running sums (unshifted, no NaN handling)",
                    "fl['rolling_sharpe'](x, 252, 252.0, out)", _floor_rolling, requires="numba"),
            Variant("pandas rolling mean / std", "df.rolling(252).mean() / df.rolling(252).std() * np.sqrt(252)",
                    _pandas_panel, requires="pandas"),
        ), ops_per_stmt=vals, loops=1, unit="ns/value", tags=("analytics",)),
        Case("analytics.rolling_sharpe_vs_empyrical",
             f"Rolling 252-period Sharpe, {T} x {N_EMPYRICAL_ROLL} panel (per value; empyrical loops per asset)", (
                 Variant("shrivenquant rolling_sharpe", "an.rolling_sharpe(xs, 252, periods_per_year=252)",
                         _sq_rolling, role="target", requires="numba"),
                 Variant("empyrical roll_sharpe_ratio, one call per asset",
                         "[ep.roll_sharpe_ratio(xs[:, j], 252) for j in range(xs.shape[1])]", _empyrical,
                         requires="empyrical"),
             ), ops_per_stmt=T * N_EMPYRICAL_ROLL, loops=1, unit="ns/value", tags=("analytics",)),
        Case("analytics.time_bars_1min", f"{N_TRADES:,} trades into 1-minute OHLCV + VWAP + count bars (per trade)", (
            Variant("shrivenquant time_bars (checks + pandas-exact sums)", "time_bars(ts, p, q, M)", _sq_bars,
                    role="target", requires="numba"),
            Variant("minimal Numba one-pass kernel (plain sums, no checks)", "f(ts, p, q, origin, M, out)",
                    _floor_bars, requires="numba"),
            Variant("pandas resample: ohlc + sum + count + VWAP (same columns)", "full()", _pandas_bars,
                    requires="pandas"),
            Variant("pandas resample: ohlc only", "ps.resample('1min').ohlc()", _pandas_bars, requires="pandas"),
        ), ops_per_stmt=N_TRADES, loops=1, unit="ns/trade", tags=("analytics",)),
        Case("analytics.first_call", "First call of sharpe, max_drawdown, rolling_sharpe and time_bars in a fresh "
             "interpreter, import included", (
                 Variant("Numba cache warm (cache=True, as shipped)", _JIT_PROBE.format(cache=""), role="target",
                         kind="import", requires="numba"),
                 Variant("Numba cache cold (compile every kernel)",
                         _JIT_PROBE.format(cache="os.environ['NUMBA_CACHE_DIR'] = tempfile.mkdtemp()\n"),
                         kind="import", requires="numba"),
             ), unit="ms", tags=("analytics",)),
    ]
