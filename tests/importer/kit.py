"""A tenant with two stores and two products, and helpers to import into it and look."""

from __future__ import annotations

import csv
import uuid
from decimal import Decimal
from pathlib import Path

from commands.handlers import handle
from commands.importer.run import ImportOptions, ImportResult, import_sales
from commands.types import CreateTenant, DefineProduct, OpenStore
from domain.access import Actor
from domain.codec import decode_event
from domain.events import SaleRecorded
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.streams import sale_stream
from streams.store import EventStore

OWNER = Actor(user_id="olga", role=Role.OWNER)


class Bakery:
    def __init__(self, store: EventStore, tenant: str, tmp: Path) -> None:
        self.store, self.tenant, self.tmp = store, tenant, tmp

    def file(self, text: str, name: str = "sales.csv") -> Path:
        path = self.tmp / name
        path.write_text(text)
        return path

    async def run(self, path: Path, **options: object) -> ImportResult:
        opts = ImportOptions(tenant_id=self.tenant, progress=False, report=self.tmp / "report.csv")
        for key, value in options.items():
            setattr(opts, key, value)
        return await import_sales(self.store, path, opts)

    async def sales(self, store_id: str, txn: str) -> list[SaleRecorded]:
        records = await self.store.read_stream(self.tenant, sale_stream(store_id, txn))
        decoded = [decode_event(r.event_type, r.schema_version, r.payload) for r in records]
        return [e for e in decoded if isinstance(e, SaleRecorded)]

    def report(self) -> list[dict[str, str]]:
        with (self.tmp / "report.csv").open() as handle_:
            return list(csv.DictReader(handle_))

    async def event_count(self) -> int:
        async with self.store.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM events WHERE tenant_id = %s", (self.tenant,)
            )
            row = await cur.fetchone()
            return int(row[0]) if row else 0


async def make_bakery(store: EventStore, tmp: Path) -> Bakery:
    tenant = f"forn-{uuid.uuid4().hex[:8]}"

    async def run(command: object) -> None:
        await handle(command, store, tenant_id=tenant, actor=OWNER)  # type: ignore[arg-type]

    await run(CreateTenant(name="Forn", kind=TenantKind.CHAIN))
    for store_id in ("born", "gracia"):
        await run(
            OpenStore(
                store_id=store_id,
                name=store_id,
                kind=StoreKind.OUTLET,
                timezone="Europe/Madrid",
                region="ES-CT",
            )
        )
    for sku in ("baguette", "croissant"):
        await run(
            DefineProduct(
                sku=sku,
                name=sku,
                category="bread",
                price=Decimal("1.20"),
                unit_cost=Decimal("0.30"),
                shelf_life_days=1,
            )
        )
    return Bakery(store, tenant, tmp)
