"""A day planned again (after a rollback or a new promotion) replaces the earlier plan.

Plan ids name the model version(s) that made them, so the new plan is a new
order. The earlier plan orders of the same producing store, product and day
are found by stream id prefix in the event store (no read model: nothing to
wait for) and checked by their own events. One still only *suggested* is
withdrawn — cancelled with a reason naming its successor, by the planning
system acting as production manager (a planner may suggest, not cancel). One a
person already confirmed, started or completed is in hand: then nothing new is
suggested, and the result says why. Nor when the new plan's own id was withdrawn
before (v2, rolled back to v1, promoted again): the day keeps the v1 plan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from commands.handlers import handle
from commands.types import CancelManufacturingOrder
from domain import production
from domain.access import Actor
from domain.codec import decode_event
from domain.events.organisation import Role
from domain.production import OrderStatus
from streams.store import EventStore

#: The planning system withdrawing its own superseded suggestions.
WITHDRAW_ACTOR = Actor(user_id="forecast-scheduler", role=Role.PRODUCTION_MANAGER)
_IN_HAND = (OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS, OrderStatus.COMPLETED)


@dataclass(frozen=True)
class EarlierPlans:
    suggested: list[str]  # order ids to withdraw
    acted_on: list[str]  # order ids a person confirmed, started or completed
    #: the new plan's own id was cancelled before (planned, withdrawn, now planned again):
    #: an idempotent suggestion would not bring it back, so the day keeps its other plan
    withdrawn_before: bool = False

    def blocking(self, order_id: str) -> str | None:
        """Why ``order_id`` is not to be suggested now (None: suggest it)."""
        if self.acted_on:
            return f"not re-suggested: {', '.join(self.acted_on)} already in hand"
        if self.withdrawn_before:
            return f"not re-suggested: {order_id} was withdrawn before"
        return None


async def plan_orders_of_day(
    store: EventStore,
    tenant_id: str,
    *,
    prefix: str,
    producing_store_id: str,
    sku: str,
    day: dt.date,
    keep: str,
) -> EarlierPlans:
    """Plan orders (streams starting with ``prefix``) of the same store, product and day."""
    suggested: list[str] = []
    acted_on: list[str] = []
    withdrawn_before = False
    for stream_id in await store.stream_ids(tenant_id, prefix=prefix):
        records = await store.read_stream(tenant_id, stream_id)
        state = production.fold(
            decode_event(r.event_type, r.schema_version, r.payload) for r in records
        )
        same = (state.producing_store_id, state.sku, state.production_date) == (
            producing_store_id,
            sku,
            day,
        )
        if not same:
            continue
        if state.order_id == keep:
            withdrawn_before = state.status is OrderStatus.CANCELLED
            continue
        if state.status is OrderStatus.SUGGESTED:
            suggested.append(state.order_id)
        elif state.status in _IN_HAND:
            acted_on.append(state.order_id)
    return EarlierPlans(suggested, acted_on, withdrawn_before)


async def withdraw(store: EventStore, tenant_id: str, order_ids: list[str], by: str) -> None:
    """Cancel each superseded suggestion, naming the order that replaces it (idempotent)."""
    for order_id in order_ids:
        await handle(
            CancelManufacturingOrder(
                order_id=order_id,
                reason=f"superseded by plan {by}",
                idempotency_key=f"superseded:{order_id}:{by}",
            ),
            store,
            tenant_id=tenant_id,
            actor=WITHDRAW_ACTOR,
        )
