"""Sweeps: grids, determinism across executors, shared memory-mapped data, results table, errors."""

from __future__ import annotations

import os
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import numpy as np
import pytest

from shrivenquant.core.events import EVENT_DTYPE
from shrivenquant.errors import MissingDependencyError, SweepError, ValidationError
from shrivenquant.sweep import CatalogData, SweepResult, expand_grid, sweep


def _events(n: int = 50_000, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["ts_local"] = 1_723_075_200_000_000_000 + np.cumsum(rng.integers(1, 1_000_000, n))
    ev["ts_event"] = ev["ts_local"]
    ev["price"] = 6_000_000 + np.cumsum(rng.integers(-50, 51, n))
    ev["qty"] = rng.integers(1, 1000, n)
    ev["kind"] = 7
    return ev


def crossover(config: dict, data: np.ndarray) -> dict:
    """A moving-average crossover position on trade prices; P&L in raw price units (deterministic)."""
    px = np.asarray(data["price"], dtype=np.float64)
    fast, slow = config["fast"], config["slow"]
    c = np.concatenate(([0.0], np.cumsum(px)))
    ma_f = (c[slow:] - c[slow - fast:-fast]) / fast
    ma_s = (c[slow:] - c[:-slow]) / slow
    pos = np.sign(ma_f - ma_s)[:-1]
    pnl = pos * np.diff(px[slow - 1:])
    return {"pnl": float(pnl.sum()), "trades": int(np.count_nonzero(np.diff(pos))), "n": int(px.shape[0])}


def probe(config: dict, data: object) -> dict:
    """Where the run happened and what the data looked like there."""
    arr = data["a"] if isinstance(data, dict) else data
    return {"pid": os.getpid(), "memmap": isinstance(arr, np.memmap), "writeable": bool(arr.flags.writeable),
            "first": int(arr["price"][0]) if arr.dtype.names else int(arr[0]), "x2": config["x"] * 2}


def failing(config: dict, data: object) -> dict:
    if config["x"] == 2:
        raise ZeroDivisionError("boom at 2")
    return {"v": config["x"]}


def ragged(config: dict, data: object) -> dict:
    return {"v": 1} if config["x"] == 0 else {"w": 1}


def nonscalar(config: dict, data: object) -> dict:
    return {"v": [1, 2]}


GRID = {"fast": [2, 5, 10], "slow": [20, 50]}


def test_expand_grid_order_and_points() -> None:
    names, pts = expand_grid({"a": [1, 2], "b": ("x", "y"), "c": np.array([0.5])})
    assert names == ("a", "b", "c")
    assert pts == [{"a": 1, "b": "x", "c": 0.5}, {"a": 1, "b": "y", "c": 0.5},
                   {"a": 2, "b": "x", "c": 0.5}, {"a": 2, "b": "y", "c": 0.5}]
    names, pts = expand_grid([{"a": 1, "b": 2}, {"b": 3, "a": 4}])
    assert names == ("a", "b") and pts == [{"a": 1, "b": 2}, {"a": 4, "b": 3}]


@pytest.mark.parametrize("grid, match", [
    ({}, "no parameters"), ({"a": []}, "has no values"), ({"a": "abc"}, "must be a list"),
    ({"a": 3}, "must be a list"), ({"": [1]}, "non-empty strings"), ([], "no points"),
    ([{"a": 1}, {"b": 2}], "names"), ("a=1", "mapping"), ({"a": np.zeros((2, 2))}, "1-D"),
])
def test_bad_grids(grid: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        sweep(crossover, grid, _events(100), executor="serial")  # type: ignore[arg-type]


def test_serial_and_process_pool_give_the_same_table() -> None:
    ev = _events()
    serial = sweep(crossover, GRID, ev, executor="serial")
    pool = sweep(crossover, GRID, ev, executor="process", max_workers=2)
    assert isinstance(pool, SweepResult) and len(pool) == 6
    assert serial.columns == pool.columns
    assert serial.params == ("fast", "slow") and serial.metrics == ("pnl", "trades", "n")
    direct = [crossover({"fast": f, "slow": s}, ev) for f in GRID["fast"] for s in GRID["slow"]]
    assert serial.columns["pnl"] == [d["pnl"] for d in direct]
    table = pool.to_arrow()
    assert table.column_names == ["fast", "slow", "pnl", "trades", "n"]
    assert table.column("pnl").to_pylist() == serial.columns["pnl"]
    best = pool.best("pnl")
    assert best["pnl"] == max(serial.columns["pnl"])
    with ThreadPoolExecutor(2) as ex:
        assert sweep(crossover, GRID, ev, executor=ex).columns == serial.columns


def test_pool_workers_map_the_data_read_only() -> None:
    ev = _events(1000)
    res = sweep(probe, {"x": list(range(6))}, ev, executor="process", max_workers=2, warm=False)
    assert all(res.columns["memmap"]) and not any(res.columns["writeable"])
    assert os.getpid() not in res.columns["pid"]
    assert set(res.columns["first"]) == {int(ev["price"][0])}
    assert res.columns["x2"] == [0, 2, 4, 6, 8, 10]
    # warm=True runs the first configuration here, the rest in the pool
    res = sweep(probe, {"x": [0, 1, 2]}, ev, executor="process", max_workers=2)
    assert res.columns["pid"][0] == os.getpid() and os.getpid() not in res.columns["pid"][1:]


def test_data_forms(tmp_path: Path) -> None:
    ev = _events(1000)
    path = tmp_path / "ev.npy"
    np.save(path, ev)
    a = sweep(probe, {"x": [1]}, path, executor="serial")
    b = sweep(probe, {"x": [1]}, {"a": ev}, executor="serial")
    assert a.columns["first"] == b.columns["first"] == [int(ev["price"][0])]
    from shrivenquant.catalog import Catalog, CatalogInstrument

    Catalog(tmp_path / "cat").write(ev, [CatalogInstrument(venue="SYN", symbol="S", price_precision=2,
                                                           size_precision=0)])
    c = sweep(crossover, GRID, CatalogData(tmp_path / "cat", instruments="S"), executor="process", max_workers=2)
    assert c.columns == sweep(crossover, GRID, ev, executor="serial").columns
    none = sweep(lambda cfg, d: {"none": d is None}, {"x": [1]}, None, executor="serial")
    assert none.columns["none"] == [True]


def test_struct_base_config() -> None:
    class Cfg(msgspec.Struct, frozen=True):
        fast: int = 2
        slow: int = 20
        label: str = "x"

    res = sweep(lambda c, d: {"s": c.fast * 100 + c.slow, "label": c.label}, {"slow": [30, 40]}, None,
                executor="serial", base=Cfg(fast=3))
    assert res.columns["s"] == [330, 340] and res.columns["label"] == ["x", "x"]
    with pytest.raises(ValidationError, match="not fields of Cfg"):
        sweep(lambda c, d: {}, {"nope": [1]}, None, executor="serial", base=Cfg())
    res = sweep(lambda c, d: {"s": c["k"] + c["x"]}, {"x": [1, 2]}, None, executor="serial", base={"k": 10})
    assert res.columns["s"] == [11, 12]


@pytest.mark.parametrize("executor", ["serial", "process"])
def test_failures_name_the_configuration(executor: str) -> None:
    with pytest.raises(SweepError, match=r"configuration 2 \{'x': 2\} failed: ZeroDivisionError") as info:
        sweep(failing, {"x": [0, 1, 2, 3]}, None, executor=executor, max_workers=2)
    assert info.value.index == 2 and isinstance(info.value.__cause__, ZeroDivisionError)


def test_bad_results_and_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="differ from configuration 0"):
        sweep(ragged, {"x": [0, 1]}, None, executor="serial")
    with pytest.raises(ValidationError, match="must be scalars"):
        sweep(nonscalar, {"x": [0]}, None, executor="serial")
    with pytest.raises(ValidationError, match="name of a grid parameter"):
        sweep(lambda c, d: {"x": 1}, {"x": [0]}, None, executor="serial")
    with pytest.raises(ValidationError, match="executor must be"):
        sweep(crossover, GRID, None, executor="threads")
    with pytest.raises(ValidationError, match="no such file"):
        sweep(crossover, GRID, tmp_path / "missing.npy", executor="serial")
    with pytest.raises(ValidationError, match="not a .npy file"):
        sweep(crossover, GRID, tmp_path / "data.csv", executor="serial")
    with pytest.raises(ValidationError, match="object dtype"):
        sweep(crossover, GRID, np.array([object()]), executor="serial")
    with pytest.raises(ValidationError, match="max_workers"):
        sweep(crossover, GRID, _events(100), max_workers=0)
    with pytest.raises(ValidationError, match="cannot be pickled"):
        sweep(lambda c, d: {}, GRID, None, executor="process")
    with pytest.raises(ValidationError, match="callable"):
        sweep(42, GRID, None)  # type: ignore[arg-type]


def test_ray_missing_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(MissingDependencyError, match=r"shrivenquant\[ray\]"):
        sweep(crossover, GRID, _events(100), executor="ray")


def test_ray_executor_protocol_with_a_local_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Ray path against a minimal in-process stand-in of the four Ray calls it uses."""
    store: dict[int, object] = {}
    calls = {"init": 0, "put": 0}

    class Ref:
        def __init__(self, value: object) -> None:
            self.key = id(value)
            store[self.key] = value

    def resolve(v: object) -> object:
        return store[v.key] if isinstance(v, Ref) else v

    class Remote:
        def __init__(self, fn):  # type: ignore[no-untyped-def]
            self.fn = fn

        def remote(self, *args):  # type: ignore[no-untyped-def]
            return Ref(self.fn(*[resolve(a) for a in args]))

    fake = types.SimpleNamespace(
        is_initialized=lambda: calls["init"] > 0,
        init=lambda **kw: calls.__setitem__("init", calls["init"] + 1),
        put=lambda v: (calls.__setitem__("put", calls["put"] + 1), Ref(v))[1],
        remote=Remote,
        get=lambda r: store[r.key],
    )
    monkeypatch.setitem(sys.modules, "ray", fake)
    ev = _events(5000)
    res = sweep(crossover, GRID, ev, executor="ray")
    assert res.executor == "ray" and calls == {"init": 1, "put": 1}
    assert res.columns == sweep(crossover, GRID, ev, executor="serial").columns
    res = sweep(probe, {"x": [1, 2]}, {"a": ev}, executor="ray")
    assert res.columns["first"] == [int(ev["price"][0])] * 2


def test_top_level_lazy_export() -> None:
    import subprocess

    code = ("import sys, shrivenquant as sq; assert 'shrivenquant.sweep' not in sys.modules; "
            "r = sq.sweep(lambda c, d: {'y': c['x'] + 1}, {'x': [1, 2]}, None, executor='serial'); "
            "print(r.columns['y'], 'pyarrow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[2,", "3]", "False"]


@pytest.mark.slow
def test_real_ray_when_installed() -> None:
    """Against Ray itself when the ``ray`` extra is installed (skipped otherwise)."""
    ray = pytest.importorskip("ray")
    from shrivenquant.bench.cases_catalog import _sweep_work  # importable by Ray's workers

    ev = _events(20_000)
    grid = {"fast": [2, 5], "slow": [20, 50], "repeat": [1]}
    try:
        res = sweep(_sweep_work, grid, ev, executor="ray",
                    ray_init={"num_cpus": 2, "include_dashboard": False, "object_store_memory": 100 * 2**20})
        assert res.executor == "ray"
        assert res.columns == sweep(_sweep_work, grid, ev, executor="serial").columns
    finally:
        ray.shutdown()
