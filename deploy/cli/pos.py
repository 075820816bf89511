"""``obrador ingest`` and ``obrador pos …``: POS devices, ticket replay, ingest status."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import click

from deploy.cli.common import emit, fail, json_option, store_option, tenant_option, with_stack
from deploy.stack import StackUrls


@click.command()
@click.option("--batch", type=int, default=64, show_default=True, help="tickets fetched per pull")
@with_stack()
def ingest(urls: StackUrls, batch: int) -> None:
    """Run the POS ingest alone (JetStream → commands) until Ctrl-C."""
    import asyncio

    from commands.pos.service import serve_ingest
    from deploy.supervisor import Component, Supervisor

    async def run(stop: asyncio.Event) -> None:
        processor = await serve_ingest(
            urls.database_url, urls.nats_url, stop=stop, batch_size=batch
        )
        print(f"ingest stopped: {processor.counters}")

    print(f"ingest: pos.*.*.sales on {urls.nats_url} → {urls.database_url}", flush=True)
    asyncio.run(Supervisor([Component("ingest", run)]).run())


@click.group()
def pos() -> None:
    """POS devices, ticket replay, ingest status, AsyncAPI."""


@pos.command("register-device")
@tenant_option()
@store_option(required=True, help="the store the till sells in")
@click.argument("device")
@with_stack(nats=False)
async def register_device(urls: StackUrls, tenant: str, store: str, device: str) -> None:
    """Register a till; prints its token once."""
    from commands.pos.devices import DeviceRegistry
    from commands.pos.devices import register_device as register
    from deploy.cli.tenant import require_tenant
    from domain.access import Actor
    from domain.events.organisation import Role
    from streams.store import EventStore

    require_tenant(urls.database_url, tenant)
    async with await EventStore.open(urls.database_url) as events:
        token = await register(
            events,
            DeviceRegistry(events.pool),
            tenant_id=tenant,
            store_id=store,
            device_id=device,
            actor=Actor(user_id="cli", role=Role.OWNER),
        )
    print(token)
    print(
        f"device {device} of {tenant}/{store}: this token is shown once; publish"
        f" with header Obrador-Device-Token to pos.{tenant}.{store}.sales",
        file=sys.stderr,
    )


@pos.command("revoke-device")
@tenant_option()
@click.argument("device")
@with_stack(nats=False)
async def revoke_device(urls: StackUrls, tenant: str, device: str) -> int:
    """The device's token stops working."""
    from commands.pos.devices import DeviceRegistry
    from streams.store import EventStore

    async with await EventStore.open(urls.database_url) as events:
        done = await DeviceRegistry(events.pool).revoke(tenant, device)
    print("revoked" if done else f"no active device {device!r} in {tenant!r}")
    return 0 if done else 1


@pos.command()
@tenant_option()
@json_option
@with_stack(nats=False, quiet=True)
async def devices(urls: StackUrls, tenant: str, as_json: bool) -> None:
    """A tenant's devices."""
    from commands.pos.devices import DeviceRegistry
    from deploy.cli.tenant import require_tenant
    from streams.store import EventStore

    require_tenant(urls.database_url, tenant)
    async with await EventStore.open(urls.database_url) as events:
        rows = await DeviceRegistry(events.pool).list(tenant)
    emit(
        [{"device": d, "store": s, "active": a} for d, s, a in rows],
        as_json,
        lambda: "\n".join(f"{d:24} {s:16} {'active' if a else 'revoked'}" for d, s, a in rows),
    )


@pos.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_option()
@store_option(required=True)
@click.option(
    "--token",
    envvar="OBRADOR_DEVICE_TOKEN",
    help="device token (default: $OBRADOR_DEVICE_TOKEN)",
)
@click.option("--rate", type=float, help="tickets per second (default: as fast as acks)")
def replay(file: Path, tenant: str, store: str, token: str | None, rate: float | None) -> int:
    """Publish a CSV of tickets as a till would."""
    if not token:
        return fail("a device token is needed: --token or $OBRADOR_DEVICE_TOKEN", 2)
    return _replay(file=file, tenant=tenant, store=store, token=token, rate=rate)


@with_stack()
async def _replay(
    urls: StackUrls, *, file: Path, tenant: str, store: str, token: str, rate: float | None
) -> None:
    from commands.pos.replay import replay as publish

    result = await publish(
        urls.nats_url, file, tenant_id=tenant, store_id=store, token=token, rate=rate
    )
    print(
        f"{result.published} tickets published to pos.{tenant}.{store}.sales"
        f" in {result.seconds:.1f}s ({result.duplicates} dropped as resends by JetStream)"
    )


@pos.command()
@json_option
@with_stack(quiet=True)
async def status(urls: StackUrls, as_json: bool) -> None:
    """Tickets received, ingest lag, dead letters, sales of unknown items."""
    from commands.pos.status import pos_status

    report = await pos_status(urls.nats_url)
    report["unknown_item_sales"] = await _unknown_sales(urls.database_url)
    emit(report, as_json, lambda: _status_text(report))


async def _unknown_sales(database_url: str) -> dict[str, object]:
    """Ticket lines of items the catalogue did not know when sold (inventory read model),
    each marked with whether the catalogue knows the item now."""
    import psycopg

    from domain.streams import product_stream
    from projections.models.inventory_queries import unknown_sales_everywhere
    from streams.store import EventStore

    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        found = await unknown_sales_everywhere(conn)
    by: dict[str, dict[str, object]] = {}
    async with await EventStore.open(database_url, min_size=1, max_size=2) as store:
        for tenant in sorted({row[0] for row in found}):
            mine = [row for row in found if row[0] == tenant]
            known = await store.existing_streams(tenant, {product_stream(r[2]) for r in mine})
            for _, store_id, item_id, units, tickets in mine:
                by[f"{tenant}/{store_id}/{item_id}"] = {
                    "units": units,
                    "tickets": tickets,
                    "defined_since": product_stream(item_id) in known,
                }
    return {
        "units": sum((row[3] for row in found), Decimal(0)),
        "tickets": sum(row[4] for row in found),
        "by_store_and_item": by,
    }


def _status_text(status: dict[str, object]) -> str:
    lines = [f"tickets received   {status['tickets_received']}"]
    ingest = status["ingest"]
    if not isinstance(ingest, dict):
        lines.append("ingest             never started")
    else:
        lines.append(
            f"ingest             waiting {ingest['waiting']}, in progress"
            f" {ingest['in_progress']}, redelivered {ingest['redelivered']}"
        )
    dead = status["dead_letters"]
    assert isinstance(dead, dict)
    lines.append(f"dead letters       {dead['total']}")
    lines.extend(f"  {key:40} {count}" for key, count in dead["by_store_and_rule"].items())
    unknown = status["unknown_item_sales"]
    assert isinstance(unknown, dict)
    lines.append(
        f"unknown-item sales {unknown['units']} units in {unknown['tickets']} ticket lines"
    )
    for key, row in unknown["by_store_and_item"].items():
        since = "  (in the catalogue now: count the shelf)" if row["defined_since"] else ""
        lines.append(f"  {key:40} {row['units']} units, {row['tickets']} tickets{since}")
    return "\n".join(lines)


@pos.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="default: stdout")
@click.option("--server", default="nats://localhost:4222", show_default=True)
def asyncapi(out: Path | None, server: str) -> None:
    """The AsyncAPI 3.0 document of the POS ingest."""
    from commands.pos.asyncapi import asyncapi_document

    text = json.dumps(asyncapi_document(server), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")


COMMANDS = [ingest, pos]
