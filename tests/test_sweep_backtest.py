"""Sweeps over the backtest engine: real strategies, the same table serial vs pool vs one-by-one runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shrivenquant.backtest import BacktestConfig, MarketMaker, run
from shrivenquant.backtest.data import generated_events
from shrivenquant.errors import ValidationError
from shrivenquant.sweep import CatalogData, apply_point, backtest_sweep, sweep

PARAMS = {"qty": "0.01", "skew_qty": "0.01", "max_position": "0.05"}
BASE = {"strategy": {"params": PARAMS}, "progress": False}
GRID = {"offset_ticks": [0, 2], "venue.maker_fee": ["0", "-0.0001"]}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, list]:
    events, insts, _ = generated_events(2_500, seed=11)
    return events, insts


def test_strategy_class_sweep_matches_single_runs(data: tuple[np.ndarray, list]) -> None:
    events, insts = data
    with pytest.raises(ValidationError, match="instrument table"):
        sweep(MarketMaker, GRID, events, base=BASE, executor="serial")
    serial = backtest_sweep({**BASE, "strategy": {"name": "market_maker", "params": PARAMS}}, GRID, events,
                            instruments=insts, executor="serial")
    pool = backtest_sweep({**BASE, "strategy": {"name": "market_maker", "params": PARAMS}}, GRID, events,
                          instruments=insts, executor="process", max_workers=2)
    assert serial.columns == pool.columns
    assert serial.params == ("offset_ticks", "venue.maker_fee") and "pnl" in serial.metrics
    cfg0 = BacktestConfig(progress=False)
    for row in serial.rows():
        cfg = apply_point(cfg0, {"offset_ticks": row["offset_ticks"], "venue.maker_fee": row["venue.maker_fee"]})
        cfg = apply_point(cfg, {f"strategy.params.{k}": v for k, v in PARAMS.items()})
        one = run(cfg, data=(events, insts)).summary()
        assert row["pnl"] == one["pnl"] and row["fills"] == one["fills"]
    assert len(set(serial.columns["fills"])) > 1  # the parameters matter
    assert serial.columns["fills"][0] > 0


def test_class_and_config_entry_points(data: tuple[np.ndarray, list]) -> None:
    # a Strategy subclass: the config's own data section (generated), loaded once and shared
    base = {"data": {"generated_messages": 2_500, "seed": 11}, **BASE}
    by_class = sweep(MarketMaker, {"offset_ticks": [0, 1]}, base=base, executor="process", max_workers=2)
    cfg = apply_point(BacktestConfig(progress=False), {"strategy.name": "market_maker", "data.generated_messages":
                                                       2_500, "data.seed": 11,
                                                       **{f"strategy.params.{k}": v for k, v in PARAMS.items()}})
    by_config = sweep(cfg, {"offset_ticks": [0, 1]}, executor="serial")
    assert by_class.columns == by_config.columns
    assert by_class.columns["events"][0] == data[0].shape[0]


def test_catalog_data(data: tuple[np.ndarray, list], tmp_path: Path) -> None:
    from shrivenquant.catalog import Catalog, CatalogInstrument

    events, insts = data
    Catalog(tmp_path / "full").write(events, insts)
    base = {**BASE, "strategy": {"name": "market_maker", "params": PARAMS}}
    from_cat = backtest_sweep(base, {"offset_ticks": [0, 2]}, CatalogData(tmp_path / "full"), executor="serial")
    from_arr = backtest_sweep(base, {"offset_ticks": [0, 2]}, events, instruments=insts, executor="serial")
    assert from_cat.columns == from_arr.columns
    bare = CatalogInstrument(venue=insts[0].venue, symbol=insts[0].symbol, price_precision=insts[0].price_precision,
                             size_precision=insts[0].size_precision)
    Catalog(tmp_path / "bare").write(events, [bare])
    with pytest.raises(ValidationError, match="has no definition"):
        backtest_sweep(base, {"offset_ticks": [0]}, CatalogData(tmp_path / "bare"), executor="serial")


def test_bad_grid_keys_fail_before_running(data: tuple[np.ndarray, list]) -> None:
    events, insts = data
    with pytest.raises(ValidationError, match="'latency_ns' is not a field of VenueConfig"):
        backtest_sweep(BASE, {"venue.latency_ns": [0]}, events, instruments=insts)
    with pytest.raises(ValidationError, match="'nope' is not a field of BacktestConfig"):
        backtest_sweep(BASE, {"nope.x": [0]}, events, instruments=insts)
    with pytest.raises(ValidationError, match="grid point"):
        backtest_sweep(BASE, {"sample_ns": ["soon"]}, events, instruments=insts)
