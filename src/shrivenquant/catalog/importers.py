"""Converters from raw captures into a catalog, through the project's own decoders.

* Binance recordings (hftbacktest ``<ts> <json>`` lines or cryptofeed captures):
  :class:`~shrivenquant.venues.binance.BinanceRecordingDecoder`, day files through one decoder so a
  stream that continues over several files keeps its instrument and precisions.
* Databento MBO CSV (CME Globex L3): :func:`~shrivenquant.venues.databento.load_mbo_csv`.
* LOBSTER message files (NASDAQ L3): :func:`~shrivenquant.venues.lobster.load_messages`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shrivenquant.catalog.instruments import CatalogInstrument
from shrivenquant.catalog.store import Catalog, WriteStats
from shrivenquant.core.instrument import Instrument
from shrivenquant.errors import ValidationError

__all__ = ["binance_venue_from_name", "import_binance", "import_databento_mbo", "import_lobster"]

_BINANCE_PREFIX = {"spot": "BINANCE", "usdm": "BINANCE_USDM", "cm": "BINANCE_COINM", "coinm": "BINANCE_COINM"}
_LOBSTER_TICKER = re.compile(r"^([A-Za-z0-9.\-]+)_\d{4}-\d{2}-\d{2}_")


def binance_venue_from_name(path: str | os.PathLike[str]) -> str | None:
    """The venue code a shared-data file name implies (``usdm_btcusdt_20240808.gz`` -> ``BINANCE_USDM``), or None."""
    head = Path(path).name.split("_", 1)[0].lower()
    return _BINANCE_PREFIX.get(head)


def import_binance(catalog: Catalog, paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                   venue: str | None = None, instruments: Sequence[Instrument] | None = None,
                   transform: Callable[[np.ndarray], np.ndarray] | None = None, **options: Any) -> WriteStats:
    """Decode Binance recording files (in the order given: consecutive day files of one stream) and store
    their records.

    Args:
        catalog: the target catalog.
        paths: one file or several; every file goes through one decoder.
        venue: the venue code; None: from the file name prefix (``spot_``/``usdm_``/``cm_``), or from
            ``instruments``.
        instruments: full instrument definitions (e.g. from ``load_exchange_info``) to decode at; symbols
            not among them get precisions inferred from the stream's decimals (the decoder's rule).
        transform: applied to the decoded records before they are stored, e.g.
            ``shrivenquant.backtest.binance_book_events`` to store the stream in the order a synchronised
            book applies it (diffs older than the snapshot dropped), ready for the backtest engine.
            None: the decoder's records exactly.
        options: passed to :class:`~shrivenquant.catalog.CatalogWriter` (``compression``, ``row_group_size``).
    """
    from shrivenquant.venues.binance.recording import BinanceRecordingDecoder, detect_format, read_recording

    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not files:
        raise ValidationError("no Binance recording files given")
    for f in files:
        if not f.is_file():
            raise ValidationError(f"no such recording file: {f}")
    if venue is None and instruments:
        venue = instruments[0].venue
    if venue is None:
        guesses = {binance_venue_from_name(f) for f in files}
        if len(guesses) != 1 or None in guesses:
            raise ValidationError(f"cannot tell the venue from the file names {[f.name for f in files]}: pass venue=")
        venue = guesses.pop()
    by_symbol = {i.symbol: i for i in instruments} if instruments else None
    dec = BinanceRecordingDecoder(by_symbol, capacity=1 << 18)
    for f in files:
        if dec.native and detect_format(f) == "hftbacktest":
            from shrivenquant.venues.binance.recording import _read_all

            dec.decode_hftbacktest_buffer(_read_all(f))
        else:
            dec.decode_lines(read_recording(f))
    events = dec.flush()
    if transform is not None:
        events = transform(events)
    table: dict[int, Instrument | CatalogInstrument] = {}
    for sym, info in dec.symbols.items():
        if by_symbol is not None and sym in by_symbol:
            inst = by_symbol[sym]
            if inst.venue != venue:
                raise ValidationError(f"instrument {inst.id} is not on venue {venue}")
            table[info.instrument_id] = inst
        elif info.price_precision is not None and info.size_precision is not None:
            table[info.instrument_id] = CatalogInstrument(venue=venue, symbol=sym, price_precision=info.price_precision,
                                                          size_precision=info.size_precision)
    used = set(events["instrument_id"].tolist()) if events.shape[0] else set()
    missing = used - set(table)
    if missing:
        raise ValidationError(f"records of instrument ids {sorted(missing)} have no known precisions")
    return catalog.write(events, {k: v for k, v in table.items() if k in used} or table, **options)


def import_databento_mbo(catalog: Catalog, path: str | os.PathLike[str], *, venue: str = "GLBX",
                         symbols: dict[int, str] | str | None = None, price_precision: int | None = None,
                         **options: Any) -> WriteStats:
    """Decode a Databento MBO CSV and store it.

    ``symbols`` names the Databento instrument ids (``{17077: "ESH4"}``, or one symbol for a file of one
    instrument); ids not named are stored under their number (``"17077"``). ``price_precision`` as for
    :func:`~shrivenquant.venues.databento.load_mbo_csv` (None: inferred).
    """
    from shrivenquant.venues.databento import load_mbo_csv

    events, info = load_mbo_csv(path, price_precision=price_precision)
    if isinstance(symbols, str):
        if len(info.instrument_ids) != 1:
            raise ValidationError(f"{path}: {len(info.instrument_ids)} instruments; name them with a dict")
        names = {info.instrument_ids[0]: symbols}
    else:
        names = dict(symbols or {})
    table = {i: CatalogInstrument(venue=venue, symbol=names.get(db_id, str(db_id)),
                                  price_precision=info.price_precision, size_precision=info.size_precision)
             for i, db_id in enumerate(info.instrument_ids)}
    if not table:
        raise ValidationError(f"{path}: no records")
    return catalog.write(events, table, **options)


def import_lobster(catalog: Catalog, path: str | os.PathLike[str], *, venue: str = "NASDAQ",
                   symbol: str | None = None, date: str | None = None, **options: Any) -> WriteStats:
    """Decode a LOBSTER message file and store it (``symbol``: None takes the ticker from the file name;
    ``date`` as for :func:`~shrivenquant.venues.lobster.load_messages`). Prices at precision 4, shares at 0."""
    from shrivenquant.venues.lobster import PRICE_PRECISION, load_messages

    if symbol is None:
        m = _LOBSTER_TICKER.match(Path(path).name)
        if m is None:
            raise ValidationError(f"{path}: no TICKER_YYYY-MM-DD_ prefix in the file name: pass symbol=")
        symbol = m.group(1)
    events = load_messages(path, date=date)
    entry = CatalogInstrument(venue=venue, symbol=symbol, price_precision=PRICE_PRECISION, size_precision=0)
    return catalog.write(events, [entry], **options)
