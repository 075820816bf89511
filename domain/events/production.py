"""Manufacturing orders, batches, quality checks and the equipment that bakes them.

A manufacturing order lives in ``mo-<id>``: suggested -> confirmed -> in
progress -> completed, or cancelled with a reason. Completing it appends, in the
same write, a ``StockReceived`` lot of the product at the destination store.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.events.base import DomainEvent, Id, NonNegative, Positive, Value
from domain.events.inventory import LotAllocation


class ManufacturingOrderSuggested(DomainEvent, frozen=True, kw_only=True):
    order_id: Id
    sku: Id
    quantity: Positive
    production_date: date
    producing_store_id: Id
    destination_store_id: Id
    reason: str  # why this quantity: forecast, plan id, or "manual"
    forecast_id: Id | None = None


class ManufacturingOrderConfirmed(DomainEvent, frozen=True, kw_only=True):
    order_id: Id
    confirmed_by: Id


class ManufacturingOrderEdited(DomainEvent, frozen=True, kw_only=True):
    order_id: Id
    quantity: Positive
    production_date: date
    edited_by: Id


class ManufacturingOrderStarted(DomainEvent, frozen=True, kw_only=True):
    order_id: Id
    started_by: Id


class ManufacturingOrderCompleted(DomainEvent, frozen=True, kw_only=True):
    order_id: Id
    quantity_produced: NonNegative
    destination_store_id: Id
    lot_id: Id
    expires_on: date | None


class ManufacturingOrderCancelled(DomainEvent, frozen=True, kw_only=True):
    order_id: Id
    reason: str
    cancelled_by: Id


class IngredientConsumption(Value, frozen=True, kw_only=True):
    ingredient_id: Id
    quantity: Positive
    allocations: tuple[LotAllocation, ...]


class BatchCompleted(DomainEvent, frozen=True, kw_only=True):
    """A batch of an in-progress order: what went in (FIFO lots) and what came out."""

    batch_id: Id
    order_id: Id
    sku: Id
    store_id: Id
    recipe_version: int
    consumed: tuple[IngredientConsumption, ...]
    expected_yield: NonNegative
    actual_yield: NonNegative

    @property
    def yield_ratio(self) -> Decimal:
        return self.actual_yield / self.expected_yield if self.expected_yield else Decimal(0)


class QualityCheckRecorded(DomainEvent, frozen=True, kw_only=True):
    order_id: Id
    batch_id: Id | None
    score: int  # 0-100
    passed: bool
    issues: tuple[str, ...] = ()
    corrective_action: str | None = None
    checked_by: Id


class EquipmentRegistered(DomainEvent, frozen=True, kw_only=True):
    equipment_id: Id
    store_id: Id
    name: str
    kind: str  # "oven", "fridge", "freezer", "mixer", "proofer"
    maintenance_interval_days: int
    min_celsius: Decimal | None = None  # HACCP limits for cold equipment
    max_celsius: Decimal | None = None


class EquipmentMaintenanceScheduled(DomainEvent, frozen=True, kw_only=True):
    equipment_id: Id
    due_on: date
    description: str


class EquipmentMaintenancePerformed(DomainEvent, frozen=True, kw_only=True):
    equipment_id: Id
    performed_on: date
    next_due_on: date
    note: str | None = None
