# ruff: noqa: N803, N806, PLR0917  (finance notation: F, K, T; value holders take many fields)
"""NFO / BFO option chains from Kite instruments: implied vols, smile and Greeks with Black-76 on the future.

Indian exchange-traded index and stock options are priced by brokers with Black-76 on the future (or on the
synthetic future from put-call parity when no future of that expiry trades). This module:

1. groups option :class:`~shrivenquant.core.instrument.Instrument` s (e.g. from
   :func:`~shrivenquant.venues.zerodha.instruments.load_kite_instruments`) by underlying and expiry into
   :class:`OptionChain` s (strikes ascending, call/put instrument tokens, the future's token when listed);
2. :meth:`OptionChain.analyse` takes quotes (token -> price, e.g. mid or last price), the time and a rate, finds
   the forward F (given, the future's quote, or the synthetic future K + e^{rT} (C - P) averaged over the three
   strikes where |C - P| is smallest), and computes per strike the call and put implied vols (Black-76,
   discounted, NaN + :class:`~shrivenquant.options.IVStatus` where none exists), the smile (out-of-the-money
   side: put below F, call at or above) and the Black-76 Greeks of both at the smile vol.

Underlying names come from the instrument's ``underlying`` (Kite ``name``), or, when the CSV leaves it empty,
the leading letters of the trading symbol (``BANKNIFTY18JAN23500CE`` -> ``BANKNIFTY``). Time to expiry is
Act/365 on whole minutes to 15:30 IST of the expiry date (the instrument's ``expiry_ns``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from shrivenquant.core.enums import InstrumentKind, OptionRight
from shrivenquant.core.instrument import Instrument
from shrivenquant.errors import ValidationError
from shrivenquant.options.european import black76_greeks
from shrivenquant.options.implied import implied_vol_black76
from shrivenquant.options.timing import year_fraction_ns

__all__ = ["CHAIN_DTYPE", "ChainAnalysis", "OptionChain", "build_chains", "synthetic_forward"]

_LEADING = re.compile(r"[A-Z&\-]+")

CHAIN_DTYPE = np.dtype([
    ("strike", "f8"), ("call_token", "i8"), ("put_token", "i8"), ("call_price", "f8"), ("put_price", "f8"),
    ("call_iv", "f8"), ("put_iv", "f8"), ("call_status", "i1"), ("put_status", "i1"), ("smile_iv", "f8"),
    ("call_delta", "f8"), ("put_delta", "f8"), ("gamma", "f8"), ("vega", "f8"), ("call_theta", "f8"),
    ("put_theta", "f8"),
])
"""Row layout of :attr:`ChainAnalysis.table`: per strike; Greeks at the smile vol, delta/gamma w.r.t. the
futures price, vega per vol point (1 %), theta per calendar day (/365)."""


def _underlying(ins: Instrument) -> str:
    if ins.underlying:
        return ins.underlying
    m = _LEADING.match(ins.symbol)
    if m is None:
        raise ValidationError(f"cannot infer the underlying of {ins.venue}:{ins.symbol}")
    return m.group(0)


class OptionChain:
    """Options of one underlying and expiry: ``strikes`` ascending with call/put tokens (-1 where missing)."""

    __slots__ = ("call_tokens", "expiry_ns", "future_token", "lot_size", "put_tokens", "strikes", "underlying",
                 "venue")

    def __init__(self, venue: str, underlying: str, expiry_ns: int, strikes: np.ndarray, call_tokens: np.ndarray,
                 put_tokens: np.ndarray, future_token: int | None, lot_size: int) -> None:
        self.venue = venue
        self.underlying = underlying
        self.expiry_ns = expiry_ns
        self.strikes = strikes
        self.call_tokens = call_tokens
        self.put_tokens = put_tokens
        self.future_token = future_token
        self.lot_size = lot_size

    def __repr__(self) -> str:
        return (f"OptionChain({self.venue}:{self.underlying}, expiry_ns={self.expiry_ns}, strikes={len(self.strikes)}, "
                f"future_token={self.future_token})")

    def prices(self, quotes: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
        """Call and put prices per strike from ``quotes`` (token -> price); NaN where missing or <= 0."""
        def look(tokens: np.ndarray) -> np.ndarray:
            out = np.full(tokens.shape, np.nan)
            for i, tok in enumerate(tokens):
                p = quotes.get(int(tok)) if tok >= 0 else None
                if p is not None and p > 0:
                    out[i] = float(p)
            return out

        return look(self.call_tokens), look(self.put_tokens)

    def analyse(self, quotes: Mapping[int, float], now_ns: int, rate: float, *,
                forward: float | None = None) -> ChainAnalysis:
        """Implied vols, smile and Greeks of the chain at ``now_ns`` (ns since the epoch UTC).

        Args:
            quotes: instrument token -> option (and future) price, e.g. mid or last traded price.
            rate: continuously compounded discount rate (the option premium is paid now, the payoff at expiry).
            forward: the futures price to use; default the future's quote, else the synthetic forward.
        """
        T = float(year_fraction_ns(now_ns, self.expiry_ns))
        call_px, put_px = self.prices(quotes)
        source = "given"
        if forward is None and self.future_token is not None and quotes.get(self.future_token, 0) > 0:
            forward, source = float(quotes[self.future_token]), "future"
        if forward is None:
            forward, source = synthetic_forward(self.strikes, call_px, put_px, T, rate), "synthetic"
        if not (forward > 0 and math.isfinite(forward)):
            raise ValidationError(f"forward of {self.underlying} must be > 0, got {forward!r}")
        K = self.strikes
        civ = implied_vol_black76(call_px, True, forward, K, T, rate)
        piv = implied_vol_black76(put_px, False, forward, K, T, rate)
        otm_call = forward <= K
        smile = np.where(otm_call, civ.vol, piv.vol)
        smile = np.where(np.isnan(smile), np.where(otm_call, piv.vol, civ.vol), smile)
        table = np.zeros(K.size, dtype=CHAIN_DTYPE)
        table["strike"] = K
        table["call_token"] = self.call_tokens
        table["put_token"] = self.put_tokens
        table["call_price"] = call_px
        table["put_price"] = put_px
        table["call_iv"] = civ.vol
        table["put_iv"] = piv.vol
        table["call_status"] = civ.status
        table["put_status"] = piv.status
        table["smile_iv"] = smile
        ok = np.isfinite(smile)
        for col in ("call_delta", "put_delta", "gamma", "vega", "call_theta", "put_theta"):
            table[col] = np.nan
        if ok.any():
            gc = black76_greeks(True, forward, K[ok], T, rate, smile[ok], second_order=False, theta="day",
                                vega="percent")
            gp = black76_greeks(False, forward, K[ok], T, rate, smile[ok], second_order=False, theta="day",
                                vega="percent")
            table["call_delta"][ok] = gc.delta
            table["put_delta"][ok] = gp.delta
            table["gamma"][ok] = gc.gamma
            table["vega"][ok] = gc.vega
            table["call_theta"][ok] = gc.theta
            table["put_theta"][ok] = gp.theta
        return ChainAnalysis(self, now_ns, T, rate, forward, source, table)


class ChainAnalysis:
    """Result of :meth:`OptionChain.analyse`: the forward used (and its ``forward_source``: ``"given"``,
    ``"future"`` or ``"synthetic"``), the year fraction ``T`` and the per-strike ``table`` (:data:`CHAIN_DTYPE`)."""

    __slots__ = ("chain", "forward", "forward_source", "now_ns", "rate", "table", "time_to_expiry")

    def __init__(self, chain: OptionChain, now_ns: int, T: float, rate: float, forward: float, source: str,
                 table: np.ndarray) -> None:
        self.chain = chain
        self.now_ns = now_ns
        self.time_to_expiry = T
        self.rate = rate
        self.forward = forward
        self.forward_source = source
        self.table = table

    def smile(self) -> tuple[np.ndarray, np.ndarray]:
        """(strikes, implied vols) of the out-of-the-money smile, strikes where a vol exists."""
        ok = np.isfinite(self.table["smile_iv"])
        return self.table["strike"][ok], self.table["smile_iv"][ok]

    def to_arrow(self) -> Any:
        """The table as a ``pyarrow.Table`` with the chain's underlying, expiry and forward as metadata."""
        import pyarrow as pa  # type: ignore[import-untyped]

        cols = {name: self.table[name] for name in CHAIN_DTYPE.names or ()}
        meta = {"underlying": self.chain.underlying, "expiry_ns": str(self.chain.expiry_ns),
                "forward": repr(self.forward), "forward_source": self.forward_source,
                "time_to_expiry": repr(self.time_to_expiry), "rate": repr(self.rate)}
        return pa.table(cols, metadata=meta)


def synthetic_forward(strikes: np.ndarray, call_px: np.ndarray, put_px: np.ndarray, T: float, rate: float) -> float:
    """Forward from put-call parity, F = K + e^{rT} (C - P), averaged over the (up to) three strikes with both
    quotes where |C - P| is smallest (closest to the money, where parity is least distorted by spreads)."""
    both = np.isfinite(call_px) & np.isfinite(put_px)
    if not both.any():
        raise ValidationError("no strike has both a call and a put quote: cannot build a synthetic forward")
    k, c, p = strikes[both], call_px[both], put_px[both]
    order = np.argsort(np.abs(c - p))[:3]
    return float(np.mean(k[order] + math.exp(rate * T) * (c[order] - p[order])))


def build_chains(instruments: Iterable[Instrument], *, underlying: str | None = None,
                 venues: Sequence[str] = ("NFO", "BFO")) -> list[OptionChain]:
    """Option chains per (venue, underlying, expiry), sorted by underlying then expiry."""
    groups: dict[tuple[str, str, int], dict[float, list[int]]] = {}
    futures: dict[tuple[str, str, int], int] = {}
    lots: dict[tuple[str, str, int], int] = {}
    for ins in instruments:
        if ins.venue not in venues or ins.expiry_ns is None:
            continue
        name = _underlying(ins)
        if underlying is not None and name != underlying:
            continue
        key = (ins.venue, name, ins.expiry_ns)
        if ins.kind == InstrumentKind.FUTURE:
            futures[key] = int(ins.venue_token) if ins.venue_token is not None else -1
        elif ins.kind == InstrumentKind.OPTION and ins.strike is not None:
            row = groups.setdefault(key, {}).setdefault(float(ins.strike), [-1, -1])
            token = int(ins.venue_token) if ins.venue_token is not None else -1
            row[0 if ins.option_right == OptionRight.CALL else 1] = token
            lots[key] = ins.lot_size
    chains = []
    for key in sorted(groups, key=lambda k: (k[1], k[2], k[0])):
        rows = groups[key]
        strikes = np.array(sorted(rows), dtype=np.float64)
        calls = np.array([rows[k][0] for k in strikes], dtype=np.int64)
        puts = np.array([rows[k][1] for k in strikes], dtype=np.int64)
        chains.append(OptionChain(key[0], key[1], key[2], strikes, calls, puts, futures.get(key), lots[key]))
    return chains
