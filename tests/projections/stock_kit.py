"""A bakery for the stock tests (no tests here): a tenant, two Madrid stores, a catalogue.

Commands go through the real ``handle`` on the PostgreSQL store; ``project``
runs the tenant's log through the inventory and waste models as the live
projector would (in the batches given), and ``stock_row`` / ``waste_rows``
read what they made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from test_models_kit import decoded, project, rows

from commands.handlers import handle
from commands.runtime import CommandResult
from commands.types import Command, CreateTenant, DefineIngredient, DefineProduct, OpenStore
from domain.access import Actor
from domain.events.organisation import Role, StoreKind, TenantKind
from projections.models import InventoryModel, WasteModel
from streams.store import EventStore

D = Decimal
OWNER = Actor(user_id="olga", role=Role.OWNER)
START = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # a Monday, 06:00 in Madrid
MODELS = (InventoryModel(), WasteModel())
#: sku -> (price, unit cost, shelf life in days)
PRODUCTS = {"baguette": (D("1.20"), D("0.32"), 1), "croissant": (D("1.50"), D("0.45"), 2)}


class Bakery:
    def __init__(self, store: EventStore, tenant: str) -> None:
        self.store, self.tenant = store, tenant

    async def run(self, command: Command, at: datetime = START) -> CommandResult:
        return await handle(command, self.store, tenant_id=self.tenant, actor=OWNER, now=at)

    async def open(self) -> Bakery:
        await self.run(CreateTenant(name="Forn", kind=TenantKind.CHAIN))
        for store_id, kind in (("central", StoreKind.CENTRAL), ("sol", StoreKind.OUTLET)):
            await self.run(
                OpenStore(
                    store_id=store_id,
                    name=store_id.title(),
                    kind=kind,
                    timezone="Europe/Madrid",
                    region="ES-MD",
                )
            )
        for sku, (price, cost, shelf) in PRODUCTS.items():
            await self.run(
                DefineProduct(
                    sku=sku,
                    name=sku.title(),
                    category="bread",
                    price=price,
                    unit_cost=cost,
                    shelf_life_days=shelf,
                )
            )
        await self.run(
            DefineIngredient(
                ingredient_id="flour",
                name="Flour",
                unit="kg",
                unit_cost=D("0.60"),
                shelf_life_days=180,
                reorder_point=D(50),
                reorder_quantity=D(200),
            )
        )
        return self

    async def project(self, pg_url: str, batch: int | Sequence[int] | None = None) -> None:
        events = decoded(await self.store.read_all(limit=1_000_000, tenant_id=self.tenant))
        await project(pg_url, MODELS, events, batch=batch)

    async def stock_row(self, pg_url: str, store_id: str, item_id: str) -> dict[str, Any] | None:
        found = await rows(
            pg_url,
            "SELECT * FROM rm_inventory_stock WHERE tenant_id = %s AND store_id = %s"
            " AND item_id = %s",
            self.tenant,
            store_id,
            item_id,
        )
        return found[0] if found else None

    async def lot_sum(self, pg_url: str, store_id: str, item_id: str) -> tuple[Decimal, Decimal]:
        (found,) = await rows(
            pg_url,
            "SELECT coalesce(sum(quantity), 0) AS q, coalesce(sum(quantity * unit_cost), 0) AS v"
            " FROM rm_inventory_lots WHERE tenant_id = %s AND store_id = %s AND item_id = %s",
            self.tenant,
            store_id,
            item_id,
        )
        return found["q"], found["v"]

    async def waste_rows(self, pg_url: str) -> list[dict[str, Any]]:
        return await rows(
            pg_url,
            "SELECT store_id, day, item_id, reason, units, value FROM rm_waste_daily"
            " WHERE tenant_id = %s ORDER BY day, store_id, item_id, reason",
            self.tenant,
        )
