"""Binance ``exchangeInfo`` → :class:`~shrivenquant.core.instrument.Instrument` list.

Reads the JSON of spot ``GET /api/v3/exchangeInfo``, USD-M ``GET /fapi/v1/exchangeInfo`` and COIN-M
``GET /dapi/v1/exchangeInfo``, decoded with typed ``msgspec`` Structs. Every decimal is read exactly
from its string (trailing zeros dropped: ``"0.01000000"`` becomes ``Price("0.01")``), never through a
float.

Which market the document describes is detected from its content:

* ``futuresType`` ``"U_MARGINED"`` → USD-M; ``"COIN_MARGINED"`` → COIN-M;
* otherwise a symbol with ``contractSize`` → COIN-M; a symbol with ``contractType`` or
  ``marginAsset`` → USD-M; else spot.

The venue code is ``"BINANCE"`` (spot), ``"BINANCE_USDM"`` or ``"BINANCE_COINM"`` unless ``venue`` is
given.

Mapping:

* ``PRICE_FILTER`` → ``price_tick``, ``min_price``, ``max_price``;
  ``LOT_SIZE`` → ``size_step``, ``min_qty``, ``max_qty``; ``MARKET_LOT_SIZE.maxQty`` →
  ``market_max_qty``; ``MIN_NOTIONAL`` (spot ``minNotional``, futures ``notional``) and ``NOTIONAL``
  (``minNotional``, ``maxNotional``) → ``min_notional``, ``max_notional`` in the quote currency (the
  larger minimum if both filters are present). A value of 0 means "rule disabled" (Binance's
  convention) and becomes None.
* Spot → ``SPOT`` with ``settlement`` = quote asset. Futures: ``settlement`` = ``marginAsset``; a
  ``contractType`` ending in ``PERPETUAL`` → ``PERPETUAL``; otherwise a real ``deliveryDate`` (ms,
  before Binance's perpetual placeholder 2100-12-25) → ``FUTURE`` with ``expiry_ns`` = deliveryDate ×
  10**6; an empty ``contractType`` with the placeholder date (a listing that is not trading yet) →
  ``PERPETUAL``. COIN-M contracts are inverse with ``multiplier`` = ``contractSize`` (USD per
  contract).
* Quantities are in Binance's order units: base asset for spot and USD-M, contracts for COIN-M.

**Zero or absent tick or step rule.** Binance sets ``tickSize`` (or ``stepSize``) to 0 to disable the
rule, which it does for delisted symbols; such a symbol has no price (or size) grid, cannot be an
:class:`Instrument` and is **skipped** — as is a symbol without a ``PRICE_FILTER`` or ``LOT_SIZE``
filter. A negative or malformed value raises :class:`~shrivenquant.errors.DecodeError`.
"""

from __future__ import annotations

import gzip
import zlib
from os import PathLike
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import msgspec

from shrivenquant._native.fixed import Money, Price, Quantity
from shrivenquant.core.enums import InstrumentKind
from shrivenquant.core.instrument import Instrument, currency_for
from shrivenquant.errors import DecodeError, FixedPointOverflowError, InstrumentError, ValidationError

__all__ = [
    "COINM_VENUE",
    "PERPETUAL_DELIVERY_MS",
    "SPOT_VENUE",
    "USDM_VENUE",
    "load_exchange_info",
    "parse_exchange_info",
]

SPOT_VENUE = "BINANCE"
USDM_VENUE = "BINANCE_USDM"
COINM_VENUE = "BINANCE_COINM"
PERPETUAL_DELIVERY_MS = 4133404800000
"""``deliveryDate`` Binance gives perpetuals: 2100-12-25T00:00:00Z in ms (no delivery)."""

_F = TypeVar("_F", Price, Quantity)
_SPOT, _USDM, _COINM = "spot", "usdm", "coinm"
_DEFAULT_VENUE = {_SPOT: SPOT_VENUE, _USDM: USDM_VENUE, _COINM: COINM_VENUE}


# ---------------------------------------------------------------------------------------------- wire types

class _Filter(msgspec.Struct, rename="camel", gc=False):
    """One entry of a symbol's ``filters``: only the fields used here (others are ignored)."""

    filter_type: str
    tick_size: str | None = None
    min_price: str | None = None
    max_price: str | None = None
    step_size: str | None = None
    min_qty: str | None = None
    max_qty: str | None = None
    min_notional: str | None = None
    max_notional: str | None = None
    notional: str | None = None


class _Symbol(msgspec.Struct, rename="camel"):
    symbol: str
    base_asset: str
    quote_asset: str
    filters: list[_Filter] = []
    status: str | None = None  # spot, USD-M
    contract_status: str | None = None  # COIN-M
    contract_type: str | None = None  # futures
    delivery_date: int | None = None  # futures, ms
    margin_asset: str | None = None  # futures
    contract_size: int | float | str | None = None  # COIN-M


class _ExchangeInfo(msgspec.Struct, rename="camel"):
    symbols: list[_Symbol] | None = None
    futures_type: str | None = None  # USD-M: "U_MARGINED"
    code: int | None = None  # error responses: {"code": -1121, "msg": "..."}
    msg: str | None = None


_decoder = msgspec.json.Decoder(_ExchangeInfo)


# ---------------------------------------------------------------------------------------------- parsing

def parse_exchange_info(
    data: bytes | str, *, venue: str | None = None, trading_only: bool = False
) -> list[Instrument]:
    """Instruments of a Binance spot, USD-M or COIN-M ``exchangeInfo`` JSON response.

    ``venue`` overrides the detected venue code; ``trading_only`` keeps only symbols whose ``status``
    (COIN-M: ``contractStatus``) is ``"TRADING"``. Symbols with a zero or absent tick or step are
    skipped (see the module docstring). Order follows the response.

    Raises :class:`DecodeError` on malformed JSON, wrong field types, an error response or a bad
    decimal, and :class:`InstrumentError` on an inconsistent symbol (e.g. max below min).
    """
    try:
        info = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise DecodeError(f"invalid Binance exchangeInfo JSON: {exc}") from exc
    if info.symbols is None:
        if info.msg is not None or info.code is not None:
            raise DecodeError(f"Binance exchangeInfo is an error response: code {info.code}: {info.msg}")
        raise DecodeError(
            "Binance exchangeInfo has no 'symbols' array: expected the JSON of /api/v3, /fapi/v1 or "
            "/dapi/v1 exchangeInfo")
    market = _detect_market(info)
    venue_code = venue if venue is not None else _DEFAULT_VENUE[market]
    out: list[Instrument] = []
    for sym in info.symbols:
        if trading_only and (sym.status or sym.contract_status) != "TRADING":
            continue
        try:
            inst = _instrument(sym, market, venue_code)
        except InstrumentError:
            raise
        except ValidationError as exc:
            raise DecodeError(f"Binance exchangeInfo symbol {sym.symbol!r}: {exc}") from exc
        if inst is not None:
            out.append(inst)
    return out


def load_exchange_info(
    path: str | PathLike[str], *, venue: str | None = None, trading_only: bool = False
) -> list[Instrument]:
    """Instruments from a file: plain exchangeInfo JSON, or a cryptofeed raw capture; gzip or not.

    A cryptofeed capture (``BINANCE.0``, ``BINANCE_FUTURES.0``, ``BINANCE_DELIVERY.0``) has lines
    ``<url> -> <unix_ts>: <response body>``; the last line whose URL path ends in ``/exchangeInfo``
    is used and other lines (``configuration: {...}``, other requests) are ignored. Options as for
    :func:`parse_exchange_info`. A missing file raises :class:`OSError`; content problems raise
    :class:`DecodeError`.
    """
    p = Path(path)
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DecodeError(f"{p}: corrupt gzip data: {exc}") from exc
    return parse_exchange_info(_response_body(raw, p), venue=venue, trading_only=trading_only)


def _response_body(raw: bytes, path: Path) -> bytes:
    """The exchangeInfo JSON in a plain JSON file or a cryptofeed raw capture."""
    if raw.lstrip()[:1] == b"{":
        return raw
    body: bytes | None = None
    for lineno, line in enumerate(raw.splitlines(), 1):
        head, sep, rest = line.partition(b" -> ")
        if not sep:
            continue
        url = head.strip().decode("utf-8", "replace")
        if not urlsplit(url).path.endswith("/exchangeInfo"):
            continue
        ts, sep, payload = rest.partition(b": ")
        try:
            float(ts)
        except ValueError:
            sep = b""
        if not sep:
            raise DecodeError(
                f"{path}:{lineno}: malformed cryptofeed line for {url}: "
                f"expected '<url> -> <unix_ts>: <body>'")
        body = payload
    if body is None:
        raise DecodeError(
            f"{path}: no exchangeInfo response found: expected a JSON object or cryptofeed lines "
            f"'<url>/exchangeInfo -> <unix_ts>: <body>'")
    return body


def _detect_market(info: _ExchangeInfo) -> str:
    if info.futures_type == "U_MARGINED":
        return _USDM
    if info.futures_type == "COIN_MARGINED":
        return _COINM
    symbols = info.symbols or []
    if any(s.contract_size is not None for s in symbols):
        return _COINM
    if any(s.contract_type is not None or s.margin_asset is not None for s in symbols):
        return _USDM
    return _SPOT


def _instrument(sym: _Symbol, market: str, venue: str) -> Instrument | None:
    """One symbol as an Instrument; None if it has no tick or no step (skipped)."""
    filters: dict[str, _Filter] = {}
    for f in sym.filters:
        filters.setdefault(f.filter_type, f)
    pf, lot = filters.get("PRICE_FILTER"), filters.get("LOT_SIZE")
    tick = _dec(Price, pf.tick_size, "tickSize") if pf else None
    step = _dec(Quantity, lot.step_size, "stepSize") if lot else None
    if tick is None or step is None:
        return None  # zero / absent tick or step: rule disabled (delisted symbol), documented skip

    quote = sym.quote_asset
    currency_for(quote)  # register unknown quote assets before building Money in them
    min_notional = max_notional = None
    mn = filters.get("MIN_NOTIONAL")
    if mn is not None:
        min_notional = _money(mn.min_notional if mn.min_notional is not None else mn.notional, quote)
    nf = filters.get("NOTIONAL")
    if nf is not None:
        nmin = _money(nf.min_notional, quote)
        if nmin is not None and (min_notional is None or nmin > min_notional):
            min_notional = nmin
        max_notional = _money(nf.max_notional, quote)
    mlot = filters.get("MARKET_LOT_SIZE")

    kind, expiry_ns = InstrumentKind.SPOT, None
    multiplier = Quantity(1)
    if market != _SPOT:
        kind, expiry_ns = _contract_kind(sym)
    if market == _COINM:
        size = sym.contract_size
        if size is None:
            raise ValidationError("a COIN-M contract needs a contractSize")
        contract = _dec(Quantity, repr(size) if isinstance(size, float) else str(size), "contractSize")
        if contract is None:
            raise ValidationError(f"contractSize must be > 0, got {size!r}")
        multiplier = contract

    return Instrument(
        venue=venue,
        symbol=sym.symbol,
        kind=kind,
        base=sym.base_asset or None,
        quote=quote,
        settlement=(sym.margin_asset or quote) if market != _SPOT else quote,
        price_tick=tick,
        size_step=step,
        min_price=_dec(Price, pf.min_price, "minPrice") if pf else None,
        max_price=_dec(Price, pf.max_price, "maxPrice") if pf else None,
        min_qty=_dec(Quantity, lot.min_qty, "minQty") if lot else None,
        max_qty=_dec(Quantity, lot.max_qty, "maxQty") if lot else None,
        market_max_qty=_dec(Quantity, mlot.max_qty, "maxQty") if mlot else None,
        min_notional=min_notional,
        max_notional=max_notional,
        multiplier=multiplier,
        inverse=market == _COINM,
        expiry_ns=expiry_ns,
    )


def _contract_kind(sym: _Symbol) -> tuple[InstrumentKind, int | None]:
    ct = sym.contract_type or ""
    if ct.endswith("PERPETUAL"):  # PERPETUAL, TRADIFI_PERPETUAL
        return InstrumentKind.PERPETUAL, None
    delivery = sym.delivery_date
    if delivery is not None and 0 < delivery < PERPETUAL_DELIVERY_MS:
        return InstrumentKind.FUTURE, delivery * 1_000_000
    if not ct:  # not trading yet (e.g. PENDING_TRADING) and no delivery: a perpetual listing
        return InstrumentKind.PERPETUAL, None
    raise ValidationError(
        f"contractType {ct!r} needs a deliveryDate in ms before {PERPETUAL_DELIVERY_MS}, got {delivery!r}")


def _trim(text: str) -> str:
    """Drop trailing fractional zeros of a plain decimal string (``"10.00000000"`` → ``"10"``)."""
    if "." in text and "e" not in text and "E" not in text:
        trimmed = text.rstrip("0").rstrip(".")
        if trimmed[-1:].isdigit():
            return trimmed
    return text


def _dec(cls: type[_F], text: str | None, field: str) -> _F | None:
    """An exact value from a Binance decimal string; None if absent or 0 (rule disabled)."""
    if text is None:
        return None
    try:
        value = cls(_trim(text))
    except (ValidationError, FixedPointOverflowError) as exc:
        raise ValidationError(f"bad {field} {text!r}: {exc}") from None
    if value.raw < 0:
        raise ValidationError(f"bad {field} {text!r}: expected a decimal >= 0")
    return value if value.raw else None


def _money(text: str | None, quote: str) -> Money | None:
    """A notional bound in the quote currency; None if absent or 0."""
    value = _dec(Price, text, "notional")
    return None if value is None else Money(value, quote)
