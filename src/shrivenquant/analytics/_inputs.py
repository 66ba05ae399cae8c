"""Input checks shared by the analytics API: panels, risk-free rates, NaN policy."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from shrivenquant.errors import ValidationError

NanPolicy = Literal["skip", "propagate", "raise"]
RateUnits = Literal["period", "annual"]

__all__ = ["NanPolicy", "RateUnits", "as_panel", "as_vector", "finish", "periods", "rate_per_period"]


def as_panel(returns: Any, name: str = "returns") -> tuple[np.ndarray, bool]:
    """``returns`` as a float64 C-ordered (T, N) panel and whether it was 1-D.

    Accepts anything ``np.asarray`` takes (lists, NumPy arrays, pandas Series/DataFrames via their
    ``__array__``). 0-D and >2-D inputs and non-numeric dtypes raise :class:`ValidationError`.
    """
    try:
        a = np.asarray(returns, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be numeric: {exc}") from exc
    if a.ndim == 1:
        return np.ascontiguousarray(a).reshape(-1, 1), True
    if a.ndim == 2:
        return np.ascontiguousarray(a), False
    raise ValidationError(f"{name} must be 1-D (one series) or 2-D (periods x assets), got {a.ndim}-D")


def as_vector(values: Any, length: int, name: str) -> np.ndarray:
    """A float64 1-D array of ``length`` (a benchmark or per-period rate)."""
    try:
        a = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be numeric: {exc}") from exc
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0].copy()
    if a.ndim != 1 or a.shape[0] != length:
        raise ValidationError(f"{name} must be 1-D with one value per period ({length}), got shape {a.shape}")
    return a


def periods(periods_per_year: float) -> float:
    """Validate an annualisation factor (periods per year: 252 trading days, 365 crypto days, 12 months...)."""
    try:
        p = float(periods_per_year)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"periods_per_year must be a number, got {periods_per_year!r}") from exc
    if not (p > 0.0 and math.isfinite(p)):
        raise ValidationError(f"periods_per_year must be positive and finite, got {periods_per_year!r}")
    return p


def rate_per_period(rate: Any, units: RateUnits, periods_per_year: float | None, length: int,
                    name: str = "risk_free") -> np.ndarray:
    """A rate as a per-period array (length 1 for a scalar, else ``length``).

    ``units="annual"`` converts geometrically, ``(1 + rate) ** (1 / periods_per_year) - 1``.
    """
    if units not in ("period", "annual"):
        raise ValidationError(f"{name}_units must be 'period' or 'annual', got {units!r}")
    if np.ndim(rate) == 0:
        try:
            arr = np.array([float(rate)])
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{name} must be a number or an array, got {rate!r}") from exc
    else:
        arr = as_vector(rate, length, name)
    if units == "annual":
        if periods_per_year is None:
            raise ValidationError(f"an annual {name} needs periods_per_year")
        arr = (1.0 + arr) ** (1.0 / periods(periods_per_year)) - 1.0
    return arr


def check_nan_policy(panel: np.ndarray, policy: NanPolicy, name: str = "returns") -> np.ndarray | None:
    """Apply the NaN policy up front: returns a boolean mask of columns to force to NaN, or None.

    ``"skip"`` (default, empyrical): moments skip NaN, compounding treats NaN as a zero return, CAGR counts
    NaN rows as periods. ``"propagate"``: a column with any NaN gives NaN. ``"raise"``: NaN raises.
    """
    if policy == "skip":
        return None
    if policy not in ("propagate", "raise"):
        raise ValidationError(f"nan_policy must be 'skip', 'propagate' or 'raise', got {policy!r}")
    bad = np.isnan(panel).any(axis=0)
    if policy == "raise" and bad.any():
        cols = np.flatnonzero(bad)[:5].tolist()
        raise ValidationError(f"{name} contain NaN (columns {cols}...) and nan_policy='raise'")
    return bad if bad.any() else None


def finish(out: np.ndarray, one_d: bool, nan_cols: np.ndarray | None = None) -> float | np.ndarray:
    """A scalar for a 1-D input, else the per-column array; ``nan_cols`` forced to NaN."""
    if nan_cols is not None:
        out[nan_cols] = np.nan
    return float(out[0]) if one_d else out
