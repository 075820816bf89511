"""POS ingest against a real nats-server (JetStream) and a real PostgreSQL store."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from commands.handlers import handle
from commands.pos.devices import DeviceRegistry, register_device
from commands.pos.ingest import (
    DLQ_STREAM_NAME,
    DURABLE,
    H_DLQ_FIELD,
    H_DLQ_REASON,
    H_DLQ_RULE,
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
from streams.store import EventStore

OWNER = Actor(user_id="olga", role=Role.OWNER)


@dataclass
class Pos:
    tenant: str
    store: EventStore
    js: JetStreamContext
    processor: TicketProcessor
    tokens: dict[str, str]

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
        records = await self.store.read_stream(self.tenant, f"sale-{store_id}-{txn}")
        events = [decode_event(r.event_type, r.schema_version, r.payload) for r in records]
        return [e for e in events if isinstance(e, SaleRecorded)]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


def ticket(txn: str, **changes: Any) -> bytes:
    body: dict[str, Any] = {
        "schema_version": 1,
        "pos_txn_id": txn,
        "sold_at": "2026-01-05T08:15:00+01:00",
        "channel": "counter",
        "lines": [
            {"sku": "baguette", "quantity": "2", "unit_price": "1.20"},
            {"sku": "croissant", "quantity": 1, "unit_price": "1.50", "discount": "0.25"},
        ],
    }
    body.update(changes)
    return json.dumps(body).encode()


@pytest.fixture
async def pos(pg_url: str, nats_url: str) -> AsyncIterator[Pos]:
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
    task = asyncio.create_task(serve_ingest(pg_url, nats_url, stop=stop, ready=ready.set_result))
    processor = await asyncio.wait_for(asyncio.shield(ready), 30)
    nc: Client = await nats.connect(nats_url)
    try:
        yield Pos(tenant, store, nc.jetstream(), processor, tokens)
    finally:
        await nc.close()
        stop.set()
        await asyncio.wait_for(task, 30)
        await store.close()


async def test_a_valid_ticket_is_recorded_as_a_sale_of_the_subjects_store(pos: Pos) -> None:
    await pos.publish("born", ticket("T-1"), pos.tokens["born"])
    await pos.settled()
    (sale,) = await pos.sales("born", "T-1")
    assert sale.store_id == "born" and sale.device_id == "till-born"
    assert str(sale.total) == "3.65" and sale.source.value == "pos"
    assert pos.processor.counters.accepted == 1


async def test_a_resent_ticket_is_stored_once(pos: Pos) -> None:
    for _ in range(3):
        await pos.publish("born", ticket("T-2"), pos.tokens["born"])
    await pos.settled()
    assert len(await pos.sales("born", "T-2")) == 1
    counters = pos.processor.counters
    assert counters.accepted == 1 and counters.duplicates == 2
    assert not counters.dead_lettered


async def test_a_malformed_ticket_goes_to_the_dead_letters_with_field_and_rule(
    pos: Pos,
) -> None:
    bad = ticket("T-3", lines=[{"sku": "baguette", "quantity": "lots", "unit_price": "1.20"}])
    await pos.publish("born", bad, pos.tokens["born"], Trace="abc")
    await pos.publish("born", b"{not json", pos.tokens["born"])
    await pos.publish("born", ticket("T-4", lines=[]), pos.tokens["born"])
    letters = await pos.dead_letters(3)
    by_field = {m.headers[H_DLQ_FIELD]: m for m in letters}
    assert set(by_field) == {"lines[0].quantity", "$", "lines"}
    quantity = by_field["lines[0].quantity"]
    assert quantity.data == bad  # the original body, byte for byte
    assert quantity.headers[H_DLQ_RULE] == "invalid_command"
    assert quantity.headers["Trace"] == "abc"
    assert H_TOKEN not in quantity.headers  # the credential is not copied
    assert by_field["lines"].headers[H_DLQ_RULE] == "invalid_value"
    assert "at least one line" in by_field["lines"].headers[H_DLQ_REASON]
    await pos.settled()
    assert await pos.sales("born", "T-3") == []
    assert sum(pos.processor.counters.dead_lettered.values()) == 3


async def test_an_unknown_or_missing_token_is_dead_lettered_not_recorded(pos: Pos) -> None:
    await pos.publish("born", ticket("T-5"), "obrpos_forged")
    await pos.publish("born", ticket("T-6"), None)
    letters = await pos.dead_letters(2)
    rules = sorted(m.headers[H_DLQ_RULE] for m in letters)
    assert rules == ["token_missing", "token_unknown"]
    assert {m.headers[H_DLQ_FIELD] for m in letters} == {H_TOKEN}
    await pos.settled()
    assert await pos.sales("born", "T-5") == [] and await pos.sales("born", "T-6") == []


async def test_a_device_publishing_for_another_store_or_tenant_is_refused(pos: Pos) -> None:
    await pos.publish("gracia", ticket("T-7"), pos.tokens["born"])
    await pos.js.publish(
        sales_subject("someone-else", "born"), ticket("T-8"), headers={H_TOKEN: pos.tokens["born"]}
    )
    await pos.publish("born", ticket("T-9", store_id="gracia"), pos.tokens["born"])
    letters = await pos.dead_letters(2)
    rules = sorted(m.headers[H_DLQ_RULE] for m in letters)
    assert rules == ["invalid_command", "store_mismatch"]
    others = await pos.js.pull_subscribe(
        dlq_subject("someone-else", "born", "tenant_mismatch"), stream=DLQ_STREAM_NAME
    )
    (foreign,) = await others.fetch(1, timeout=10)
    assert (foreign.headers or {})[H_DLQ_RULE] == "tenant_mismatch"
    await pos.settled()
    assert await pos.sales("gracia", "T-7") == [] and await pos.sales("born", "T-9") == []
