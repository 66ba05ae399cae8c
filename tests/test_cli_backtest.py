"""`shrivenquant demo` trades (risk -> OMS -> simulated exchange) and writes the tearsheet;
`shrivenquant backtest CONFIG.toml` runs a configuration."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from shrivenquant.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("strategy", ["market-maker", "imbalance"])
def test_demo_trades_on_the_generated_stream(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            strategy: str) -> None:
    code, out, _ = _run(capsys, "demo", "--messages", "4000", "--json", "--strategy", strategy, "--out",
                        str(tmp_path))
    assert code == 0
    s = orjson.loads(out)
    b = s["backtest"]
    assert b["events"] > 0 and b["fills"] > 0 and b["risk_denied"] == 0
    if strategy == "market-maker":
        assert b["maker_fills"] == b["fills"]
    else:
        assert b["taker_fills"] == b["fills"]
    html = Path(b["tearsheet"]["html"])
    assert html.exists() and "Sharpe" in html.read_text()
    # the data summary is still there
    assert sum(s["messages"].values()) == 4000


def test_demo_text_and_no_strategy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, text, _ = _run(capsys, "demo", "--messages", "3000", "--out", str(tmp_path))
    assert code == 0 and "backtest" in text and "tearsheet" in text
    code, out, _ = _run(capsys, "demo", "--messages", "3000", "--json", "--strategy", "none")
    assert code == 0 and "backtest" not in orjson.loads(out)


def test_backtest_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = tmp_path / "mm.toml"
    cfg.write_text('[data]\ngenerated_messages = 3000\n[strategy]\nname = "market_maker"\n'
                   'params = { qty = "0.010", skew_qty = "0.020", max_position = "0.100" }\n'
                   '[venue]\nmaker_fee = "-0.0001"\nentry_latency_ns = 1000000\nresponse_latency_ns = 1000000\n'
                   '[risk]\ncurrency = "USDT"\n')
    code, out, _ = _run(capsys, "backtest", str(cfg), "--json", "--out", str(tmp_path / "rep"))
    assert code == 0
    s = orjson.loads(out)
    assert s["fills"] > 0 and Path(s["tearsheet"]).exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("[strategy]\nunknown_key = 1\n")
    code, _, err = _run(capsys, "backtest", str(bad))
    assert code == 2 and "unknown_key" in err
