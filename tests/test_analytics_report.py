"""The tearsheet: metrics table, PNG and self-contained HTML, notebook repr and the command line."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from shrivenquant.analytics import metrics as m
from shrivenquant.analytics.report import Report, load_returns, main, monthly_returns
from shrivenquant.errors import ValidationError


def series(n: int = 600, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0006, 0.012, n)
    x[10] = np.nan
    dates = np.datetime64("2022-01-03") + np.arange(n).astype("timedelta64[D]")
    return x, dates


def test_metrics_table_uses_the_metric_functions():
    x, dates = series()
    b = np.random.default_rng(2).normal(0.0003, 0.01, x.shape[0])
    rep = Report(x, periods_per_year=365, dates=dates, benchmark=b, title="t")
    table = rep.metrics()
    assert table["Sharpe ratio"] == m.sharpe_ratio(x, periods_per_year=365)
    assert table["CAGR"] == m.annual_return(x, periods_per_year=365)
    assert table["Max drawdown"] == m.max_drawdown(x)
    assert table["Beta"] == m.beta(x, b)
    assert table["Periods per year"] == 365
    with pytest.raises(ValidationError):
        Report(x[:1], periods_per_year=252)
    with pytest.raises(ValidationError):
        Report(x, periods_per_year=252, dates=dates[:-1])


def test_monthly_returns_compound_within_months():
    dates = np.array(["2024-01-30", "2024-01-31", "2024-02-01", "2025-03-05"], dtype="datetime64[D]")
    years, table = monthly_returns(np.array([0.1, -0.1, 0.05, np.nan]), dates)
    assert list(years) == [2024, 2025]
    assert table[0, 0] == pytest.approx(1.1 * 0.9 - 1)
    assert table[0, 1] == pytest.approx(0.05)
    assert table[1, 2] == 0.0 and np.isnan(table[0, 5])


def test_png_and_html_are_rendered(tmp_path):
    pytest.importorskip("matplotlib")
    x, dates = series()
    rep = Report(x, periods_per_year=252, dates=dates, title="Synthetic strategy")
    png = rep.to_png(tmp_path / "r.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert (tmp_path / "r.png").read_bytes() == png
    html = rep.to_html(tmp_path / "r.html")
    assert "Synthetic strategy" in html and "Sharpe ratio" in html and "2022-01-03" in html
    embedded = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert embedded and base64.b64decode(embedded.group(1))[:4] == b"\x89PNG"
    assert "http" not in html.replace("https://", "")  # self-contained: nothing to fetch
    assert rep._repr_html_().startswith("<!DOCTYPE html>")
    nodates = Report(x, periods_per_year=252).to_png()
    assert len(nodates) > 30_000


def test_command_line_csv_and_parquet(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    x, dates = series(300)
    csv_path = tmp_path / "rets.csv"
    lines = ["date,strategy"] + [f"{d},{float(v)!r}" for d, v in zip(dates.astype(str), x, strict=True)]
    csv_path.write_text("\n".join(lines) + "\n")
    assert main([str(csv_path), "--periods-per-year", "252", "--png", str(tmp_path / "o.png")]) == 0
    out = capsys.readouterr().out
    assert "Sharpe ratio" in out and (tmp_path / "rets.html").stat().st_size > 50_000
    assert (tmp_path / "o.png").stat().st_size > 50_000
    vals, d, col = load_returns(csv_path)
    np.testing.assert_array_equal(vals, x)
    assert col == "strategy" and d[0] == np.datetime64("2022-01-03")

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq_path = tmp_path / "prices.parquet"
    prices = 100 * np.cumprod(1 + np.nan_to_num(x))
    pq.write_table(pa.table({"date": dates.astype("datetime64[ns]"), "close": prices}), pq_path)
    assert main([str(pq_path), "--prices", "--out", str(tmp_path / "p.html")]) == 0
    vals, _, _ = load_returns(pq_path, prices=True)
    np.testing.assert_allclose(vals, prices[1:] / prices[:-1] - 1)
    assert main([str(tmp_path / "missing.csv")]) == 2
    assert main([str(csv_path), "--column", "nope"]) == 2
