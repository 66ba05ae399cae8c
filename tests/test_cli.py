"""The command line: --help/--version, `bench --json`, and `demo` checked against an independent pass over
the raw recording (stdlib json + decimal, not the project's decoder)."""

from __future__ import annotations

import gzip
import json
import statistics
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import orjson
import pytest

from shrivenquant import __version__
from shrivenquant.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_and_version() -> None:
    for argv in (["--help"], ["--version"]):
        proc = subprocess.run([sys.executable, "-m", "shrivenquant", *argv], capture_output=True, text=True,
                              check=True)
        assert "shrivenquant" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "shrivenquant", "--version"], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == f"shrivenquant {__version__}"


def test_bench_json_reports_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "bench", "--quick", "--json", "price_add", "price_from_str")
    assert code == 0
    report = orjson.loads(out)
    cases = {c["case"]: c for c in report["cases"]}
    assert set(cases) == {"price_add", "price_from_str"}
    for case in cases.values():
        target = next(r for r in case["rows"] if r["role"] == "target")
        baselines = [r for r in case["rows"] if r["role"] == "baseline" and not r["skipped"]]
        assert baselines, "every case has a baseline measured in the same run"
        assert target["median"] > 0
        for b in baselines:
            assert target["ratios"][b["label"]] == pytest.approx(target["median"] / b["median"], rel=1e-2)
    assert "int + int" in {r["label"] for r in cases["price_add"]["rows"]}


def test_bench_unknown_case_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "bench", "no-such-case")
    assert code == 2
    assert "no case matches" in err


def test_demo_generated_stream(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "demo", "--messages", "3000", "--json")
    assert code == 0
    s = orjson.loads(out)
    assert s["lines"] == 3000
    assert sum(s["messages"].values()) == 3000
    (sym,) = s["symbols"].values()
    assert sym["top_of_book"]["crossed"] == 0
    assert sym["trades"]["count"] == s["messages"]["trade"]
    # text mode prints the same run
    code, text, _ = _run(capsys, "demo", "--messages", "3000")
    assert code == 0
    assert "level updates" in text


def test_demo_bad_input_gives_clear_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(capsys, "demo", "--messages", "0")
    assert code == 2
    assert "--messages must be >= 1" in err
    code, _, err = _run(capsys, "demo", "--data", str(tmp_path / "missing.gz"))
    assert code == 2
    assert "missing.gz" in err
    bad = tmp_path / "bad.txt"
    bad.write_text('1723161255030000000 {"stream":"btcusdt@trade","data":{"e":"trade","p":"x"}}\n')
    code, _, err = _run(capsys, "demo", "--data", str(bad))
    assert code == 2
    assert "line 1" in err


def _oracle(path: Path) -> dict[str, object]:
    """Trade and top-of-book statistics straight from the recording's JSON, with Decimal."""
    trades: list[tuple[Decimal, Decimal]] = []
    spreads: list[Decimal] = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            _, _, payload = line.partition(" ")
            msg = json.loads(payload)
            data = msg.get("data")
            if not data:
                continue
            if data.get("e") == "trade":
                trades.append((Decimal(data["p"]), Decimal(data["q"])))
            elif "@bookTicker" in msg["stream"]:
                spreads.append(Decimal(data["a"]) - Decimal(data["b"]))
    volume = sum(q for _, q in trades)
    vwap = (sum(p * q for p, q in trades) / volume).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return {
        "count": len(trades), "volume": volume, "vwap": vwap,
        "min": min(p for p, _ in trades), "max": max(p for p, _ in trades),
        "spread_median_ticks": statistics.median(spreads) / Decimal("0.01"), "bbo": len(spreads),
        "spread_max": max(spreads),
    }


def test_demo_on_real_recording_matches_independent_oracle(
    capsys: pytest.CaptureFixture[str], shared_data: Path
) -> None:
    rec = shared_data / "binance-hftbacktest" / "usdm_btcusdt_20240808.gz"
    info = shared_data / "binance-cryptofeed" / "BINANCE_FUTURES.0.gz"
    if not rec.exists() or not info.exists():
        pytest.skip("real Binance recording or exchangeInfo capture not present")
    code, out, _ = _run(capsys, "demo", "--data", str(rec), "--exchange-info", str(info), "--json")
    assert code == 0
    s = orjson.loads(out)
    assert s["instruments_loaded"]["total"] == 122
    assert s["messages"] == {"bookTicker": 66089, "depthUpdate": 6551, "snapshot": 1, "trade": 21313}
    btc = s["symbols"]["BTCUSDT"]
    assert btc["precisions"] == {"price": 2, "size": 3, "source": "exchangeInfo"}
    oracle = _oracle(rec)
    t = btc["trades"]
    assert t["count"] == oracle["count"]
    assert Decimal(t["volume"]) == oracle["volume"]
    assert Decimal(t["vwap"]) == oracle["vwap"]
    assert Decimal(t["price_min"]) == oracle["min"]
    assert Decimal(t["price_max"]) == oracle["max"]
    b = btc["top_of_book"]
    assert b["updates"] == oracle["bbo"]
    assert Decimal(str(b["spread_ticks"]["median"])) == oracle["spread_median_ticks"]
    assert Decimal(b["spread_max"]) == oracle["spread_max"]
