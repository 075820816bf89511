"""End to end on a node's components: a command → the event store → relay → JetStream →
the alerts projector → the notifier → a signed webhook, within a few seconds."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from eventually import eventually
from notify_kit import OWNER, SECRET, Receiver, sql

from commands.handlers import handle
from commands.types import (
    AddWebhookChannel,
    CreateTenant,
    OpenStore,
    RecordTemperature,
    RegisterEquipment,
)
from commands.types.base import Command
from domain.events.organisation import StoreKind, TenantKind
from domain.notify_sign import verify
from projections.models import AlertsModel
from projections.runtime import Projector
from streams.notify.transport import SmtpConfig
from streams.notify.worker import Notifier
from streams.relay import Relay
from streams.store import EventStore

T = "forn-sant-joan"


async def test_a_temperature_breach_reaches_the_webhook_once_within_seconds(
    pg_store: EventStore, pg_url: str, nats_url: str
) -> None:
    async def run(*commands: Command) -> None:
        for command in commands:
            await handle(command, pg_store, tenant_id=T, actor=OWNER)

    with Receiver().serving() as hook:
        await run(
            CreateTenant(name="Forn Sant Joan", kind=TenantKind.SINGLE_SHOP),
            OpenStore(
                store_id="born", name="Born", kind=StoreKind.OUTLET,
                timezone="Europe/Madrid", region="ES-CT",
            ),
            RegisterEquipment(
                equipment_id="fridge-1", store_id="born", name="Cream fridge", kind="fridge",
                maintenance_interval_days=90, min_celsius=Decimal(0), max_celsius=Decimal(5),
            ),
            AddWebhookChannel(channel_id="ops", url=hook.url, secret=SECRET),
        )  # fmt: skip
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(Relay(pg_store, nats_url).run(stop)),
            asyncio.create_task(Projector(pg_url, nats_url, [AlertsModel()]).run(stop)),
            asyncio.create_task(Notifier(pg_url, SmtpConfig(), interval=0.2).run(stop)),
        ]
        try:
            started = time.monotonic()
            await run(RecordTemperature(equipment_id="fridge-1", celsius=Decimal("9.5")))
            await eventually(lambda: len(hook.got) == 1, timeout=30)
            latency = time.monotonic() - started
            await run(RecordTemperature(equipment_id="fridge-1", celsius=Decimal(3)))
            await eventually(lambda: _resolved(pg_url), timeout=30)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    got = hook.got[0]
    assert verify(
        SECRET, got.headers["X-Obrador-Timestamp"], got.headers["X-Obrador-Signature"],
        got.body, now=time.time(),
    )  # fmt: skip
    assert b'"type":"temperature"' in got.body and b"9.5" in got.body
    assert len(hook.got) == 1  # auto-resolved: nothing more to tell
    assert latency < 10, f"{latency:.2f} s from the breach to the webhook"
    print(f"breach -> webhook: {latency:.2f} s")


async def _resolved(pg_url: str) -> bool:
    rows = await sql(pg_url, "SELECT status FROM rm_alerts WHERE type = 'temperature'")
    return [r[0] for r in rows] == ["resolved"]
