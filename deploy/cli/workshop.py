"""``obrador workshop declare|orders`` and ``obrador product batching``: the chain's plan.

A workshop bakes for the stores it serves: the nightly publish then suggests one
order per workshop, product and day, with the transfer plan per store
(``forecasting.ops.workshop``, ADR 0021). A product's batch size and minimum
run round every planned order (``forecasting.plan.round_to_run``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from deploy.cli.common import emit, fail, json_option, tenant_option, with_stack
from deploy.stack import StackUrls

if TYPE_CHECKING:
    from commands.types import Command

OWNER_ID = "cli"


async def _as_owner(database_url: str, tenant: str, command: Command) -> bool | str:
    """Run ``command`` as the CLI's owner: whether it appended anything, or why it was refused."""
    from commands.handlers import handle
    from domain.access import Actor
    from domain.errors import DomainError
    from domain.events.organisation import Role
    from streams.store import EventStore

    async with await EventStore.open(database_url) as events:
        try:
            result = await handle(
                command, events, tenant_id=tenant, actor=Actor(user_id=OWNER_ID, role=Role.OWNER)
            )
        except DomainError as refused:
            return f"refused: {refused.field}: {refused.reason}"
    return any(not a.duplicate for a in result.appended)


@click.group("workshop")
def workshop() -> None:
    """Central workshops: which stores each bakes for, and their planned orders."""


@workshop.command("declare")
@tenant_option()
@click.option("--store", required=True, metavar="STORE", help="the store that bakes")
@click.option(
    "--serves", required=True, metavar="STORE,...", help="the stores it bakes for (itself too)"
)
@click.option(
    "--top-up/--no-top-up",
    default=True,
    show_default=True,
    help="a midday run sends what was kept back to the stores running short",
)
@json_option
@with_stack(nats=False, quiet=True)
async def declare(
    urls: StackUrls, *, tenant: str, store: str, serves: str, top_up: bool, as_json: bool
) -> int:
    """Declare that STORE bakes for the --serves stores (replaces its earlier list)."""
    from commands.types import DeclareWorkshop

    stores = tuple(s.strip() for s in serves.split(",") if s.strip())
    changed = await _as_owner(
        urls.database_url, tenant, DeclareWorkshop(store_id=store, serves=stores, top_up=top_up)
    )
    if isinstance(changed, str):
        return fail(changed)
    emit(
        {"workshop": store, "serves": list(stores), "top_up": top_up, "changed": changed},
        as_json,
        f"workshop {store} bakes for {', '.join(stores)}"
        + ("" if top_up else " (no midday top-up run)")
        + ("" if changed else " (as already declared)"),
    )
    return 0


@workshop.command("orders")
@tenant_option()
@click.option("--store", metavar="STORE", help="orders of this workshop or sending to this store")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="production day (default: all)")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
@with_stack(nats=False, quiet=True)
async def orders(
    urls: StackUrls,
    *,
    tenant: str,
    store: str | None,
    day: dt.datetime | None,
    limit: int,
    as_json: bool,
) -> int:
    """The workshop orders (read model) with their transfer plan, latest day first."""
    import psycopg

    from read_api.workshops import workshop_orders

    on = day.date() if day else None
    async with await psycopg.AsyncConnection.connect(urls.database_url) as conn:
        rows = await workshop_orders(
            conn, tenant, store=store, sku=None, first=on, last=on, limit=limit, after=None
        )
    found: list[dict[str, Any]] = [
        {
            "order_id": r.order_id,
            "workshop_id": r.workshop_id,
            "sku": r.sku,
            "production_date": r.production_date.isoformat(),
            "quantity": str(r.quantity),
            "reserve": str(r.reserve),
            "status": r.status,
            "transfers": {t.store_id: str(t.quantity) for t in r.transfers[:limit]},
        }
        for r in rows[:limit]
    ]
    emit(
        found,
        as_json,
        lambda: (
            "\n".join(
                f"{o['production_date']} {o['workshop_id']}/{o['sku']}: bake {o['quantity']} "
                f"({o['status']}, {o['order_id']}); "
                + ", ".join(f"{s} {q}" for s, q in o["transfers"].items())
                + f"; {o['reserve']} kept for the midday top-up"
                for o in found
            )
            or "no workshop orders"
        ),
    )
    return 0


@click.group("product")
def product() -> None:
    """The catalogue's products: how each is baked."""


@product.command("batching")
@tenant_option()
@click.option("--sku", required=True, metavar="SKU")
@click.option("--batch-size", type=int, required=True, help="units one run bakes")
@click.option("--minimum", type=int, default=0, show_default=True, help="fewest units a run")
@json_option
@with_stack(nats=False, quiet=True)
async def batching(
    urls: StackUrls, *, tenant: str, sku: str, batch_size: int, minimum: int, as_json: bool
) -> int:
    """Set SKU's batch size and minimum run: planned orders are rounded by them."""
    from commands.types import SetProductBatching

    changed = await _as_owner(
        urls.database_url,
        tenant,
        SetProductBatching(sku=sku, batch_size=batch_size, minimum_batch=minimum),
    )
    if isinstance(changed, str):
        return fail(changed)
    emit(
        {"sku": sku, "batch_size": batch_size, "minimum_batch": minimum, "changed": changed},
        as_json,
        f"{sku}: batches of {batch_size}, at least {minimum} a run"
        + ("" if changed else " (unchanged)"),
    )
    return 0


COMMANDS = [workshop, product]
