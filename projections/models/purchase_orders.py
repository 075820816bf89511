"""purchase_orders: status, supplier, expected delivery and ordered vs received per line.

``rm_purchase_orders`` has one row per order with its totals;
``rm_purchase_order_lines`` one row per order x item (lines of the same item
on one order add up, as ``domain.procurement`` does). An item delivered that
was never ordered gets a line with ``ordered_quantity`` 0 and no unit price.
Whether an order is overdue depends on the clock, so the read API derives it
from ``expected_delivery_at`` and ``status``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from domain.events import (
    DomainEvent,
    PurchaseOrderApproved,
    PurchaseOrderCancelled,
    PurchaseOrderDrafted,
    PurchaseOrderReceived,
    PurchaseOrderSent,
    SupplierRegistered,
)
from domain.events.personal import SubjectErased
from domain.personal import ERASED
from projections.model import Decoded
from projections.models._sql import Conn, Row, spec

ZERO = Decimal(0)

SUPPLIERS = spec(
    "rm_purchase_suppliers",
    2,
    "tenant_id text",
    "supplier_id text",
    "name text",
    "lead_time_days integer",
    "contact_name text",
    "contact_email text",
    "contact_phone text",
)
ORDERS = spec(
    "rm_purchase_orders",
    2,
    "tenant_id text",
    "po_id text",
    "supplier_id text",
    "store_id text",
    "status text",
    "expected_delivery_at timestamptz",
    "drafted_at timestamptz",
    "drafted_by text",
    "approved_at timestamptz",
    "approved_by text",
    "sent_at timestamptz",
    "last_delivery_at timestamptz",
    "received_at timestamptz",
    "cancelled_at timestamptz",
    "cancel_reason text",
    "line_count integer",
    "ordered_quantity numeric",
    "received_quantity numeric",
    "ordered_value numeric",
    "received_value numeric",
    "deliveries integer",
    "discrepancies integer",
    "last_position bigint",
    "updated_at timestamptz",
)
LINES = spec(
    "rm_purchase_order_lines",
    3,
    "tenant_id text",
    "po_id text",
    "item_id text",
    "line_no integer",
    "ordered_quantity numeric",
    "unit_price numeric",
    "ordered_value numeric",
    "received_quantity numeric",
    "received_value numeric",
    "outstanding_quantity numeric",
)

Key = tuple[str, str]


@dataclass(slots=True)
class _Line:
    line_no: int
    ordered_quantity: Decimal
    unit_price: Decimal | None
    ordered_value: Decimal
    received_quantity: Decimal
    received_value: Decimal

    def row(self) -> Row:
        outstanding = max(self.ordered_quantity - self.received_quantity, ZERO)
        return (
            self.line_no,
            self.ordered_quantity,
            self.unit_price,
            self.ordered_value,
            self.received_quantity,
            self.received_value,
            outstanding,
        )


@dataclass(slots=True)
class _Order:
    supplier_id: str
    store_id: str
    status: str
    expected_delivery_at: datetime
    drafted_at: datetime
    drafted_by: str
    approved_at: datetime | None = None
    approved_by: str | None = None
    sent_at: datetime | None = None
    last_delivery_at: datetime | None = None
    received_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    deliveries: int = 0
    discrepancies: int = 0
    last_position: int = 0
    updated_at: datetime | None = None
    lines: dict[str, _Line] = field(default_factory=dict)

    def row(self, key: Key) -> Row:
        lines = self.lines.values()
        return (
            *key,
            self.supplier_id,
            self.store_id,
            self.status,
            self.expected_delivery_at,
            self.drafted_at,
            self.drafted_by,
            self.approved_at,
            self.approved_by,
            self.sent_at,
            self.last_delivery_at,
            self.received_at,
            self.cancelled_at,
            self.cancel_reason,
            sum(1 for line in lines if line.unit_price is not None),
            sum((line.ordered_quantity for line in lines), ZERO),
            sum((line.received_quantity for line in lines), ZERO),
            sum((line.ordered_value for line in lines), ZERO),
            sum((line.received_value for line in lines), ZERO),
            self.deliveries,
            self.discrepancies,
            self.last_position,
            self.updated_at,
        )


def _drafted(ev: PurchaseOrderDrafted) -> _Order:
    order = _Order(
        supplier_id=ev.supplier_id,
        store_id=ev.store_id,
        status="draft",
        expected_delivery_at=ev.expected_delivery_at,
        drafted_at=ev.occurred_at,
        drafted_by=ev.drafted_by,
    )
    for po_line in ev.lines:
        line = order.lines.get(po_line.item_id)
        if line is None:
            line = order.lines[po_line.item_id] = _Line(
                len(order.lines) + 1, ZERO, po_line.unit_price, ZERO, ZERO, ZERO
            )
        line.ordered_quantity += po_line.quantity
        line.ordered_value += po_line.quantity * po_line.unit_price
    return order


def _apply(order: _Order, ev: DomainEvent) -> None:
    match ev:
        case PurchaseOrderApproved():
            order.status, order.approved_at, order.approved_by = (
                "approved",
                ev.occurred_at,
                ev.approved_by,
            )
        case PurchaseOrderSent():
            order.status, order.sent_at = "sent", ev.occurred_at
        case PurchaseOrderReceived():
            for received in ev.lines:
                line = order.lines.get(received.item_id)
                if line is None:  # not on the order: shown, with nothing ordered
                    line = order.lines[received.item_id] = _Line(
                        len(order.lines) + 1, ZERO, None, ZERO, ZERO, ZERO
                    )
                line.received_quantity += received.quantity
                line.received_value += received.quantity * received.unit_cost
            order.deliveries += 1
            order.discrepancies += len(ev.discrepancies)
            order.last_delivery_at = ev.occurred_at
            if ev.complete:
                order.status, order.received_at = "received", ev.occurred_at
            else:
                order.status = "partially_received"
        case PurchaseOrderCancelled():
            order.status, order.cancelled_at = "cancelled", ev.occurred_at
            order.cancel_reason = ev.reason


class PurchaseOrdersModel:
    name: ClassVar[str] = "purchase_orders"
    tables: ClassVar[tuple[str, ...]] = (SUPPLIERS.name, ORDERS.name, LINES.name)
    _handled: ClassVar[frozenset[str]] = frozenset(
        {
            "SupplierRegistered",
            "PurchaseOrderDrafted",
            "PurchaseOrderApproved",
            "PurchaseOrderSent",
            "PurchaseOrderReceived",
            "PurchaseOrderCancelled",
            "SubjectErased",
        }
    )

    def handles(self, event_type: str) -> bool:
        return event_type in self._handled

    async def apply(self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str]) -> None:
        keys = {(rec.tenant_id, ev.po_id) for rec, ev in events if hasattr(ev, "po_id")}
        orders: dict[Key, _Order] = {}
        for r in await ORDERS.fetch(conn, tables, keys):
            orders[(r[0], r[1])] = _Order(*r[2:15], *r[20:24])
        for t, po_id, item_id, *values in await LINES.fetch(
            conn, tables, keys, by=LINES.key_names[:2]
        ):
            orders[(t, po_id)].lines[item_id] = _Line(*values[:6])
        suppliers = await _suppliers_erased(conn, tables, events)
        touched: set[Key] = set()
        for rec, ev in events:
            if isinstance(ev, SupplierRegistered):
                key = (rec.tenant_id, ev.supplier_id)
                contact = (ev.contact_name, ev.contact_email, ev.contact_phone)
                suppliers[key] = (*key, ev.name, ev.lead_time_days, *contact)
                continue
            if isinstance(ev, SubjectErased):
                continue
            key = (rec.tenant_id, ev.po_id)  # type: ignore[attr-defined]
            if isinstance(ev, PurchaseOrderDrafted):
                if key in orders:
                    continue  # drafted once; a second draft changes nothing
                orders[key] = _drafted(ev)
            elif key in orders:
                _apply(orders[key], ev)
            else:
                continue  # an event for an order never drafted: nothing to show
            orders[key].last_position, orders[key].updated_at = rec.position, ev.occurred_at
            touched.add(key)
        await SUPPLIERS.upsert(conn, tables, suppliers.values())
        ordered = sorted(touched)
        await ORDERS.upsert(conn, tables, (orders[k].row(k) for k in ordered))
        await LINES.upsert(
            conn,
            tables,
            (
                (*k, item_id, *line.row())
                for k in ordered
                for item_id, line in orders[k].lines.items()
            ),
        )


async def _suppliers_erased(
    conn: Conn, tables: Mapping[str, str], events: Sequence[Decoded]
) -> dict[Key, Row]:
    """Supplier rows whose contact person was erased in this batch, contact set to ERASED.

    A supplier registered later in the same batch is read with its key already
    gone, so its contact arrives as ERASED from the store side as well.
    """
    keys = {
        (rec.tenant_id, ev.subject_id.removeprefix("supplier:"))
        for rec, ev in events
        if isinstance(ev, SubjectErased) and ev.subject_id.startswith("supplier:")
    }
    rows = await SUPPLIERS.fetch(conn, tables, keys)
    return {(r[0], r[1]): (*r[:4], *(ERASED if v else v for v in r[4:7])) for r in rows}
