"""The scheduler's store jobs: the automatic day close, lot expiry and the alerts' clock tick.

Each job takes ``now`` as an argument (the scheduler passes the wall clock, tests an
instant of their choosing) and walks every open store of every tenant, in the store's
time zone. Re-running a job writes nothing twice: a day an item was closed for is
left alone (``DayClosed`` is in its stock stream), an expired lot is empty, and a
clock tick carries the idempotency key of its instant. Which items a store holds is
read from the event store (stock streams of catalogue items), not from a read model,
so a job never misses what the projector has not caught up with yet.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from commands.day_close import close_day_from_books, expire_lots
from commands.handlers.alerts import tick_now
from commands.runtime import CommandResult
from domain import organisation
from domain.codec import decode_event
from domain.errors import DomainError
from domain.streams import TENANT_STREAM, stock_stream
from streams.store import EventStore

log = logging.getLogger("obrador.jobs")

_CATALOGUE_PREFIXES = ("product-", "ingredient-")


@dataclass(frozen=True)
class OpenStore:
    tenant_id: str
    store_id: str
    timezone: str


@dataclass
class JobReport:
    """What one run did: commands that wrote something, items touched, stores refused."""

    stores: int = 0
    written: int = 0  # streams that got new events in this run
    problems: list[str] | None = None

    def add(self, result: CommandResult) -> None:
        self.written += sum(1 for a in result.appended if not a.duplicate)

    def refuse(self, where: str, problem: DomainError) -> None:
        self.problems = [*(self.problems or []), f"{where}: {problem.field}: {problem.reason}"]
        log.warning("%s: %s: %s", where, problem.field, problem.reason)


async def tenants(store: EventStore) -> list[str]:
    """Every tenant that has been created (has its own stream)."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT tenant_id FROM streams WHERE stream_id = %s ORDER BY tenant_id",
            (TENANT_STREAM,),
        )
        return [str(row[0]) for row in await cur.fetchall()]


async def open_stores(store: EventStore, timezone: str | None = None) -> list[OpenStore]:
    """The open stores of every tenant (only those in ``timezone`` when given)."""
    found: list[OpenStore] = []
    for tenant_id in await tenants(store):
        records = await store.read_stream(tenant_id, TENANT_STREAM)
        state = organisation.fold(
            decode_event(r.event_type, r.schema_version, r.payload) for r in records
        )
        for store_id in sorted(state.open_store_ids()):
            zone = state.stores[store_id].timezone
            if timezone is None or zone == timezone:
                found.append(OpenStore(tenant_id, store_id, zone))
    return found


async def items_stocked(store: EventStore, tenant_id: str, store_id: str) -> list[str]:
    """Catalogue items (products, ingredients) with a stock stream at ``store_id``."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT stream_id FROM streams WHERE tenant_id = %s"
            " AND (stream_id LIKE 'product-%%' OR stream_id LIKE 'ingredient-%%')",
            (tenant_id,),
        )
        catalogue = {
            str(row[0]).removeprefix(prefix)
            for row in await cur.fetchall()
            for prefix in _CATALOGUE_PREFIXES
            if str(row[0]).startswith(prefix)
        }
    wanted = {stock_stream(store_id, item): item for item in catalogue}
    held = await store.existing_streams(tenant_id, wanted)
    return sorted(wanted[stream] for stream in held)


def closing_day(now: datetime, timezone: str, close_at: time) -> date:
    """The store-local day a close run at ``now`` closes: today once ``close_at`` has
    passed, else yesterday (a run delayed past midnight still closes the day that ended)."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date() if local.time() >= close_at else local.date() - timedelta(days=1)


StoreJob = Callable[[EventStore, OpenStore, list[str]], Awaitable[CommandResult]]


async def _each_store(store: EventStore, timezone: str | None, job: StoreJob) -> JobReport:
    report = JobReport()
    for shop in await open_stores(store, timezone):
        report.stores += 1
        items = await items_stocked(store, shop.tenant_id, shop.store_id)
        if not items:
            continue
        try:
            report.add(await job(store, shop, items))
        except DomainError as refused:
            report.refuse(f"{shop.tenant_id}/{shop.store_id}", refused)
    return report


async def close_days(
    store: EventStore, now: datetime, *, close_at: time, timezone: str | None = None
) -> JobReport:
    """The automatic close from the books of every store's day (items a person closed stay)."""

    async def close(store: EventStore, shop: OpenStore, items: list[str]) -> CommandResult:
        return await close_day_from_books(
            store,
            tenant_id=shop.tenant_id,
            store_id=shop.store_id,
            day=closing_day(now, shop.timezone, close_at),
            item_ids=items,
            now=now,
        )

    return await _each_store(store, timezone, close)


async def expire_stores(
    store: EventStore, now: datetime, *, timezone: str | None = None
) -> JobReport:
    """Lots whose expiry day has passed (store-local) leave the books of every store."""

    async def expire(store: EventStore, shop: OpenStore, items: list[str]) -> CommandResult:
        return await expire_lots(
            store, tenant_id=shop.tenant_id, store_id=shop.store_id, item_ids=items, as_of=now
        )

    return await _each_store(store, timezone, expire)


async def tick_tenants(store: EventStore, now: datetime) -> JobReport:
    """The alerts' clock: one tick per tenant at the hour of ``now`` (idempotent per hour)."""
    report = JobReport()
    hour = now.replace(minute=0, second=0, microsecond=0)
    for tenant_id in await tenants(store):
        report.stores += 1
        try:
            report.add(await tick_now(store, tenant_id, hour))
        except DomainError as refused:
            report.refuse(tenant_id, refused)
    return report
