"""``shrivenquant report``: the tearsheet command reached through the main command line."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from shrivenquant.analytics import metrics
from shrivenquant.cli.main import main


def _returns_csv(tmp_path: Path) -> tuple[Path, np.ndarray]:
    x = np.random.default_rng(11).normal(0.0004, 0.012, 400)
    path = tmp_path / "returns.csv"
    path.write_text("ret\n" + "\n".join(repr(float(v)) for v in x) + "\n")
    return path, x


def test_report_writes_html_and_prints_the_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, x = _returns_csv(tmp_path)
    out = tmp_path / "sheet.html"
    assert main(["report", str(path), "--periods-per-year", "365", "--out", str(out)]) == 0
    printed = dict(line.rsplit(None, 1) for line in capsys.readouterr().out.splitlines() if "wrote" not in line)
    assert float(printed["Sharpe ratio"]) == pytest.approx(metrics.sharpe_ratio(x, periods_per_year=365), rel=1e-5)
    assert float(printed["Max drawdown"]) == pytest.approx(metrics.max_drawdown(x), rel=1e-5)
    assert int(float(printed["Periods"])) == 400
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "Sharpe ratio" in text
    # the figure is embedded when the plot extra is installed; otherwise the page says nothing about plots
    assert ("data:image/png;base64," in text) == (importlib.util.find_spec("matplotlib") is not None)


def test_report_help_passes_through(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", "--help"])
    assert exc.value.code == 0
    assert "--periods-per-year" in capsys.readouterr().out


def test_report_on_a_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "absent.csv")]) == 2
    assert "absent.csv" in capsys.readouterr().err
