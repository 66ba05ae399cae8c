"""``shrivenquant catalog import | ls | read ROOT``: build, list and read a data catalog.

Exit codes: 0 OK, 2 an error (bad arguments, a missing file, a file that does not decode).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_catalog_parser", "parse_time", "run_catalog"]

_FORMATS = ("binance", "databento", "lobster")


def add_catalog_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``catalog`` and its sub-commands on the main parser's sub-parsers."""
    cat = sub.add_parser(
        "catalog",
        help="import raw captures into a Parquet data catalog, list it, read records from it",
        description="A data catalog stores event records as Parquet partitioned venue=/instrument=/date= "
        "(hive style) with its instrument table (precisions, definitions) in ROOT/_catalog.json.",
    )
    csub = cat.add_subparsers(dest="catalog_command", metavar="CATALOG_COMMAND")
    imp = csub.add_parser("import", help="decode raw captures with the project's decoders and store them")
    imp.add_argument("root", type=Path, help="catalog directory (created if absent)")
    imp.add_argument("files", type=Path, nargs="+",
                     help="capture files; Binance day files of one stream in order")
    imp.add_argument("--format", choices=_FORMATS, required=True,
                     help="binance: hftbacktest/cryptofeed recordings; databento: MBO CSV; lobster: message file")
    imp.add_argument("--venue", help="venue code (default: binance from the file name prefix, GLBX, NASDAQ)")
    imp.add_argument("--symbol", help="symbol (databento: of a single-instrument file; lobster: default from "
                     "the file name)")
    imp.add_argument("--exchange-info", type=Path,
                     help="binance: exchangeInfo JSON or cryptofeed capture with the instrument definitions")
    imp.add_argument("--book-sync", action="store_true",
                     help="binance: store the records in the order a synchronised book applies them (diffs "
                     "before the snapshot dropped, resyncs on gaps), ready for the backtest engine")
    imp.add_argument("--compression", default="zstd", help="Parquet codec (default zstd)")
    ls = csub.add_parser("ls", help="the instrument table and every partition (records, bytes, time range)")
    ls.add_argument("root", type=Path)
    ls.add_argument("--json", action="store_true", help="print as JSON")
    rd = csub.add_parser("read", help="print (or save) records matching filters")
    rd.add_argument("root", type=Path)
    rd.add_argument("--instrument", action="append", help="SYMBOL or SYMBOL.VENUE (repeatable; default all)")
    rd.add_argument("--venue", help="only this venue")
    rd.add_argument("--start", help="first time, ns since the epoch or ISO-8601 (UTC if no offset)")
    rd.add_argument("--end", help="end time (exclusive), same forms")
    rd.add_argument("--kinds", help="comma-separated event kinds, names or numbers (e.g. trade,level)")
    rd.add_argument("--time-field", choices=("ts_local", "ts_event"), default="ts_local")
    rd.add_argument("--limit", type=int, default=20, help="records to print (default 20; 0: only the count)")
    rd.add_argument("--out", type=Path, help="write every matching record to this .npy file (EVENT_DTYPE)")
    rd.add_argument("--json", action="store_true", help="print records as JSON lines")


def parse_time(text: str | None) -> int | None:
    """ns since the epoch from an integer string or an ISO-8601 date/time (naive: UTC)."""
    from shrivenquant.errors import ValidationError

    if text is None:
        return None
    t = text.strip()
    if t.lstrip("-").isdigit():
        return int(t)
    try:
        d = _dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"bad time {text!r}: expected ns since the epoch or ISO-8601") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.UTC)
    delta = d - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _kinds(text: str | None) -> list[int] | None:
    from shrivenquant.core.events import EventKind
    from shrivenquant.errors import ValidationError

    if not text:
        return None
    out = []
    for part in text.split(","):
        p = part.strip()
        if p.isdigit():
            out.append(int(p))
        elif p.upper() in EventKind.__members__:
            out.append(int(EventKind[p.upper()]))
        else:
            names = ", ".join(k.lower() for k in EventKind.__members__)
            raise ValidationError(f"unknown event kind {p!r} (names: {names})")
    return out


def run_catalog(args: argparse.Namespace) -> int:
    """Run a ``catalog`` sub-command; returns the exit code."""
    if args.catalog_command is None:
        print("shrivenquant catalog: choose one of import, ls, read", file=sys.stderr)
        return 2
    if args.catalog_command == "import":
        return _import(args)
    if args.catalog_command == "ls":
        return _ls(args)
    return _read(args)


def _import(args: argparse.Namespace) -> int:
    from shrivenquant.catalog import Catalog, import_binance, import_databento_mbo, import_lobster

    cat = Catalog(args.root)
    opts: dict[str, Any] = {"compression": args.compression}
    total = 0
    if args.format == "binance":
        insts = None
        if args.exchange_info is not None:
            from shrivenquant.venues.binance import load_exchange_info

            insts = load_exchange_info(args.exchange_info, venue=args.venue)
        transform = None
        if args.book_sync:
            from shrivenquant.backtest import binance_book_events as transform
        st = import_binance(cat, args.files, venue=args.venue, instruments=insts, transform=transform, **opts)
        total += st.records
        print(f"{', '.join(str(f) for f in args.files)}: {st.records} records, {st.files} files, {st.bytes} bytes")
    else:
        for f in args.files:
            if args.format == "databento":
                st = import_databento_mbo(cat, f, venue=args.venue or "GLBX", symbols=args.symbol, **opts)
            else:
                st = import_lobster(cat, f, venue=args.venue or "NASDAQ", symbol=args.symbol, **opts)
            total += st.records
            print(f"{f}: {st.records} records, {st.files} files, {st.bytes} bytes")
    print(f"catalog {args.root}: {total} records imported; instruments: "
          f"{', '.join(e.key for e in cat.instruments)}")
    return 0


def _ls(args: argparse.Namespace) -> int:
    from shrivenquant.catalog import Catalog

    cat = Catalog(args.root, create=False)
    infos = cat.info()
    if args.json:
        import orjson

        doc = {"instruments": [{"id": e.id, "venue": e.venue, "symbol": e.symbol, "price_precision":
                                e.price_precision, "size_precision": e.size_precision,
                                "has_definition": e.instrument is not None} for e in cat.instruments],
               "partitions": [vars(i) for i in infos]}
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    print(f"catalog {args.root}")
    print("instruments:")
    for e in cat.instruments:
        print(f"  {e.id:>3}  {e.key:<28} price_precision={e.price_precision} size_precision={e.size_precision}"
              f"{'  (definition)' if e.instrument is not None else ''}")
    print("partitions:")
    for i in infos:
        span = ""
        if i.ts_local_min is not None and i.ts_local_max is not None:
            span = f"  {_iso(i.ts_local_min)} .. {_iso(i.ts_local_max)}"
        print(f"  venue={i.venue}/instrument={i.symbol}/date={i.date}  files={i.files} records={i.records} "
              f"bytes={i.bytes}{span}")
    print(f"total: {sum(i.records for i in infos)} records in {len(infos)} partitions")
    return 0


def _iso(ns: int) -> str:
    sec, rem = divmod(ns, 1_000_000_000)
    return _dt.datetime.fromtimestamp(sec, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{rem:09d}Z"


def _fmt(raw: int, precision: int) -> str:
    from shrivenquant.core.events import RAW_NULL

    if raw == RAW_NULL:
        return "-"
    if precision == 0:
        return str(raw)
    sign = "-" if raw < 0 else ""
    q, r = divmod(abs(raw), 10**precision)
    return f"{sign}{q}.{r:0{precision}d}"


def _read(args: argparse.Namespace) -> int:
    import numpy as np

    from shrivenquant.catalog import Catalog
    from shrivenquant.core.events import EVENT_DTYPE, EventKind

    cat = Catalog(args.root, create=False)
    filters: dict[str, Any] = {"venue": args.venue, "instruments": args.instrument, "start": parse_time(args.start),
                               "end": parse_time(args.end), "kinds": _kinds(args.kinds),
                               "time_field": args.time_field}
    if args.limit < 0:
        from shrivenquant.errors import ValidationError

        raise ValidationError(f"--limit must be >= 0, got {args.limit}")
    n = 0
    shown = 0
    out = None
    if args.out is not None:
        total = sum(c.shape[0] for c in cat.read_chunks(**filters))
        out = np.lib.format.open_memmap(args.out, mode="w+", dtype=EVENT_DTYPE, shape=(total,))
    for chunk in cat.read_chunks(**filters):
        if out is not None:
            out[n:n + chunk.shape[0]] = chunk
        n += chunk.shape[0]
        for rec in chunk[:max(0, args.limit - shown)]:
            e = cat.instruments[int(rec["instrument_id"])]
            price = _fmt(int(rec["price"]), e.price_precision)
            qty = _fmt(int(rec["qty"]), e.size_precision)
            kind = EventKind(int(rec["kind"])).name if int(rec["kind"]) in EventKind._value2member_map_ else str(
                int(rec["kind"]))
            if args.json:
                import orjson

                sys.stdout.write(orjson.dumps({
                    "instrument": e.key, "ts_event": int(rec["ts_event"]), "ts_local": int(rec["ts_local"]),
                    "kind": kind, "side": int(rec["side"]), "price": price, "qty": qty,
                    "order_id": int(rec["order_id"]), "seq": int(rec["seq"]), "aux": int(rec["aux"]),
                    "flags": int(rec["flags"])}).decode() + "\n")
            else:
                print(f"{_iso(int(rec['ts_local']))}  {e.key:<22} {kind:<7} side={int(rec['side'])} "
                      f"price={price:>14} qty={qty:>12} seq={int(rec['seq'])}")
            shown += 1
    if out is not None:
        out.flush()
        del out
    if not args.json:
        print(f"{n} records" + (f" written to {args.out}" if args.out is not None else ""))
    return 0
