"""``obrador stock close-day|expire``: a store's end of day from the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from deploy.cli.common import emit, fail, json_option, tenant_option, with_stack
from deploy.stack import StackUrls

OUTCOMES = ("waste", "donation", "markdown", "carried", "counted")


@click.group("stock")
def stock() -> None:
    """Stock at the end of the day: expiry and day close."""


@stock.command("close-day")
@tenant_option()
@click.option("--store", required=True, metavar="STORE")
@click.option("--day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="store-local day")
@click.option("--auto", is_flag=True, help="close from the books what no person closed")
@click.option(
    "--line",
    "lines",
    multiple=True,
    metavar="ITEM:FIELD=N,...",
    help="a confirmed close, e.g. baguette:waste=7,donation=3 (fields: "
    + ", ".join(OUTCOMES)
    + ")",
)
@json_option
def close_day(
    *, tenant: str, store: str, day: datetime, auto: bool, lines: tuple[str, ...], as_json: bool
) -> int:
    """Close DAY at STORE: the counted lines given, or (--auto) every item the books hold."""
    if auto == bool(lines):
        return fail("give either --auto or one --line per item counted", 2)
    try:
        parsed = [_line(text) for text in lines]
    except ValueError as exc:
        return fail(f"--line: {exc}", 2)
    return _close(
        tenant=tenant,
        store_id=store,
        day=day.date(),
        lines=parsed if lines else None,
        as_json=as_json,
    )


@stock.command("expire")
@tenant_option()
@click.option("--store", required=True, metavar="STORE")
@click.option("--at", "at", type=click.DateTime(), help="the clock reading in UTC (default: now)")
@json_option
def expire(*, tenant: str, store: str, at: datetime | None, as_json: bool) -> int:
    """Take the lots whose expiry passed out of the books of STORE."""
    return _expire(tenant, store, at and at.replace(tzinfo=at.tzinfo or UTC), as_json)


def _line(text: str) -> dict[str, Any]:
    item, sep, rest = text.partition(":")
    if not sep or not item:
        raise ValueError(f"{text!r} is not ITEM:FIELD=N,...")
    line: dict[str, Any] = {"item_id": item}
    for part in filter(None, rest.split(",")):
        name, _, value = part.partition("=")
        if name not in OUTCOMES:
            raise ValueError(f"{name!r} is not one of {', '.join(OUTCOMES)}")
        try:
            line[name] = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{name}={value!r} is not a number") from None
    return line


@with_stack(nats=False, quiet=True)
async def _close(
    urls: StackUrls,
    *,
    tenant: str,
    store_id: str,
    day: date,
    lines: list[dict[str, Any]] | None,
    as_json: bool,
) -> int:
    from commands.day_close import SCHEDULER, close_day_from_books
    from commands.handlers import handle
    from commands.types import CloseDay, CloseLine
    from domain.errors import DomainError
    from projections.models.inventory_queries import items_held
    from streams.store import EventStore

    async with await EventStore.open(urls.database_url) as store:
        try:
            if lines is None:
                async with store.pool.connection() as conn:
                    items = await items_held(conn, tenant, store_id)
                result = await close_day_from_books(
                    store, tenant_id=tenant, store_id=store_id, day=day, item_ids=items
                )
            else:
                command = CloseDay(
                    store_id=store_id, day=day, lines=tuple(CloseLine(**line) for line in lines)
                )
                result = await handle(command, store, tenant_id=tenant, actor=SCHEDULER)
        except DomainError as refused:
            return fail(f"refused: {refused.field}: {refused.reason}")
    closed = [a.stream_id for a in result.appended if not a.duplicate]
    kind = "automatic" if lines is None else "confirmed"
    emit(
        {"day": day.isoformat(), "kind": kind, "closed": closed},
        as_json,
        f"{kind} close of {store_id} for {day}: {len(closed)} item(s) closed",
    )
    return 0


@with_stack(nats=False, quiet=True)
async def _expire(
    urls: StackUrls, tenant: str, store_id: str, at: datetime | None, as_json: bool
) -> int:
    from commands.day_close import expire_lots
    from domain.errors import DomainError
    from projections.models.inventory_queries import items_held
    from streams.store import EventStore

    async with await EventStore.open(urls.database_url) as store:
        async with store.pool.connection() as conn:
            items = await items_held(conn, tenant, store_id)
        try:
            result = await expire_lots(
                store, tenant_id=tenant, store_id=store_id, item_ids=items, as_of=at
            )
        except DomainError as refused:
            return fail(f"refused: {refused.field}: {refused.reason}")
    expired = [a.stream_id for a in result.appended if not a.duplicate]
    emit({"expired": expired}, as_json, f"{len(expired)} item(s) had expired lots")
    return 0


COMMANDS = [stock]
