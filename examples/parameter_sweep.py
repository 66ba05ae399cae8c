"""Parameter sweep: store market data in a catalog, then run a grid of strategy configurations in parallel.

1. Import a Binance recording (the shared USD-M BTCUSDT capture with its exchangeInfo definition if
   present, else a generated stream in the same wire format) into a Parquet data catalog, in the order a
   synchronised book applies it.
2. Research speed: sweep an EMA-crossover toy (a Numba kernel over the trade records) over a 3 x 3 grid
   with ``shrivenquant.sweep``: the data is read from the catalog once, memory-mapped by every worker of
   a process pool, and the results come back as one table.
3. The real thing: sweep the market maker through the backtest engine (OMS, simulated exchange with
   queue positions, fees) over its quote offset and the maker fee, on the first minutes of the data.

Run: ``python examples/parameter_sweep.py``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from numba import njit

import shrivenquant as sq
from shrivenquant.catalog import Catalog, import_binance
from shrivenquant.sweep import CatalogData

SIZE_RAW = 1000  # position size in raw quantity units
DATA = Path(os.environ.get("SHRIVENQUANT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
RECORDING = DATA / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
EXCHANGE_INFO = DATA / "binance-cryptofeed" / "BINANCE_FUTURES.0.gz"
MINUTES = 2  # of data in the engine sweep


@njit(cache=True, nogil=True)
def _ema_cross(price: np.ndarray, kind: np.ndarray, fast: float, slow: float, size: int) -> tuple[int, int, int]:
    """Long/short ``size`` raw units when the fast EMA of trade prices is above/below the slow one, filled at
    the trade print, no fees (a research toy: the engine's simulated exchange does fills properly).

    Returns (P&L in raw price x raw qty units, position changes, worst drawdown in the same units)."""
    a_f = 2.0 / (fast + 1.0)
    a_s = 2.0 / (slow + 1.0)
    ema_f = 0.0
    ema_s = 0.0
    pos = 0
    cash = 0
    changes = 0
    peak = 0
    worst = 0
    seen = 0
    for i in range(price.shape[0]):
        if kind[i] != 7:  # trades only
            continue
        p = price[i]
        if seen == 0:
            ema_f = p
            ema_s = p
        else:
            ema_f += a_f * (p - ema_f)
            ema_s += a_s * (p - ema_s)
        seen += 1
        want = size if ema_f > ema_s else -size
        if seen > slow and want != pos:
            cash -= (want - pos) * p  # trade at the print
            pos = want
            changes += 1
        equity = cash + pos * p
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return cash + pos * price[-1], changes, worst


def ema_cross(config: dict, data: np.ndarray) -> dict:
    """Sweep strategy: ``config`` has ``fast`` and ``slow`` EMA spans (trades); ``data`` the event records."""
    pnl, changes, worst = _ema_cross(data["price"], data["kind"], float(config["fast"]), float(config["slow"]),
                                     SIZE_RAW)
    return {"pnl_raw": int(pnl), "position_changes": int(changes), "max_drawdown_raw": int(worst)}


def main() -> None:
    from shrivenquant.backtest import MarketMaker, binance_book_events
    from shrivenquant.venues.binance import load_exchange_info, write_stream

    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalog(Path(tmp) / "catalog")
        if RECORDING.is_file() and EXCHANGE_INFO.is_file():
            insts = [i for i in load_exchange_info(EXCHANGE_INFO) if i.symbol == "BTCUSDT"]
            stats = import_binance(cat, RECORDING, instruments=insts, transform=binance_book_events)
            source = f"recording {RECORDING.name}"
        else:
            rec = Path(tmp) / "usdm_synthusdt_generated.gz"
            inst = write_stream(rec, 20_000, seed=7)
            stats = import_binance(cat, rec, instruments=[inst], transform=binance_book_events)
            source = "generated stream (shared data not found)"
        inst = cat.instruments[0]
        print(f"catalog: {stats.records} records of {inst.key} from the {source}")
        for p in cat.info():
            print(f"  venue={p.venue}/instrument={p.symbol}/date={p.date}: {p.records} records, {p.bytes} bytes")

        # 2. a Numba kernel over the catalog's records, 9 configurations on a process pool
        grid = {"fast": [5, 20, 50], "slow": [100, 300, 1000]}
        data = CatalogData(cat.root, instruments=inst.symbol)
        result = sq.sweep(ema_cross, grid, data, max_workers=2)
        print(f"\nEMA-crossover toy: {len(result)} configurations on a process pool in {result.elapsed:.2f} s")
        scale = 10 ** (inst.price_precision + inst.size_precision)  # raw price x raw qty -> quote currency
        print(f"position {SIZE_RAW / 10**inst.size_precision:g} {inst.symbol}, fills at the print, no fees; "
              f"P&L in the quote currency")
        print(f"{'fast':>5} {'slow':>5} {'pnl':>10} {'changes':>8} {'max dd':>8}")
        for row in sorted(result.rows(), key=lambda r: -r["pnl_raw"]):
            print(f"{row['fast']:>5} {row['slow']:>5} {row['pnl_raw'] / scale:>10.2f} {row['position_changes']:>8} "
                  f"{row['max_drawdown_raw'] / scale:>8.2f}")
        best = result.best("pnl_raw")
        print(f"best: fast={best['fast']} slow={best['slow']}")
        serial = sq.sweep(ema_cross, grid, data, executor="serial")
        print(f"same table run serially: {serial.columns == result.columns}")
        table = result.to_arrow()
        print(f"as a pyarrow table: {table.num_rows} rows x {table.num_columns} columns")

        # 3. the market maker through the backtest engine, on the first minutes of the stream
        first = cat.info()[0].ts_local_min  # from the Parquet footers
        assert first is not None
        window = CatalogData(cat.root, instruments=inst.symbol, end=first + MINUTES * 60_000_000_000)
        base = {"strategy": {"params": {"qty": "0.01", "skew_qty": "0.01", "max_position": "0.05"}},
                "progress": False}
        mm = sq.sweep(MarketMaker, {"offset_ticks": [0, 2], "venue.maker_fee": ["0", "-0.0001"]}, window,
                      base=base, max_workers=2)
        print(f"\nmarket maker, {MINUTES} minutes of data through the engine: {len(mm)} backtests in "
              f"{mm.elapsed:.2f} s")
        print(f"{'offset':>6} {'maker fee':>10} {'pnl':>10} {'fills':>6} {'orders':>7} {'max dd':>10}")
        for row in mm.rows():
            print(f"{row['offset_ticks']:>6} {row['venue.maker_fee']:>10} {row['pnl']:>10.4f} {row['fills']:>6} "
                  f"{row['orders']:>7} {row['max_drawdown']:>10.2e}")


if __name__ == "__main__":
    main()
