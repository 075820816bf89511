"""The chain's central workshops: which stores each one bakes for, and the plan it bakes.

A workshop is a store that bakes (kind ``central``, or a ``shop`` that also
bakes for others); every workshop of the tenant is declared in the one stream
``workshops``, so a store is served by one workshop at most.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.events.base import DomainEvent, Id, NonNegative, Positive, Value


class WorkshopDeclared(DomainEvent, frozen=True, kw_only=True):
    """``store_id`` bakes for ``serves`` (it may serve itself); a later declaration replaces it.

    ``top_up``: the workshop keeps part of each bake back and sends it at midday to the
    stores running short; only then does planning on the stores' summed demand pay
    (ADR 0021). Without it each store gets its own newsvendor quantity.
    """

    store_id: Id
    serves: tuple[Id, ...]
    top_up: bool = True


class PlannedTransfer(Value, frozen=True, kw_only=True):
    """Units of a workshop order that go to one store."""

    store_id: Id
    quantity: Positive


class WorkshopTransfersPlanned(DomainEvent, frozen=True, kw_only=True):
    """The transfer plan of a workshop's manufacturing order (same stream, ``mo-<id>``)."""

    order_id: Id
    workshop_id: Id
    sku: Id
    production_date: date
    quantity: Positive
    transfers: tuple[PlannedTransfer, ...]
    #: units kept at the workshop for the midday top-up run (transfers + reserve = quantity)
    reserve: NonNegative = Decimal(0)
