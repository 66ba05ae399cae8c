"""The catalog's instrument table: what the raw integers of each stored instrument mean.

Every stored record's ``instrument_id`` is an index into this table, and its ``price`` / ``qty`` are raw
int64 at the entry's ``price_precision`` / ``size_precision``. The table is one JSON file,
``<root>/_catalog.json``, written atomically (temporary file + rename) beside the partitions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import msgspec

from shrivenquant.core.instrument import Instrument
from shrivenquant.core.serialization import from_json, to_json
from shrivenquant.errors import InstrumentError, ValidationError

__all__ = ["TABLE_FILE", "CatalogInstrument", "InstrumentTable"]

TABLE_FILE = "_catalog.json"
FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


class CatalogInstrument(msgspec.Struct, frozen=True, kw_only=True):
    """One instrument of a catalog.

    Attributes:
        venue: venue code (``"BINANCE_USDM"``, ``"GLBX"``, ``"NASDAQ"``); a directory name.
        symbol: the venue's symbol (``"BTCUSDT"``); a directory name.
        price_precision: decimals of the raw ``price`` of this instrument's records.
        size_precision: decimals of the raw ``qty``.
        instrument: the full definition (tick, lot, limits) when known, else None.
        id: the ``instrument_id`` of this instrument's stored records (assigned by the catalog).
    """

    venue: str
    symbol: str
    price_precision: int
    size_precision: int
    instrument: Instrument | None = None
    id: int = -1

    @property
    def key(self) -> str:
        """``"SYMBOL.VENUE"`` (the :attr:`Instrument.id` convention)."""
        return f"{self.symbol}.{self.venue}"

    @classmethod
    def from_instrument(cls, inst: Instrument) -> CatalogInstrument:
        """The entry of a full :class:`Instrument` (precisions from its tick and step)."""
        return cls(venue=inst.venue, symbol=inst.symbol, price_precision=inst.price_precision,
                   size_precision=inst.size_precision, instrument=inst)


def _check_name(text: str, what: str) -> None:
    if not isinstance(text, str) or not _NAME.match(text) or len(text) > 120:
        raise ValidationError(
            f"{what} {text!r} is not a valid catalog name (letters, digits, '.', '_', '-'; first a letter or "
            "digit; at most 120 characters)")


def _check_entry(e: CatalogInstrument) -> None:
    _check_name(e.venue, "venue")
    _check_name(e.symbol, "symbol")
    for name, p in (("price_precision", e.price_precision), ("size_precision", e.size_precision)):
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 18:
            raise ValidationError(f"{e.key}: {name} must be an int from 0 to 18, got {p!r}")
    inst = e.instrument
    if inst is not None and (inst.venue, inst.symbol, inst.price_precision, inst.size_precision) != (
            e.venue, e.symbol, e.price_precision, e.size_precision):
        raise InstrumentError(f"{e.key}: the entry's venue/symbol/precisions differ from its instrument {inst.id} "
                              f"(precisions {inst.price_precision}/{inst.size_precision})")


class _TableFile(msgspec.Struct, kw_only=True):
    format: int
    instruments: list[CatalogInstrument]


class InstrumentTable:
    """The instruments of a catalog, by id (dense 0..n-1) and by ``(venue, symbol)``."""

    def __init__(self, entries: Iterable[CatalogInstrument] = ()) -> None:
        self._by_id: list[CatalogInstrument] = []
        self._by_key: dict[tuple[str, str], CatalogInstrument] = {}
        for e in entries:
            if e.id != len(self._by_id):
                raise ValidationError(f"instrument table ids must be 0..n-1 in order, got {e.id} at {len(self._by_id)}")
            _check_entry(e)
            self._by_id.append(e)
            self._by_key[(e.venue, e.symbol)] = e

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_id)

    def __getitem__(self, iid: int) -> CatalogInstrument:
        return self._by_id[iid]

    def get(self, venue: str, symbol: str) -> CatalogInstrument | None:
        """The entry of ``(venue, symbol)``, or None."""
        return self._by_key.get((venue, symbol))

    def register(self, entry: CatalogInstrument | Instrument) -> CatalogInstrument:
        """The catalog entry for ``entry``, added if new. An existing ``(venue, symbol)`` must have the same
        precisions (else :class:`InstrumentError`: the stored raw ints would change meaning); a full
        :class:`Instrument` given for an entry stored without one is recorded."""
        e = CatalogInstrument.from_instrument(entry) if isinstance(entry, Instrument) else entry
        if not isinstance(e, CatalogInstrument):
            raise ValidationError(f"expected an Instrument or CatalogInstrument, got {type(entry).__name__}")
        _check_entry(e)
        old = self._by_key.get((e.venue, e.symbol))
        if old is None:
            new = msgspec.structs.replace(e, id=len(self._by_id))
            self._by_id.append(new)
            self._by_key[(e.venue, e.symbol)] = new
            return new
        if (old.price_precision, old.size_precision) != (e.price_precision, e.size_precision):
            raise InstrumentError(
                f"{e.key} is stored at precisions {old.price_precision}/{old.size_precision} (price/size); "
                f"cannot add records at {e.price_precision}/{e.size_precision}")
        if old.instrument is None and e.instrument is not None:
            old = msgspec.structs.replace(old, instrument=e.instrument)
            self._by_id[old.id] = old
            self._by_key[(e.venue, e.symbol)] = old
        return old

    # ------------------------------------------------------------------ persistence
    @classmethod
    def load(cls, root: Path) -> InstrumentTable:
        """The table of the catalog at ``root`` (empty if the file does not exist)."""
        path = root / TABLE_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls()
        try:
            doc = from_json(raw, _TableFile)
        except ValidationError as exc:
            raise ValidationError(f"{path}: not a shrivenquant catalog table: {exc}") from exc
        if doc.format != FORMAT_VERSION:
            raise ValidationError(f"{path}: catalog format {doc.format}, this version reads {FORMAT_VERSION}")
        return cls(doc.instruments)

    def save(self, root: Path) -> None:
        """Write the table to ``root`` atomically."""
        root.mkdir(parents=True, exist_ok=True)
        path = root / TABLE_FILE
        tmp = root / f".{TABLE_FILE}.{os.getpid()}.tmp"
        tmp.write_bytes(to_json(_TableFile(format=FORMAT_VERSION, instruments=self._by_id)))
        os.replace(tmp, path)
