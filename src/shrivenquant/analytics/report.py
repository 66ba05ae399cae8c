"""Tearsheet: a metrics table and plots (equity, underwater, rolling Sharpe and volatility, monthly returns,
returns distribution) as PNG, one self-contained HTML file, or inline in a notebook.

matplotlib (the ``plot`` extra) is imported only when a figure is drawn. Command line::

    shrivenquant report RETURNS.csv|parquet [--periods-per-year 252] [--out report.html] [--png report.png]
    python -m shrivenquant.analytics.report ...   (the same)
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import importlib.util
import io
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shrivenquant.analytics import metrics as m
from shrivenquant.analytics import rolling as r
from shrivenquant.analytics._inputs import RateUnits, as_vector, periods
from shrivenquant.errors import ShrivenQuantError, ValidationError

__all__ = ["Report", "build_parser", "load_returns", "main", "monthly_returns"]


def _need_matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("the tearsheet plots need matplotlib: pip install 'shrivenquant[plot]'") from exc
    return plt


def monthly_returns(returns: np.ndarray, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compounded returns per calendar month: (years, table) with ``table[i, month - 1]`` for ``years[i]``
    (NaN for months without data); NaN returns count as 0."""
    d = np.asarray(dates).astype("datetime64[M]")
    years = d.astype("datetime64[Y]").astype(int) + 1970
    months = d.astype(int) % 12
    uy = np.unique(years)
    table = np.full((uy.shape[0], 12), np.nan)
    growth = 1.0 + np.nan_to_num(returns)
    key = (years - uy[0]) * 12 + months
    for k in np.unique(key):
        table[k // 12, k % 12] = float(np.prod(growth[key == k])) - 1.0
    return uy, table


class Report:
    """A tearsheet of one return series (simple, per period).

    Args:
        returns: simple returns, one per period.
        periods_per_year: the annualisation factor (252, 365, 12...), explicit.
        dates: the periods' dates (datetime64 or int ns); needed for the monthly table and date axes.
        benchmark: optional benchmark returns (alpha, beta, information ratio, captures).
        risk_free, risk_free_units: as for :func:`~shrivenquant.analytics.sharpe_ratio`.
        rolling_window: window of the rolling Sharpe and volatility plots (default: half a year of periods
            but at most a quarter of the series, so short runs still show a curve; at least 2).
        title: the report's title.
    """

    def __init__(self, returns: Any, *, periods_per_year: float, dates: Any = None, benchmark: Any = None,
                 risk_free: float = 0.0, risk_free_units: RateUnits = "period", rolling_window: int | None = None,
                 title: str = "Strategy") -> None:
        x = np.asarray(returns, dtype=np.float64)
        if x.ndim != 1 or x.shape[0] < 2:
            raise ValidationError("a report needs a 1-D series of at least 2 returns")
        self.returns = x
        self.periods_per_year = periods(periods_per_year)
        self.dates = None if dates is None else self._dates(dates, x.shape[0])
        self.benchmark = None if benchmark is None else as_vector(benchmark, x.shape[0], "benchmark")
        self.risk_free = float(risk_free)
        self.risk_free_units: RateUnits = risk_free_units
        w = rolling_window or max(2, min(round(self.periods_per_year / 2), x.shape[0] // 4))
        self.rolling_window = int(min(w, x.shape[0]))
        self.title = title
        self._png: dict[int, bytes] = {}

    @staticmethod
    def _dates(dates: Any, n: int) -> np.ndarray:
        d = np.asarray(dates)
        if d.dtype.kind in "iu" or d.dtype.kind in "UO":
            d = d.astype("datetime64[ns]")
        if d.dtype.kind != "M" or d.shape != (n,):
            raise ValidationError(f"dates must be {n} datetime64 values (or int ns)")
        return d.astype("datetime64[ns]")

    # ---------------------------------------------------------------------------------------- table
    def metrics(self) -> dict[str, float]:
        """The metrics table: name -> value (ratios as plain numbers, returns as fractions)."""
        x, ppy = self.returns, self.periods_per_year
        rf = {"risk_free": self.risk_free, "risk_free_units": self.risk_free_units}
        dd = m.drawdown_details(x)
        out: dict[str, float] = {
            "Periods": float(x.shape[0]),
            "Periods per year": ppy,
            "Total return": m.total_return(x),
            "CAGR": m.annual_return(x, periods_per_year=ppy),
            "Annual volatility": m.annual_volatility(x, periods_per_year=ppy),
            "Sharpe ratio": m.sharpe_ratio(x, periods_per_year=ppy, **rf),
            "Sortino ratio": m.sortino_ratio(x, periods_per_year=ppy),
            "Max drawdown": dd.max_drawdown,
            "Max drawdown duration (periods)": float(dd.duration) if dd.duration >= 0 else math.nan,
            "Calmar ratio": m.calmar_ratio(x, periods_per_year=ppy),
            "Omega ratio": m.omega_ratio(x, periods_per_year=ppy),
            "Tail ratio": m.tail_ratio(x),
            "Stability": m.stability(x),
            "VaR 5% (historical)": m.value_at_risk(x, 0.05, nan_policy="skip"),
            "CVaR 5% (historical)": m.conditional_value_at_risk(x, 0.05),
            "VaR 5% (parametric)": m.value_at_risk(x, 0.05, method="parametric", nan_policy="skip"),
        }
        if self.benchmark is not None:
            b = self.benchmark
            a, be = m.alpha_beta(x, b, periods_per_year=ppy, **rf)
            out.update({
                "Alpha (annual)": a, "Beta": be,
                "Information ratio (annual)": m.information_ratio(x, b, periods_per_year=ppy),
                "Up capture": m.up_capture(x, b, periods_per_year=ppy),
                "Down capture": m.down_capture(x, b, periods_per_year=ppy),
            })
        return {k: float(v) for k, v in out.items()}

    # ---------------------------------------------------------------------------------------- plots
    def figure(self) -> Any:
        """A matplotlib Figure with the six panels."""
        plt = _need_matplotlib()
        x, ppy, w = self.returns, self.periods_per_year, self.rolling_window
        t = self.dates if self.dates is not None else np.arange(x.shape[0])
        fig = plt.figure(figsize=(12, 13), layout="constrained")
        grid = fig.add_gridspec(4, 2, height_ratios=[1.2, 0.8, 1.0, 1.1])
        fig.suptitle(self.title, fontsize=15)

        ax = fig.add_subplot(grid[0, :])
        ax.plot(t, m.cum_returns(x, starting_value=1.0), color="#1f4e79", lw=1.4, label=self.title)
        if self.benchmark is not None:
            ax.plot(t, m.cum_returns(self.benchmark, starting_value=1.0), color="#999999", lw=1.0,
                    label="Benchmark")
            ax.legend(loc="upper left")
        ax.set_title("Equity curve (growth of 1)")
        ax.set_ylabel("wealth")
        ax.grid(alpha=0.3)

        ax = fig.add_subplot(grid[1, :])
        under = m.drawdown_series(x) * 100
        ax.fill_between(t, under, 0, color="#c0392b", alpha=0.5, lw=0)
        ax.set_title("Drawdown (underwater)")
        ax.set_ylabel("% below peak")
        ax.grid(alpha=0.3)

        ax = fig.add_subplot(grid[2, 0])
        ax.plot(t, r.rolling_sharpe(x, w, periods_per_year=ppy), color="#1f4e79", lw=1.0)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(f"Rolling Sharpe ({w} periods)")
        ax.grid(alpha=0.3)

        ax = fig.add_subplot(grid[2, 1])
        ax.plot(t, r.rolling_volatility(x, w, periods_per_year=ppy) * 100, color="#7d3c98",
                lw=1.0)
        ax.set_title(f"Rolling volatility ({w} periods, annualised)")
        ax.set_ylabel("%")
        ax.grid(alpha=0.3)

        self._date_axes(fig.axes, t)

        ax = fig.add_subplot(grid[3, 0])
        if self.dates is not None and self.dates[-1] - self.dates[0] < np.timedelta64(62, "D"):
            # shorter than two months (an intraday backtest): a monthly table says nothing, show the periods
            ax.plot(self.dates, x * 100, color="#1f4e79", lw=0.6)
            ax.axhline(0, color="black", lw=0.6)
            ax.set_title("Period returns (%)")
            ax.grid(alpha=0.3)
            self._date_axes([ax], self.dates)
        elif self.dates is not None:
            years, table = monthly_returns(x, self.dates)
            lim = float(np.nanmax(np.abs(table))) * 100 if np.isfinite(table).any() else 1.0
            im = ax.imshow(table * 100, cmap="RdYlGn", vmin=-lim, vmax=lim, aspect="auto")
            ax.set_xticks(range(12), ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
            ax.set_yticks(range(len(years)), [str(y) for y in years])
            if table.size <= 240:
                for (i, j), v in np.ndenumerate(table):
                    if np.isfinite(v):
                        ax.text(j, i, f"{v * 100:.1f}", ha="center", va="center", fontsize=7)
            fig.colorbar(im, ax=ax, label="%")
            ax.set_title("Monthly returns (%)")
        else:
            ax.text(0.5, 0.5, "no dates given:\nmonthly table unavailable", ha="center", va="center")
            ax.set_axis_off()

        ax = fig.add_subplot(grid[3, 1])
        clean = x[~np.isnan(x)] * 100
        ax.hist(clean, bins=min(60, max(10, clean.shape[0] // 10)), color="#1f4e79", alpha=0.8)
        ax.axvline(float(np.mean(clean)), color="black", lw=1, label="mean")
        ax.axvline(m.value_at_risk(x, 0.05, nan_policy="skip") * 100, color="#c0392b", lw=1, ls="--",
                   label="VaR 5%")
        ax.legend()
        ax.set_title("Distribution of period returns")
        ax.set_xlabel("%")
        return fig

    def _date_axes(self, axes: list[Any], t: np.ndarray) -> None:
        """The full span on every time axis, with concise date labels (few ticks on the half-width panels)."""
        for ax in axes:
            ax.set_xlim(t[0], t[-1])
        if self.dates is None:
            return
        import matplotlib.dates as mdates

        for ax in axes:
            wide = ax.get_position().width > 0.6
            locator = mdates.AutoDateLocator(minticks=3, maxticks=10 if wide else 7)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))

    def to_png(self, path: str | Path | None = None, *, dpi: int = 110) -> bytes:
        """The figure as PNG bytes (also written to ``path`` if given); rendered once per ``dpi``."""
        data = self._png.get(dpi)
        if data is None:
            plt = _need_matplotlib()
            fig = self.figure()
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi)
            plt.close(fig)
            data = self._png[dpi] = buf.getvalue()
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def _table_html(self) -> str:
        rows = []
        for k, v in self.metrics().items():
            if k in ("Periods", "Periods per year", "Max drawdown duration (periods)"):
                txt = "–" if math.isnan(v) else f"{v:,.6g}"
            elif k in ("Total return", "CAGR", "Annual volatility", "Max drawdown", "Alpha (annual)") or "VaR" in k:
                txt = f"{v * 100:.2f} %"
            else:
                txt = f"{v:.3f}"
            rows.append(f"<tr><th>{html.escape(k)}</th><td>{html.escape(txt)}</td></tr>")
        return "<table class='sq-metrics'>" + "".join(rows) + "</table>"

    def to_html(self, path: str | Path | None = None, *, plots: bool = True) -> str:
        """One self-contained HTML page (the PNG embedded as base64); written to ``path`` if given."""
        img = ""
        if plots:
            png = base64.b64encode(self.to_png()).decode("ascii")
            img = f"<img alt='tearsheet' style='max-width:100%' src='data:image/png;base64,{png}'/>"
        span = ""
        if self.dates is not None:
            span = f"<p>{str(self.dates[0])[:10]} to {str(self.dates[-1])[:10]}</p>"
        doc = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(self.title)
               + "</title><style>body{font-family:sans-serif;margin:2em}table.sq-metrics{border-collapse:collapse}"
               "table.sq-metrics th{text-align:left;padding:2px 12px 2px 0;font-weight:normal}"
               "table.sq-metrics td{text-align:right;font-family:monospace}</style></head><body>"
               f"<h1>{html.escape(self.title)}</h1>{span}{self._table_html()}{img}</body></html>")
        if path is not None:
            Path(path).write_text(doc, encoding="utf-8")
        return doc

    def _repr_html_(self) -> str:
        try:
            return self.to_html()
        except ImportError:
            return self.to_html(plots=False)


# ------------------------------------------------------------------------------------- command line
def load_returns(path: str | Path, column: str | None = None, *, prices: bool = False) -> tuple[np.ndarray, Any, str]:
    """Read (returns, dates or None, column name) from a CSV (header row; a first column of dates is
    recognised) or a Parquet file (pyarrow). ``prices`` turns a price column into simple returns."""
    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(p)
        names = table.column_names
        cols = {n: table.column(n).to_numpy(zero_copy_only=False) for n in names}
    else:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            names = next(reader)
            rows = [row for row in reader if row]
        cols = {n: np.array([row[i] for row in rows]) for i, n in enumerate(names)}
    dates = None
    first = cols[names[0]]
    try:
        dates = np.asarray(first).astype("datetime64[ns]") if np.asarray(first).dtype.kind in "UOM" else None
    except ValueError:
        dates = None
    numeric = [n for n in names if not (dates is not None and n == names[0])]
    if column is None:
        if not numeric:
            raise ValidationError(f"{p}: no numeric column")
        column = numeric[0]
    if column not in cols:
        raise ValidationError(f"{p}: no column {column!r} (columns: {names})")
    try:
        vals = np.asarray(cols[column]).astype(np.float64)
    except ValueError as exc:
        raise ValidationError(f"{p}: column {column!r} is not numeric: {exc}") from exc
    if prices:
        vals = vals[1:] / vals[:-1] - 1.0
        dates = None if dates is None else dates[1:]
    return vals, dates, column


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The ``report`` command's arguments (on ``parser`` if given, e.g. a sub-parser)."""
    p = parser or argparse.ArgumentParser(prog="shrivenquant report",
                                          description="Write a tearsheet (HTML with an embedded PNG) for a "
                                          "return series read from CSV or Parquet.")
    p.add_argument("returns", type=Path, help="CSV or Parquet file: an optional date column, then returns")
    p.add_argument("--column", help="the column to report (default: the first numeric one)")
    p.add_argument("--prices", action="store_true", help="the column holds prices, not returns")
    p.add_argument("--periods-per-year", type=float, default=252.0,
                   help="annualisation factor (default 252 trading days; 365 for crypto days, 12 monthly)")
    p.add_argument("--risk-free", type=float, default=0.0, help="risk-free rate (default 0)")
    p.add_argument("--risk-free-units", choices=["period", "annual"], default="period",
                   help="units of --risk-free (default per period)")
    p.add_argument("--out", type=Path, help="HTML output (default: RETURNS with .html)")
    p.add_argument("--png", type=Path, help="also write the figure as PNG here")
    p.add_argument("--title", help="report title (default: the column name)")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the ``report`` command from parsed arguments; returns the exit code."""
    x, dates, col = load_returns(args.returns, args.column, prices=args.prices)
    rep = Report(x, periods_per_year=args.periods_per_year, dates=dates, risk_free=args.risk_free,
                 risk_free_units=args.risk_free_units, title=args.title or col)
    out = args.out or args.returns.with_suffix(".html")
    plots = importlib.util.find_spec("matplotlib") is not None
    if args.png and not plots:
        _need_matplotlib()  # raises the clear "install the plot extra" error
    rep.to_html(out, plots=plots)
    if args.png:
        rep.to_png(args.png)
    if not plots:
        print("matplotlib is not installed (pip install 'shrivenquant[plot]'): the page has the metrics table only",
              file=sys.stderr)
    for k, v in rep.metrics().items():
        print(f"{k:<34} {v: .6g}")
    print(f"wrote {out}" + (f" and {args.png}" if args.png else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``shrivenquant report`` entry point."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ShrivenQuantError, ImportError) as exc:
        print(f"shrivenquant report: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"shrivenquant report: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
