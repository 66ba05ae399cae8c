"""Bars from trades: time bars against pandas resample (bit for bit), threshold bars against a plain loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant.analytics import bars as bt
from shrivenquant.errors import ValidationError

pd = pytest.importorskip("pandas")

T0 = 1_723_161_255_000_000_000  # 2024-08-08 23:54:15 UTC
SEC = 1_000_000_000


def make_trades(seed: int, n: int, span_s: int, dup: bool):
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(T0, T0 + span_s * SEC, n))
    if dup and n > 10:
        ts[3:9] = ts[3]
    price = np.round(61000 + np.cumsum(rng.normal(0, 2, n)), 1)
    qty = np.round(rng.exponential(0.05, n), 3)
    if n > 5:
        qty[rng.integers(0, n)] = 0.0
    return ts, price, qty


def pandas_bars(ts, price, qty, rule: str, origin="start_day"):
    idx = pd.DatetimeIndex(ts.view("datetime64[ns]"))
    p = pd.Series(price, index=idx)
    q = pd.Series(qty, index=idx)
    ohlc = p.resample(rule, origin=origin).ohlc()
    vol = q.resample(rule, origin=origin).sum()
    cnt = q.resample(rule, origin=origin).count()
    vwap = (p * q).resample(rule, origin=origin).sum() / vol
    return ohlc, vol, cnt, vwap


def assert_equal_to_pandas(bars, ref) -> None:
    ohlc, vol, cnt, vwap = ref
    np.testing.assert_array_equal(bars.ts, ohlc.index.asi8)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(bars, name), ohlc[name].to_numpy())
    np.testing.assert_array_equal(bars.volume, vol.to_numpy())  # bit for bit
    np.testing.assert_array_equal(bars.count, cnt.to_numpy())
    np.testing.assert_array_equal(bars.vwap, vwap.to_numpy())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 9, 300, 5000]), st.sampled_from([30, 600, 7200]),
       st.sampled_from([("1s", SEC), ("1min", 60 * SEC), ("7min", 420 * SEC), ("1h", 3600 * SEC)]),
       st.booleans())
def test_time_bars_equal_pandas_resample(seed, n, span, rule, dup):
    ts, price, qty = make_trades(seed, n, span, dup)
    bars = bt.time_bars(ts, price, qty, rule[1])
    assert_equal_to_pandas(bars, pandas_bars(ts, price, qty, rule[0]))
    dropped = bt.time_bars(ts, price, qty, rule[1], empty="drop")
    keep = bars.count > 0
    for name, col in dropped.columns().items():
        np.testing.assert_array_equal(col, getattr(bars, name)[keep])
    epoch = bt.time_bars(ts, price, qty, rule[1], origin="epoch")
    assert_equal_to_pandas(epoch, pandas_bars(ts, price, qty, rule[0], origin="epoch"))


def test_time_bars_inputs():
    ts, price, qty = make_trades(1, 50, 100, False)
    with pytest.raises(ValidationError, match="non-decreasing"):
        bt.time_bars(ts[::-1], price, qty, SEC)
    with pytest.raises(ValidationError):
        bt.time_bars(ts, price, qty, 0)
    bad = price.copy()
    bad[3] = np.nan
    with pytest.raises(ValidationError, match="finite"):
        bt.time_bars(ts, bad, qty, SEC)
    with pytest.raises(ValidationError):
        bt.time_bars(ts, price, -qty, SEC)
    assert len(bt.time_bars(ts[:0], price[:0], qty[:0], SEC)) == 0
    dt = bt.time_bars(ts.view("datetime64[ns]"), price, qty, SEC)
    np.testing.assert_array_equal(dt.close, bt.time_bars(ts, price, qty, SEC).close)
    table = bt.time_bars(ts, price, qty, SEC).to_arrow()
    assert table.num_rows == len(bt.time_bars(ts, price, qty, SEC)) and "vwap" in table.column_names
    assert table.schema.field("ts").type.tz == "UTC"
    frame = bt.time_bars(ts, price, qty, SEC).to_pandas()  # the lazy pandas convenience
    np.testing.assert_array_equal(frame["close"].to_numpy(), bt.time_bars(ts, price, qty, SEC).close)
    assert str(frame["ts"].dt.tz) == "UTC"


def reference_threshold_bars(ts, price, qty, mode: str, threshold: float, partial: bool):
    """Close-at-threshold-and-reset, written plainly."""
    out = []
    cur: list[int] = []
    acc = 0.0
    for k in range(len(ts)):
        cur.append(k)
        acc += {"tick": 1.0, "volume": qty[k], "dollar": price[k] * qty[k]}[mode]
        if acc >= threshold or (partial and k == len(ts) - 1):
            p = price[cur]
            vol = 0.0
            dol = 0.0
            for i in cur:
                vol += qty[i]
                dol += price[i] * qty[i]
            out.append((ts[cur[0]], ts[cur[-1]], p[0], p.max(), p.min(), p[-1], vol, dol, len(cur), cur[0]))
            cur = []
            acc = 0.0
    return out


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 7, 500, 3000]), st.booleans())
def test_threshold_bars_close_and_reset(seed, n, partial):
    ts, price, qty = make_trades(seed, n, 3600, True)
    total = float(qty.sum())
    for mode, fn, thr in (("tick", bt.tick_bars, 50), ("volume", bt.volume_bars, max(total / 13, 1e-3)),
                          ("dollar", bt.dollar_bars, max(total * 61000 / 9, 1.0))):
        bars = fn(ts, price, qty, thr, include_partial=partial)
        ref = reference_threshold_bars(ts, price, qty, mode, thr, partial)
        assert len(bars) == len(ref)
        for i, r in enumerate(ref):
            got = (bars.ts_open[i], bars.ts_close[i], bars.open[i], bars.high[i], bars.low[i], bars.close[i],
                   bars.volume[i], bars.dollar[i], bars.count[i], bars.first[i])
            assert got == r
        with np.errstate(invalid="ignore"):
            assert np.array_equal(bars.vwap, bars.dollar / bars.volume, equal_nan=True)


def test_cumsum_shortcut_differs_after_the_first_bar():
    ts, price, qty = make_trades(5, 20_000, 3600, False)
    v = float(qty.sum()) / 97
    bars = bt.volume_bars(ts, price, qty, v)
    # the vectorised shortcut (the crossing trade kept in its bar): overshoot is carried into the next bar
    labels = ((np.cumsum(qty) - qty) // v).astype(np.int64)
    shortcut_ends = np.flatnonzero(np.diff(labels) != 0)
    ours_ends = bars.first[1:] - 1
    assert ours_ends[0] == shortcut_ends[0]
    assert not np.array_equal(ours_ends[: len(shortcut_ends)][:20], shortcut_ends[:20])
    assert (bars.volume >= v).all()


def test_real_binance_trades_time_bars(shared_data):
    path = shared_data / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
    if not path.exists():
        pytest.skip("recording not found")
    from shrivenquant.venues.binance.recording import decode_file

    events, _ = decode_file(path)
    trades = bt.trades_from_events(events, price_precision=2, size_precision=3)
    assert len(trades) == 21_313
    assert set(np.unique(trades.side)) <= {1, 2}
    for rule, ns in (("1s", SEC), ("1min", 60 * SEC)):
        bars = bt.time_bars(trades.ts, trades.price, trades.qty, ns)
        assert_equal_to_pandas(bars, pandas_bars(trades.ts, trades.price, trades.qty, rule))
    vb = bt.volume_bars(trades.ts, trades.price, trades.qty, 25.0)
    assert len(vb) == len(reference_threshold_bars(trades.ts, trades.price, trades.qty, "volume", 25.0, False))
    with pytest.raises(ValidationError):
        bt.trades_from_events(np.zeros(3), price_precision=2, size_precision=3)


def test_bin_sums_follow_numpy_reduceat_order():
    from shrivenquant.analytics.bars import _segment_sum

    rng = np.random.default_rng(4)
    st, left = np.empty((64, 3), np.int64), np.empty(64)
    for n in (1, 7, 8, 9, 128, 129, 257, 1000, 4097, 100_003):
        q = rng.exponential(1, n) * rng.choice(np.array([1.0, 1e-8, 1e8]), n)
        p = rng.normal(1, 1, n)
        assert _segment_sum(p, q, 0, n, False, st, left) == np.add.reduceat(q, [0])[0]
        assert _segment_sum(p, q, 0, n, True, st, left) == np.add.reduceat(p * q, [0])[0]
