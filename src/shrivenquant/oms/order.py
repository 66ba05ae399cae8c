"""A managed order: the immutable :class:`Order` plus its live state inside the order manager.

:class:`ManagedOrder` is native (``shrivenquant._native.oms_core``): the order manager builds and updates
one per order on its hot path. Its docstring lists the fields.
"""

from __future__ import annotations

from shrivenquant._native.oms_core import ManagedOrder, configure
from shrivenquant.core.enums import OrderSide
from shrivenquant.oms.positions import PositionLeg
from shrivenquant.oms.states import OPEN_STATUSES, TERMINAL_STATUSES, OrderStatus

__all__ = ["ManagedOrder"]

configure(OrderStatus.INITIALIZED, OrderSide.BUY, OPEN_STATUSES, TERMINAL_STATUSES, OrderStatus, PositionLeg)
