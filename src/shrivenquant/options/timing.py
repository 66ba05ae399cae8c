"""Time to expiry as a year fraction, at minute resolution.

* **Calendar (default)**: Actual/365 Fixed on whole minutes, ``T = minutes / 525600`` (365 * 24 * 60).
* **Trading time** (explicit option only): minutes inside the NSE cash/F&O session (09:15-15:30 IST, 375
  minutes) on weekdays that are not listed holidays, divided by ``375 * trading_days_per_year`` (252).
* NSE and BSE equity derivatives expire at **15:30 IST** (UTC+05:30, no DST) on the expiry date.

Times must be timezone-aware datetimes (naive ones are rejected: an hour of IST offset is 1/8760 of a year)
or int64 nanoseconds since the Unix epoch UTC. A time at or after expiry gives T = 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import numpy as np

from shrivenquant.errors import ValidationError

__all__ = [
    "IST",
    "MINUTES_PER_YEAR",
    "NSE_CLOSE",
    "NSE_OPEN",
    "NSE_SESSION_MINUTES",
    "nse_expiry",
    "trading_year_fraction",
    "year_fraction",
    "year_fraction_ns",
]

IST = timezone(timedelta(hours=5, minutes=30), "IST")
"""India Standard Time, UTC+05:30 (no daylight saving)."""
NSE_OPEN = time(9, 15)
NSE_CLOSE = time(15, 30)
NSE_SESSION_MINUTES = 375
MINUTES_PER_YEAR = 525_600
_NS_PER_MINUTE = 60_000_000_000


def nse_expiry(day: date) -> datetime:
    """The expiry instant of an NSE/BSE equity derivative expiring on ``day``: 15:30 IST."""
    return datetime.combine(day, NSE_CLOSE, tzinfo=IST)


def _aware(t: datetime, name: str) -> datetime:
    if not isinstance(t, datetime):
        raise ValidationError(f"{name} must be a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValidationError(f"{name} {t!r} is naive: give a timezone (e.g. shrivenquant.options.timing.IST)")
    return t


def year_fraction(now: datetime, expiry: datetime, *, days_per_year: float = 365.0) -> float:
    """Actual/365 Fixed year fraction on whole minutes from ``now`` to ``expiry`` (0 once expired).

    ``days_per_year`` changes the denominator (365 = Act/365 Fixed) but not the calendar-time numerator.
    """
    _aware(now, "now")
    _aware(expiry, "expiry")
    minutes = int((expiry - now).total_seconds() // 60)
    return max(minutes, 0) / (days_per_year * 1440.0)


def year_fraction_ns(now_ns: Any, expiry_ns: Any, *, days_per_year: float = 365.0) -> np.ndarray:
    """Vectorised :func:`year_fraction` on int64 ns since the epoch (UTC); whole minutes, 0 once expired."""
    a = np.asarray(now_ns, dtype=np.int64)
    b = np.asarray(expiry_ns, dtype=np.int64)
    minutes = np.floor_divide(b - a, _NS_PER_MINUTE)
    return np.maximum(minutes, 0) / (days_per_year * 1440.0)


def trading_year_fraction(now: datetime, expiry: datetime, *, holidays: Iterable[date] = (),
                          trading_days_per_year: float = 252.0) -> float:
    """Year fraction in NSE trading time: session minutes (09:15-15:30 IST, weekdays, not ``holidays``)
    between ``now`` and ``expiry``, over ``375 * trading_days_per_year``."""
    a = _aware(now, "now").astimezone(IST)
    b = _aware(expiry, "expiry").astimezone(IST)
    if b <= a:
        return 0.0
    off = set(holidays)
    total = 0
    day = a.date()
    while day <= b.date():
        if day.weekday() < 5 and day not in off:
            open_ = datetime.combine(day, NSE_OPEN, tzinfo=IST)
            close = datetime.combine(day, NSE_CLOSE, tzinfo=IST)
            lo, hi = max(open_, a), min(close, b)
            if hi > lo:
                total += int((hi - lo).total_seconds() // 60)
        day += timedelta(days=1)
    return total / (NSE_SESSION_MINUTES * trading_days_per_year)
