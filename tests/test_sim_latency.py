"""Latency models and the order of acknowledgements and fills in time."""

from __future__ import annotations

import numpy as np
import pytest

from shrivenquant.core.events import EVENT_DTYPE, EventFlag
from shrivenquant.errors import ValidationError
from shrivenquant.sim import ConstantLatency, InterpolatedLatency, feed_latency_samples


def test_constant_latency() -> None:
    lat = ConstantLatency(5_000, 7_000)
    assert lat.entry(123) == 5_000 and lat.response(123) == 7_000
    with pytest.raises(ValidationError):
        ConstantLatency(-1, 0)


def test_interpolated_latency_is_linear_between_samples_and_flat_outside() -> None:
    lat = InterpolatedLatency(np.array([100, 200, 400]), np.array([10, 30, 30]), np.array([1, 1, 101]))
    assert lat.entry(0) == 10 and lat.entry(100) == 10
    assert lat.entry(150) == 20 and lat.entry(199) == 29  # floor of 10 + 20 * 99 / 100
    assert lat.entry(1_000) == 30
    assert lat.response(300) == 51 and lat.response(400) == 101
    with pytest.raises(ValidationError):
        InterpolatedLatency(np.array([2, 1]), np.array([1, 1]), np.array([1, 1]))


def test_feed_latency_samples_from_exchange_and_local_timestamps() -> None:
    ev = np.zeros(4, EVENT_DTYPE)
    ev["ts_event"] = [10, 20, 0, 40]
    ev["ts_local"] = [15, 27, 30, 41]
    ev["flags"][2] = EventFlag.BAD_TS
    ts, lat = feed_latency_samples(ev)
    assert ts.tolist() == [15, 27, 41] and lat.tolist() == [5, 7, 1]
    model = InterpolatedLatency.from_feed(ev, multiplier=2.0)
    assert model.entry(27) == 14
    ev["ts_local"] = ev["ts_event"] - 100  # a recorder clock behind the venue: not a latency
    with pytest.raises(ValidationError, match="clock"):
        feed_latency_samples(ev)
