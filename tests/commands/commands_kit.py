"""Shared pieces of the handler tests: actors, a chain to start from, stream readers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

from commands.runtime import CommandResult, EventStoreLike
from commands.types import CreateTenant, DefineProduct, OpenStore
from domain.access import Actor
from domain.codec import decode_event
from domain.events import Event
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.stock import StockState
from domain.stock import fold as fold_stock
from domain.streams import stock_stream
from streams.memory import InMemoryEventStore
from streams.store import EventStore

Store = EventStore | InMemoryEventStore
Run = Callable[..., Awaitable[CommandResult]]
AT = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)
OWNER = Actor(user_id="olga", role=Role.OWNER)


async def events_of(store: EventStoreLike, tenant: str, stream_id: str) -> list[Event]:
    records = await store.read_stream(tenant, stream_id)
    return [decode_event(r.event_type, r.schema_version, r.payload) for r in records]


async def stock_of(store: EventStoreLike, tenant: str, store_id: str, item: str) -> StockState:
    return fold_stock(await events_of(store, tenant, stock_stream(store_id, item)))


async def set_up_chain(run: Run) -> None:
    """A chain with a central workshop and one outlet, and a baguette that keeps one day."""
    await run(CreateTenant(name="Forn Sant Joan", kind=TenantKind.CHAIN))
    for store_id, kind in (("central", StoreKind.CENTRAL), ("born", StoreKind.OUTLET)):
        await run(
            OpenStore(
                store_id=store_id,
                name=store_id.title(),
                kind=kind,
                timezone="Europe/Madrid",
                region="ES-CT",
            )
        )
    await run(
        DefineProduct(
            sku="baguette",
            name="Baguette",
            category="bread",
            price=Decimal("1.20"),
            unit_cost=Decimal("0.35"),
            shelf_life_days=1,
        )
    )
