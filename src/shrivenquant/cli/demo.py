"""``shrivenquant demo``: the main job.

Loads instruments (Binance exchangeInfo), decodes a recorded Binance stream (or a generated one) into
event records with exact fixed-point conversion, and prints a summary: instruments, events by kind,
time span and rates, and per symbol the trade and top-of-book statistics (price range, VWAP, spreads in
ticks and basis points, feed latency). Statistics are computed on the raw int64 columns; prices are
printed exactly at the instrument's precision.

Then it trades: a market maker with inventory skew (or an order-book-imbalance taker) runs on the
synchronised stream through the pre-trade risk engine, the OMS and the simulated exchange (queue model,
latency, maker/taker fees); it prints the run's metrics and writes the tearsheet (HTML always, PNG when
matplotlib is installed).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from shrivenquant._native.events import count_kinds
from shrivenquant._native.fixed import RAW_NULL, format_raw
from shrivenquant.core.events import EVENT_DTYPE, EventFlag, EventKind
from shrivenquant.core.instrument import Instrument
from shrivenquant.errors import ValidationError

__all__ = ["run_backtest", "run_demo", "summarize_events"]


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo from parsed arguments; prints the summary and returns the exit code."""
    import orjson

    from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, read_recording

    t0 = time.perf_counter()
    instruments: list[Instrument] = []
    source_info = "generated"
    if args.exchange_info is not None:
        from shrivenquant.venues.binance.exchange_info import load_exchange_info

        instruments = load_exchange_info(args.exchange_info)
    decoder_instruments: dict[str, Instrument] = {i.symbol: i for i in instruments}
    if args.data:
        decoder = BinanceRecordingDecoder(decoder_instruments)
        for path in args.data:
            decoder.decode_lines(read_recording(path))
        source_info = ", ".join(str(p) for p in args.data)
    else:
        from shrivenquant.venues.binance.recording import read_hftbacktest
        from shrivenquant.venues.binance.synthetic import generate_stream

        if args.messages < 1:
            raise ValidationError(f"--messages must be >= 1, got {args.messages}")
        generated, lines = generate_stream(args.messages, seed=args.seed)
        if generated.symbol not in decoder_instruments:
            decoder_instruments[generated.symbol] = generated
            instruments.append(generated)
        decoder = BinanceRecordingDecoder(decoder_instruments)
        decoder.decode_lines(read_hftbacktest(lines))
        source_info = f"generated stream ({args.messages} messages, seed {args.seed})"
    events = decoder.flush()
    decode_s = time.perf_counter() - t0
    stats = decoder.stats
    by_symbol = {i.symbol: i for i in instruments}
    summary = summarize_events(events, stats, by_symbol)
    summary["source"] = source_info
    summary["instruments_loaded"] = _instrument_counts(instruments)
    summary["wall_seconds"] = round(decode_s, 3)
    if getattr(args, "strategy", "none") != "none":
        summary["backtest"] = run_backtest(events, instruments, decoder, args)
    if args.json:
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        text = format_summary(summary)
        if "backtest" in summary:
            text += "\n" + format_backtest(summary["backtest"])
        print(text)
    return 0


def _instrument_counts(instruments: Sequence[Instrument]) -> dict[str, Any]:
    kinds = Counter(f"{i.venue} {i.kind.name.lower()}" for i in instruments)
    return {"total": len(instruments), "by_venue_kind": dict(sorted(kinds.items()))}


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


def summarize_events(events: np.ndarray, stats: Any, instruments: dict[str, Instrument]) -> dict[str, Any]:
    """Summary statistics of a decoded event array (EVENT_DTYPE), as a JSON-ready dict.

    ``stats`` is the decoder's :class:`~shrivenquant.venues.binance.recording.DecodeStats`;
    ``instruments`` maps symbol -> Instrument for ticks (when absent, one raw unit is the tick).
    """
    if events.dtype != EVENT_DTYPE:
        raise ValidationError(f"expected an EVENT_DTYPE array, got dtype {events.dtype}")
    counts = count_kinds(np.ascontiguousarray(events).view(np.uint8))
    first, last = stats.first_ts_local, stats.last_ts_local
    span_s = (last - first) / 1e9 if first is not None and last is not None and last > first else 0.0
    messages = sum(stats.messages.values())
    out: dict[str, Any] = {
        "lines": stats.lines,
        "messages": dict(sorted(stats.messages.items())),
        "skipped": dict(sorted(stats.skipped.items())),
        "events": {EventKind(k).name: c for k, c in enumerate(counts) if c},
        "records": int(events.size),
        "level_updates": stats.level_updates,
        "snapshot_levels": stats.snapshot_levels,
        "first_ts_local": _iso(first),
        "last_ts_local": _iso(last),
        "span_seconds": round(span_s, 3),
        "messages_per_second": round(messages / span_s, 1) if span_s else None,
        "level_updates_per_second": round(stats.level_updates / span_s, 1) if span_s else None,
        "symbols": {},
    }
    for symbol, info in stats.symbols.items():
        sel = events[events["instrument_id"] == info.instrument_id]
        if not sel.size:
            continue  # a loaded instrument the stream never mentions
        out["symbols"][symbol] = _symbol_summary(sel, info, instruments.get(symbol))
    return out


def _symbol_summary(ev: np.ndarray, info: Any, instrument: Instrument | None) -> dict[str, Any]:
    pp = info.price_precision if info.price_precision is not None else 0
    sp = info.size_precision if info.size_precision is not None else 0
    tick_raw = instrument.price_tick.raw_at(pp) if instrument is not None else 1
    res: dict[str, Any] = {
        "instrument_id": info.instrument_id,
        "precisions": {"price": pp, "size": sp, "source": "the stream's decimals" if info.inferred
                       else "exchangeInfo"},
        "tick": format_raw(tick_raw, pp),
    }
    # ---- trades
    tr = ev[ev["kind"] == EventKind.TRADE]
    if tr.size:
        px, qty = tr["price"], tr["qty"]
        volume = int(qty.sum(dtype=np.int64))
        turnover = int(np.dot(px.astype(object), qty.astype(object)))  # exact (Python ints)
        vwap_raw = _div_round_half_even(turnover, volume) if volume else RAW_NULL
        buys = int((tr["side"] == 1).sum())
        res["trades"] = {
            "count": int(tr.size),
            "volume": format_raw(volume, sp),
            "buyer_initiated": buys,
            "seller_initiated": int(tr.size) - buys,
            "price_min": format_raw(int(px.min()), pp),
            "price_max": format_raw(int(px.max()), pp),
            "first": format_raw(int(px[0]), pp),
            "last": format_raw(int(px[-1]), pp),
            "vwap": format_raw(vwap_raw, pp) if volume else None,
        }
    # ---- top of book (BBO pairs: a bid record followed by its ask record)
    bbo = ev[ev["kind"] == EventKind.BBO]
    if bbo.size >= 2:
        bid_idx = np.flatnonzero((bbo["side"][:-1] == 1) & (bbo["side"][1:] == 2))
        bid, ask = bbo["price"][bid_idx], bbo["price"][bid_idx + 1]
        spread = ask - bid
        spread_ticks = spread / tick_raw
        mid2 = bid + ask  # 2 × mid, raw
        bps = np.where(mid2 > 0, spread * 20_000.0 / np.where(mid2 > 0, mid2, 1), np.nan)
        res["top_of_book"] = {
            "updates": int(bid_idx.size),
            "bid_min": format_raw(int(bid.min()), pp),
            "ask_max": format_raw(int(ask.max()), pp),
            "spread_ticks": {
                "mean": round(float(spread_ticks.mean()), 4),
                "median": _pct(spread_ticks, 50),
                "p99": _pct(spread_ticks, 99),
                "max": float(spread_ticks.max()),
            },
            "spread_min": format_raw(int(spread.min()), pp),
            "spread_max": format_raw(int(spread.max()), pp),
            "spread_bps_mean": round(float(np.nanmean(bps)), 4),
            "crossed": int((spread < 0).sum()),
            "locked": int((spread == 0).sum()),
        }
    # ---- feed latency (local receive - venue time), records with a venue timestamp
    good = ev[(ev["flags"] & EventFlag.BAD_TS) == 0]
    good = good[good["ts_event"] > 0]
    if good.size:
        lat_us = (good["ts_local"] - good["ts_event"]) / 1_000.0
        res["feed_latency_us"] = {"median": round(_pct(lat_us, 50), 1), "p99": round(_pct(lat_us, 99), 1),
                                  "min": round(float(lat_us.min()), 1)}
    res["level_updates"] = int(((ev["kind"] == EventKind.LEVEL) & ((ev["flags"] & EventFlag.SNAPSHOT) == 0)).sum())
    if (ev["flags"] & EventFlag.SNAPSHOT).any():
        res["book"] = book_session_stats(ev, pp, sp, tick_raw)
    return res


def book_session_stats(ev: np.ndarray, pp: int, sp: int, tick_raw: int, depth_levels: int = 10) -> dict[str, Any]:
    """Replay one symbol's records through the synchronised native L2 book and sample it after every
    applied depth message: spread, depth over ``depth_levels`` levels, microprice, imbalance.

    The market (spot or futures sync rules) is read off the records: futures depth messages carry ``pu``.
    """
    from shrivenquant.book import OrderBook, replay_binance

    depth_recs = ev[(ev["kind"] == EventKind.LEVEL) & ((ev["flags"] & EventFlag.SNAPSHOT) == 0)]
    market = "futures" if (depth_recs["order_id"] != 0).any() else "spot"
    book = OrderBook(pp, sp, tick_raw)
    spreads: list[int] = []
    bid_depth: list[int] = []
    ask_depth: list[int] = []
    micro_minus_mid: list[float] = []
    imbalance: list[float] = []
    scale = 10.0**pp

    def sample(b: OrderBook, _records: np.ndarray) -> None:
        bid, _, ask, _ = b.top_raw()
        if RAW_NULL in (bid, ask):
            return
        spreads.append(ask - bid)
        _, bq, _, aq = b.depth(depth_levels)
        bid_depth.append(int(bq.sum()))
        ask_depth.append(int(aq.sum()))
        mp = b.microprice()  # in price units
        if mp is not None:
            micro_minus_mid.append(mp * scale - (bid + ask) / 2.0)  # raw units
        imb = b.imbalance(depth_levels)
        if imb is not None:
            imbalance.append(imb)

    t0 = time.perf_counter()
    stats = replay_binance(ev, book, market, on_update=sample)
    seconds = time.perf_counter() - t0
    s = np.asarray(spreads, dtype=np.int64)
    bd, ad = np.asarray(bid_depth, dtype=np.int64), np.asarray(ask_depth, dtype=np.int64)
    mm, im = np.asarray(micro_minus_mid), np.asarray(imbalance)
    out: dict[str, Any] = {
        "market_rules": market,
        "applied_messages": stats.applied_messages,
        "dropped_before_sync": stats.dropped_messages,
        "buffered_before_snapshot": stats.buffered_before_snapshot,
        "bookticker_checks": stats.bbo_checks,
        "bookticker_mismatches": stats.bbo_mismatches,
        "final_levels": {"bid": book.bid_levels, "ask": book.ask_levels},
        "memory_bytes": book.memory_bytes(),
        "replay_seconds": round(seconds, 3),
    }
    if s.size:
        out["spread_ticks"] = {"mean": round(float(s.mean()) / tick_raw, 4),
                               "median": float(np.median(s)) / tick_raw, "max": int(s.max()) // tick_raw}
        out[f"depth_{depth_levels}_levels"] = {
            "bid_mean": format_raw(round(float(bd.mean())), sp),
            "ask_mean": format_raw(round(float(ad.mean())), sp),
        }
        if mm.size:
            out["microprice_minus_mid_ticks"] = {"mean": round(float(mm.mean()) / tick_raw, 4),
                                                 "p5": round(float(np.percentile(mm, 5)) / tick_raw, 4),
                                                 "p95": round(float(np.percentile(mm, 95)) / tick_raw, 4)}
        if im.size:
            out[f"imbalance_{depth_levels}_levels"] = {"mean": round(float(im.mean()), 4),
                                                       "p5": round(float(np.percentile(im, 5)), 4),
                                                       "p95": round(float(np.percentile(im, 95)), 4)}
    return out


def _div_round_half_even(num: int, den: int) -> int:
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q % 2 == 1):
        q += 1
    return q


def format_summary(s: dict[str, Any]) -> str:
    """The summary as readable text."""
    lines = ["shrivenquant demo", f"  source        {s['source']}"]
    inst = s["instruments_loaded"]
    kinds = ", ".join(f"{k}: {v}" for k, v in inst["by_venue_kind"].items())
    lines.append(f"  instruments   {inst['total']} ({kinds})")
    lines.append(f"  lines         {s['lines']:,}   records {s['records']:,}   decoded in {s['wall_seconds']} s")
    lines.append("  messages      " + ", ".join(f"{k} {v:,}" for k, v in s["messages"].items()))
    if s["skipped"]:
        lines.append("  skipped       " + ", ".join(f"{k} {v:,}" for k, v in s["skipped"].items()))
    lines.append("  events        " + ", ".join(f"{k} {v:,}" for k, v in s["events"].items()))
    lines.append(f"  time (UTC)    {s['first_ts_local']} -> {s['last_ts_local']} ({s['span_seconds']} s)")
    if s["messages_per_second"]:
        lines.append(f"  rates         {s['messages_per_second']:,} messages/s, "
                     f"{s['level_updates_per_second']:,} level updates/s")
    for sym, d in s["symbols"].items():
        p = d["precisions"]
        lines.append("")
        lines.append(f"  {sym}  (id {d['instrument_id']}, tick {d['tick']}, price/size precision "
                     f"{p['price']}/{p['size']} from {p['source']})")
        lines.append(f"    level updates  {d['level_updates']:,}")
        if "trades" in d:
            t = d["trades"]
            lines.append(f"    trades         {t['count']:,} (buyer-initiated {t['buyer_initiated']:,}, "
                         f"seller-initiated {t['seller_initiated']:,}), volume {t['volume']}")
            lines.append(f"    trade prices   {t['price_min']} .. {t['price_max']}, first {t['first']}, "
                         f"last {t['last']}, VWAP {t['vwap']}")
        if "top_of_book" in d:
            b = d["top_of_book"]
            st = b["spread_ticks"]
            lines.append(f"    top of book    {b['updates']:,} updates, bid min {b['bid_min']}, ask max {b['ask_max']}")
            lines.append(f"    spread         mean {st['mean']:.3f} ticks, median {st['median']:g}, p99 {st['p99']:g}, "
                         f"max {st['max']:g} ({b['spread_min']} .. {b['spread_max']}); "
                         f"mean {b['spread_bps_mean']:.3f} bps; crossed {b['crossed']}, locked {b['locked']}")
        if "book" in d:
            bk = d["book"]
            lines.append(f"    synced book    {bk['market_rules']} rules: {bk['applied_messages']:,} depth messages "
                         f"applied ({bk['buffered_before_snapshot']} before the snapshot, "
                         f"{bk['dropped_before_sync']} dropped), bookTicker checks {bk['bookticker_checks']:,}, "
                         f"mismatches {bk['bookticker_mismatches']}, replayed in {bk['replay_seconds']} s")
            fl = bk["final_levels"]
            lines.append(f"    book levels    {fl['bid']:,} bids / {fl['ask']:,} asks at the end, "
                         f"{bk['memory_bytes']:,} bytes")
            if "spread_ticks" in bk:
                st, dp = bk["spread_ticks"], bk["depth_10_levels"]
                lines.append(f"    book spread    mean {st['mean']:.3f} ticks, median {st['median']:g}, "
                             f"max {st['max']:,}; depth over 10 levels: bid {dp['bid_mean']}, "
                             f"ask {dp['ask_mean']} (mean)")
            if "microprice_minus_mid_ticks" in bk and "imbalance_10_levels" in bk:
                mm, im = bk["microprice_minus_mid_ticks"], bk["imbalance_10_levels"]
                lines.append(f"    microprice     - mid: mean {mm['mean']:+.3f} ticks (p5 {mm['p5']:+.3f}, "
                             f"p95 {mm['p95']:+.3f}); imbalance(10): mean {im['mean']:+.3f} "
                             f"(p5 {im['p5']:+.3f}, p95 {im['p95']:+.3f})")
        if "feed_latency_us" in d:
            f = d["feed_latency_us"]
            lines.append(f"    feed latency   median {f['median']:,} us, p99 {f['p99']:,} us "
                         "(local receive - venue time; includes the recorder's clock offset)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- trading
def _pick_symbol(events: np.ndarray, decoder: Any, wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in decoder.symbols:
            raise ValidationError(f"--symbol {wanted}: not in the stream (has {', '.join(sorted(decoder.symbols))})")
        return str(wanted)
    ids = events["instrument_id"][events["kind"] == EventKind.TRADE]
    if not ids.size:
        raise ValidationError("the stream has no trades: nothing to trade on")
    top = int(np.bincount(ids).argmax())
    return next(sym for sym, info in decoder.symbols.items() if info.instrument_id == top)


def _default_qty(inst: Instrument, price_raw: int) -> int:
    """Smallest lot multiple worth at least twice the minimum notional (and at least min_qty)."""
    sp, pp = inst.size_precision, inst.price_precision
    step = inst.size_step.raw_at(sp)
    qty = max(step, inst.min_qty.raw_at(sp) if inst.min_qty is not None else step)
    if inst.min_notional is not None and price_raw > 0:
        mn = inst.min_notional
        # qty_raw * price_raw / 10**(pp+sp) >= 2 * mn.raw / 10**mn.precision
        need_num = 2 * mn.raw * 10 ** (pp + sp)
        need_den = price_raw * 10**mn.precision
        q = -(-need_num // need_den)
        qty = max(qty, -(-q // step) * step)
    return qty


def run_backtest(events: np.ndarray, instruments: list[Instrument], decoder: Any,
                 args: argparse.Namespace) -> dict[str, Any]:
    """Run the demo strategy on the decoded stream; returns the metrics (and writes the tearsheet)."""
    import tempfile
    from decimal import Decimal
    from pathlib import Path

    from shrivenquant._native.fixed import Quantity
    from shrivenquant.backtest import (
        BacktestEngine,
        ImbalanceTaker,
        MarketMaker,
        VenueConfig,
        binance_book_events,
    )
    from shrivenquant.oms import PreTradeRiskGate
    from shrivenquant.risk import InstrumentLimits, PreTradeRisk, RiskConfig

    symbol = _pick_symbol(events, decoder, getattr(args, "symbol", None))
    k = decoder.symbols[symbol].instrument_id
    by_symbol = {i.symbol: i for i in instruments}
    inst = by_symbol[symbol]
    table: list[Instrument | None] = [None] * (k + 1)
    table[k] = inst
    ev = binance_book_events(events[events["instrument_id"] == k])
    trades = ev[ev["kind"] == EventKind.TRADE]
    first_px = int(trades["price"][0]) if trades.size else 0
    sp = inst.size_precision
    qty = Quantity(args.qty).raw_at(sp) if getattr(args, "qty", None) else _default_qty(inst, first_px)
    lat = int(getattr(args, "latency_us", 5000)) * 1000
    venue = VenueConfig(entry_latency_ns=lat, response_latency_ns=lat, maker_fee=args.maker_fee,
                        taker_fee=args.taker_fee, queue=args.queue)
    if args.strategy == "market-maker":
        strat: Any = MarketMaker(k, qty=qty, offset_ticks=0, skew_qty=2 * qty, max_position=10 * qty)
        name = "market maker with inventory skew"
    else:
        strat = ImbalanceTaker(k, qty=qty, levels=5, threshold=0.6, max_position=10 * qty,
                               cooldown_ns=1_000_000_000)
        name = "order-book-imbalance taker"
    scale = Decimal(10) ** -sp
    limits = InstrumentLimits(instrument_id=inst.id, max_order_qty=Decimal(20 * qty) * scale,
                              max_position_net=Decimal(12 * qty) * scale)
    risk = PreTradeRiskGate(PreTradeRisk.from_config(RiskConfig(currency=inst.quote, instruments=(limits,)), [inst]))
    engine = BacktestEngine(table, strat, venues={inst.venue: venue}, risk=risk,
                            sample_ns=int(args.sample_ms) * 1_000_000, progress=None)
    result = engine.run(ev)
    out: dict[str, Any] = {"strategy": name, "symbol": symbol, "order_qty": format_raw(qty, sp),
                           "latency_us": lat // 1000, "queue_model": args.queue,
                           "fee_rates": {"maker": args.maker_fee, "taker": args.taker_fee}}
    out.update(result.summary())
    out["risk_denied"] = out.pop("denied")
    out["fees_paid"] = out.pop("fees")
    report_dir = Path(args.out) if getattr(args, "out", None) else Path(tempfile.gettempdir()) / "shrivenquant-demo"
    try:
        report = result.report(f"shrivenquant demo: {name} on {symbol}")
    except ValidationError as exc:
        out["tearsheet"] = {"skipped": str(exc)}
        return out
    metrics = report.metrics()
    out["sharpe_annualised"] = _finite(metrics.get("Sharpe ratio"))
    out["sharpe_sample_ms"] = int(args.sample_ms)
    report_dir.mkdir(parents=True, exist_ok=True)
    html = report_dir / "tearsheet.html"
    report.to_html(html, plots=_has_matplotlib())
    files = {"html": str(html)}
    if _has_matplotlib():
        png = report_dir / "tearsheet.png"
        report.to_png(png)
        files["png"] = str(png)
    out["tearsheet"] = files
    return out


def _finite(x: Any) -> float | None:
    import math

    return round(float(x), 4) if x is not None and math.isfinite(float(x)) else None


def _has_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def format_backtest(b: dict[str, Any]) -> str:
    """The backtest section of the demo as text."""
    lines = ["", f"  backtest       {b['strategy']} on {b['symbol']}: order qty {b['order_qty']}, latency "
             f"{b['latency_us']} us each way, queue model {b['queue_model']}, fees maker {b['fee_rates']['maker']} / "
             f"taker {b['fee_rates']['taker']}",
             f"    run          {b['events']:,} events in {b['wall_seconds']} s "
             f"({(b['events_per_second'] or 0):,} events/s)",
             f"    orders       {b['orders']:,} ({b['risk_denied']} denied by risk, {b['rejected']} rejected by the "
             f"venue); fills {b['fills']:,} (maker {b['maker_fills']:,}, taker {b['taker_fills']:,}; "
             f"buys {b['buy_fills']:,}, sells {b['sell_fills']:,})"]
    for iid, p in b["positions"].items():
        lines.append(f"    position     {iid} {p['qty']} after {p['fills']:,} fills")
    fees = ", ".join(f"{v} {c}" for c, v in b["fees_paid"].items()) if b.get("fees_paid") else "none"
    lines.append(f"    fees         {fees} (negative = rebates)")
    if b["equity_start"] is not None:
        lines.append(f"    equity       {b['equity_start']:,.4f} -> {b['equity_end']:,.4f} (PnL {b['pnl']:+,.4f}, "
                     f"max drawdown {b['max_drawdown']:.4%}, Sharpe {b.get('sharpe_annualised')} annualised from "
                     f"{b.get('sharpe_sample_ms')} ms samples)")
    t = b.get("tearsheet", {})
    if "skipped" in t:
        lines.append(f"    tearsheet    not written: {t['skipped']}")
    else:
        lines.append("    tearsheet    " + ", ".join(t.values()))
    return "\n".join(lines)
