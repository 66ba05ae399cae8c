"""Entry point of the ``shrivenquant`` command: ``demo`` (the main job) and the other sub-commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from shrivenquant import __version__
from shrivenquant.errors import ShrivenQuantError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="shrivenquant",
        description="Low-latency trading library: replay recorded Binance data, run the benchmark suite.",
    )
    parser.add_argument("--version", action="version", version=f"shrivenquant {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="replay a recorded Binance stream (or a generated one) and print a summary",
        description="Load instruments, decode a recorded Binance market-data stream into event records "
        "with exact fixed-point conversion, and print a summary. Without --data, a stream generated "
        "by the project (Binance wire format, seeded) is used.",
    )
    demo.add_argument("--data", type=Path, action="append",
                      help="recording (hftbacktest '<ts> <json>' lines or a cryptofeed ws capture, "
                      ".gz or plain); repeat to concatenate day files in order")
    demo.add_argument("--exchange-info", type=Path,
                      help="Binance exchangeInfo (JSON, or a cryptofeed capture such as BINANCE_FUTURES.0.gz) "
                      "for tick and lot sizes; without it, precisions are read off the stream's decimals")
    demo.add_argument("--messages", type=int, default=20_000,
                      help="messages in the generated stream when --data is not given (default 20000)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the generated stream (default 7)")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.add_argument("--strategy", choices=("market-maker", "imbalance", "none"), default="market-maker",
                      help="strategy run through risk, OMS and the simulated exchange (default market-maker; "
                      "none: only the data summary)")
    demo.add_argument("--symbol", help="symbol to trade (default: the one with the most trades)")
    demo.add_argument("--qty", help="order quantity as a decimal (default: the smallest lot worth twice the "
                      "minimum notional)")
    demo.add_argument("--latency-us", type=int, default=5000, help="order entry and response latency, us (5000)")
    demo.add_argument("--queue", default="risk_averse", help="L2 queue model: risk_averse, log or power<n>")
    demo.add_argument("--maker-fee", default="0.0002", help="maker fee rate (default 0.0002; negative = rebate)")
    demo.add_argument("--taker-fee", default="0.0005", help="taker fee rate (default 0.0005)")
    demo.add_argument("--sample-ms", type=int, default=100, help="equity sampling period, ms (default 100)")
    demo.add_argument("--out", type=Path, help="directory for the tearsheet (default: <tmp>/shrivenquant-demo)")

    backtest = sub.add_parser(
        "backtest",
        help="run a backtest described by a TOML configuration",
        description="Run one strategy/data/venue configuration (TOML: [data], [strategy], [venue], [risk]; see "
        "docs/backtest.md) and print the metrics; writes the tearsheet with --out.",
    )
    backtest.add_argument("config", type=Path, help="the TOML configuration")
    backtest.add_argument("--json", action="store_true", help="print the metrics as JSON")
    backtest.add_argument("--out", type=Path, help="directory for the tearsheet (HTML, and PNG with matplotlib)")

    bench = sub.add_parser(
        "bench",
        help="run the benchmark suite and print figures beside same-run baselines",
        description="Time every benchmark case (shrivenquant targets and their baselines: int, decimal, "
        "pure-Python, and peer libraries when installed) in this process and print a table with ratios.",
    )
    bench.add_argument("--quick", action="store_true", help="short loops (a smoke run)")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.add_argument("cases", nargs="*", help="only cases whose name contains one of these")

    from shrivenquant.cli.wal import add_wal_parser

    add_wal_parser(sub)
    from shrivenquant.cli.catalog import add_catalog_parser

    add_catalog_parser(sub)
    # the tearsheet command's own parser lives with the (Numba-backed) analytics: arguments pass through so
    # that building this parser stays cheap
    report = sub.add_parser(
        "report", add_help=False, prefix_chars="+",
        help="write a tearsheet (HTML, PNG) for a return series from CSV or Parquet; report --help for options",
    )
    report.add_argument("report_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "demo":
            from shrivenquant.cli.demo import run_demo

            return run_demo(args)
        if args.command == "backtest":
            return _backtest(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "wal":
            from shrivenquant.cli.wal import run_wal

            return run_wal(args)
        if args.command == "report":
            from shrivenquant.analytics.report import main as report_main

            return report_main(args.report_args)
        if args.command == "catalog":
            from shrivenquant.cli.catalog import run_catalog

            return run_catalog(args)
    except ShrivenQuantError as exc:
        print(f"shrivenquant {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"shrivenquant {args.command}: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2


def _backtest(args: argparse.Namespace) -> int:
    import orjson

    from shrivenquant.backtest import run

    result = run(args.config)
    summary = result.summary()
    if args.out is not None:
        report = result.report(f"shrivenquant backtest {args.config.name}")
        args.out.mkdir(parents=True, exist_ok=True)
        report.to_html(args.out / "tearsheet.html", plots=False)
        summary["tearsheet"] = str(args.out / "tearsheet.html")
    if args.json:
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for key, value in summary.items():
            print(f"{key:18s} {value}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    import orjson

    from shrivenquant.bench import format_table, run_cases, select_cases

    cases = select_cases(args.cases)
    if not cases:
        print(f"shrivenquant bench: error: no case matches {args.cases}", file=sys.stderr)
        return 2
    report = run_cases(cases, quick=args.quick)
    if args.json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(format_table(report))
    return 0
