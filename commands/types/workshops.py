"""Commands on the chain's central workshops and their planned orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from commands.types.base import Command, Text
from domain.access import Permission
from domain.events.base import Id
from domain.events.workshops import PlannedTransfer


class DeclareWorkshop(Command, frozen=True, kw_only=True):
    """``store_id`` bakes for the stores in ``serves`` (itself included if it sells too)."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    store_id: Id
    serves: tuple[Id, ...]
    top_up: bool = True  # keeps a reserve back for a midday run to the stores running short


class SuggestWorkshopOrder(Command, frozen=True, kw_only=True):
    """A workshop's manufacturing order with its transfer plan (``transfers`` and the
    ``reserve`` add up to ``quantity``); the order is produced at and received into the
    workshop."""

    PERMISSION: ClassVar[Permission] = Permission.PLAN_PRODUCTION
    order_id: Id
    workshop_id: Id
    sku: Id
    quantity: Decimal
    production_date: date
    transfers: tuple[PlannedTransfer, ...]
    reserve: Decimal = Decimal(0)  # kept at the workshop for the top-up run
    reason: Text = "manual"

    def scope(self) -> str | None:
        return self.workshop_id
