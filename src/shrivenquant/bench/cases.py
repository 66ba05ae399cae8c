"""The benchmark cases, each with same-run baselines. Later parts add their cases here.

Peer variants (NautilusTrader 1.221) run when the ``bench`` extra is installed and are skipped
otherwise; ``int`` and ``decimal`` baselines always run.
"""

from __future__ import annotations

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


def all_cases() -> list[Case]:
    """Every benchmark case, in report order."""
    return [
        Case("price_add", "Price + Price", (
            Variant("shrivenquant Price + Price", "a + b", _sq, role="target"),
            Variant("int + int", "a + b", _ints),
            Variant("Decimal + Decimal", "a + b", _decimals),
            Variant("NautilusTrader 1.221 Price + Price", "a + b", _nautilus, requires=_NT),
        ), budget_ns=60.0),
        Case("price_lt", "Price < Price", (
            Variant("shrivenquant Price < Price", "a < b", _sq, role="target"),
            Variant("int < int", "a < b", _ints),
            Variant("Decimal < Decimal", "a < b", _decimals),
            Variant("NautilusTrader 1.221 Price < Price", "a < b", _nautilus, requires=_NT),
        ), budget_ns=60.0),
        Case("price_eq", "Price == Price", (
            Variant("shrivenquant Price == Price", "a == b", _sq, role="target"),
            Variant("int == int", "a == b", _ints),
            Variant("Decimal == Decimal", "a == b", _decimals),
            Variant("NautilusTrader 1.221 Price == Price", "a == b", _nautilus, requires=_NT),
        ), budget_ns=60.0),
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
    ]


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
