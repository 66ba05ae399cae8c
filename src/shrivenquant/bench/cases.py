"""The benchmark cases, each with same-run baselines. Later parts add their cases here.

Peer variants (NautilusTrader 1.221) run when the ``bench`` extra is installed and are skipped
otherwise; ``int`` and ``decimal`` baselines always run.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from shrivenquant.bench.harness import Case, Variant

__all__ = ["all_cases"]


def _sq() -> dict[str, Any]:
    from shrivenquant._native.fixed import Price, Quantity

    return {"a": Price("25012.34"), "b": Price("1.01"), "q": Quantity("0.500"), "Price": Price}


def _ints() -> dict[str, Any]:
    return {"a": 2501234, "b": 101}


def _decimals() -> dict[str, Any]:
    return {"a": Decimal("25012.34"), "b": Decimal("1.01"), "q": Decimal("0.500"), "Decimal": Decimal}


def _nautilus() -> dict[str, Any]:
    from nautilus_trader.model.objects import Price, Quantity

    return {"a": Price.from_str("25012.34"), "b": Price.from_str("1.01"), "q": Quantity.from_str("0.500"),
            "Price": Price}


def _columns_sq() -> dict[str, Any]:
    from shrivenquant._native.fixed import parse_decimals

    return {"parse": parse_decimals, "texts": _column_texts()}


def _columns_py() -> dict[str, Any]:
    return {"texts": _column_texts(), "D": Decimal, "scale": Decimal(100)}


def _column_texts() -> list[str]:
    return [f"{61000 + (i * 37) % 2000}.{(i * 13) % 100:02d}" for i in range(10_000)]


REAL_RECORDING = "binance-hftbacktest/usdm_btcusdt_20240808.gz"


def _synthetic_stream() -> tuple[Any, list[bytes], int, int]:
    from shrivenquant.venues.binance.synthetic import generate_stream

    instrument, lines = generate_stream(20_000, seed=7)
    return instrument, lines, instrument.price_precision, instrument.size_precision


def _real_stream() -> tuple[Any, list[bytes], int, int]:
    """The recording's lines (read once, outside the timing); BTCUSDT USD-M: price 2 dp, size 3 dp."""
    import gzip

    from shrivenquant.bench.harness import shared_data_dir

    with gzip.open(shared_data_dir() / REAL_RECORDING, "rb") as fh:
        lines = fh.read().splitlines()
    return None, lines, 2, 3


def _decode_sq(source: Any) -> Any:
    def setup() -> dict[str, Any]:
        from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, read_hftbacktest

        instrument, lines, _, _ = source()

        def decode() -> int:
            dec = BinanceRecordingDecoder([instrument] if instrument is not None else None)
            dec.decode_lines(read_hftbacktest(lines))
            return dec.flush().size

        return {"decode": decode}

    return setup


def _decode_py(source: Any) -> Any:
    def setup() -> dict[str, Any]:
        _, lines, pp, sp = source()
        return {"decode": _python_decoder(lines, Decimal(10) ** pp, Decimal(10) ** sp)}

    return setup


def _python_decoder(lines: list[bytes], scale_p: Decimal, scale_q: Decimal) -> Any:
    """What a user writes without the library: orjson, then Decimal per decimal string, into tuples."""
    import orjson

    def decode() -> int:
        out: list[tuple[int, ...]] = []
        append = out.append
        for line in lines:
            ts, _, payload = line.partition(b" ")
            msg = orjson.loads(payload)
            data = msg.get("data", msg)
            local = int(ts)
            if "b" in data and "U" in data:
                for side, levels in ((1, data["b"]), (2, data["a"])):
                    for p, q in levels:
                        append((local, data["T"], int(Decimal(p) * scale_p), int(Decimal(q) * scale_q), side))
            elif "lastUpdateId" in data and "bids" in data:
                for side, levels in ((1, data["bids"]), (2, data["asks"])):
                    for p, q in levels:
                        append((local, 0, int(Decimal(p) * scale_p), int(Decimal(q) * scale_q), side))
            elif data.get("e") == "trade":
                append((local, data["T"], int(Decimal(data["p"]) * scale_p), int(Decimal(data["q"]) * scale_q), 0))
            else:
                t = data.get("T", local)
                append((local, t, int(Decimal(data["b"]) * scale_p), int(Decimal(data["B"]) * scale_q), 1))
                append((local, t, int(Decimal(data["a"]) * scale_p), int(Decimal(data["A"]) * scale_q), 2))
        return len(out)

    return decode


_NT = "nautilus_trader"


def _binop_case(name: str, op: str) -> Case:
    """``a <op> b`` on Price beside int, Decimal and (when installed) NautilusTrader, in the same run."""
    stmt = f"a {op} b"
    return Case(name, f"Price {op} Price", (
        Variant(f"shrivenquant Price {op} Price", stmt, _sq, role="target"),
        Variant(f"int {op} int", stmt, _ints),
        Variant(f"Decimal {op} Decimal", stmt, _decimals),
        Variant(f"NautilusTrader 1.221 Price {op} Price", stmt, _nautilus, requires=_NT),
    ), budget_ns=60.0)


def all_cases() -> list[Case]:
    """Every benchmark case, in report order."""
    return [
        *(_binop_case(name, op) for name, op in (("price_add", "+"), ("price_lt", "<"), ("price_eq", "=="))),
        Case("price_from_str", "Price from str", (
            Variant('shrivenquant Price("25012.34")', 'Price("25012.34")', _sq, role="target"),
            Variant('Decimal("25012.34")', 'Decimal("25012.34")', _decimals),
            Variant('NautilusTrader 1.221 Price.from_str("25012.34")', 'Price.from_str("25012.34")',
                    _nautilus, requires=_NT),
        ), budget_ns=300.0),
        Case("price_mul_qty", "Price * Quantity (exact notional)", (
            Variant("shrivenquant Price * Quantity -> Money", "a * q", _sq, role="target"),
            Variant("Decimal * Decimal", "a * q", _decimals),
            Variant("NautilusTrader 1.221 Price * Quantity", "a * q", _nautilus, requires=_NT),
        )),
        Case("parse_column", "decimal strings -> raw int64 column (10k)", (
            Variant("shrivenquant parse_decimals(texts, 2)", "parse(texts, 2)", _columns_sq, role="target"),
            Variant("[int(Decimal(t) * 100) for t in texts]", "[int(D(t) * scale) for t in texts]", _columns_py),
        ), ops_per_stmt=10_000, loops=40, unit="ns/value"),
        Case("decode_generated", "Binance stream -> event records (20k generated USD-M messages)", (
            Variant("shrivenquant BinanceRecordingDecoder", "decode()", _decode_sq(_synthetic_stream),
                    role="target"),
            Variant("orjson + Decimal per string into tuples (pure Python)", "decode()",
                    _decode_py(_synthetic_stream)),
        ), ops_per_stmt=20_000, loops=3, unit="ns/message"),
        Case("decode_real", "Binance recording -> event records (usdm_btcusdt_20240808: 93,954 messages, "
             "443,521 level updates)", (
            Variant("shrivenquant BinanceRecordingDecoder", "decode()", _decode_sq(_real_stream),
                    role="target", data=REAL_RECORDING),
            Variant("orjson + Decimal per string into tuples (pure Python)", "decode()",
                    _decode_py(_real_stream), data=REAL_RECORDING),
        ), ops_per_stmt=93_954, loops=1, unit="ns/message"),
        Case("import", "import time (fresh interpreter, cumulative, start-up excluded)", (
            Variant("import shrivenquant", "import shrivenquant", role="target", kind="import"),
            Variant("from shrivenquant import Price (the native value types)", "from shrivenquant import Price",
                    role="target", kind="import"),
            Variant("import shrivenquant.core (types, instruments, events, numpy, msgspec)",
                    "import shrivenquant.core", role="target", kind="import"),
            Variant("import numpy", "import numpy", kind="import"),
            Variant("NautilusTrader 1.221 from nautilus_trader.model.objects import Price",
                    "from nautilus_trader.model.objects import Price", kind="import", requires=_NT),
        ), budget_ns=150.0, unit="ms"),
        *_wire_cases(),
        *_book_cases(),
        *_book_l3_cases(),
        *_e2e_cases(),
        *_part_cases(),
    ]


def _part_cases() -> list[Case]:
    """The cases of the later parts, each kept in its own ``cases_<part>`` module."""
    from shrivenquant.bench.cases_analytics import analytics_cases
    from shrivenquant.bench.cases_backtest import backtest_cases
    from shrivenquant.bench.cases_catalog import catalog_cases
    from shrivenquant.bench.cases_numba_orders import numba_orders_cases
    from shrivenquant.bench.cases_oms import oms_cases
    from shrivenquant.bench.cases_options import options_cases
    from shrivenquant.bench.cases_risk import risk_cases
    from shrivenquant.bench.cases_wal import wal_cases

    return [*wal_cases(), *risk_cases(), *options_cases(), *analytics_cases(), *oms_cases(), *backtest_cases(),
            *numba_orders_cases(), *catalog_cases()]


# ---------------------------------------------------------------------------------------------- native wire decoder
def _wire_buffer(depth_only: bool = False) -> bytes:
    """The recording un-gzipped in memory (gzip is not timed); optionally only its depthUpdate lines."""
    import gzip

    from shrivenquant.bench.harness import shared_data_dir

    data = gzip.decompress((shared_data_dir() / REAL_RECORDING).read_bytes())
    if depth_only:
        data = b"".join(line for line in data.splitlines(keepends=True) if b"@depth@" in line[:60])
    return data


def _wire_scan(depth_only: bool) -> Any:
    def setup() -> dict[str, Any]:
        import numpy as np

        from shrivenquant._native.binance_wire import DONE, BinanceWireDecoder
        from shrivenquant.core.events import EVENT_DTYPE

        data = _wire_buffer(depth_only)
        dec = BinanceWireDecoder({"BTCUSDT": (0, 2, 3)}, default_symbol="BTCUSDT")
        out = np.empty(len(data) // 20, dtype=EVENT_DTYPE)  # preallocated: page faults are not timed

        def scan() -> int:
            status, _, _, n = dec.scan_hftbacktest(data, 0, 0, out, 0)
            if status != DONE:
                raise RuntimeError(dec.last_error or dec.last_unhandled)
            return n

        return {"scan": scan}

    return setup


def _wire_recording(native: bool, depth_only: bool = False) -> Any:
    def setup() -> dict[str, Any]:
        from shrivenquant.venues.binance.recording import BinanceRecordingDecoder

        data = _wire_buffer(depth_only)

        def decode() -> int:
            dec = BinanceRecordingDecoder(native=native, capacity=1 << 20)
            dec.decode_hftbacktest_buffer(data)
            return dec.flush().size

        return {"decode": decode}

    return setup


def _wire_py(depth_only: bool) -> Any:
    def setup() -> dict[str, Any]:
        lines = _wire_buffer(depth_only).splitlines()
        return {"decode": _python_decoder(lines, Decimal(100), Decimal(1000))}

    return setup


def _wire_cases() -> list[Case]:
    """Raw Binance bytes -> event records with the native scanner, against the msgspec decoder and a
    pure-Python orjson + Decimal decoder, on the real USD-M recording held un-gzipped in memory."""
    data = REAL_RECORDING
    return [
        Case("wire_decode_real", "Binance bytes -> event records, native wire scanner (usdm_btcusdt_20240808 "
             "un-gzipped in memory: 93,954 messages, 443,521 level updates)", (
            Variant("shrivenquant BinanceWireDecoder.scan_hftbacktest (whole buffer, preallocated records)",
                    "scan()", _wire_scan(False), role="target", data=data),
            Variant("shrivenquant BinanceRecordingDecoder.decode_hftbacktest_buffer (native, allocating)",
                    "decode()", _wire_recording(True), role="target", data=data),
            Variant("shrivenquant BinanceRecordingDecoder(native=False): msgspec + parse_decimals",
                    "decode()", _wire_recording(False), data=data),
            Variant("orjson + Decimal per string into tuples (pure Python)", "decode()", _wire_py(False),
                    data=data),
        ), ops_per_stmt=93_954, loops=1, unit="ns/message"),
        Case("wire_decode_depth", "Binance depthUpdate bytes -> LEVEL records, native wire scanner "
             "(the 6,551 depth messages of usdm_btcusdt_20240808: 443,521 level updates)", (
            Variant("shrivenquant BinanceWireDecoder.scan_hftbacktest (preallocated records)", "scan()",
                    _wire_scan(True), role="target", data=data),
            Variant("shrivenquant BinanceRecordingDecoder(native=False): msgspec + parse_decimals",
                    "decode()", _wire_recording(False, True), data=data),
            Variant("orjson + Decimal per string into tuples (pure Python)", "decode()", _wire_py(True),
                    data=data),
        ), ops_per_stmt=443_521, loops=1, unit="ns/level update"),
    ]


# ---------------------------------------------------------------------------------------------- L2 order book
#: Level updates and messages in the book streams below (snapshot included); checked when they are built.
_BOOK_REAL = (445_262, 6_548)
_BOOK_GENERATED = (25_916, 7_039)
_OB = "order_book"  # bmoscon's order-book (GPL-3.0): a benchmark-only baseline, never a dependency
_SC = "sortedcontainers"


@functools.lru_cache(maxsize=2)
def _book_stream(source: str) -> tuple[Any, list[tuple[int, int]], int, int, int]:
    """(records, message bounds, price precision, size precision, tick_raw): the REST snapshot (CLEAR + its
    levels), then every depth message Binance's futures rule keeps (those streamed before the snapshot line
    with ``u >= lastUpdateId`` included), in order, as one contiguous array of LEVEL / CLEAR records."""
    import numpy as np

    from shrivenquant.core.events import EventFlag, EventKind
    from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, decode_file, read_hftbacktest

    if source == "real":
        from shrivenquant.bench.harness import shared_data_dir

        ev, _ = decode_file(shared_data_dir() / REAL_RECORDING)
        pp, sp, tick, want = 2, 3, 10, _BOOK_REAL  # BTCUSDT USD-M: tick 0.10 at 2 dp
    else:
        from shrivenquant.venues.binance.synthetic import generate_stream

        instrument, lines = generate_stream(20_000, seed=7)
        dec = BinanceRecordingDecoder([instrument])
        dec.decode_lines(read_hftbacktest(lines))
        ev = dec.flush()
        pp, sp = instrument.price_precision, instrument.size_precision
        tick, want = instrument.price_tick.raw_at(pp), _BOOK_GENERATED
    ends = np.flatnonzero(ev["flags"] & int(EventFlag.LAST)) + 1
    kind, seq = ev["kind"].tolist(), ev["seq"].tolist()
    snapshot: int | None = None
    buffered: list[tuple[int, int]] = []
    order: list[tuple[int, int]] = []
    for a, b in zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True):
        if kind[a] == EventKind.CLEAR:
            snapshot = seq[a]
            order += [(a, b), *[m for m in buffered if seq[m[0]] >= snapshot]]
        elif kind[a] in (EventKind.LEVEL, EventKind.NONE):
            if snapshot is None:
                buffered.append((a, b))
            elif seq[a] >= snapshot:
                order.append((a, b))
    recs = ev[np.concatenate([np.arange(a, b) for a, b in order])]
    msg = np.concatenate([np.full(b - a, i) for i, (a, b) in enumerate(order)])
    keep = (recs["kind"] == EventKind.LEVEL) | (recs["kind"] == EventKind.CLEAR)
    recs, msg = np.ascontiguousarray(recs[keep]), msg[keep]
    cuts = (np.flatnonzero(np.diff(msg)) + 1).tolist()
    bounds = list(zip([0, *cuts], [*cuts, len(recs)], strict=True))
    got = (int((recs["kind"] == EventKind.LEVEL).sum()), len(bounds))
    if got != want:
        raise RuntimeError(f"book stream {source!r}: {got} (level updates, messages), expected {want}")
    return recs, bounds, pp, sp, tick


def _book_rows(source: str) -> tuple[list[tuple[int, int, int]], list[list[tuple[int, int, int]]]]:
    """The stream's level updates as Python (side, price_raw, qty_raw) tuples, flat and per message (the
    snapshot's CLEAR is where each replay starts: every variant starts from an empty book)."""
    recs, bounds, *_ = _book_stream(source)
    rows = list(zip(recs["side"].tolist(), recs["price"].tolist(), recs["qty"].tolist(), strict=True))
    level = (recs["kind"] == 1).tolist()
    per_msg = [[r for r, lv in zip(rows[a:b], level[a:b], strict=True) if lv] for a, b in bounds]
    return [r for r, lv in zip(rows, level, strict=True) if lv], per_msg


def _sq_book(source: str, mode: str) -> Any:
    def setup() -> dict[str, Any]:
        from shrivenquant.book import OrderBook

        recs, bounds, pp, sp, tick = _book_stream(source)
        book = OrderBook(pp, sp, tick)
        rows, _ = _book_rows(source)
        apply, top, clear = book.apply, book.top_raw, book.clear
        apply_range, apply_events = book.apply_events_range, book.apply_events

        def per_update() -> None:
            clear()
            for s, p, q in rows:
                apply(s, p, q)

        def per_update_top() -> None:
            clear()
            for s, p, q in rows:
                apply(s, p, q)
                top()

        def batch() -> None:
            apply_events(recs, threads=1)

        def batch2() -> None:
            apply_events(recs, threads=2)

        def msg_top() -> None:
            for a, b in bounds:
                apply_range(recs, a, b)
                top()

        def msg_top_slices() -> None:
            for a, b in bounds:
                apply_events(recs[a:b])
                top()

        fns = {"update": per_update, "update_top": per_update_top, "batch": batch, "batch2": batch2, "msg_top": msg_top,
               "msg_top_slices": msg_top_slices}
        return {"run": fns[mode]}

    return setup


def _sorted_book(source: str, mode: str) -> Any:
    """The pure-Python baseline: a SortedDict per side (a dict plus sorted keys; bids keyed by -price)."""
    def setup() -> dict[str, Any]:
        from sortedcontainers import SortedDict

        rows, per_msg = _book_rows(source)
        bids: Any = SortedDict()
        asks: Any = SortedDict()

        def per_update() -> None:
            bids.clear()
            asks.clear()
            for s, p, q in rows:
                if s == 1:
                    if q:
                        bids[-p] = q
                    else:
                        bids.pop(-p, None)
                elif q:
                    asks[p] = q
                else:
                    asks.pop(p, None)

        def per_update_top() -> None:
            bids.clear()
            asks.clear()
            for s, p, q in rows:
                if s == 1:
                    if q:
                        bids[-p] = q
                    else:
                        bids.pop(-p, None)
                elif q:
                    asks[p] = q
                else:
                    asks.pop(p, None)
                if bids and asks:
                    bids.peekitem(0)
                    asks.peekitem(0)

        def msg_top() -> None:
            bids.clear()
            asks.clear()
            for msg in per_msg:
                for s, p, q in msg:
                    if s == 1:
                        if q:
                            bids[-p] = q
                        else:
                            bids.pop(-p, None)
                    elif q:
                        asks[p] = q
                    else:
                        asks.pop(p, None)
                if bids and asks:
                    bids.peekitem(0)
                    asks.peekitem(0)

        return {"run": {"update": per_update, "update_top": per_update_top, "msg_top": msg_top}[mode]}

    return setup


def _bmoscon_book(source: str, mode: str) -> Any:
    """bmoscon's C ``order_book.OrderBook`` with int keys (it sorts lazily: the first top read after a level
    is added or removed re-sorts that side)."""
    def setup() -> dict[str, Any]:
        from order_book import OrderBook as BmosconBook

        rows, per_msg = _book_rows(source)
        state = {"ob": BmosconBook()}

        def apply_rows(ob: Any, items: list[tuple[int, int, int]]) -> None:
            bids, asks = ob.bids, ob.asks
            for s, p, q in items:
                d = bids if s == 1 else asks
                if q:
                    d[p] = q
                elif p in d:
                    del d[p]

        def per_update() -> None:
            state["ob"] = ob = BmosconBook()
            apply_rows(ob, rows)

        def msg_top() -> None:
            state["ob"] = ob = BmosconBook()
            for msg in per_msg:
                apply_rows(ob, msg)
                if len(ob.bids) and len(ob.asks):
                    ob.bids.index(0)
                    ob.asks.index(0)

        return {"run": {"update": per_update, "msg_top": msg_top}[mode]}

    return setup


def _book_cases() -> list[Case]:
    """The native L2 book (per update from Python, batch, and apply-a-message-then-read-the-top) on the real
    USD-M stream and on a generated one, beside a pure-Python SortedDict book and bmoscon's order-book."""
    out = []
    for source, (n, msgs), data, loops, name in (
        ("real", _BOOK_REAL, REAL_RECORDING, 1, "usdm_btcusdt_20240808"),
        ("generated", _BOOK_GENERATED, None, 10, "20k generated USD-M messages"),
    ):
        what = f"{name}: {n:,} level updates in {msgs:,} messages, snapshot included"
        sorted_label = "pure Python: SortedDict per side (dict + sorted keys), int keys"
        ob_label = "bmoscon order-book 0.6.1 (C, lazy sort), int keys"
        out += [
            Case(f"book_apply_{source}", f"L2 book, one update per call from Python ({what})", (
                Variant("shrivenquant OrderBook.apply(side, price_raw, qty_raw)", "run()",
                        _sq_book(source, "update"), role="target", data=data),
                Variant("shrivenquant OrderBook.apply + top_raw() after every update", "run()",
                        _sq_book(source, "update_top"), role="target", data=data),
                Variant(sorted_label, "run()", _sorted_book(source, "update"), requires=_SC, data=data),
                Variant(sorted_label + " + peekitem(0) per side after every update", "run()",
                        _sorted_book(source, "update_top"), requires=_SC, data=data),
                Variant(ob_label, "run()", _bmoscon_book(source, "update"), requires=_OB, data=data),
            ), ops_per_stmt=n, loops=loops, unit="ns/update"),
            Case(f"book_batch_{source}", f"L2 book, the whole stream in one call ({what})", (
                Variant("shrivenquant OrderBook.apply_events(records, threads=1) (one native call)", "run()",
                        _sq_book(source, "batch"), role="target", data=data),
                Variant("shrivenquant apply_events(records, threads=2) (bids and asks on two threads; WALL clock)",
                        "run()", _sq_book(source, "batch2"), role="target", kind="wall", data=data),
                Variant(sorted_label + " (a Python loop over the updates)", "run()", _sorted_book(source, "update"),
                        requires=_SC, data=data),
                Variant(ob_label + " (a Python loop over the updates)", "run()", _bmoscon_book(source, "update"),
                        requires=_OB, data=data),
            ), ops_per_stmt=n, loops=loops, unit="ns/update"),
            Case(f"book_msg_top_{source}", f"L2 book, apply one message then read the best bid and ask, every "
                 f"message ({what})", (
                Variant("shrivenquant apply_events_range(records, a, b) + top_raw()", "run()",
                        _sq_book(source, "msg_top"), role="target", data=data),
                Variant("shrivenquant apply_events(records[a:b]) + top_raw()", "run()",
                        _sq_book(source, "msg_top_slices"), role="target", data=data),
                Variant(sorted_label + " + peekitem(0) per side", "run()", _sorted_book(source, "msg_top"),
                        requires=_SC, data=data),
                Variant(ob_label + " + index(0) per side (re-sorts after changes)", "run()",
                        _bmoscon_book(source, "msg_top"), requires=_OB, data=data),
            ), ops_per_stmt=n, loops=loops, unit="ns/update"),
        ]
    return out


# ---------------------------------------------------------------------------------------------- L3 book
_L3_CME = "databento-mbo-cme/esh4-glbx-mdp3-20231225.mbo.csv.gz"
_L3_EVENTS = 59_448  # the file's ADD / MODIFY / CANCEL records (its 9,344 TRADE / fill records change no book)


def _l3_records() -> Any:
    """The CME ESH4 day (snapshot + events) as event records, only those that change an L3 book."""
    import numpy as np

    from shrivenquant.bench.harness import shared_data_dir
    from shrivenquant.venues.databento import load_mbo_csv

    ev, _ = load_mbo_csv(shared_data_dir() / _L3_CME)
    return ev[np.isin(ev["kind"], [2, 3, 4, 5, 6])]


def _l3_rows() -> list[tuple[int, int, int, int, int]]:
    ev = _l3_records()
    return list(zip(ev["kind"].tolist(), ev["order_id"].tolist(), ev["side"].tolist(), ev["price"].tolist(),
                    ev["qty"].tolist(), strict=True))


def _l3_replay(book: Any, rows: list[tuple[int, int, int, int, int]]) -> Any:
    """One replay of the day from an empty book: per-event method calls, dispatched in Python."""
    add, cancel, modify, clear = book.add, book.cancel, book.modify, book.clear

    def run() -> int:
        clear()
        for kind, oid, side, price, qty in rows:
            if kind == 3:
                add(oid, side, price, qty)
            elif kind == 5:
                cancel(oid, qty)
            elif kind == 4:
                modify(oid, price, qty)
            else:
                clear()
        return len(rows)

    return run


class _PyL3Book:
    """What a user writes without the library: a dict of orders, and per side a sortedcontainers
    SortedDict of price -> OrderedDict(order_id -> qty) as the level's FIFO queue."""

    def __init__(self) -> None:
        from sortedcontainers import SortedDict

        self.orders: dict[int, list[int]] = {}  # id -> [side, price, qty]
        self.sides = {1: SortedDict(), 2: SortedDict()}

    def add(self, oid: int, side: int, price: int, qty: int) -> None:
        from collections import OrderedDict

        if oid in self.orders or qty <= 0:
            raise ValueError(f"bad add of order {oid}")
        self.orders[oid] = [side, price, qty]
        levels = self.sides[side]
        level = levels.get(price)
        if level is None:
            level = levels[price] = OrderedDict()
        level[oid] = qty

    def _remove(self, oid: int, order: list[int]) -> None:
        levels = self.sides[order[0]]
        level = levels[order[1]]
        del level[oid]
        if not level:
            del levels[order[1]]

    def cancel(self, oid: int, qty: int | None = None) -> None:
        order = self.orders[oid]
        if qty is None or qty >= order[2]:
            self._remove(oid, self.orders.pop(oid))
        else:
            order[2] -= qty
            self.sides[order[0]][order[1]][oid] = order[2]

    def modify(self, oid: int, price: int, qty: int) -> None:
        order = self.orders[oid]
        if price == order[1]:
            level = self.sides[order[0]][price]
            level[oid] = qty
            if qty > order[2]:
                level.move_to_end(oid)  # a larger size loses priority
            order[2] = qty
            return
        self._remove(oid, order)
        order[1], order[2] = price, qty
        levels = self.sides[order[0]]
        level = levels.get(price)
        if level is None:
            from collections import OrderedDict

            level = levels[price] = OrderedDict()
        level[oid] = qty

    def clear(self) -> None:
        self.orders.clear()
        for levels in self.sides.values():
            levels.clear()


def _l3_sq(mode: str) -> Any:
    def setup() -> dict[str, Any]:
        from shrivenquant.book import OrderBookL3

        book = OrderBookL3(2, 0)
        if mode == "batch":
            records = _l3_records()

            def run() -> int:
                book.clear()
                return book.apply_events(records)

            return {"run": run}
        return {"run": _l3_replay(book, _l3_rows())}

    return setup


def _l3_py() -> dict[str, Any]:
    return {"run": _l3_replay(_PyL3Book(), _l3_rows())}


def _book_l3_cases() -> list[Case]:
    what = f"CME ESH4 2023-12-25, Databento MBO: snapshot + a day, {_L3_EVENTS:,} order events from an empty book"
    py_label = "pure-Python L3 book: dict of orders + SortedDict of price -> OrderedDict FIFO"
    return [
        Case("book_l3_per_event", f"L3 book, per-event Python calls ({what})", (
            Variant("shrivenquant OrderBookL3.add / modify / cancel, a Python loop", "run()", _l3_sq("per_event"),
                    role="target", data=_L3_CME),
            Variant(py_label + ", the same loop", "run()", _l3_py, requires=_SC, data=_L3_CME),
        ), ops_per_stmt=_L3_EVENTS, loops=3, budget_ns=200.0, unit="ns/event"),
        Case("book_l3_batch", f"L3 book, the day in one call ({what})", (
            Variant("shrivenquant OrderBookL3.apply_events(records) (one native call)", "run()", _l3_sq("batch"),
                    role="target", data=_L3_CME),
            Variant("shrivenquant OrderBookL3.add / modify / cancel, a Python loop", "run()", _l3_sq("per_event"),
                    data=_L3_CME),
            Variant(py_label + " (a Python loop)", "run()", _l3_py, requires=_SC, data=_L3_CME),
        ), ops_per_stmt=_L3_EVENTS, loops=3, budget_ns=20.0, unit="ns/event"),
    ]


# ---------------------------------------------------------------------------------------------- wire -> book
_E2E_LEVEL_UPDATES = 443_521  # depthUpdate level entries in REAL_RECORDING (the work both variants do)


def _e2e_sq() -> dict[str, Any]:
    """Raw recording bytes -> native decode -> Binance futures sync -> native L2 book."""
    from shrivenquant._native.binance_wire import BinanceWireDecoder
    from shrivenquant.book import OrderBook, replay_binance

    data = _wire_buffer()

    def run() -> int:
        dec = BinanceWireDecoder({"BTCUSDT": (0, 2, 3)}, default_symbol="BTCUSDT")
        records, _ = dec.decode_hftbacktest_buffer(data)
        book = OrderBook(2, 3, 10)  # USD-M BTCUSDT: tick 0.10 = 10 raw at 2 dp
        stats = replay_binance(records, book, "futures", check_bbo=False)
        return stats.applied_messages

    return {"run": run}


def _e2e_py() -> dict[str, Any]:
    """The same path in pure Python: orjson, exact Decimal -> int, the futures sync rule, SortedDict book."""
    import orjson
    from sortedcontainers import SortedDict

    lines = _wire_buffer().splitlines()
    hundred, thousand = Decimal(100), Decimal(1000)

    def run() -> int:
        bids, asks = SortedDict(), SortedDict()
        buffered: list[dict[str, Any]] = []
        last_u = None
        applied = 0

        def apply(levels: list[list[str]], side: SortedDict, sign: int) -> None:
            for p, q in levels:
                px, qty = int(Decimal(p) * hundred) * sign, int(Decimal(q) * thousand)
                if qty:
                    side[px] = qty
                else:
                    side.pop(px, None)

        for line in lines:
            msg = orjson.loads(line.partition(b" ")[2])
            data = msg.get("data")
            if data is None and "lastUpdateId" in msg:
                snap_id = msg["lastUpdateId"]
                bids.clear()
                asks.clear()
                apply(msg["bids"], bids, -1)
                apply(msg["asks"], asks, 1)
                last_u = snap_id
                for d in buffered:
                    if d["u"] >= snap_id:
                        apply(d["b"], bids, -1)
                        apply(d["a"], asks, 1)
                        last_u = d["u"]
                        applied += 1
                continue
            if data is None or data.get("e") != "depthUpdate":
                continue
            if last_u is None:
                buffered.append(data)
                continue
            if data["pu"] != last_u:
                raise RuntimeError("gap")
            apply(data["b"], bids, -1)
            apply(data["a"], asks, 1)
            last_u = data["u"]
            applied += 1
        return applied

    return {"run": run}


def _e2e_cases() -> list[Case]:
    return [
        Case("wire_to_book", "raw recording bytes -> synchronised L2 book (usdm_btcusdt_20240808, "
             "443,521 level updates; issue 3 goal >= 5 M/s = 200 ns/update)", (
            Variant("shrivenquant native decode + BinanceBookSync + OrderBook", "run()", _e2e_sq, role="target",
                    data=REAL_RECORDING),
            Variant("orjson + Decimal + futures sync + SortedDict (pure Python)", "run()", _e2e_py,
                    data=REAL_RECORDING, requires="sortedcontainers"),
        ), ops_per_stmt=_E2E_LEVEL_UPDATES, loops=1, unit="ns/level update", budget_ns=200.0),
    ]
