"""A bakery's Monday at 05:30 (Madrid), written through the command handlers.

One store ``centro``: barra runs low (8 in stock, reorder point 20: a low-stock
alert), the overnight plan suggests 40 barras for today from a forecast, a
croissant order for tomorrow awaits confirmation, a confirmed order is being
baked, a draft purchase order waits for approval, an approved one is due
tomorrow, waste this week and last, sales today and on the four Mondays before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from commands.handlers import handle
from commands.types import (
    ApprovePurchaseOrder,
    ConfirmManufacturingOrder,
    CreateTenant,
    DefineIngredient,
    DefineProduct,
    DraftPurchaseOrder,
    OpenStore,
    PublishForecast,
    ReceiveStock,
    RecordSale,
    RecordWaste,
    RegisterSupplier,
    SetProductStockPolicy,
    StartManufacturingOrder,
    SuggestManufacturingOrder,
    Tick,
)
from domain.access import Actor
from domain.events.forecasting import ForecastPoint
from domain.events.inventory import ItemKind, WasteReason
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.events.procurement import PurchaseOrderLine
from domain.events.sales import SaleLine
from projections.rebuild import rebuild
from projections.registry import all_models
from streams.store import EventStore

D = Decimal
TENANT = "horno-dash"
STORE = "centro"
ISLAND = "laguna"  # a second store, an hour behind Madrid, with nothing going on
OWNER = Actor(user_id="olga", role=Role.OWNER)
PLANNER = Actor(user_id="pablo", role=Role.OWNER)  # approves what olga drafted (four eyes)
NOW = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # Monday 05:30 in Madrid
TODAY = NOW.date()


async def bake_day(url: str, *, tenant: str = TENANT) -> None:
    """Write the day (events at their own times), then rebuild every read model."""
    store = await EventStore.open(url)

    async def run(
        command: object, at: datetime = NOW - timedelta(days=14), actor: Actor = OWNER
    ) -> None:
        await handle(command, store, tenant_id=tenant, actor=actor, now=at)  # type: ignore[arg-type]

    try:
        await run(CreateTenant(name="Horno", kind=TenantKind.SINGLE_SHOP))
        for store_id, zone in ((STORE, "Europe/Madrid"), (ISLAND, "Atlantic/Canary")):
            await run(
                OpenStore(
                    store_id=store_id, name=store_id.title(), kind=StoreKind.SHOP,
                    timezone=zone, region="ES-MD",
                )
            )  # fmt: skip
        for sku, price, cost in (("barra", "1.10", "0.30"), ("croissant", "1.50", "0.40")):
            await run(
                DefineProduct(
                    sku=sku, name=sku.title(), category="bread",
                    price=D(price), unit_cost=D(cost), shelf_life_days=1,
                )
            )  # fmt: skip
        await run(
            DefineIngredient(
                ingredient_id="harina", name="Harina", unit="kg", unit_cost=D("0.80"),
                shelf_life_days=180, reorder_point=D(10), reorder_quantity=D(50),
            )
        )  # fmt: skip
        await run(
            SetProductStockPolicy(
                sku="barra", store_id=STORE, reorder_point=D(20), target_stock=D(60)
            )
        )
        await _sales_and_waste(run)
        at = NOW - timedelta(hours=6)
        await run(
            ReceiveStock(
                store_id=STORE, item_id="barra", item_kind=ItemKind.PRODUCT,
                lot_id="L-today", quantity=D(8), unit_cost=D("0.30"),
            ),
            at,
        )  # fmt: skip
        await run(
            PublishForecast(
                forecast_id="fc-centro-barra", store_id=STORE, sku="barra", model="ets",
                model_version="3", interval_level=0.8,
                points=(ForecastPoint(day=TODAY, mean=D(45), lower=D(36), upper=D(55)),),
            ),
            at,
        )  # fmt: skip
        await run(
            SuggestManufacturingOrder(
                order_id="plan-barra", sku="barra", quantity=D(40), production_date=TODAY,
                producing_store_id=STORE, destination_store_id=STORE,
                reason="newsvendor plan: quantile 48.0; usable stock 8; bake 40",
                forecast_id="fc-centro-barra",
            ),
            at,
        )  # fmt: skip
        for order_id, sku, qty, day in (
            ("mo-croissant", "croissant", D(30), TODAY + timedelta(days=1)),
            ("mo-baking", "croissant", D(24), TODAY),
        ):
            await run(
                SuggestManufacturingOrder(
                    order_id=order_id, sku=sku, quantity=qty, production_date=day,
                    producing_store_id=STORE, destination_store_id=STORE,
                ),
                at,
            )  # fmt: skip
        await run(ConfirmManufacturingOrder(order_id="mo-baking"), at)
        await run(StartManufacturingOrder(order_id="mo-baking"), NOW - timedelta(minutes=40))
        await _purchases(run, at)
        await run(Tick(at=NOW), NOW)
        for model in all_models():
            await rebuild(store, model)
    finally:
        await store.close()


async def _sales_and_waste(run: object) -> None:
    await run(  # type: ignore[operator]
        ReceiveStock(
            store_id=STORE, item_id="croissant", item_kind=ItemKind.PRODUCT,
            lot_id="C-stock", quantity=D(100), unit_cost=D("0.40"),
        ),
        NOW - timedelta(days=40),
    )  # fmt: skip
    for lot, qty, days_ago in (("W-this", D(5), 0), ("W-last", D(7), 7)):
        at = NOW - timedelta(days=days_ago, hours=1)
        await run(  # type: ignore[operator]
            ReceiveStock(
                store_id=STORE, item_id="croissant", item_kind=ItemKind.PRODUCT,
                lot_id=lot, quantity=qty, unit_cost=D("0.40"),
            ),
            at,
        )  # fmt: skip
        await run(  # type: ignore[operator]
            RecordWaste(
                store_id=STORE, item_id="croissant", quantity=qty,
                reason=WasteReason.DAMAGED, lot_id=lot,
            ),
            at,
        )  # fmt: skip
    for weeks in range(5):
        day = NOW - timedelta(weeks=weeks)
        sold_at = day.replace(hour=4, minute=10) if weeks == 0 else day.replace(hour=4, minute=0)
        units = D(3) if weeks == 0 else D(10 + weeks)
        await run(  # type: ignore[operator]
            RecordSale(
                store_id=STORE,
                pos_txn_id=f"t-{weeks}",
                sold_at=sold_at,
                lines=(SaleLine(sku="croissant", quantity=units, unit_price=D("1.50")),),
            ),
            sold_at,
        )


async def _purchases(run: object, at: datetime) -> None:
    await run(RegisterSupplier(supplier_id="molino", name="Molino", lead_time_days=1), at)  # type: ignore[operator]
    for po_id, due in (
        ("PO-draft", NOW + timedelta(hours=30)),
        ("PO-due", NOW + timedelta(hours=20)),
    ):
        await run(  # type: ignore[operator]
            DraftPurchaseOrder(
                po_id=po_id, supplier_id="molino", store_id=STORE, expected_delivery_at=due,
                lines=(PurchaseOrderLine(item_id="harina", quantity=D(25), unit_price=D("0.70")),),
            ),
            at,
        )  # fmt: skip
    await run(ApprovePurchaseOrder(po_id="PO-due"), at, PLANNER)  # type: ignore[operator]
