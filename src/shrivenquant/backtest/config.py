"""Serialisable backtest configurations and ``run(config) -> BacktestResult``.

A :class:`BacktestConfig` (frozen ``msgspec.Struct``; from TOML with :func:`load_config`) names the data
(Binance recordings + exchangeInfo, or the generated stream), the strategy (a built-in name or
``"module:Class"``) with its parameters, the simulated venue(s), the risk limits and the account. Sweeps
ship configs to worker processes and call :func:`run`; a catalog reader passes its chunk iterator as
``data=`` (with the instrument table) instead of the config's data section.

Strategy parameters named ``qty``, ``skew_qty`` and ``max_position`` may be decimal strings (``"0.002"``):
they are converted to raw ints at the traded instrument's size precision.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from shrivenquant._native.fixed import Money, Quantity
from shrivenquant.backtest.engine import BacktestEngine, BacktestResult, VenueConfig
from shrivenquant.backtest.strategy import Strategy
from shrivenquant.errors import ValidationError

__all__ = ["BacktestConfig", "DataConfig", "StrategyConfig", "build_strategy", "load_config", "run"]

_QTY_PARAMS = ("qty", "skew_qty", "max_position")
_BUILTIN = {"market_maker": "shrivenquant.backtest.strategies:MarketMaker",
            "imbalance_taker": "shrivenquant.backtest.strategies:ImbalanceTaker"}


class DataConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the market data comes from.

    Attributes:
        recordings: Binance recordings (hftbacktest lines or cryptofeed captures), concatenated in order.
        exchange_info: Binance exchangeInfo (JSON or cryptofeed capture) for tick and lot sizes.
        generated_messages: without recordings, messages of the project's generated stream.
        seed: seed of the generated stream.
    """

    recordings: tuple[str, ...] = ()
    exchange_info: str | None = None
    generated_messages: int = 20_000
    seed: int = 7


class StrategyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The strategy: ``name`` is ``market_maker``, ``imbalance_taker`` or ``"module:Class"``; ``symbol`` the
    traded symbol (default: the first instrument with data); ``params`` its keyword arguments."""

    name: str = "market_maker"
    symbol: str | None = None
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class BacktestConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One backtest run (see the module docstring).

    Attributes:
        venue: settings of every venue not in ``venues``.
        risk: a :class:`~shrivenquant.risk.RiskConfig` as a dict (None: no pre-trade risk gate).
        initial_balance: deposit per venue as a decimal string in the settlement currency.
        sample_ns: equity sampling period; bar_interval_ns: ``on_bar`` period (0: off).
    """

    data: DataConfig = DataConfig()
    strategy: StrategyConfig = StrategyConfig()
    venue: VenueConfig = VenueConfig()
    venues: dict[str, VenueConfig] = msgspec.field(default_factory=dict)
    risk: dict[str, Any] | None = None
    initial_balance: str = "10000"
    sample_ns: int = 1_000_000_000
    bar_interval_ns: int = 0
    progress: bool | None = None


def load_config(path: str | Path) -> BacktestConfig:
    """Read a TOML file into a :class:`BacktestConfig` (unknown keys are errors)."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    try:
        return msgspec.convert(raw, BacktestConfig)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None


def build_strategy(cfg: StrategyConfig, instruments: list[Any], events: np.ndarray | None = None) -> Strategy:
    """Instantiate the configured strategy for the run's instrument table."""
    target = _BUILTIN.get(cfg.name, cfg.name)
    if ":" not in target:
        raise ValidationError(f"strategy {cfg.name!r}: use market_maker, imbalance_taker or 'module:Class'")
    mod, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(mod), cls_name, None)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ValidationError(f"strategy {target!r} is not a shrivenquant Strategy subclass")
    index = _instrument_index(cfg.symbol, instruments, events)
    inst = instruments[index]
    params = dict(cfg.params)
    for k in _QTY_PARAMS:
        v = params.get(k)
        if isinstance(v, str):
            params[k] = Quantity(v).raw_at(inst.size_precision)
    if "instrument" not in params and cls.__init__ is not Strategy.__init__:
        params["instrument"] = index
    try:
        return cls(**params)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ValidationError(f"strategy {target!r}: {exc}") from None


def _instrument_index(symbol: str | None, instruments: list[Any], events: np.ndarray | None) -> int:
    if symbol is not None:
        for k, inst in enumerate(instruments):
            if inst is not None and symbol in (inst.symbol, inst.id):
                return k
        raise ValidationError(f"symbol {symbol!r} is not in the run's instruments")
    if events is not None and events.size:
        return int(events["instrument_id"][0])
    for k, inst in enumerate(instruments):
        if inst is not None:
            return k
    raise ValidationError("no instrument to trade")


def _risk_gate(risk: dict[str, Any] | None, instruments: list[Any]) -> Any:
    if risk is None:
        return None
    from shrivenquant.oms.risk_gate import PreTradeRiskGate
    from shrivenquant.risk import PreTradeRisk, RiskConfig

    try:
        cfg = msgspec.convert(risk, RiskConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"risk config: {exc}") from None
    insts = [i for i in instruments if i is not None and i.quote == cfg.currency]
    return PreTradeRiskGate(PreTradeRisk.from_config(cfg, insts))


def load_data(cfg: DataConfig) -> tuple[np.ndarray, list[Any]]:
    """The configured data as ``(events, instruments)`` (recordings decoded and synchronised, or generated)."""
    from shrivenquant.backtest.data import generated_events, recording_events

    if cfg.recordings:
        instruments: list[Any] = []
        if cfg.exchange_info is not None:
            from shrivenquant.venues.binance.exchange_info import load_exchange_info

            instruments = load_exchange_info(cfg.exchange_info)
        return recording_events(cfg.recordings, instruments)
    events, insts, _ = generated_events(cfg.generated_messages, cfg.seed)
    return events, insts


def run(config: BacktestConfig | dict[str, Any] | str | Path, *,
        data: tuple[np.ndarray | Iterable[np.ndarray], list[Any]] | None = None,
        strategy: Strategy | None = None) -> BacktestResult:
    """Run one backtest from a config (object, dict or TOML path).

    ``data = (events or chunk iterable, instruments)`` replaces the config's data section (catalog
    readers); ``strategy`` replaces the configured strategy object.
    """
    if isinstance(config, (str, Path)):
        config = load_config(config)
    elif isinstance(config, dict):
        config = msgspec.convert(config, BacktestConfig)
    if data is None:
        events, instruments = load_data(config.data)
        source: Any = events
    else:
        source, instruments = data
        events = source if isinstance(source, np.ndarray) else None
    strat = strategy if strategy is not None else build_strategy(config.strategy, instruments, events)
    venues = {v.venue: config.venues.get(v.venue, config.venue) for v in instruments if v is not None}
    balances = {}
    for inst in instruments:
        if inst is not None and inst.venue not in balances:
            balances[inst.venue] = Money(config.initial_balance, inst.settlement or inst.quote)
    engine = BacktestEngine(instruments, strat, venues=venues, risk=_risk_gate(config.risk, instruments),
                            initial_balance=balances, sample_ns=config.sample_ns,
                            bar_interval_ns=config.bar_interval_ns, progress=config.progress)
    return engine.run(source)
