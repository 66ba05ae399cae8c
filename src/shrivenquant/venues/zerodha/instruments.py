"""Zerodha Kite Connect instruments CSV → :class:`~shrivenquant.core.instrument.Instrument` list.

Kite's ``GET /instruments`` (and ``/instruments/<exchange>``) returns a CSV with the header::

    instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,
    lot_size,instrument_type,segment,exchange

Mapping (one Instrument per row, in file order):

* ``venue`` = ``exchange`` (``NSE``, ``BSE``, ``NFO``, ``BFO``, ``CDS``, ``MCX``, ...), ``symbol`` =
  ``tradingsymbol``, ``venue_token`` = ``instrument_token``; ``quote`` and ``settlement`` = ``"INR"``.
* ``instrument_type`` ``EQ`` → ``EQUITY``, ``FUT`` → ``FUTURE``, ``CE``/``PE`` → ``OPTION`` with
  ``strike`` and ``option_right`` CALL/PUT; any row of segment ``INDICES`` → ``INDEX``.
* ``price_tick`` = ``tick_size`` read exactly from its text. Kite lists indices with tick 0 and lot
  0: an index gets ``price_tick`` 0.01 (index values are published in paise) and ``lot_size`` 1.
* Quantities are in **units** (shares, or units of the underlying for F&O): ``size_step`` = 1 and
  ``lot_size`` = the CSV ``lot_size``, so an F&O order quantity must be a multiple of the lot size
  (:meth:`Instrument.check_qty` enforces it).
* ``expiry_ns`` = the ``expiry`` date at **15:30 Asia/Kolkata** (UTC+05:30, no DST: 10:00 UTC), the
  close of NSE/BSE equity derivatives, as ns since the epoch UTC. Currency (CDS) and commodity (MCX)
  contracts stop trading at other times of that day; the date is exact, the time is this convention.
* ``underlying`` = ``name`` for derivatives (None if empty); ``last_price`` and ``exchange_token`` are
  not part of the definition and are ignored.

A bad row raises :class:`~shrivenquant.errors.InstrumentError` naming its line number and symbol; a
missing column raises :class:`~shrivenquant.errors.DecodeError`.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from datetime import date
from os import PathLike
from pathlib import Path

from shrivenquant._native.fixed import Price, Quantity
from shrivenquant.core.enums import InstrumentKind, OptionRight
from shrivenquant.core.instrument import Instrument
from shrivenquant.errors import DecodeError, FixedPointOverflowError, InstrumentError, ValidationError

__all__ = [
    "EXPIRY_UTC_SECONDS_OF_DAY",
    "KITE_COLUMNS",
    "expiry_ns",
    "load_kite_instruments",
    "parse_kite_instruments",
]

KITE_COLUMNS = (
    "instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry", "strike",
    "tick_size", "lot_size", "instrument_type", "segment", "exchange",
)
"""Columns of Kite's instruments CSV, in Kite's order (extra columns are allowed and ignored)."""

EXPIRY_UTC_SECONDS_OF_DAY = 10 * 3600
"""Expiry time of day in UTC seconds: 15:30 IST (UTC+05:30) = 10:00 UTC."""

_NS = 1_000_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_INDEX_TICK = Price("0.01")
_UNIT = Quantity(1)
_KINDS = {
    "EQ": (InstrumentKind.EQUITY, None),
    "FUT": (InstrumentKind.FUTURE, None),
    "CE": (InstrumentKind.OPTION, OptionRight.CALL),
    "PE": (InstrumentKind.OPTION, OptionRight.PUT),
}


def expiry_ns(day: date) -> int:
    """ns since the epoch UTC of 15:30 Asia/Kolkata on ``day`` (Kite's expiry convention here)."""
    return ((day.toordinal() - _EPOCH_ORDINAL) * 86_400 + EXPIRY_UTC_SECONDS_OF_DAY) * _NS


def parse_kite_instruments(text: str) -> list[Instrument]:
    """Instruments of a Kite instruments CSV (header row first), one per data row, in order.

    Raises :class:`DecodeError` if a required column is missing, :class:`InstrumentError` for a bad
    row (message names the line and trading symbol).
    """
    reader = csv.reader(text.lstrip("\ufeff").splitlines())
    header = next(reader, None)
    if header is None:
        raise DecodeError("empty Kite instruments CSV: expected a header row " + ",".join(KITE_COLUMNS))
    header = [h.strip() for h in header]
    missing = [c for c in KITE_COLUMNS if c not in header]
    if missing:
        raise DecodeError(
            f"Kite instruments CSV header lacks {', '.join(missing)}: expected {','.join(KITE_COLUMNS)}, "
            f"got {','.join(header)}")
    idx = {c: header.index(c) for c in KITE_COLUMNS}
    width = len(header)
    ticks: dict[str, Price] = {}
    out: list[Instrument] = []
    for row in reader:
        if not row:
            continue  # blank line
        line = reader.line_num
        if len(row) != width:
            raise InstrumentError(
                f"Kite instruments CSV line {line}: expected {width} fields, got {len(row)}: {row!r}")
        rec = {c: row[i].strip() for c, i in idx.items()}
        try:
            out.append(_instrument(rec, ticks))
        except (ValidationError, FixedPointOverflowError) as exc:
            raise InstrumentError(
                f"Kite instruments CSV line {line} ({rec['exchange']}:{rec['tradingsymbol']}): {exc}"
            ) from exc
    return out


def load_kite_instruments(path: str | PathLike[str]) -> list[Instrument]:
    """Instruments from a Kite instruments CSV file (UTF-8, gzip or not); see :func:`parse_kite_instruments`.

    A missing file raises :class:`OSError`; undecodable content raises :class:`DecodeError`.
    """
    p = Path(path)
    raw = p.read_bytes()
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DecodeError(f"{p}: cannot read a Kite instruments CSV: {exc}") from exc
    return parse_kite_instruments(text)


def _instrument(rec: dict[str, str], ticks: dict[str, Price]) -> Instrument:
    symbol, itype, segment = rec["tradingsymbol"], rec["instrument_type"], rec["segment"]
    if segment == "INDICES":
        kind, right = InstrumentKind.INDEX, None
    else:
        try:
            kind, right = _KINDS[itype]
        except KeyError:
            raise ValidationError(
                f"unknown instrument_type {itype!r}: expected one of {', '.join(_KINDS)}") from None
    token = _int(rec["instrument_token"], "instrument_token")
    lot = _int(rec["lot_size"], "lot_size")
    tick = ticks.get(rec["tick_size"])
    if tick is None:
        tick = ticks[rec["tick_size"]] = _normalized(Price(rec["tick_size"]))
    if kind is InstrumentKind.INDEX:
        tick = tick if tick.raw > 0 else _INDEX_TICK
        lot = max(lot, 1)
    elif tick.raw <= 0:
        raise ValidationError(f"tick_size must be > 0, got {rec['tick_size']!r}")

    expiry = None
    if kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION):
        if not rec["expiry"]:
            raise ValidationError(f"a {itype} row needs an expiry date (YYYY-MM-DD)")
        try:
            expiry = expiry_ns(date.fromisoformat(rec["expiry"]))
        except ValueError:
            raise ValidationError(f"bad expiry {rec['expiry']!r}: expected YYYY-MM-DD") from None
    strike = None
    if kind is InstrumentKind.OPTION:
        strike = _normalized(Price(rec["strike"]))
        if strike.raw <= 0:
            raise ValidationError(f"an option needs a strike > 0, got {rec['strike']!r}")
    derivative = kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION)
    return Instrument(
        venue=rec["exchange"],
        symbol=symbol,
        kind=kind,
        quote="INR",
        settlement="INR",
        price_tick=tick,
        size_step=_UNIT,
        lot_size=lot,
        expiry_ns=expiry,
        strike=strike,
        option_right=right,
        venue_token=token,
        underlying=(rec["name"] or None) if derivative else None,
    )


def _int(text: str, field: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValidationError(f"bad {field} {text!r}: expected a non-negative integer")
    return int(text)


def _normalized(value: Price) -> Price:
    """Drop trailing fractional zeros (``23500.0`` → ``23500``)."""
    raw, p = value.raw, value.precision
    while p > 0 and raw % 10 == 0:
        raw //= 10
        p -= 1
    return value if p == value.precision else Price.from_raw(raw, p)
