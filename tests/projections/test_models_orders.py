"""production_orders and purchase_orders read models: lifecycles, filters, partial receipts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from test_models_kit import Log, one, project, rows

from domain.events import (
    BatchCompleted,
    ManufacturingOrderCancelled,
    ManufacturingOrderCompleted,
    ManufacturingOrderConfirmed,
    ManufacturingOrderEdited,
    ManufacturingOrderStarted,
    ManufacturingOrderSuggested,
    PurchaseOrderApproved,
    PurchaseOrderCancelled,
    PurchaseOrderDrafted,
    PurchaseOrderReceived,
    PurchaseOrderSent,
    QualityCheckRecorded,
    SupplierRegistered,
)
from domain.events.procurement import Discrepancy, PurchaseOrderLine, ReceivedLine
from domain.events.production import IngredientConsumption
from projections.models import ProductionOrdersModel, PurchaseOrdersModel

T = "forn-sant-joan"
D = Decimal
AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return AT + timedelta(minutes=minutes)


def suggested(
    order_id: str, sku: str, qty: int, day: int, store: str
) -> ManufacturingOrderSuggested:
    return ManufacturingOrderSuggested(
        occurred_at=at(0),
        order_id=order_id,
        sku=sku,
        quantity=D(qty),
        production_date=date(2026, 3, day),
        producing_store_id=store,
        destination_store_id="born",
        reason="forecast fc-2026-03-02",
        forecast_id="fc-2026-03-02",
    )


async def test_manufacturing_order_lifecycle_and_filters(pg_url: str) -> None:
    log = Log()
    log.add(T, "mo-MO-1", suggested("MO-1", "baguette", 120, 3, "central"))
    log.add(T, "mo-MO-2", suggested("MO-2", "croissant", 80, 3, "central"))
    log.add(T, "mo-MO-3", suggested("MO-3", "baguette", 60, 4, "gracia"))
    log.add(
        T,
        "mo-MO-1",
        ManufacturingOrderConfirmed(occurred_at=at(5), order_id="MO-1", confirmed_by="ana"),
        ManufacturingOrderEdited(
            occurred_at=at(6),
            order_id="MO-1",
            quantity=D(100),
            production_date=date(2026, 3, 4),
            edited_by="ana",
        ),
        ManufacturingOrderStarted(occurred_at=at(30), order_id="MO-1", started_by="pau"),
        BatchCompleted(
            occurred_at=at(90),
            batch_id="B1",
            order_id="MO-1",
            sku="baguette",
            store_id="central",
            recipe_version=2,
            consumed=(
                IngredientConsumption(ingredient_id="flour", quantity=D(30), allocations=()),
            ),
            expected_yield=D(100),
            actual_yield=D(96),
        ),
        QualityCheckRecorded(
            occurred_at=at(95),
            order_id="MO-1",
            batch_id="B1",
            score=62,
            passed=False,
            issues=("underbaked",),
            corrective_action="5 more minutes",
            checked_by="pau",
        ),
        ManufacturingOrderCompleted(
            occurred_at=at(120),
            order_id="MO-1",
            quantity_produced=D(96),
            destination_store_id="born",
            lot_id="mo-MO-1",
            expires_on=date(2026, 3, 5),
        ),
    )
    log.add(
        T,
        "mo-MO-2",
        ManufacturingOrderCancelled(
            occurred_at=at(10), order_id="MO-2", reason="butter delivery late", cancelled_by="ana"
        ),
    )
    await project(pg_url, ProductionOrdersModel(), log.events, batch=3)

    mo1 = await one(pg_url, "SELECT * FROM rm_production_orders WHERE order_id = 'MO-1'")
    assert mo1["status"] == "completed" and mo1["quantity"] == D(100)
    assert mo1["production_date"] == mo1["expected_completion"] == date(2026, 3, 4)
    assert (mo1["created_at"], mo1["confirmed_at"], mo1["started_at"], mo1["completed_at"]) == (
        at(0),
        at(5),
        at(30),
        at(120),
    )
    assert mo1["quantity_produced"] == D(96) and mo1["produced_lot_id"] == "mo-MO-1"
    assert (mo1["batches"], mo1["batch_yield"], mo1["edits"]) == (1, D(96), 1)
    assert (mo1["quality_checks"], mo1["quality_failures"]) == (1, 1)
    assert mo1["producing_store_id"] == "central" and mo1["destination_store_id"] == "born"
    mo2 = await one(pg_url, "SELECT * FROM rm_production_orders WHERE order_id = 'MO-2'")
    assert mo2["status"] == "cancelled" and mo2["cancel_reason"] == "butter delivery late"
    assert mo2["cancelled_by"] == "ana" and mo2["quantity_produced"] is None

    async def ids(where: str, *params: object) -> list[str]:
        found = await rows(
            pg_url,
            f"SELECT order_id FROM rm_production_orders WHERE tenant_id = %s AND {where}"
            " ORDER BY order_id",
            T,
            *params,
        )
        return [r["order_id"] for r in found]

    assert await ids("status = %s", "suggested") == ["MO-3"]
    assert await ids("sku = %s", "baguette") == ["MO-1", "MO-3"]
    assert await ids("producing_store_id = %s", "central") == ["MO-1", "MO-2"]
    assert await ids("production_date = %s", date(2026, 3, 4)) == ["MO-1", "MO-3"]


def po_drafted() -> PurchaseOrderDrafted:
    return PurchaseOrderDrafted(
        occurred_at=at(0),
        po_id="PO-77",
        supplier_id="harinera-vilafranquina",
        store_id="central",
        lines=(
            PurchaseOrderLine(item_id="flour", quantity=D(100), unit_price=D("0.80")),
            PurchaseOrderLine(item_id="butter", quantity=D(20), unit_price=D("6.50")),
            PurchaseOrderLine(item_id="flour", quantity=D(50), unit_price=D("0.80")),
        ),
        expected_delivery_at=datetime(2026, 3, 4, 7, 0, tzinfo=UTC),
        drafted_by="marta",
    )


def received(
    delivery: str, minutes: int, complete: bool, *lines: ReceivedLine
) -> PurchaseOrderReceived:
    return PurchaseOrderReceived(
        occurred_at=at(minutes),
        po_id="PO-77",
        delivery_id=delivery,
        lines=lines,
        discrepancies=(
            (
                Discrepancy(
                    item_id="yeast", kind="not_ordered", ordered=D(0), received=D(2), note=""
                ),
            )
            if complete
            else ()
        ),
        complete=complete,
        received_by="joan",
    )


def got(item: str, qty: str, cost: str) -> ReceivedLine:
    return ReceivedLine(
        item_id=item, quantity=D(qty), lot_id=f"{item}-{qty}", expires_on=None, unit_cost=D(cost)
    )


async def test_purchase_order_partial_then_complete_receipt(pg_url: str) -> None:
    model = PurchaseOrdersModel()
    log = Log()
    log.add(
        T,
        "supplier-harinera-vilafranquina",
        SupplierRegistered(
            occurred_at=at(0),
            supplier_id="harinera-vilafranquina",
            name="Harinera",
            lead_time_days=2,
        ),
    )
    log.add(
        T,
        "po-PO-77",
        po_drafted(),
        PurchaseOrderApproved(occurred_at=at(10), po_id="PO-77", approved_by="olga"),
        PurchaseOrderSent(occurred_at=at(11), po_id="PO-77", sent_by="marta"),
        received("D1", 60, False, got("flour", "100", "0.80")),
    )
    await project(pg_url, model, log.events)

    po = await one(pg_url, "SELECT * FROM rm_purchase_orders WHERE po_id = 'PO-77'")
    assert po["status"] == "partially_received" and po["supplier_id"] == "harinera-vilafranquina"
    assert po["expected_delivery_at"] == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)
    assert (po["ordered_quantity"], po["received_quantity"]) == (D(170), D(100))
    assert po["ordered_value"] == D("250.00") and po["line_count"] == 2
    assert po["approved_by"] == "olga" and po["sent_at"] == at(11) and po["received_at"] is None

    async def lines() -> list[tuple[str, Decimal, Decimal, Decimal]]:
        found = await rows(
            pg_url, "SELECT * FROM rm_purchase_order_lines WHERE po_id = 'PO-77' ORDER BY line_no"
        )
        return [
            (r["item_id"], r["ordered_quantity"], r["received_quantity"], r["outstanding_quantity"])
            for r in found
        ]

    assert await lines() == [("flour", D(150), D(100), D(50)), ("butter", D(20), D(0), D(20))]

    start = len(log.events)
    log.add(
        T,
        "po-PO-77",
        received(
            "D2",
            1440,
            True,
            got("flour", "50", "0.80"),
            got("butter", "18", "6.70"),
            got("yeast", "2", "3"),
        ),
    )
    await project(pg_url, model, log.events[start:])
    po = await one(pg_url, "SELECT * FROM rm_purchase_orders WHERE po_id = 'PO-77'")
    assert po["status"] == "received" and po["received_at"] == at(1440)
    assert (po["deliveries"], po["discrepancies"]) == (2, 1)
    assert po["received_value"] == D("246.60")  # 150 x 0.80 + 18 x 6.70 + 2 x 3
    assert await lines() == [
        ("flour", D(150), D(150), D(0)),
        ("butter", D(20), D(18), D(2)),  # closed short
        ("yeast", D(0), D(2), D(0)),  # never ordered
    ]
    supplier = await one(pg_url, "SELECT * FROM rm_purchase_suppliers")
    assert supplier["name"] == "Harinera" and supplier["lead_time_days"] == 2


async def test_purchase_order_cancelled(pg_url: str) -> None:
    log = Log()
    log.add(
        T,
        "po-PO-77",
        po_drafted(),
        PurchaseOrderCancelled(
            occurred_at=at(3), po_id="PO-77", reason="ordered twice", cancelled_by="olga"
        ),
    )
    await project(pg_url, PurchaseOrdersModel(), log.events, batch=1)
    po = await one(pg_url, "SELECT * FROM rm_purchase_orders")
    assert (po["status"], po["cancel_reason"], po["cancelled_at"]) == (
        "cancelled",
        "ordered twice",
        at(3),
    )
    assert po["updated_at"] == at(3) and po["last_position"] == 2
