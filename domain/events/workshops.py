"""The chain's central workshops: which stores each one bakes for, and the plan it bakes.

A workshop is a store that bakes (kind ``central``, or a ``shop`` that also
bakes for others); every workshop of the tenant is declared in the one stream
``workshops``, so a store is served by one workshop at most.
"""

from __future__ import annotations

from datetime import date

from domain.events.base import DomainEvent, Id, Positive, Value


class WorkshopDeclared(DomainEvent, frozen=True, kw_only=True):
    """``store_id`` bakes for ``serves`` (it may serve itself); a later declaration replaces it."""

    store_id: Id
    serves: tuple[Id, ...]


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
