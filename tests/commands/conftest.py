"""Helpers for handler tests: a fresh tenant, actors, and a one-line way to run a command."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from commands.handlers import handle
from commands.runtime import CommandResult, EventStoreLike
from commands.types import Command, CreateTenant, DefineProduct, OpenStore
from domain.access import Actor
from domain.codec import decode_event
from domain.events import Event
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.stock import StockState
from domain.stock import fold as fold_stock
from streams.memory import InMemoryEventStore
from streams.store import EventStore

Store = EventStore | InMemoryEventStore
Run = Callable[..., Awaitable[CommandResult]]
AT = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)
OWNER = Actor(user_id="olga", role=Role.OWNER)


@pytest.fixture
def tenant() -> str:
    return f"bakery-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def run(any_store: Store, tenant: str) -> Run:
    """``await run(command, actor=...)``: the same handle() the API will call."""

    async def run_command(command: Command, actor: Actor = OWNER) -> CommandResult:
        return await handle(command, any_store, tenant_id=tenant, actor=actor, now=AT)

    return run_command


async def events_of(store: EventStoreLike, tenant: str, stream_id: str) -> list[Event]:
    records = await store.read_stream(tenant, stream_id)
    return [decode_event(r.event_type, r.schema_version, r.payload) for r in records]


async def stock_of(store: EventStoreLike, tenant: str, store_id: str, item: str) -> StockState:
    return fold_stock(await events_of(store, tenant, f"stock-{store_id}-{item}"))


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
