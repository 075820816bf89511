"""The end of a store's day for the scheduler: expire, then close from the books what no
person closed. Plain functions over the event store; the caller says which items
(``projections.models.inventory_queries.items_held`` lists those the books hold)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Final

from commands.handlers import handle
from commands.runtime import CommandResult, EventStoreLike
from commands.types import CloseDayFromBooks, ExpireStock
from domain.access import Actor
from domain.events.organisation import Role

#: Who the automatic close is recorded as (``DayClosed.automatic`` flags it too).
SCHEDULER: Final = Actor(user_id="day-close-scheduler", role=Role.OWNER)


async def expire_lots(
    store: EventStoreLike,
    *,
    tenant_id: str,
    store_id: str,
    item_ids: Sequence[str],
    as_of: datetime | None = None,
) -> CommandResult:
    """The clock tick: lots whose expiry is before the store-local day of ``as_of`` leave."""
    tick = as_of or datetime.now(UTC)
    command = ExpireStock(store_id=store_id, as_of=tick, item_ids=tuple(item_ids))
    return await handle(command, store, tenant_id=tenant_id, actor=SCHEDULER, now=tick)


async def close_day_from_books(
    store: EventStoreLike,
    *,
    tenant_id: str,
    store_id: str,
    day: date,
    item_ids: Sequence[str],
    now: datetime | None = None,
) -> CommandResult:
    """Close ``day`` for every listed item a person has not closed (idempotent)."""
    command = CloseDayFromBooks(store_id=store_id, day=day, item_ids=tuple(item_ids))
    return await handle(command, store, tenant_id=tenant_id, actor=SCHEDULER, now=now)
