"""``shrivenquant catalog import | ls | read`` end to end (in process, through main())."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from shrivenquant.cli.catalog import parse_time
from shrivenquant.cli.main import main


def test_import_ls_read_synthetic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shrivenquant.venues.binance import decode_file, write_stream

    rec = tmp_path / "usdm_synth_20240101.gz"
    inst = write_stream(rec, 2_000, seed=5)
    root = tmp_path / "cat"
    assert main(["catalog", "import", str(root), str(rec), "--format", "binance"]) == 0
    assert "records imported" in capsys.readouterr().out
    assert main(["catalog", "ls", str(root), "--json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["instruments"][0]["symbol"] == inst.symbol
    assert doc["instruments"][0]["venue"] == "BINANCE_USDM"
    ref, _ = decode_file(rec)
    assert sum(p["records"] for p in doc["partitions"]) == ref.shape[0]
    out = tmp_path / "trades.npy"
    assert main(["catalog", "read", str(root), "--kinds", "trade", "--limit", "2", "--json", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and orjson.loads(lines[0])["kind"] == "TRADE"
    got = np.load(out)
    assert got.tobytes() == ref[ref["kind"] == 7].tobytes()
    assert main(["catalog", "ls", str(root)]) == 0
    assert "venue=BINANCE_USDM/instrument=" in capsys.readouterr().out


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "ls", str(tmp_path / "none")]) == 2
    assert "no catalog" in capsys.readouterr().err
    assert main(["catalog", "import", str(tmp_path / "c"), str(tmp_path / "missing.gz"), "--format", "binance",
                 "--venue", "BINANCE"]) == 2
    assert "no such recording file" in capsys.readouterr().err
    (tmp_path / "c").mkdir(exist_ok=True)
    assert main(["catalog", "read", str(tmp_path / "c"), "--kinds", "bogus"]) == 2
    assert "unknown event kind" in capsys.readouterr().err
    assert main(["catalog", "read", str(tmp_path / "c"), "--start", "yesterday"]) == 2
    assert "bad time" in capsys.readouterr().err
    assert main(["catalog"]) == 2


def test_parse_time() -> None:
    assert parse_time("1723075200000000000") == 1_723_075_200_000_000_000
    assert parse_time("2024-08-08") == 1_723_075_200_000_000_000
    assert parse_time("2024-08-08T00:00:01.5Z") == 1_723_075_201_500_000_000
    assert parse_time("2024-08-08T02:00:00+02:00") == 1_723_075_200_000_000_000
    assert parse_time(None) is None
