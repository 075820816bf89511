"""Publish the promoted forecasts and the daily plan into the event history.

For each promoted series (``forecasting.ops.registry``) and run day D (store-local):

* the promoted model, given the sales history up to D-1 (the last complete
  day: D-1 is the forecast origin), forecasts the next 28 days — D..D+27, i.e.
  origin+1..origin+28 — and the forecast is appended as one
  ``ForecastPublished`` event to ``forecast-<store>-<sku>`` through the
  ``PublishForecast`` command (``forecast_id`` and idempotency key are per
  series, day and model version: running the job twice the same day appends
  nothing; after a rollback the same day is published again with the version
  now promoted, and the read model keeps the later one);
* the plan for the first day: newsvendor quantity at the critical ratio of the
  product's price and cost (``forecasting.plan``) minus the usable stock (lots
  in the inventory read model that are still sellable on the production day, minus
  any shortfall), in whole batches of the product's catalogue batch size and at
  least its minimum run, sent as ``SuggestManufacturingOrder`` (order
  ``plan-<store>-<sku>-<yyyymmdd>-v<version>``: a re-plan after a rollback is a
  new order, the earlier suggestion is withdrawn, ``forecasting.ops.supersede``)
  with its reasoning in ``reason``. Nothing is suggested when the quantity is 0
  (the result says why);
* a store a central workshop bakes for gets no order of its own: the workshop
  plans one order per product and day on the stores' summed demand, with a
  transfer plan (``forecasting.ops.workshop``, ADR 0021).

The commands go through ``commands.handlers.handle`` as the system planner
``forecast-scheduler`` (role ``planner``), so they are authorized, validated and
idempotent like any other writer's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl

from commands.handlers import handle
from commands.types import PublishForecast, SuggestManufacturingOrder
from domain.access import Actor
from domain.events.forecasting import ForecastPoint
from domain.events.organisation import Role
from domain.streams import forecast_id as forecast_id_of
from domain.streams import (
    forecast_key,
    plan_key,
    planned_order_id,
    production_order_stream,
)
from forecasting.api import forecast
from forecasting.ops.keys import SeriesKey
from forecasting.ops.readport import (
    load_series,
    store_timezone,
    usable_stock,
)
from forecasting.ops.registry import ModelVersion, promoted, promoted_series
from forecasting.ops.supersede import plan_orders_of_day, withdraw
from forecasting.ops.terms import ProductTerms, product_terms
from forecasting.plan import Economics, PlanDecision, newsvendor_quantity
from forecasting.series import panel_from_series_frame
from streams.store import EventStore

if TYPE_CHECKING:
    from forecasting.ops.workshop import WorkshopResult

HORIZON = 28
INTERVAL = (0.1, 0.9)  # published interval: 80 %
SYSTEM_ACTOR = Actor(user_id="forecast-scheduler", role=Role.PLANNER)


@dataclass(frozen=True)
class PublishResult:
    key: SeriesKey
    day: dt.date
    forecast_id: str
    model_version: int
    forecast_appended: bool
    order_id: str | None
    quantity: int
    order_appended: bool
    reason: str
    #: what a workshop plan needs of the series (``forecasting.ops.workshop``)
    production_day: dt.date | None = None
    quantiles: dict[float, float] = field(default_factory=dict)
    usable_stock: float = 0.0
    #: the workshop that bakes for this store (then no order of the store's own)
    served_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "store_id": self.key.store_id,
            "sku": self.key.sku,
            "day": self.day.isoformat(),
            "forecast_id": self.forecast_id,
            "model_version": self.model_version,
            "forecast_appended": self.forecast_appended,
            "order_id": self.order_id,
            "quantity": self.quantity,
            "order_appended": self.order_appended,
            "reason": self.reason,
            "served_by": self.served_by,
        }


def local_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone)).date()


def _quantiles(row: dict[str, Any]) -> dict[float, float]:
    return {
        int(name[1:]) / 100: float(value)
        for name, value in row.items()
        if name.startswith("q") and name[1:].isdigit() and value is not None
    }


def _dec(x: float) -> Decimal:
    return Decimal(str(round(max(x, 0.0), 2)))


def _reason(
    decision: PlanDecision, version: ModelVersion, first: dict[str, Any], econ_source: str
) -> str:
    r = decision.reasoning
    return (
        f"newsvendor plan from forecast {version.kind} v{version.version}: "
        f"mean {float(first['mean']):.1f}, 80% interval "
        f"[{float(first['q10']):.1f}, {float(first['q90']):.1f}]; "
        f"critical ratio {r['critical_ratio']} ({econ_source}) -> quantile "
        f"{r['quantile_units']}; usable stock {r['usable_stock']}; "
        f"batch {r['batch_size']}; bake {decision.quantity}. {r['why']}"
    )[:2000]


async def publish_series(
    store: EventStore,
    conninfo: str,
    key: SeriesKey,
    day: dt.date,
    *,
    horizon: int = HORIZON,
    batch_size: int = 1,
    actor: Actor = SYSTEM_ACTOR,
    economics: Economics | None = None,
    served_by: str | None = None,
) -> PublishResult | None:
    """Publish the forecast and suggest the order of one series for run day ``day``.

    None when the series has no promoted model. ``served_by``: the workshop that
    bakes for the store; then the store gets no order of its own (the workshop
    plan, ``forecasting.ops.workshop``, uses the result's quantiles and stock).
    An earlier plan of the same day by another model version is withdrawn
    (cancelled) when still only suggested; when a person already confirmed or
    started it, nothing new is suggested.
    """
    found = await asyncio.to_thread(promoted, conninfo, key)
    if found is None:
        return None
    version, model = found
    frame = await asyncio.to_thread(load_series, conninfo, key, day - dt.timedelta(days=1))
    # the promoted model, fed the history up to the origin (it may be older than the model)
    model = replace(model, panel=panel_from_series_frame(frame))
    fc: pl.DataFrame = await asyncio.to_thread(forecast, model, horizon)
    rows = fc.to_dicts()
    lo, hi = (f"q{round(q * 100):02d}" for q in INTERVAL)
    points = tuple(
        ForecastPoint(day=r["date"], mean=_dec(r["mean"]), lower=_dec(r[lo]), upper=_dec(r[hi]))
        for r in rows
    )
    # the version is part of the id and key: after a rollback (or a new promotion) the
    # same day can be published again with the other version; a rerun of the same
    # version the same day appends nothing
    forecast_id = f"{forecast_id_of(key.store_id, key.sku, day)}-v{version.version}"
    published = await handle(
        PublishForecast(
            forecast_id=forecast_id,
            store_id=key.store_id,
            sku=key.sku,
            model=version.kind,
            model_version=str(version.version),
            interval_level=INTERVAL[1] - INTERVAL[0],
            points=points,
            idempotency_key=f"{forecast_key(key.store_id, key.sku, day)}:v{version.version}",
        ),
        store,
        tenant_id=key.tenant_id,
        actor=actor,
    )
    first = rows[0]
    production_day: dt.date = first["date"]
    if economics is None:
        terms = await product_terms(store, key.tenant_id, key.sku)
    else:
        terms = ProductTerms(economics, "given economics")
    stock = await asyncio.to_thread(usable_stock, conninfo, key, production_day)
    quantiles = _quantiles(first)
    decision = newsvendor_quantity(
        quantiles,
        terms.economics,
        stock,
        terms.batch(batch_size),
        minimum_batch=terms.minimum_batch,
    )
    reason = _reason(decision, version, first, terms.source)
    order_id: str | None = None
    order_appended = False
    quantity = decision.quantity
    if served_by is not None:
        reason = f"planned by workshop {served_by} (one order for the stores it serves)"
        quantity = 0
    elif decision.quantity > 0:
        order_id = planned_order_id(key.store_id, key.sku, production_day, version.version)
        earlier = await plan_orders_of_day(
            store,
            key.tenant_id,
            prefix=production_order_stream(planned_order_id(key.store_id, key.sku, production_day)),
            producing_store_id=key.store_id,
            sku=key.sku,
            day=production_day,
            keep=order_id,
        )
        if (blocked := earlier.blocking(order_id)) is not None:
            reason = f"{blocked}. {reason}"[:2000]
            order_id = None
        else:
            result = await handle(
                SuggestManufacturingOrder(
                    order_id=order_id,
                    sku=key.sku,
                    quantity=Decimal(decision.quantity),
                    production_date=production_day,
                    producing_store_id=key.store_id,
                    destination_store_id=key.store_id,
                    reason=reason,
                    forecast_id=forecast_id,
                    idempotency_key=plan_key(
                        key.store_id, key.sku, production_day, version.version
                    ),
                ),
                store,
                tenant_id=key.tenant_id,
                actor=actor,
            )
            order_appended = bool(result.appended) and not result.duplicate
            await withdraw(store, key.tenant_id, earlier.suggested, order_id)
    return PublishResult(
        key=key,
        day=day,
        forecast_id=forecast_id,
        model_version=version.version,
        forecast_appended=bool(published.appended) and not published.duplicate,
        order_id=order_id,
        quantity=quantity,
        order_appended=order_appended,
        reason=reason,
        production_day=production_day,
        quantiles=quantiles,
        usable_stock=stock,
        served_by=served_by,
    )


@dataclass(frozen=True)
class TenantPlan:
    """One publish run: every series published, and the workshop orders planned."""

    series: list[PublishResult]
    workshops: list[WorkshopResult]


async def publish_plan(
    conninfo: str,
    tenant_id: str,
    *,
    day: dt.date | None = None,
    timezone: str | None = None,
    batch_size: int = 1,
    economics: Economics | None = None,
) -> TenantPlan:
    """Publish every promoted series of the tenant (only stores in ``timezone``, if given),
    suggest each store's order, or one order per workshop for the stores it serves.

    ``day`` is the store-local run day (default: today in each store's zone).
    """
    from forecasting.ops.workshop import load_workshops, plan_workshops  # noqa: PLC0415

    keys = await asyncio.to_thread(promoted_series, conninfo, tenant_id)
    results: list[PublishResult] = []
    store = await EventStore.open(conninfo)
    try:
        known = await load_workshops(store, tenant_id)
        served_by = known.served_by()
        for key in keys:
            tz = await asyncio.to_thread(store_timezone, conninfo, tenant_id, key.store_id)
            if timezone is not None and tz != timezone:
                continue
            run_day = day or local_today(tz)
            res = await publish_series(
                store,
                conninfo,
                key,
                run_day,
                batch_size=batch_size,
                economics=economics,
                served_by=served_by.get(key.store_id),
            )
            if res is not None:
                results.append(res)
        workshops = await plan_workshops(
            store,
            conninfo,
            tenant_id,
            results,
            batch_size=batch_size,
            economics=economics,
            top_up=known.top_up,
        )
        planned = [(r.key.store_id, r.day, r.key.sku, r.quantity) for r in results]
        planned += [(w.workshop_id, w.day, w.sku, w.quantity) for w in workshops]
        await _purchases_for(store, conninfo, tenant_id, planned)
    finally:
        await store.close()
    return TenantPlan(results, workshops)


async def publish_tenant(
    conninfo: str,
    tenant_id: str,
    *,
    day: dt.date | None = None,
    timezone: str | None = None,
    batch_size: int = 1,
    economics: Economics | None = None,
) -> list[PublishResult]:
    """:func:`publish_plan`, the series only (the workshop orders are suggested all the same)."""
    plan = await publish_plan(
        conninfo,
        tenant_id,
        day=day,
        timezone=timezone,
        batch_size=batch_size,
        economics=economics,
    )
    return plan.series


async def _purchases_for(
    store: EventStore,
    conninfo: str,
    tenant_id: str,
    planned_bakes: list[tuple[str, dt.date, str, int]],
) -> None:
    """Turn each baking store's planned bake (store, run day, sku, units) into ingredient
    purchase suggestions (purchasing.py): a workshop buys for the stores it serves."""
    from forecasting.ops.purchasing import suggest_purchases  # noqa: PLC0415

    by_store: dict[tuple[str, dt.date], dict[str, int]] = {}
    for store_id, day, sku, quantity in planned_bakes:
        if quantity > 0:
            by_store.setdefault((store_id, day), {})[sku] = quantity
    for (store_id, day), planned in sorted(by_store.items()):
        await suggest_purchases(
            store,
            conninfo,
            tenant_id=tenant_id,
            store_id=store_id,
            planned=planned,
            day=day,
            actor=SYSTEM_ACTOR,
        )
