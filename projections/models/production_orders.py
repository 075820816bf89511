"""production_orders: one row per manufacturing order, to list and filter the plan.

Filterable by status, product, producing or destination store and date (see
the indexes in ``migrations/0004_read_models.sql``). The events give a
production *date* but no time of day or duration, so ``expected_completion``
is that date (moved by edits); the read API decides what "late" means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from domain.events import (
    BatchCompleted,
    DomainEvent,
    ManufacturingOrderCancelled,
    ManufacturingOrderCompleted,
    ManufacturingOrderConfirmed,
    ManufacturingOrderEdited,
    ManufacturingOrderStarted,
    ManufacturingOrderSuggested,
    QualityCheckRecorded,
)
from projections.model import Decoded
from projections.models._sql import Conn, spec

ZERO = Decimal(0)

ORDERS = spec(
    "rm_production_orders",
    2,
    "tenant_id text",
    "order_id text",
    "sku text",
    "quantity numeric",
    "production_date date",
    "expected_completion date",
    "producing_store_id text",
    "destination_store_id text",
    "status text",
    "reason text",
    "forecast_id text",
    "created_at timestamptz",
    "confirmed_at timestamptz",
    "confirmed_by text",
    "started_at timestamptz",
    "completed_at timestamptz",
    "cancelled_at timestamptz",
    "cancel_reason text",
    "cancelled_by text",
    "quantity_produced numeric",
    "produced_lot_id text",
    "batches integer",
    "batch_yield numeric",
    "quality_checks integer",
    "quality_failures integer",
    "edits integer",
    "last_position bigint",
    "updated_at timestamptz",
)


@dataclass(slots=True)
class _Order:
    """The columns after the key, in table order."""

    sku: str
    quantity: Decimal
    production_date: date
    expected_completion: date
    producing_store_id: str
    destination_store_id: str
    status: str
    reason: str
    forecast_id: str | None
    created_at: datetime
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    quantity_produced: Decimal | None = None
    produced_lot_id: str | None = None
    batches: int = 0
    batch_yield: Decimal = ZERO
    quality_checks: int = 0
    quality_failures: int = 0
    edits: int = 0
    last_position: int = 0
    updated_at: datetime | None = None


def _apply(order: _Order, ev: DomainEvent) -> None:
    match ev:
        case ManufacturingOrderConfirmed():
            order.status, order.confirmed_at, order.confirmed_by = (
                "confirmed",
                ev.occurred_at,
                ev.confirmed_by,
            )
        case ManufacturingOrderEdited():
            order.quantity = ev.quantity
            order.production_date = order.expected_completion = ev.production_date
            order.edits += 1
        case ManufacturingOrderStarted():
            order.status, order.started_at = "in_progress", ev.occurred_at
        case BatchCompleted():
            order.batches += 1
            order.batch_yield += ev.actual_yield
        case QualityCheckRecorded():
            order.quality_checks += 1
            order.quality_failures += 0 if ev.passed else 1
        case ManufacturingOrderCompleted():
            order.status, order.completed_at = "completed", ev.occurred_at
            order.quantity_produced, order.produced_lot_id = ev.quantity_produced, ev.lot_id
        case ManufacturingOrderCancelled():
            order.status, order.cancelled_at = "cancelled", ev.occurred_at
            order.cancel_reason, order.cancelled_by = ev.reason, ev.cancelled_by


class ProductionOrdersModel:
    name: ClassVar[str] = "production_orders"
    tables: ClassVar[tuple[str, ...]] = (ORDERS.name,)
    _handled: ClassVar[frozenset[str]] = frozenset(
        {
            "ManufacturingOrderSuggested",
            "ManufacturingOrderConfirmed",
            "ManufacturingOrderEdited",
            "ManufacturingOrderStarted",
            "ManufacturingOrderCompleted",
            "ManufacturingOrderCancelled",
            "BatchCompleted",
            "QualityCheckRecorded",
        }
    )

    def handles(self, event_type: str) -> bool:
        return event_type in self._handled

    async def apply(self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str]) -> None:
        keys = {(rec.tenant_id, ev.order_id) for rec, ev in events}  # type: ignore[attr-defined]
        orders: dict[tuple[str, str], _Order] = {
            (r[0], r[1]): _Order(*r[2:]) for r in await ORDERS.fetch(conn, tables, keys)
        }
        touched: set[tuple[str, str]] = set()
        for rec, ev in events:
            key = (rec.tenant_id, ev.order_id)  # type: ignore[attr-defined]
            if isinstance(ev, ManufacturingOrderSuggested):
                if key in orders:
                    continue  # the order exists: a second suggestion changes nothing
                orders[key] = _Order(
                    sku=ev.sku,
                    quantity=ev.quantity,
                    production_date=ev.production_date,
                    expected_completion=ev.production_date,
                    producing_store_id=ev.producing_store_id,
                    destination_store_id=ev.destination_store_id,
                    status="suggested",
                    reason=ev.reason,
                    forecast_id=ev.forecast_id,
                    created_at=ev.occurred_at,
                )
            elif key in orders:
                _apply(orders[key], ev)
            else:
                continue  # an event for an order never suggested: nothing to show
            orders[key].last_position, orders[key].updated_at = rec.position, ev.occurred_at
            touched.add(key)
        names = [f.name for f in fields(_Order)]
        await ORDERS.upsert(
            conn,
            tables,
            ((*k, *(getattr(orders[k], n) for n in names)) for k in sorted(touched)),
        )
