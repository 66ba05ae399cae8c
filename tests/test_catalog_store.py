"""Catalog: exact round trips, the hive layout, filters, merged reads, the instrument table, errors."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrivenquant.catalog import (
    Catalog,
    CatalogInstrument,
    batch_to_events,
    events_to_records,
    events_to_table,
    merge_chunks,
    records_to_events,
)
from shrivenquant.catalog.layout import DAY_NS, day_to_str
from shrivenquant.core.events import EVENT_DTYPE, EventKind
from shrivenquant.errors import InstrumentError, ValidationError

T0 = 1_723_075_200_000_000_000  # 2024-08-08T00:00:00Z
BTC = CatalogInstrument(venue="BINANCE_USDM", symbol="BTCUSDT", price_precision=2, size_precision=3)
ETH = CatalogInstrument(venue="BINANCE_USDM", symbol="ETHUSDT", price_precision=2, size_precision=3)
ES = CatalogInstrument(venue="GLBX", symbol="ESH4", price_precision=2, size_precision=0)


def random_events(n: int, *, seed: int = 0, t0: int = T0, span: int = 3 * DAY_NS, n_inst: int = 1) -> np.ndarray:
    """n records with every field random (full ranges), ts_local sorted over ``span``."""
    rng = np.random.default_rng(seed)
    ev = np.empty(n, dtype=EVENT_DTYPE)
    raw = rng.integers(0, 256, size=n * 64, dtype=np.uint8)
    ev.view(np.uint8)[:] = raw
    ev["ts_local"] = np.sort(rng.integers(t0, t0 + span, n))
    ev["instrument_id"] = rng.integers(0, n_inst, n)
    return ev


def test_round_trip_byte_identical_over_days(tmp_path: Path) -> None:
    ev = random_events(20_000, seed=1)
    cat = Catalog(tmp_path / "c")
    stats = cat.write(ev, [BTC], row_group_size=3_000)
    assert stats.records == ev.shape[0]
    back = cat.read()
    assert back.dtype == EVENT_DTYPE
    assert back.tobytes() == ev.tobytes()
    # chunked read gives the same bytes, in chunks of at most chunk_size
    chunks = list(Catalog(tmp_path / "c").read_chunks(chunk_size=777))
    assert max(c.shape[0] for c in chunks) <= 777
    assert np.concatenate(chunks).tobytes() == ev.tobytes()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 3000), seed=st.integers(0, 2**32 - 1), span_days=st.integers(0, 4),
       chunk=st.integers(16, 5000), row_group=st.integers(64, 5000), pieces=st.integers(1, 4))
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, n: int, seed: int, span_days: int,
                             chunk: int, row_group: int, pieces: int) -> None:
    ev = random_events(n, seed=seed, span=max(1, span_days * DAY_NS))
    cat = Catalog(tmp_path_factory.mktemp("c"))
    cuts = np.linspace(0, n, pieces + 1).astype(int)
    cat.write((ev[a:b] for a, b in itertools.pairwise(cuts)), [BTC], row_group_size=row_group)
    back = cat.read(chunk_size=chunk)
    assert back.tobytes() == ev.tobytes()


def test_partition_layout_is_hive(tmp_path: Path) -> None:
    ev = random_events(5_000, seed=2, n_inst=2)
    cat = Catalog(tmp_path)
    cat.write(ev, [BTC, ES])
    dirs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("part-*.parquet"))
    days = sorted(set((ev["ts_local"] // DAY_NS).tolist()))
    expected = sorted(f"venue={v}/instrument={s}/date={day_to_str(d)}/part-00000.parquet"
                      for v, s in (("BINANCE_USDM", "BTCUSDT"), ("GLBX", "ESH4")) for d in days)
    assert dirs == expected
    assert (tmp_path / "_catalog.json").is_file()
    # pyarrow reads the same directory as a hive-partitioned dataset
    import pyarrow.dataset as ds

    table = ds.dataset(str(tmp_path), format="parquet", partitioning="hive").to_table()
    assert table.num_rows == ev.shape[0]
    assert set(table.column("venue").to_pylist()) == {"BINANCE_USDM", "GLBX"}
    got = table.filter(ds.field("instrument") == "ESH4").num_rows
    assert got == int((ev["instrument_id"] == 1).sum())
    # a second import appends a new part file
    cat.write(ev[:10], [BTC, ES])
    assert any(p.name == "part-00001.parquet" for p in tmp_path.rglob("part-*.parquet"))


def test_instrument_table_keeps_meaning_and_remaps_ids(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.write(random_events(100, seed=3), [BTC])
    ev = random_events(200, seed=4, n_inst=2)  # input ids: 0 = ES, 1 = BTC
    cat.write(ev, [ES, BTC])
    cat2 = Catalog(tmp_path, create=False)
    assert [(e.id, e.key, e.price_precision) for e in cat2.instruments] == [
        (0, "BTCUSDT.BINANCE_USDM", 2), (1, "ESH4.GLBX", 2)]
    es = cat2.read(instruments="ESH4.GLBX")
    sel = ev[ev["instrument_id"] == 0]
    assert np.all(es["instrument_id"] == 1)  # the catalog's id for ES
    for name in EVENT_DTYPE.names:
        if name != "instrument_id":
            assert np.array_equal(es[name], sel[name])
    with pytest.raises(InstrumentError, match="precisions 2/3"):
        cat2.write(ev[:1], [CatalogInstrument(venue="BINANCE_USDM", symbol="BTCUSDT", price_precision=1,
                                              size_precision=3)])


def test_full_instrument_definition_is_stored(tmp_path: Path) -> None:
    from shrivenquant.venues.binance.synthetic import synthetic_instrument

    inst = synthetic_instrument()
    cat = Catalog(tmp_path)
    cat.write(random_events(10, seed=5), [inst])
    entry = Catalog(tmp_path).instruments[0]
    assert entry.instrument == inst
    assert entry.price_precision == inst.price_precision


def test_filters_time_kinds_instruments(tmp_path: Path) -> None:
    ev = random_events(30_000, seed=6, n_inst=2)
    ev["kind"] = np.random.default_rng(6).integers(0, 10, ev.shape[0])
    cat = Catalog(tmp_path)
    cat.write(ev, [BTC, ETH], row_group_size=2_000)
    t = ev["ts_local"]
    lo, hi = int(t[7_000]), int(t[21_000])
    kinds = [int(EventKind.TRADE), int(EventKind.LEVEL)]
    got = cat.read(start=lo, end=hi, kinds=kinds, instruments="ETHUSDT")
    m = (t >= lo) & (t < hi) & np.isin(ev["kind"], kinds) & (ev["instrument_id"] == 1)
    assert got.tobytes() == ev[m].tobytes()
    # partitions outside the range are not even listed
    assert len(cat.partitions(start=lo, end=lo + 1)) == 2
    # ts_event filtering
    ev_t = ev["ts_event"]
    e_lo, e_hi = int(np.quantile(ev_t, 0.2)), int(np.quantile(ev_t, 0.6))
    got = cat.read(start=e_lo, end=e_hi, time_field="ts_event", merge=False)
    m = (ev_t >= e_lo) & (ev_t < e_hi)
    exp = np.concatenate([ev[m & (ev["instrument_id"] == i)] for i in (0, 1)])
    # out of the ts_local window the ts_event rows are kept only when ts_local is within a day of the range
    assert set(got.tobytes()[i * 64:(i + 1) * 64] for i in range(got.shape[0])) <= set(
        exp.tobytes()[i * 64:(i + 1) * 64] for i in range(exp.shape[0]))


def test_merged_read_is_stable_sort_by_time(tmp_path: Path) -> None:
    ev = random_events(3_000, seed=7, n_inst=3, span=2 * DAY_NS)
    ev["ts_local"] = np.sort(np.random.default_rng(7).integers(T0, T0 + 500, ev.shape[0]))  # many ties
    cat = Catalog(tmp_path)
    cat.write(ev, [BTC, ETH, ES])
    order = np.lexsort((ev["instrument_id"], ev["ts_local"]))  # ts, then instrument id, then arrival
    for chunk in (7, 4096):
        assert cat.read(chunk_size=chunk).tobytes() == ev[order].tobytes()
    unmerged = cat.read(merge=False)
    assert unmerged.tobytes() == ev[np.argsort(ev["instrument_id"], kind="stable")].tobytes()


def test_merge_rejects_unsorted_stream() -> None:
    a = random_events(10, seed=8)
    b = a[::-1].copy()
    with pytest.raises(ValidationError, match="not sorted by ts_local"):
        list(merge_chunks([[a], [b]]))


def test_arrow_conversions(tmp_path: Path) -> None:
    ev = random_events(1000, seed=9)
    table = events_to_table(ev)
    assert batch_to_events(table).tobytes() == ev.tobytes()
    for b in table.to_batches(max_chunksize=99):
        assert b.num_rows <= 99
    rec = events_to_records(ev)
    back = records_to_events(rec)
    assert np.shares_memory(back, ev)  # zero-copy both ways
    assert back.tobytes() == ev.tobytes()
    out = np.empty(2000, dtype=EVENT_DTYPE)
    res = batch_to_events(table.to_batches()[0], out=out)
    assert np.shares_memory(res, out)


def test_errors(tmp_path: Path) -> None:
    ev = random_events(10, seed=10, n_inst=2)
    cat = Catalog(tmp_path / "x")
    with pytest.raises(ValidationError, match="instrument_id \\[1\\]"):
        cat.write(ev, [BTC])
    with pytest.raises(ValidationError, match="EVENT_DTYPE"):
        cat.write(np.zeros(3), [BTC])
    with pytest.raises(ValidationError, match="not a valid catalog name"):
        cat.write(ev, [CatalogInstrument(venue="A/B", symbol="X", price_precision=1, size_precision=1)])
    with pytest.raises(ValidationError, match="no catalog"):
        Catalog(tmp_path / "missing", create=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError, match="not a directory"):
        Catalog(tmp_path / "file")
    cat.write(ev, [BTC, ETH])
    with pytest.raises(ValidationError, match="'NOPE' is not in the catalog"):
        cat.read(instruments="NOPE")
    with pytest.raises(ValidationError, match="unknown event kind"):
        cat.read(kinds=[42])
    with pytest.raises(ValidationError, match="chunk_size"):
        cat.read(chunk_size=0)
    with pytest.raises(ValidationError, match="before start"):
        cat.read(start=10, end=5)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "_catalog.json").write_text("{]")
    with pytest.raises(ValidationError, match="not a shrivenquant catalog table"):
        Catalog(tmp_path / "bad")


def test_writer_abort_leaves_no_partial_file(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    ev = random_events(100, seed=11, span=1)
    with pytest.raises(RuntimeError), cat.writer([BTC]) as w:
        w.write(ev)
        raise RuntimeError("boom")
    assert not list(tmp_path.rglob("*.parquet")) and not list(tmp_path.rglob("*.tmp"))
    assert cat.read().shape[0] == 0


def test_catalog_import_does_not_load_pyarrow() -> None:
    code = "import sys, shrivenquant.catalog; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 1500), seed=st.integers(0, 2**32 - 1), n_inst=st.integers(1, 3), ties=st.booleans(),
       chunk=st.integers(16, 2000))
def test_merged_read_property(tmp_path_factory: pytest.TempPathFactory, n: int, seed: int, n_inst: int, ties: bool,
                              chunk: int) -> None:
    ev = random_events(n, seed=seed, n_inst=n_inst, span=2 * DAY_NS)
    if ties:
        ev["ts_local"] = np.sort(np.random.default_rng(seed).integers(T0, T0 + 50, n))
    cat = Catalog(tmp_path_factory.mktemp("m"))
    cat.write(ev, [BTC, ETH, ES][:n_inst], row_group_size=256)
    order = np.lexsort((ev["instrument_id"], ev["ts_local"]))
    assert cat.read(chunk_size=chunk).tobytes() == ev[order].tobytes()
