"""The workshop plan of a publish run: one order per workshop, product and day.

The stores a workshop serves publish their forecasts like any other
(``forecasting.ops.publish``) but get no order of their own; their first
day's quantiles and usable stock are gathered here per workshop and product,
planned on the aggregated distribution (``forecasting.workshop_plan``, ADR
0021) with the product's batch size and minimum, and suggested as one
``SuggestWorkshopOrder`` with the transfer plan per store. The order id names
the run's model versions (``wplan-<workshop>-<sku>-<yyyymmdd>-m<digest>``): a
day re-planned after a rollback is a new order, and the earlier suggestion is
withdrawn (``forecasting.ops.supersede``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from commands.handlers import handle
from commands.types import SuggestWorkshopOrder
from domain import workshops
from domain.codec import decode_event
from domain.events.workshops import PlannedTransfer
from domain.streams import (
    WORKSHOPS_STREAM,
    production_order_stream,
    workshop_order_id,
    workshop_plan_key,
)
from forecasting.ops.publish import SYSTEM_ACTOR, PublishResult
from forecasting.ops.readport import weekday_deviations
from forecasting.ops.supersede import plan_orders_of_day, withdraw
from forecasting.ops.terms import ProductTerms, product_terms
from forecasting.plan import Economics
from forecasting.workshop_plan import (
    StoreDemand,
    WorkshopDecision,
    dependence,
    plan_workshop,
)
from streams.store import EventStore

#: Days of history the stores' dependence is read from (eight of each weekday).
DEPENDENCE_DAYS = 56


@dataclass(frozen=True)
class WorkshopResult:
    workshop_id: str
    sku: str
    day: dt.date  # the run day
    production_day: dt.date
    order_id: str | None
    quantity: int
    transfers: dict[str, int]
    order_appended: bool
    reason: str
    reserve: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "workshop_id": self.workshop_id,
            "sku": self.sku,
            "day": self.day.isoformat(),
            "production_day": self.production_day.isoformat(),
            "order_id": self.order_id,
            "quantity": self.quantity,
            "transfers": self.transfers,
            "reserve": self.reserve,
            "order_appended": self.order_appended,
            "reason": self.reason,
        }


async def load_workshops(store: EventStore, tenant_id: str) -> workshops.WorkshopsState:
    records = await store.read_stream(tenant_id, WORKSHOPS_STREAM)
    return workshops.fold(decode_event(r.event_type, r.schema_version, r.payload) for r in records)


def models_tag(versions: Mapping[str, int]) -> str:
    """``m`` + 8 hex digits naming which model version planned each store."""
    text = ",".join(f"{store}:{versions[store]}" for store in sorted(versions))
    return "m" + hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True, order=True)
class _Group:
    workshop_id: str
    sku: str
    production_day: dt.date
    run_day: dt.date


async def plan_workshops(
    store: EventStore,
    conninfo: str,
    tenant_id: str,
    results: list[PublishResult],
    *,
    batch_size: int = 1,
    economics: Economics | None = None,
    top_up: dict[str, bool] | None = None,
) -> list[WorkshopResult]:
    """``top_up``: per workshop, whether it makes a midday run (default: yes)."""
    """Plan and suggest the order of each workshop x product x day among ``results``."""
    groups: dict[_Group, list[PublishResult]] = {}
    for res in results:
        if res.served_by is not None and res.production_day is not None and res.quantiles:
            key = _Group(res.served_by, res.key.sku, res.production_day, res.day)
            groups.setdefault(key, []).append(res)
    planned: list[WorkshopResult] = []
    for group, members in sorted(groups.items()):
        if economics is None:
            terms = await product_terms(store, tenant_id, group.sku)
        else:
            terms = ProductTerms(economics, "given economics")
        members.sort(key=lambda r: r.key.store_id)
        planned.append(
            await _plan_one(
                store,
                conninfo,
                tenant_id,
                group,
                members,
                terms,
                batch_size,
                (top_up or {}).get(group.workshop_id, True),
            )
        )
    return planned


async def _plan_one(  # noqa: PLR0917 - one private step of plan_workshops
    store: EventStore,
    conninfo: str,
    tenant_id: str,
    group: _Group,
    members: list[PublishResult],
    terms: ProductTerms,
    batch_size: int,
    top_up: bool,
) -> WorkshopResult:
    workshop_id, sku = group.workshop_id, group.sku
    production_day, run_day = group.production_day, group.run_day
    stores = [r.key.store_id for r in members]
    deviations = await asyncio.to_thread(
        lambda: weekday_deviations(
            conninfo,
            tenant_id,
            stores,
            sku,
            through=production_day - dt.timedelta(days=1),
            days=DEPENDENCE_DAYS,
        )
    )
    decision = plan_workshop(
        [StoreDemand(r.key.store_id, r.quantiles, r.usable_stock) for r in members],
        terms.economics,
        batch_size=terms.batch(batch_size),
        minimum_batch=terms.minimum_batch,
        dependence_=dependence(deviations),
        top_up=top_up,
    )
    reason = _reason(decision, members, terms.source)
    result = WorkshopResult(
        workshop_id, sku, run_day, production_day, None, decision.quantity, {}, False, reason
    )
    if decision.quantity <= 0:
        return result
    versions = {r.key.store_id: r.model_version for r in members}
    order_id = workshop_order_id(workshop_id, sku, production_day, models_tag(versions))
    earlier = await plan_orders_of_day(
        store,
        tenant_id,
        prefix=production_order_stream(workshop_order_id(workshop_id, sku, production_day, "")),
        producing_store_id=workshop_id,
        sku=sku,
        day=production_day,
        keep=order_id,
    )
    if (blocked := earlier.blocking(order_id)) is not None:
        why = f"{blocked}. {reason}"
        return WorkshopResult(
            workshop_id, sku, run_day, production_day, None, 0, {}, False, why[:2000]
        )
    answer = await handle(
        SuggestWorkshopOrder(
            order_id=order_id,
            workshop_id=workshop_id,
            sku=sku,
            quantity=Decimal(decision.quantity),
            production_date=production_day,
            transfers=tuple(
                PlannedTransfer(store_id=s, quantity=Decimal(units))
                for s, units in decision.transfers.items()
            ),
            reserve=Decimal(decision.reserve),
            reason=reason,
            idempotency_key=workshop_plan_key(order_id),
        ),
        store,
        tenant_id=tenant_id,
        actor=SYSTEM_ACTOR,
    )
    await withdraw(store, tenant_id, earlier.suggested, order_id)
    return WorkshopResult(
        workshop_id,
        sku,
        run_day,
        production_day,
        order_id,
        decision.quantity,
        decision.transfers,
        bool(answer.appended) and not answer.duplicate,
        reason,
        decision.reserve,
    )


def _reason(decision: WorkshopDecision, members: list[PublishResult], econ_source: str) -> str:
    models = ", ".join(f"{r.key.store_id} v{r.model_version}" for r in members)
    sent = ", ".join(f"{s} {u}" for s, u in decision.transfers.items()) or "nothing"
    r = decision.reasoning
    return (
        f"workshop plan on the summed forecast of {models}: critical ratio "
        f"{r['critical_ratio']} ({econ_source}) -> pooled quantile {r['pooled_quantile']} "
        f"(stores' own quantiles add up to {r['summed_store_quantiles']}); usable stock "
        f"{r['usable_stock']}; batch {r['batch_size']}, minimum {r['minimum_batch']}; "
        f"bake {decision.quantity}; transfers: {sent}; kept for the midday top-up: "
        f"{decision.reserve}. {r['why']}"
    )[:2000]
