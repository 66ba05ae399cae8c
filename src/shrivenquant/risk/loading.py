"""Load a :class:`RiskConfig` from TOML (stdlib ``tomllib``) or JSON, with clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import msgspec

from shrivenquant.errors import ValidationError
from shrivenquant.risk.config import RiskConfig

__all__ = ["config_from_dict", "config_from_json", "config_from_toml", "load_config"]


def config_from_dict(data: dict[str, Any]) -> RiskConfig:
    """A validated :class:`RiskConfig` from plain data (decoded TOML or JSON).

    Raises :class:`ValidationError` naming the offending path (``$.strategies[0].order_rate.limit``).
    """
    try:
        return msgspec.convert(data, RiskConfig)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"invalid risk config: {exc}") from None


def config_from_toml(text: str) -> RiskConfig:
    """A validated :class:`RiskConfig` from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"invalid risk config TOML: {exc}") from None
    return config_from_dict(data)


def config_from_json(data: str | bytes) -> RiskConfig:
    """A validated :class:`RiskConfig` from JSON text."""
    try:
        return msgspec.json.decode(data, type=RiskConfig)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"invalid risk config: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ValidationError(f"invalid risk config JSON: {exc}") from None


def load_config(path: str | Path) -> RiskConfig:
    """Read a risk config file: ``.toml`` or ``.json`` (by suffix)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".toml":
        return config_from_toml(p.read_text(encoding="utf-8"))
    if suffix == ".json":
        return config_from_json(p.read_bytes())
    raise ValidationError(f"risk config must be a .toml or .json file, got {p.name!r}")
