"""Two small tenants made through the write side, keys for them, and the app on them.

Lighter than ``read_api_kit`` (no demo load): the command, consistency, export and
health tests need a store with a few events, not years of sales.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from litestar import Litestar
from litestar.testing import AsyncTestClient
from psycopg.conninfo import make_conninfo

from commands.handlers import handle
from commands.types import CreateTenant, DefineIngredient, OpenStore
from domain.access import Actor
from domain.events.organisation import Role, StoreKind, TenantKind
from migrations.runner import migrate
from read_api.keys import create_api_key
from streams.store import EventStore

NORTH = "north-bakery"
SOUTH = "south-bakery"
OWNER = Actor(user_id="founder", role=Role.OWNER)
#: the stock the tests receive (stock commands refuse items the catalogue does not know)
INGREDIENTS = ("harina", "azucar")
#: what ``bootstrap`` writes per tenant: its creation, its store, one definition per ingredient
BOOTSTRAP_EVENTS = ("TenantCreated", "StoreOpened", *("IngredientDefined",) * len(INGREDIENTS))


@dataclass(frozen=True)
class Tenants:
    url: str
    north: dict[str, str]  # headers of the north owner
    south: dict[str, str]  # headers of the south owner
    north_auditor: dict[str, str]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def bootstrap(url: str) -> None:
    async with await EventStore.open(url, min_size=1, max_size=2) as store:
        for tenant, store_id in ((NORTH, "norte-1"), (SOUTH, "sur-1")):
            await handle(
                CreateTenant(name=tenant, kind=TenantKind.MULTI_SHOP),
                store,
                tenant_id=tenant,
                actor=OWNER,
            )
            await handle(
                OpenStore(
                    store_id=store_id,
                    name=store_id,
                    kind=StoreKind.SHOP,
                    timezone="Europe/Madrid",
                    region="MD",
                ),
                store,
                tenant_id=tenant,
                actor=OWNER,
            )
            for ingredient in INGREDIENTS:
                await handle(
                    DefineIngredient(
                        ingredient_id=ingredient,
                        name=ingredient,
                        unit="kg",
                        unit_cost=Decimal("0.80"),
                        shelf_life_days=180,
                        reorder_point=Decimal(10),
                        reorder_quantity=Decimal(50),
                    ),
                    store,
                    tenant_id=tenant,
                    actor=OWNER,
                )


@dataclass
class Scratch:
    url: str
    schema: str
    admin_url: str

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


def scratch(database_url: str) -> Iterator[Scratch]:
    schema = f"h_{uuid.uuid4().hex[:12]}"
    migrate(database_url, schema=schema)
    made = Scratch(
        make_conninfo(database_url, options=f"-c search_path={schema}"), schema, database_url
    )
    try:
        yield made
    finally:
        made.drop()


async def tenants_on(url: str) -> Tenants:
    await bootstrap(url)
    return Tenants(
        url=url,
        north=bearer(create_api_key(url, NORTH, "owner", "north owner")),
        south=bearer(create_api_key(url, SOUTH, "owner", "south owner")),
        north_auditor=bearer(create_api_key(url, NORTH, "auditor", "north auditor")),
    )


async def client_on(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client


def problem_fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body.get("errors", [])]
