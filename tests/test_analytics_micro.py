"""Microstructure measures, each against a plain reference written here (or scipy / the project's book)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrivenquant.analytics import book_features as bf
from shrivenquant.analytics import micro as mi
from shrivenquant.errors import ValidationError

SEC = 1_000_000_000
T0 = 1_723_161_255_000_000_000
norm = pytest.importorskip("scipy.stats").norm


def trades(seed: int, n: int, span_s: int = 600):
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(T0, T0 + span_s * SEC, n))
    price = np.round(61000 + np.cumsum(rng.normal(0, 2, n)), 1)
    qty = np.round(rng.exponential(0.05, n), 3) + 0.001
    return ts, price, qty


# ----------------------------------------------------------------------------------- VWAP / TWAP
def ref_vwap(ts, p, q, w):
    out = []
    for k in range(len(ts)):
        sel = (ts > ts[k] - w) & (ts <= ts[k])
        out.append((p[sel] * q[sel]).sum() / q[sel].sum())
    return np.array(out)


def ref_twap(ts, p, w):
    out = []
    for k in range(len(ts)):
        start = max(ts[k] - w, ts[0])
        if ts[k] - start <= 0:
            out.append(p[k])
            continue
        area = 0.0
        for i in range(k):  # price p[i] holds on [ts[i], ts[i+1])
            a, b = max(ts[i], start), min(ts[i + 1], ts[k])
            if b > a:
                area += p[i] * (b - a)
        out.append(area / (ts[k] - start))
    return np.array(out)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 50, 400]), st.sampled_from([1, 10, 60]))
def test_rolling_vwap_and_twap(seed, n, wsec):
    ts, p, q = trades(seed, n, 300)
    w = wsec * SEC
    np.testing.assert_allclose(mi.rolling_vwap(ts, p, q, w), ref_vwap(ts, p, q, w), rtol=1e-12)
    np.testing.assert_allclose(mi.rolling_twap(ts, p, w), ref_twap(ts, p, w), rtol=1e-12)


# --------------------------------------------------------------------------------- volume profile
def test_volume_profile_against_plain_reference():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 300))
        ticks = rng.integers(600_000, 600_060, n)
        price = ticks / 10.0  # tick 0.1, float prices that are not exact multiples
        qty = rng.exponential(1.0, n)
        prof = mi.volume_profile(price, qty, 0.1)
        vol: dict[int, float] = {}
        for t, v in zip(ticks, qty, strict=True):
            vol[t] = vol.get(t, 0.0) + v
        lo_t, hi_t = min(vol), max(vol)
        bins = [vol.get(t, 0.0) for t in range(lo_t, hi_t + 1)]
        np.testing.assert_allclose(prof.volume, bins, rtol=1e-12)
        poc = int(np.argmax(bins))
        assert prof.poc == pytest.approx((lo_t + poc) / 10.0)
        a, b, acc, total = poc, poc, bins[poc], sum(bins)
        while acc < 0.7 * total:
            up = bins[b + 1] if b + 1 < len(bins) else -1
            dn = bins[a - 1] if a > 0 else -1
            if up >= dn:
                b += 1
                acc += up
            else:
                a -= 1
                acc += dn
        assert prof.value_area_low == pytest.approx((lo_t + a) / 10.0)
        assert prof.value_area_high == pytest.approx((lo_t + b + 1) / 10.0)
        assert prof.value_area_volume >= 0.7 * prof.total_volume * (1 - 1e-12)
    with pytest.raises(ValidationError):
        mi.volume_profile([1.0], [1.0], 0.0)


# -------------------------------------------------------------------------------------------- OFI
def ref_ofi(bp, bq, ap, aq):
    e = [0.0]
    for n in range(1, len(bp)):
        v = 0.0
        v += bq[n] if bp[n] >= bp[n - 1] else 0.0
        v -= bq[n - 1] if bp[n] <= bp[n - 1] else 0.0
        v -= aq[n] if ap[n] <= ap[n - 1] else 0.0
        v += aq[n - 1] if ap[n] >= ap[n - 1] else 0.0
        e.append(v)
    return np.array(e)


def test_ofi_cont_kukanov_stoikov_cases():
    # bid up: the new bid size counts in full; bid down: the old one leaves; unchanged: the size change
    bp = [100, 101, 100, 100]
    bq = [5, 3, 4, 6]
    ap = [102, 102, 102, 101]
    aq = [7, 7, 7, 2]
    np.testing.assert_array_equal(mi.ofi(bp, bq, ap, aq), [0.0, 3.0, -3.0, 2.0 - 2.0])
    rng = np.random.default_rng(2)
    bp = 100 + np.cumsum(rng.integers(-1, 2, 500))
    ap = bp + rng.integers(1, 3, 500)
    bq, aq = rng.integers(1, 9, 500).astype(float), rng.integers(1, 9, 500).astype(float)
    np.testing.assert_array_equal(mi.ofi(bp, bq, ap, aq), ref_ofi(bp, bq, ap, aq))
    ts = T0 + np.arange(500) * SEC // 7
    sums = mi.bin_sum(ts, mi.ofi(bp, bq, ap, aq), SEC)
    assert sums.value.sum() == pytest.approx(ref_ofi(bp, bq, ap, aq).sum())
    assert sums.count.sum() == 500


# ------------------------------------------------------------------------------------- BVC / VPIN
def ref_vpin(vol, buy, size, n):
    """Buckets filled unit by unit, splitting units at boundaries (ELO 2012), plainly."""
    buckets, b, s, room = [], 0.0, 0.0, size
    for unit, bv in zip(vol, buy, strict=True):
        if math.isnan(bv) or unit <= 0:
            continue
        share = bv / unit
        v = unit
        while v > 0:
            take = min(v, room)
            b += take * share
            s += take * (1 - share)
            v -= take
            room -= take
            if room <= size * 1e-12:
                buckets.append((b, s))
                b, s, room = 0.0, 0.0, size
    imb = [abs(x - y) for x, y in buckets]
    vp = [np.nan] * len(imb)
    for i in range(n - 1, len(imb)):
        vp[i] = sum(imb[i - n + 1: i + 1]) / (n * size)
    return np.array(buckets), np.array(vp)


def test_bvc_and_vpin_against_reference():
    rng = np.random.default_rng(8)
    close = 100 + np.cumsum(rng.normal(0, 0.2, 400))
    vol = rng.exponential(100, 400)
    dp = np.diff(close)
    buy = mi.bvc_buy_volume(close, vol)
    np.testing.assert_allclose(buy[1:], vol[1:] * norm.cdf(dp / dp.std(ddof=1)), rtol=1e-13)
    assert math.isnan(buy[0])
    buy_w = mi.bvc_buy_volume(close, vol, sigma_window=20)
    i = 100
    sig = dp[i - 20: i].std(ddof=1)
    assert buy_w[i] == pytest.approx(vol[i] * norm.cdf(dp[i - 1] / sig), rel=1e-12)
    ts = T0 + np.arange(400) * 60 * SEC
    size = vol[1:].sum() / 50
    res = mi.vpin(ts, vol, buy, size, n_buckets=10)
    ref_b, ref_vp = ref_vpin(vol, buy, size, 10)
    assert len(res) == len(ref_b)
    np.testing.assert_allclose(res.buy, ref_b[:, 0], rtol=1e-12)
    np.testing.assert_allclose(res.sell, ref_b[:, 1], rtol=1e-12)
    np.testing.assert_allclose(res.vpin, ref_vp, rtol=1e-10)
    np.testing.assert_allclose(res.buy + res.sell, size, rtol=1e-9)
    assert ((res.vpin[9:] >= 0) & (res.vpin[9:] <= 1)).all()


def test_vpin_with_exact_aggressor_sides_on_real_trades(shared_data):
    path = shared_data / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
    if not path.exists():
        pytest.skip("recording not found")
    from shrivenquant.analytics.bars import time_bars, trades_from_events
    from shrivenquant.venues.binance.recording import decode_file

    events, _ = decode_file(path)
    tr = trades_from_events(events, price_precision=2, size_precision=3)
    buy = tr.qty * (tr.side == 1)
    size = float(tr.qty.sum()) / 60
    res = mi.vpin(tr.ts, tr.qty, buy, size, n_buckets=20)
    ref_b, ref_vp = ref_vpin(tr.qty, buy, size, 20)
    np.testing.assert_allclose(res.vpin, ref_vp, rtol=1e-9)
    assert len(res) == len(ref_b) >= 59
    bars = time_bars(tr.ts, tr.price, tr.qty, 5 * SEC, empty="drop")
    bvc = mi.bvc_buy_volume(bars.close, bars.volume)
    res2 = mi.vpin(bars.ts, bars.volume, bvc, size, n_buckets=20)
    assert np.nanmax(res2.vpin) <= 1 and np.nanmin(res2.vpin) >= 0


# ----------------------------------------------------------------------------- realized volatility
def ref_rv(ts, p, step, window, origin):
    k0 = math.ceil((ts[0] - origin) / step)
    k1 = math.ceil((ts[-1] - origin) / step)
    grid = [origin + k * step for k in range(k0, k1 + 1)]
    px = [p[np.searchsorted(ts, g, side="right") - 1] for g in grid]
    out: dict[int, list[float]] = {}
    for a in range(1, len(grid)):
        w = (grid[a - 1] - origin) // window
        out.setdefault(w, []).append(math.log(px[a] / px[a - 1]) ** 2)
    return out


def test_realized_volatility_previous_tick_grid():
    for seed in range(10):
        ts, p, _ = trades(seed, 3000, 7200)
        step, window = 60 * SEC, 1800 * SEC
        rv = mi.realized_volatility(ts, p, step, window_ns=window)
        origin = ts[0] // (86400 * SEC) * 86400 * SEC
        ref = ref_rv(ts, p, step, window, origin)
        got = {int((t - origin) // window): (v, n) for t, v, n in zip(rv.ts, rv.variance, rv.n, strict=True) if n}
        assert set(got) == set(ref)
        for w, sq in ref.items():
            assert got[w][1] == len(sq)
            assert got[w][0] == pytest.approx(sum(sq), rel=1e-12)
        np.testing.assert_allclose(rv.volatility, np.sqrt(rv.variance))
    ann = mi.realized_volatility(ts, p, step, window_ns=window, periods_per_year=365 * 48)
    np.testing.assert_allclose(ann.volatility, rv.volatility * math.sqrt(365 * 48))
    with pytest.raises(ValidationError):
        mi.realized_volatility(ts, p, 7 * SEC, window_ns=60 * SEC)


# -------------------------------------------------------------------------------- range estimators
def test_parkinson_and_garman_klass_on_nse_candles(shared_data):
    import tarfile

    path = shared_data / "nse-kite-candles" / "hourly.tar.gz"
    if not path.exists():
        pytest.skip("NSE candles not found")
    with tarfile.open(path) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("INFY_60minute_400d.csv"))
        rows = tar.extractfile(member).read().decode().splitlines()[1:]
    o, h, lo, c = (np.array([float(r.split(",")[i]) for r in rows]) for i in (1, 2, 3, 4))
    pk = mi.parkinson(h, lo)
    ref_pk = math.sqrt(sum(math.log(a / b) ** 2 for a, b in zip(h, lo, strict=True)) / (4 * len(h) * math.log(2)))
    assert pk == pytest.approx(ref_pk, rel=1e-12)
    gk = mi.garman_klass(o, h, lo, c)
    ref_gk = math.sqrt(sum(0.5 * math.log(a / b) ** 2 - (2 * math.log(2) - 1) * math.log(d / e) ** 2
                           for a, b, d, e in zip(h, lo, c, o, strict=True)) / len(h))
    assert gk == pytest.approx(ref_gk, rel=1e-12)
    roll = mi.parkinson(h, lo, window=35, periods_per_year=252 * 7)
    i = 200
    ref_i = math.sqrt(np.mean(np.log(h[i - 34: i + 1] / lo[i - 34: i + 1]) ** 2) / (4 * math.log(2)))
    assert roll[i] == pytest.approx(ref_i * math.sqrt(252 * 7), rel=1e-10)
    assert np.isnan(roll[:34]).all()
    assert 0 < gk < 0.05 and 0 < pk < 0.05  # hourly vol of a large-cap stock


# ------------------------------------------------------------------------------------ book features
def test_book_features_against_the_l2_book(shared_data):
    path = shared_data / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
    if not path.exists():
        pytest.skip("recording not found")
    from shrivenquant.book import OrderBook, replay_binance
    from shrivenquant.venues.binance.recording import decode_file

    events, _ = decode_file(path)
    snaps = bf.book_snapshots(events, OrderBook(2, 3, 10), "futures", levels=10, every=25)
    # the same replay, reading the book's own features at the same messages
    own_micro, own_imb = [], []
    count = [0]

    def on_update(book, _records):
        count[0] += 1
        if count[0] % 25 == 0:
            own_micro.append(book.microprice())
            own_imb.append(book.imbalance(5))

    replay_binance(events, OrderBook(2, 3, 10), "futures", check_bbo=False, on_update=on_update)
    assert len(snaps) == len(own_micro) > 200
    np.testing.assert_allclose(bf.microprice(snaps.bid, snaps.bid_qty, snaps.ask, snaps.ask_qty), own_micro,
                               rtol=1e-12)
    np.testing.assert_allclose(bf.depth_imbalance(snaps.bid_qty, snaps.ask_qty, 5), own_imb, rtol=1e-12)
    bs, as_ = bf.depth_slope(snaps.bid, snaps.bid_qty, snaps.ask, snaps.ask_qty)
    i = 100
    mid = (snaps.bid[i, 0] + snaps.ask[i, 0]) / 2
    x = np.abs(snaps.bid[i] - mid) / mid * 1e4
    assert bs[i] == pytest.approx(np.polyfit(x, np.cumsum(snaps.bid_qty[i]), 1)[0], rel=1e-9)
    x = np.abs(snaps.ask[i] - mid) / mid * 1e4
    assert as_[i] == pytest.approx(np.polyfit(x, np.cumsum(snaps.ask_qty[i]), 1)[0], rel=1e-9)
    assert snaps.to_arrow().num_rows == len(snaps)


def test_quotes_from_bookticker_and_ofi(shared_data):
    path = shared_data / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
    if not path.exists():
        pytest.skip("recording not found")
    from shrivenquant.venues.binance.recording import decode_file

    events, stats = decode_file(path)
    q = mi.quotes_from_events(events, price_precision=2, size_precision=3)
    assert len(q) == stats.messages["bookTicker"]
    assert (q.ask > q.bid).all()
    e = mi.ofi(q.bid, q.bid_qty, q.ask, q.ask_qty)
    np.testing.assert_allclose(e, ref_ofi(q.bid, q.bid_qty, q.ask, q.ask_qty), rtol=1e-12, atol=1e-12)
