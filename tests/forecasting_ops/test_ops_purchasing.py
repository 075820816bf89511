"""Ingredient needs through recipes → purchase suggestions by reorder point and lead time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

from domain.access import Actor
from domain.codec import decode_event, encode_event
from domain.events import DomainEvent
from domain.events.catalogue import IngredientDefined, RecipeLine, RecipeVersioned
from domain.events.inventory import ItemKind, StockReceived
from domain.events.organisation import Role
from domain.events.procurement import PurchaseOrderDrafted, SupplierPrice, SupplierRegistered
from domain.purchasing import Ingredient, ingredient_needs, suggest
from forecasting.ops.purchasing import suggest_purchases
from projections.apply import decode_for
from projections.models import model_by_name
from streams.envelope import NewEvent
from streams.store import EventStore

T = "forn"
AT = datetime(2026, 11, 20, 8, tzinfo=UTC)
RECIPE = RecipeVersioned(
    occurred_at=AT,
    sku="barra",
    version=2,
    yield_quantity=D(10),
    lines=(
        RecipeLine(ingredient_id="harina", quantity=D("3.5")),
        RecipeLine(ingredient_id="levadura", quantity=D("0.1")),
    ),
)
FLOUR = Ingredient(
    "harina", D("0.55"), reorder_point=D(50), reorder_quantity=D(100), supplier_id="harinas-sur"
)


def test_needs_follow_the_recipe_per_yield() -> None:
    needs = ingredient_needs({"barra": 200, "croissant": 40}, {"barra": RECIPE})
    assert needs == {"harina": D(70), "levadura": D(2)}  # 200/10 × 3.5 and × 0.1


def test_orders_what_falls_below_the_reorder_point_at_least_the_reorder_quantity() -> None:
    short = suggest("centro", {"harina": D(70)}, {"harina": D(90)}, {"harina": FLOUR})
    assert [(s.ingredient_id, s.quantity, s.supplier_id) for s in short] == [
        ("harina", D(100), "harinas-sur")  # 90 − 70 = 20 < 50: reorder quantity 100
    ]
    deep = suggest("centro", {"harina": D(300)}, {"harina": D(10)}, {"harina": FLOUR})
    assert deep[0].quantity == D(340)  # back up to the reorder point: 50 − (10 − 300)
    assert "below the reorder point 50" in deep[0].reason
    assert suggest("centro", {"harina": D(10)}, {"harina": D(90)}, {"harina": FLOUR}) == []


def new(event: DomainEvent) -> NewEvent:
    kind, version, payload = encode_event(event)
    return NewEvent(event_type=kind, schema_version=version, payload=payload)


async def test_the_plan_drafts_a_purchase_order_from_the_preferred_supplier(
    pg_store: EventStore, pg_url: str
) -> None:
    await pg_store.append(T, "recipe-barra", [new(RECIPE)])
    await pg_store.append(
        T,
        "ingredient-harina",
        [
            new(
                IngredientDefined(
                    occurred_at=AT,
                    ingredient_id="harina",
                    name="Harina T65",
                    unit="kg",
                    unit_cost=D("0.55"),
                    shelf_life_days=180,
                    reorder_point=D(50),
                    reorder_quantity=D(100),
                    preferred_supplier_id="harinas-sur",
                )
            )
        ],
    )
    await pg_store.append(
        T,
        "supplier-harinas-sur",
        [
            new(
                SupplierRegistered(
                    occurred_at=AT,
                    supplier_id="harinas-sur",
                    name="Harinas del Sur",
                    lead_time_days=2,
                    prices=(SupplierPrice(item_id="harina", unit_price=D("0.49"), unit="kg"),),
                )
            )
        ],
    )
    await pg_store.append(
        T,
        "stock-centro-harina",
        [
            new(
                StockReceived(
                    occurred_at=AT,
                    store_id="centro",
                    item_id="harina",
                    item_kind=ItemKind.INGREDIENT,
                    lot_id="h-1",
                    quantity=D(90),
                    expires_on=None,
                    unit_cost=D("0.55"),
                )
            )
        ],
    )
    inventory = model_by_name("inventory")
    async with pg_store.pool.connection() as conn, conn.transaction():
        await inventory.apply(
            conn, decode_for(inventory, await pg_store.read_all()), {t: t for t in inventory.tables}
        )
    planner = Actor(user_id="forecast-scheduler", role=Role.PLANNER)
    for _ in range(2):  # the nightly job may run twice: one order
        suggestions = await suggest_purchases(
            pg_store,
            pg_url,
            tenant_id=T,
            store_id="centro",
            planned={"barra": 200},
            day=date(2026, 11, 23),
            actor=planner,
        )
    assert [(s.ingredient_id, s.quantity) for s in suggestions] == [("harina", D(100))]
    records = await pg_store.read_stream(T, "po-sugg-centro-20261123-harinas-sur")
    assert len(records) == 1
    drafted = decode_event(records[0].event_type, records[0].schema_version, records[0].payload)
    assert isinstance(drafted, PurchaseOrderDrafted)
    assert [(line.item_id, line.quantity, line.unit_price) for line in drafted.lines] == [
        ("harina", D(100), D("0.49"))  # the supplier's price
    ]
    assert drafted.expected_delivery_at == datetime(2026, 11, 25, 6, tzinfo=UTC)  # 2-day lead
