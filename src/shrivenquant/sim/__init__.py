"""Simulated exchange: matching over L2/L3 books with queue-position, latency and fee models.

Entry points: :class:`SimulatedExchange` (one venue's matching engine), :class:`SimulatedVenue` (the
:class:`Venue` interface over it, with latency), the queue models :class:`RiskAverseQueue` and
:class:`ProbQueue`, and the latency models :class:`ConstantLatency` and :class:`InterpolatedLatency`.
"""

from shrivenquant.sim.exchange import STP_MODES, SimOrder, SimulatedExchange
from shrivenquant.sim.latency import ConstantLatency, InterpolatedLatency, LatencyModel, feed_latency_samples
from shrivenquant.sim.queue import ProbQueue, QueueModel, RiskAverseQueue
from shrivenquant.sim.venue import SimulatedVenue, Venue

__all__ = [
    "STP_MODES",
    "ConstantLatency",
    "InterpolatedLatency",
    "LatencyModel",
    "ProbQueue",
    "QueueModel",
    "RiskAverseQueue",
    "SimOrder",
    "SimulatedExchange",
    "SimulatedVenue",
    "Venue",
    "feed_latency_samples",
]
