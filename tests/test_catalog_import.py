"""Catalog converters on the real samples: stored records equal the project's decoders' output exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shrivenquant.catalog import Catalog, import_binance, import_databento_mbo, import_lobster
from shrivenquant.errors import ValidationError


def _sorted_by_day(ev: np.ndarray) -> np.ndarray:
    """The decoder's records in catalog read order for one instrument: by ts_local day, arrival order kept."""
    return ev[np.argsort(ev["ts_local"] // 86_400_000_000_000, kind="stable")]


def test_binance_two_day_files(shared_data: Path, tmp_path: Path) -> None:
    from shrivenquant.venues.binance import BinanceRecordingDecoder, read_recording

    files = [shared_data / "binance-hftbacktest" / f"usdm_btcusdt_2024071{d}.gz" for d in (8, 9)]
    if not all(f.is_file() for f in files):
        pytest.skip("Binance USD-M 2024-07-18/19 recordings not present")
    cat = Catalog(tmp_path)
    stats = import_binance(cat, files)
    dec = BinanceRecordingDecoder(native=False)  # the reference: the msgspec path, line by line
    for f in files:
        dec.decode_lines(read_recording(f))
    ref = dec.flush()
    assert stats.records == ref.shape[0]
    entry = cat.instruments[0]
    assert (entry.venue, entry.symbol, entry.price_precision, entry.size_precision) == (
        "BINANCE_USDM", "BTCUSDT", 2, 3)
    assert [p.date for p in cat.partitions()] == ["2024-07-18", "2024-07-19"]
    assert cat.read().tobytes() == _sorted_by_day(ref).tobytes()
    trades = cat.read(kinds=[7])
    assert trades.tobytes() == ref[ref["kind"] == 7].tobytes()


def test_binance_synthetic_with_instrument(tmp_path: Path) -> None:
    from shrivenquant.venues.binance import decode_file, write_stream

    rec = tmp_path / "stream.gz"
    inst = write_stream(rec, 3_000, seed=3)
    cat = Catalog(tmp_path / "cat")
    import_binance(cat, rec, instruments=[inst])
    entry = Catalog(tmp_path / "cat").instruments[0]
    assert entry.instrument == inst and entry.venue == inst.venue
    ref, _ = decode_file(rec, [inst])
    assert cat.read().tobytes() == _sorted_by_day(ref).tobytes()


def test_databento_mbo(shared_data: Path, tmp_path: Path) -> None:
    from shrivenquant.venues.databento import load_mbo_csv

    path = shared_data / "databento-mbo-cme" / "esh4-glbx-mdp3-20231225.mbo.csv.gz"
    if not path.is_file():
        pytest.skip("Databento MBO sample not present")
    cat = Catalog(tmp_path)
    import_databento_mbo(cat, path, symbols="ESH4")
    ref, info = load_mbo_csv(path)
    e = cat.instruments[0]
    assert (e.venue, e.symbol, e.price_precision, e.size_precision) == ("GLBX", "ESH4", info.price_precision, 0)
    assert cat.read().tobytes() == _sorted_by_day(ref).tobytes()


def test_lobster(shared_data: Path, tmp_path: Path) -> None:
    from shrivenquant.venues.lobster import load_messages

    name = "AMZN_2021-04-12_34200000_57600000_message_10.csv.gz"
    path = shared_data / "lobster" / "amzn_2021-04-12_first30min" / name
    if not path.is_file():
        pytest.skip("LOBSTER sample not present")
    cat = Catalog(tmp_path)
    import_lobster(cat, path)
    ref = load_messages(path)
    assert cat.instruments[0].key == "AMZN.NASDAQ"
    assert [p.date for p in cat.partitions()] == ["2021-04-12"]
    got = cat.read()
    assert got.tobytes() == ref.tobytes()
    # a time window inside the half hour
    lo, hi = int(ref["ts_local"][1000]), int(ref["ts_local"][2000])
    assert cat.read(start=lo, end=hi).tobytes() == ref[(ref["ts_local"] >= lo) & (ref["ts_local"] < hi)].tobytes()


def test_import_errors(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    with pytest.raises(ValidationError, match="no such recording file"):
        import_binance(cat, tmp_path / "nope.gz", venue="BINANCE")
    (tmp_path / "weird_name.gz").write_bytes(b"")
    with pytest.raises(ValidationError, match="cannot tell the venue"):
        import_binance(cat, tmp_path / "weird_name.gz")
    with pytest.raises(ValidationError, match="TICKER_YYYY-MM-DD"):
        import_lobster(cat, tmp_path / "weird_name.gz")


def test_binance_book_sync_transform(tmp_path: Path) -> None:
    from shrivenquant.backtest import binance_book_events
    from shrivenquant.cli.main import main
    from shrivenquant.venues.binance import decode_file, write_stream

    rec = tmp_path / "usdm_synth_20240101.gz"
    inst = write_stream(rec, 2_000, seed=9)
    cat = Catalog(tmp_path / "cat")
    import_binance(cat, rec, instruments=[inst], transform=binance_book_events)
    raw, _ = decode_file(rec, [inst])
    synced = binance_book_events(raw)
    assert synced.shape[0] < raw.shape[0]  # diffs older than the snapshot dropped
    assert cat.read().tobytes() == _sorted_by_day(synced).tobytes()
    assert main(["catalog", "import", str(tmp_path / "cli"), str(rec), "--format", "binance", "--book-sync"]) == 0
    assert Catalog(tmp_path / "cli").read().shape[0] == synced.shape[0]
