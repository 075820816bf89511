"""All read models: the same history gives the same rows however it is cut into batches.

The history is made by the real command handlers (``commands.handlers.handle``)
on the in-memory store: two bakery chains over three days — purchase orders
received in two deliveries, recipes, manufacturing orders baked in batches and
completed (one cancelled), transfers to the outlets, tickets around midnight,
voids, refunds, waste and counts. Tables are compared as the text of their
rows, so even a different decimal scale ("0" vs "0.00") would fail.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from test_models_kit import decoded, dump, one, project, rows, wipe

from commands.handlers import handle
from commands.runtime import EventStoreLike
from commands.types import (
    AdjustStock,
    ApprovePurchaseOrder,
    CancelManufacturingOrder,
    Command,
    CompleteManufacturingOrder,
    ConfirmManufacturingOrder,
    CreateTenant,
    DefineIngredient,
    DefineProduct,
    DraftPurchaseOrder,
    OpenStore,
    ReceivePurchaseOrder,
    RecordBatch,
    RecordSale,
    RecordWaste,
    RefundSale,
    RegisterSupplier,
    SendPurchaseOrder,
    StartManufacturingOrder,
    SuggestManufacturingOrder,
    TransferStock,
    VersionRecipe,
    VoidSale,
)
from domain.access import Actor
from domain.codec import decode_event
from domain.errors import DomainError
from domain.events.catalogue import RecipeLine
from domain.events.inventory import ItemKind, WasteReason
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.events.procurement import PurchaseOrderLine, ReceivedLine
from domain.events.sales import RefundLine, SaleLine
from domain.stock import fold as fold_stock
from domain.streams import stock_stream
from projections.model import Decoded
from projections.models import ALL_MODELS, _sql
from streams.memory import InMemoryEventStore

D = Decimal
OWNER = Actor(user_id="olga", role=Role.OWNER)
PLANNER = Actor(user_id="marta", role=Role.PLANNER)
START = datetime(2026, 3, 27, 4, 0, tzinfo=UTC)  # the days around the March DST change
TENANTS = ("forn-sant-joan", "pa-de-casa")
PRICES = {"baguette": D("1.20"), "croissant": D("1.50")}


class Chain:
    def __init__(self, store: EventStoreLike, tenant: str, rnd: random.Random) -> None:
        self.store, self.tenant, self.rnd = store, tenant, rnd
        self.now = START
        self.tickets: list[tuple[str, str, str]] = []

    async def run(self, command: Command, actor: Actor = OWNER, minutes: int = 1) -> bool:
        self.now += timedelta(minutes=minutes)
        try:
            await handle(command, self.store, tenant_id=self.tenant, actor=actor, now=self.now)
        except DomainError:
            return False  # refused (e.g. wasting more than the lots hold): nothing written
        return True

    async def set_up(self) -> None:
        await self.run(CreateTenant(name=self.tenant, kind=TenantKind.CHAIN))
        for store_id, kind, zone in (
            ("central", StoreKind.CENTRAL, "Europe/Madrid"),
            ("born", StoreKind.OUTLET, "Europe/Madrid"),
            ("laguna", StoreKind.OUTLET, "Atlantic/Canary"),
        ):
            await self.run(
                OpenStore(store_id=store_id, name=store_id, kind=kind, timezone=zone, region="ES")
            )
        for sku, price in PRICES.items():
            await self.run(
                DefineProduct(
                    sku=sku,
                    name=sku,
                    category="bread",
                    price=price,
                    unit_cost=D("0.35"),
                    shelf_life_days=1,
                )
            )
        for ingredient, cost in (("flour", "0.80"), ("butter", "6.50"), ("salt", "0.40")):
            await self.run(
                DefineIngredient(
                    ingredient_id=ingredient,
                    name=ingredient,
                    unit="kg",
                    unit_cost=D(cost),
                    shelf_life_days=90,
                    reorder_point=D(10),
                    reorder_quantity=D(50),
                )
            )
        for sku, lines in (
            ("baguette", (("flour", "3"), ("salt", "0.06"))),
            ("croissant", (("flour", "2.5"), ("butter", "1.2"))),
        ):
            await self.run(
                VersionRecipe(
                    sku=sku,
                    yield_quantity=D(10),
                    lines=tuple(RecipeLine(ingredient_id=i, quantity=D(q)) for i, q in lines),
                )
            )
        await self.purchase()

    async def purchase(self) -> None:
        await self.run(RegisterSupplier(supplier_id="harinera", name="Harinera", lead_time_days=2))
        ordered = (("flour", "200", "0.80"), ("butter", "30", "6.50"), ("salt", "2", "0.40"))
        await self.run(
            DraftPurchaseOrder(
                po_id="PO-1",
                supplier_id="harinera",
                store_id="central",
                lines=tuple(
                    PurchaseOrderLine(item_id=i, quantity=D(q), unit_price=D(p))
                    for i, q, p in ordered
                ),
                expected_delivery_at=START + timedelta(hours=3),
            ),
            actor=PLANNER,
        )
        await self.run(ApprovePurchaseOrder(po_id="PO-1"))
        await self.run(SendPurchaseOrder(po_id="PO-1"))
        for delivery, lines in (
            ("D1", (("flour", "200", "0.80"), ("butter", "20", "6.50"))),
            ("D2", (("butter", "10", "6.60"), ("salt", "2", "0.40"))),
        ):
            received = tuple(
                ReceivedLine(
                    item_id=i,
                    quantity=D(q),
                    lot_id=f"{delivery}-{i}",
                    expires_on=date(2026, 6, 1),
                    unit_cost=D(c),
                )
                for i, q, c in lines
            )
            await self.run(
                ReceivePurchaseOrder(po_id="PO-1", delivery_id=delivery, lines=received), minutes=60
            )

    async def day(self, n: int) -> None:
        day = date(2026, 3, 28) + timedelta(days=n)
        for sku, quantity in (("baguette", 100), ("croissant", 60)):
            order = f"{sku}-{n}"
            await self.run(
                SuggestManufacturingOrder(
                    order_id=order,
                    sku=sku,
                    quantity=D(quantity),
                    production_date=day,
                    producing_store_id="central",
                    destination_store_id="central",
                )
            )
            await self.run(ConfirmManufacturingOrder(order_id=order))
            if sku == "croissant" and n == 1:
                await self.run(CancelManufacturingOrder(order_id=order, reason="butter short"))
                continue
            await self.run(StartManufacturingOrder(order_id=order))
            await self.run(
                RecordBatch(
                    order_id=order,
                    batch_id="B1",
                    planned_quantity=D(quantity // 2),
                    actual_yield=D(quantity // 2 - 2),
                ),
                minutes=50,
            )
            await self.run(
                CompleteManufacturingOrder(order_id=order, quantity_produced=D(quantity - 4))
            )
        for sku in PRICES:
            for outlet, share in (("born", 30), ("laguna", 20)):
                await self.run(
                    TransferStock(
                        transfer_id=f"TR-{n}-{sku}-{outlet}",
                        store_id="central",
                        to_store_id=outlet,
                        item_id=sku,
                        item_kind=ItemKind.PRODUCT,
                        quantity=D(share),
                    )
                )
        await self.sell(n)

    async def sell(self, n: int) -> None:
        rnd = self.rnd
        for k in range(40):
            outlet = rnd.choice(("born", "laguna"))
            txn = f"T{n}-{k}"
            lines = tuple(
                SaleLine(sku=sku, quantity=D(rnd.randint(1, 6)), unit_price=PRICES[sku])
                for sku in rnd.sample(sorted(PRICES), rnd.randint(1, 2))
            )
            sold_at = self.now + timedelta(minutes=rnd.randint(0, 20 * 60))  # into the night
            if await self.run(
                RecordSale(store_id=outlet, pos_txn_id=txn, sold_at=sold_at, lines=lines)
            ):
                self.tickets.append((outlet, txn, lines[0].sku))
            if rnd.random() < 0.1 and self.tickets:
                outlet, txn, _ = self.tickets.pop(rnd.randrange(len(self.tickets)))
                await self.run(VoidSale(store_id=outlet, pos_txn_id=txn, reason="keyed twice"))
            elif rnd.random() < 0.1 and self.tickets:
                outlet, txn, sku = self.tickets.pop(rnd.randrange(len(self.tickets)))
                refund = RefundLine(sku=sku, quantity=D(1), amount=PRICES[sku])
                await self.run(
                    RefundSale(
                        store_id=outlet,
                        pos_txn_id=txn,
                        refund_id=f"R-{txn}",
                        lines=(refund,),
                        reason="stale",
                    )
                )
        for outlet in ("born", "laguna"):
            await self.run(
                RecordWaste(
                    store_id=outlet,
                    item_id="croissant",
                    quantity=D(2),
                    reason=WasteReason.UNSOLD_END_OF_DAY,
                )
            )
            await self.run(
                AdjustStock(
                    store_id=outlet, item_id="baguette", counted_quantity=D(3), reason="count"
                )
            )


@pytest.fixture(scope="module")
async def history() -> tuple[InMemoryEventStore, list[Decoded]]:
    store = InMemoryEventStore()
    rnd = random.Random(20260328)
    chains = [Chain(store, tenant, rnd) for tenant in TENANTS]
    for chain in chains:
        await chain.set_up()
    for n in range(3):
        for chain in chains:  # the tenants' events interleave in the global log
            await chain.day(n)
    return store, decoded(await store.read_all(limit=1_000_000))


async def test_the_history_is_a_real_one(history: tuple[InMemoryEventStore, list[Decoded]]) -> None:
    _, events = history
    types = {rec.event_type for rec, _ in events}
    assert {"StockReturned", "SaleRefunded", "BatchCompleted", "StockTransferredIn"} <= types
    assert {"PurchaseOrderReceived", "ManufacturingOrderCancelled", "StockAdjusted"} <= types
    assert any(getattr(ev, "shortfall", 0) > 0 for _, ev in events)  # some stock went negative
    assert len(events) > 500


async def test_any_batching_gives_the_same_tables(
    pg_url: str, history: tuple[InMemoryEventStore, list[Decoded]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, events = history
    rnd = random.Random(5)
    dumps = []
    for batch in (None, 1, 7, [rnd.randint(1, 90) for _ in range(200)], "staged"):
        await wipe(pg_url, ALL_MODELS)
        if batch == "staged":  # every read and write through COPY and a staging table
            monkeypatch.setattr(_sql, "STAGE_MIN", 1)
            await project(pg_url, ALL_MODELS, events, batch=[1, 50, 400])
        else:
            await project(pg_url, ALL_MODELS, events, batch=batch)  # type: ignore[arg-type]
        dumps.append(await dump(pg_url, ALL_MODELS))
    assert all(d == dumps[0] for d in dumps[1:])
    assert all(
        dumps[0][table] for table in ("rm_inventory_stock", "rm_sales_daily", "rm_purchase_orders")
    )


async def test_read_models_agree_with_the_write_side(
    pg_url: str, history: tuple[InMemoryEventStore, list[Decoded]]
) -> None:
    store, events = history
    await project(pg_url, ALL_MODELS, events, batch=50)
    for tenant in TENANTS:
        for row in await rows(
            pg_url, "SELECT * FROM rm_inventory_stock WHERE tenant_id = %s", tenant
        ):
            records = await store.read_stream(tenant, stock_stream(row["store_id"], row["item_id"]))
            state = fold_stock(
                decode_event(r.event_type, r.schema_version, r.payload) for r in records
            )
            assert row["on_hand"] == state.on_hand, row
            assert row["negative"] == (state.on_hand < 0)
        # Sales: the days add up to the tickets' net totals.
        totals = await one(
            pg_url,
            "SELECT (SELECT sum(revenue) FROM rm_sales_daily WHERE tenant_id = %s) AS days,"
            " (SELECT sum(net_amount) FROM rm_sales_tickets WHERE tenant_id = %s) AS tickets,"
            " (SELECT sum(revenue) FROM rm_sales_hourly WHERE tenant_id = %s) AS hours",
            tenant,
            tenant,
            tenant,
        )
        assert totals["days"] == totals["tickets"] == totals["hours"] > 0
        # Every manufacturing order is done or cancelled: nothing stays reserved.
        held = await one(
            pg_url,
            "SELECT sum(reserved) AS held FROM rm_inventory_stock WHERE tenant_id = %s",
            tenant,
        )
        assert held["held"] == 0
        statuses = await rows(
            pg_url,
            "SELECT status, count(*) AS n FROM rm_production_orders WHERE tenant_id = %s"
            " GROUP BY status ORDER BY status",
            tenant,
        )
        assert [(s["status"], s["n"]) for s in statuses] == [("cancelled", 1), ("completed", 5)]
        po = await one(pg_url, "SELECT * FROM rm_purchase_orders WHERE tenant_id = %s", tenant)
        assert po["status"] == "received" and po["received_quantity"] == po["ordered_quantity"]
