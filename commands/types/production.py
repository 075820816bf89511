"""Commands on manufacturing orders, batches and quality checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar

import msgspec

from commands.types.base import Command, Text
from domain.access import Permission
from domain.events.base import Id


class SuggestManufacturingOrder(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.PLAN_PRODUCTION
    order_id: Id
    sku: Id
    quantity: Decimal
    production_date: date
    producing_store_id: Id
    destination_store_id: Id
    reason: Text = "manual"
    forecast_id: Id | None = None

    def scope(self) -> str | None:
        return self.producing_store_id


class _OrderCommand(Command, frozen=True, kw_only=True):
    """Acts on ``mo-<order_id>``; the producing store is known once the order is loaded."""

    PERMISSION: ClassVar[Permission] = Permission.RUN_PRODUCTION
    SCOPE_FROM_STATE: ClassVar[bool] = True
    order_id: Id


class ConfirmManufacturingOrder(_OrderCommand, frozen=True, kw_only=True):
    pass


class EditManufacturingOrder(_OrderCommand, frozen=True, kw_only=True):
    """Change quantity and/or date. With ``expected_version`` it is not retried on conflict."""

    PERMISSION: ClassVar[Permission] = Permission.PLAN_PRODUCTION
    quantity: Decimal | None = None
    production_date: date | None = None
    expected_version: int | None = None


class StartManufacturingOrder(_OrderCommand, frozen=True, kw_only=True):
    pass


class CompleteManufacturingOrder(_OrderCommand, frozen=True, kw_only=True):
    quantity_produced: Decimal


class CancelManufacturingOrder(_OrderCommand, frozen=True, kw_only=True):
    reason: Text


class RecordBatch(_OrderCommand, frozen=True, kw_only=True):
    batch_id: Id
    planned_quantity: Decimal
    actual_yield: Decimal
    recipe_version: int | None = None  # None: the latest version


class RecordQualityCheck(_OrderCommand, frozen=True, kw_only=True):
    batch_id: Id | None = None
    score: Annotated[int, msgspec.Meta(ge=0, le=100)]
    passed: bool
    issues: tuple[Text, ...] = ()
    corrective_action: Text | None = None
