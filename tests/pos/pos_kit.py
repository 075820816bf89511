"""Shared pieces of the POS tests: a tenant with two stores and tills, the ingest running."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from commands.handlers import handle
from commands.pos.devices import DeviceRegistry, register_device
from commands.pos.ingest import (
    DLQ_STREAM_NAME,
    DURABLE,
    POS_STREAM_NAME,
    TicketProcessor,
)
from commands.pos.schema import H_TOKEN, dlq_subject, sales_subject
from commands.pos.service import serve_ingest
from commands.types import CreateTenant, OpenStore
from domain.access import Actor
from domain.codec import decode_event
from domain.events import SaleRecorded
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.streams import sale_stream
from streams.store import EventStore

OWNER = Actor(user_id="olga", role=Role.OWNER)


@dataclass
class Pos:
    tenant: str
    store: EventStore
    js: JetStreamContext
    processor: TicketProcessor
    tokens: dict[str, str]
    nats_url: str
    ingest: asyncio.Task[TicketProcessor]
    stop: asyncio.Event

    async def publish(self, store_id: str, body: bytes, token: str | None, **extra: str) -> None:
        headers = {H_TOKEN: token} if token is not None else {}
        headers.update(extra)
        await self.js.publish(sales_subject(self.tenant, store_id), body, headers=headers)

    async def settled(self, timeout: float = 15.0) -> None:
        """Every published ticket has been acked by the ingest."""
        stream = await self.js.stream_info(POS_STREAM_NAME)

        async def done() -> bool:
            info = await self.js.consumer_info(POS_STREAM_NAME, DURABLE)
            return bool(
                info.num_pending == 0
                and info.num_ack_pending == 0
                and info.delivered.stream_seq >= stream.state.last_seq
            )

        await eventually(done, timeout)

    async def dead_letters(self, count: int, timeout: float = 15.0) -> list[Any]:
        sub = await self.js.pull_subscribe(
            dlq_subject(self.tenant, "*", "*"), stream=DLQ_STREAM_NAME
        )
        messages: list[Any] = []
        async with asyncio.timeout(timeout):
            while len(messages) < count:
                messages.extend(await sub.fetch(count - len(messages), timeout=timeout))
        await sub.unsubscribe()
        return messages

    async def sales(self, store_id: str, txn: str) -> list[SaleRecorded]:
        records = await self.store.read_stream(self.tenant, sale_stream(store_id, txn))
        events = [decode_event(r.event_type, r.schema_version, r.payload) for r in records]
        return [e for e in events if isinstance(e, SaleRecorded)]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


def recent(hours: float = 1.0) -> str:
    """A ``sold_at`` inside the live window: ``hours`` before now, in Madrid's offset."""
    when = datetime.now(UTC) - timedelta(hours=hours)
    return when.astimezone(timezone(timedelta(hours=1))).isoformat(timespec="seconds")


def ticket(txn: str, **changes: Any) -> bytes:
    body: dict[str, Any] = {
        "schema_version": 1,
        "pos_txn_id": txn,
        "sold_at": recent(),
        "channel": "counter",
        "lines": [
            {"sku": "baguette", "quantity": "2", "unit_price": "1.20"},
            {"sku": "croissant", "quantity": 1, "unit_price": "1.50", "discount": "0.25"},
        ],
    }
    body.update(changes)
    return json.dumps(body).encode()


@contextlib.asynccontextmanager
async def running_pos(
    pg_url: str, nats_url: str, *, ingest_url: str | None = None
) -> AsyncIterator[Pos]:
    """A tenant with stores born and gracia, a till registered in each, the ingest running.

    ``ingest_url``: where the ingest connects (a proxy in front of ``nats_url``).
    """
    tenant = f"forn-{uuid.uuid4().hex[:8]}"
    store = await EventStore.open(pg_url)
    await handle(
        CreateTenant(name="Forn", kind=TenantKind.CHAIN), store, tenant_id=tenant, actor=OWNER
    )
    for store_id in ("born", "gracia"):
        await handle(
            OpenStore(
                store_id=store_id,
                name=store_id,
                kind=StoreKind.OUTLET,
                timezone="Europe/Madrid",
                region="ES-CT",
            ),
            store,
            tenant_id=tenant,
            actor=OWNER,
        )
    registry = DeviceRegistry(store.pool)
    tokens = {
        s: await register_device(
            store, registry, tenant_id=tenant, store_id=s, device_id=f"till-{s}", actor=OWNER
        )
        for s in ("born", "gracia")
    }
    ready: asyncio.Future[TicketProcessor] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_ingest(pg_url, ingest_url or nats_url, stop=stop, ready=ready.set_result)
    )
    processor = await asyncio.wait_for(asyncio.shield(ready), 30)
    nc: Client = await nats.connect(nats_url)
    try:
        yield Pos(tenant, store, nc.jetstream(), processor, tokens, nats_url, task, stop)
    finally:
        await nc.close()
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, 30)
        await store.close()
