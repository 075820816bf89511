"""alerts: what needs a person, raised and cleared by rules, scored 0-100 (``docs/alerts.md``).

Two tables: ``rm_alerts`` (one row per alert, open or closed) and
``rm_alert_facts`` (what the rules watch, one JSON record per subject, see
``domain.alert_facts``). A batch loads the records and alerts it touches with
a few statements, then walks its events **one by one**: fold the event into
its subject, re-evaluate that subject's rules (``domain.alert_rules``) and let
the alert book raise, merge or clear its alerts (``domain.alert_book``). So
the result never depends on how the stream is cut into batches.

Time comes from events only: a ``ClockTicked`` moves the tenant's clock,
re-evaluates every subject the clock alone can change (lots with an expiry,
open orders, expected deliveries, maintenance dates) and escalates or wakes
every open alert. Any other event is evaluated at the later of the tenant's
clock and its own ``occurred_at``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from domain import alert_book, alert_facts, alert_fold
from domain.alert_facts import (
    OrderFacts,
    TenantFacts,
)
from domain.events import (
    AlertAcknowledged,
    AlertResolved,
    AlertSnoozed,
    ClockTicked,
    DomainEvent,
)
from projections.model import Decoded
from projections.models._sql import Conn
from projections.models.alerts_batch import (
    ALERTS,
    CATALOGUE,
    FACTS_TABLE,
    LIFECYCLE,
    Batch,
    is_stock_of,
    load,
    save,
)


def _clock(tenant: TenantFacts, ev: DomainEvent) -> datetime:
    if tenant.now is not None and tenant.now > ev.occurred_at:
        return tenant.now
    return ev.occurred_at


class AlertsModel:
    name: ClassVar[str] = "alerts"
    tables: ClassVar[tuple[str, ...]] = (ALERTS.name, FACTS_TABLE)
    _handled: ClassVar[frozenset[str]] = frozenset(
        {
            "ClockTicked",
            "AlertSettingsChanged",
            "StoreOpened",
            "AlertAcknowledged",
            "AlertSnoozed",
            "AlertResolved",
            "ProductDefined",
            "ProductRepriced",
            "ProductDiscontinued",
            "RecipeVersioned",
            "ProductStockPolicySet",
            "IngredientDefined",
            "ForecastPublished",
            "StockReceived",
            "StockConsumed",
            "StockReturned",
            "StockTransferredOut",
            "StockTransferredIn",
            "StockAdjusted",
            "WasteRecorded",
            "StockExpired",
            "DayClosed",
            "ManufacturingOrderSuggested",
            "ManufacturingOrderConfirmed",
            "ManufacturingOrderEdited",
            "ManufacturingOrderStarted",
            "ManufacturingOrderCompleted",
            "ManufacturingOrderCancelled",
            "QualityCheckRecorded",
            "PurchaseOrderDrafted",
            "PurchaseOrderApproved",
            "PurchaseOrderSent",
            "PurchaseOrderReceived",
            "PurchaseOrderCancelled",
            "EquipmentRegistered",
            "EquipmentMaintenanceScheduled",
            "EquipmentMaintenancePerformed",
            "TemperatureRecorded",
        }
    )

    def handles(self, event_type: str) -> bool:
        return event_type in self._handled

    async def apply(self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str]) -> None:
        batch = Batch()
        await load(conn, events, tables, batch)
        for rec, ev in events:
            self._step(batch, rec.tenant_id, ev)
        await save(conn, tables, batch)

    # --- one event ------------------------------------------------------------------

    def _step(self, batch: Batch, tenant_id: str, ev: DomainEvent) -> None:
        tenant = batch.tenant(tenant_id)
        if isinstance(ev, LIFECYCLE):
            self._human(batch, tenant_id, ev, _clock(tenant, ev))
            return
        touched = []
        for subject in alert_facts.subjects_of(ev):
            key = (tenant_id, subject)
            facts = batch.facts.get(key) or alert_fold.fresh(subject, ev)
            if facts is None:
                continue  # e.g. a started order this model never saw suggested
            batch.facts[key] = facts
            alert_fold.fold(facts, ev)
            batch.dirty_facts.add(key)
            touched.append(subject)
            if isinstance(facts, OrderFacts):
                touched.append(batch.plan(tenant_id, facts))
        now = _clock(tenant, ev)
        if isinstance(ev, ClockTicked):
            batch.tick(tenant_id, now)
        elif isinstance(ev, CATALOGUE):
            item = touched[0].partition("/")[2] if touched else ""
            for owner, subject in sorted(batch.facts):
                if owner == tenant_id and is_stock_of(subject, item):
                    batch.evaluate(owner, subject, now)
        else:
            for subject in touched:
                if subject != alert_facts.TENANT:
                    batch.evaluate(tenant_id, subject, now)

    def _human(self, batch: Batch, tenant_id: str, ev: DomainEvent, now: datetime) -> None:
        aid = ev.alert_id  # type: ignore[attr-defined]
        record = batch.alerts[tenant_id].get(aid)
        if record is None:
            return  # not an alert this model raised
        match ev:
            case AlertAcknowledged():
                alert_book.acknowledge(record, ev.by, now)
            case AlertSnoozed():
                alert_book.snooze(record, ev.until, now)
            case AlertResolved():
                alert_book.resolve(record, ev.by, ev.note, now)
        batch.dirty_alerts.add((tenant_id, aid))
