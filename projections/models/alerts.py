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

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from psycopg import sql

from domain import alert_book, alert_facts, alert_fold
from domain.alert_book import AlertRecord
from domain.alert_facts import (
    AnyFacts,
    OrderFacts,
    StockFacts,
    TenantFacts,
    item_subject,
    stock_subject,
)
from domain.alert_rules import Context, evaluate, is_timed
from domain.events import (
    AlertAcknowledged,
    AlertResolved,
    AlertSnoozed,
    ClockTicked,
    DomainEvent,
    IngredientDefined,
    ManufacturingOrderSuggested,
    ProductDefined,
    ProductDiscontinued,
    ProductRepriced,
)
from projections.model import Decoded
from projections.models._sql import Conn, spec

ALERTS = spec(
    "rm_alerts",
    2,
    "tenant_id text",
    "alert_id text",
    *(
        f"{name} {kind}"
        for name, kind in zip(
            alert_book.COLUMNS,
            ("text",) * 4
            + ("integer", "integer", "integer", "text")
            + ("integer", "text") * 4
            + ("text",) * 4
            + ("numeric", "numeric", "timestamptz")
            + ("text",) * 7
            + ("text", "boolean", "integer", "timestamptz", "timestamptz", "timestamptz")
            + ("timestamptz", "text", "timestamptz", "timestamptz", "text", "text")
            + ("boolean", "timestamptz", "text"),
            strict=True,
        )
    ),
)
FACTS_TABLE = "rm_alert_facts"
_LIFECYCLE = (AlertAcknowledged, AlertSnoozed, AlertResolved)
_CATALOGUE = (ProductDefined, ProductRepriced, ProductDiscontinued, IngredientDefined)


@dataclass
class _Batch:
    """What one batch works on, in memory, and what it changed."""

    facts: dict[tuple[str, str], AnyFacts] = field(default_factory=dict)
    alerts: dict[str, dict[str, AlertRecord]] = field(default_factory=lambda: defaultdict(dict))
    dirty_facts: set[tuple[str, str]] = field(default_factory=set)
    dirty_alerts: set[tuple[str, str]] = field(default_factory=set)

    def tenant(self, tenant_id: str) -> TenantFacts:
        found = self.facts.get((tenant_id, alert_facts.TENANT))
        if not isinstance(found, TenantFacts):
            found = self.facts[(tenant_id, alert_facts.TENANT)] = TenantFacts()
            self.dirty_facts.add((tenant_id, alert_facts.TENANT))
        return found

    def context(self, tenant_id: str, now: datetime) -> Context:
        def items(item_id: str) -> alert_facts.ItemFacts | None:
            found = self.facts.get((tenant_id, item_subject(item_id)))
            return found if isinstance(found, alert_facts.ItemFacts) else None

        return Context(now=now, tenant=self.tenant(tenant_id), items=items)

    def evaluate(self, tenant_id: str, subject: str, now: datetime) -> None:
        facts = self.facts[(tenant_id, subject)]
        conditions = evaluate(facts, self.context(tenant_id, now))
        if not conditions and not facts.alerts:
            return
        changed = alert_book.reconcile(
            subject, facts.alerts, conditions, self.alerts[tenant_id], now
        )
        self.dirty_alerts.update((tenant_id, a) for a in changed)
        self.dirty_facts.add((tenant_id, subject))

    def plan(self, tenant_id: str, order: OrderFacts) -> str:
        """Bring the destination stock's planned production in step; return its subject."""
        subject = stock_subject(order.destination_store_id, order.sku)
        stock = self.facts.get((tenant_id, subject))
        if not isinstance(stock, StockFacts):
            stock = StockFacts(store_id=order.destination_store_id, item_id=order.sku)
            self.facts[(tenant_id, subject)] = stock
        alert_fold.plan(stock, order)
        self.dirty_facts.add((tenant_id, subject))
        return subject

    def tick(self, tenant_id: str, now: datetime) -> None:
        for (tenant, subject), facts in sorted(self.facts.items(), key=lambda kv: kv[0]):
            if tenant == tenant_id and is_timed(facts):
                self.evaluate(tenant, subject, now)
        for aid, record in sorted(self.alerts[tenant_id].items()):
            if record.is_open and alert_book.tick(record, now):
                self.dirty_alerts.add((tenant_id, aid))


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
        batch = _Batch()
        await self._load(conn, events, tables, batch)
        for rec, ev in events:
            self._step(batch, rec.tenant_id, ev)
        await self._save(conn, tables, batch)

    # --- one event ------------------------------------------------------------------

    def _step(self, batch: _Batch, tenant_id: str, ev: DomainEvent) -> None:
        tenant = batch.tenant(tenant_id)
        if isinstance(ev, _LIFECYCLE):
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
        elif isinstance(ev, _CATALOGUE):
            item = touched[0].partition("/")[2] if touched else ""
            for owner, subject in sorted(batch.facts):
                if owner == tenant_id and _is_stock_of(subject, item):
                    batch.evaluate(owner, subject, now)
        else:
            for subject in touched:
                if subject != alert_facts.TENANT:
                    batch.evaluate(tenant_id, subject, now)

    def _human(self, batch: _Batch, tenant_id: str, ev: DomainEvent, now: datetime) -> None:
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

    # --- loading and saving ---------------------------------------------------------

    async def _load(
        self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str], batch: _Batch
    ) -> None:
        wanted: set[tuple[str, str]] = set()
        ticking: set[str] = set()
        items: set[tuple[str, str]] = set()
        alert_ids: set[tuple[str, str]] = set()
        for rec, ev in events:
            t = rec.tenant_id
            wanted.add((t, alert_facts.TENANT))
            if isinstance(ev, _LIFECYCLE):
                alert_ids.add((t, ev.alert_id))
            elif isinstance(ev, ClockTicked):
                ticking.add(t)
            if isinstance(ev, ManufacturingOrderSuggested):
                wanted.add((t, item_subject(ev.sku)))
                wanted.add((t, stock_subject(ev.destination_store_id, ev.sku)))
            for subject in alert_facts.subjects_of(ev):
                wanted.add((t, subject))
                if subject.startswith("stock/"):
                    wanted.add((t, item_subject(subject.rpartition("/")[2])))
                if isinstance(ev, _CATALOGUE):
                    items.add((t, subject.partition("/")[2]))
        facts = FACTS_TABLE
        rows = await _select(
            conn,
            "SELECT tenant_id, subject, facts::text FROM {} WHERE (tenant_id, subject) IN"
            " (SELECT * FROM unnest(%s::text[], %s::text[]))",
            tables[facts],
            [k[0] for k in wanted],
            [k[1] for k in wanted],
        )
        for tenant in sorted(ticking):
            rows += await _select(
                conn,
                "SELECT tenant_id, subject, facts::text FROM {} WHERE tenant_id = %s AND timed",
                tables[facts],
                tenant,
            )
        for tenant, item in sorted(items):
            found = await _select(
                conn,
                "SELECT tenant_id, subject, facts::text FROM {}"
                " WHERE tenant_id = %s AND subject LIKE 'stock/%%'",
                tables[facts],
                tenant,
            )
            rows += [r for r in found if _is_stock_of(r[1], item)]
        self._keep(batch, rows)
        needed = {(t, s) for (t, _), f in batch.facts.items() for s in _needs(f)}
        needed -= set(batch.facts)
        if needed:
            self._keep(
                batch,
                await _select(
                    conn,
                    "SELECT tenant_id, subject, facts::text FROM {} WHERE (tenant_id, subject) IN"
                    " (SELECT * FROM unnest(%s::text[], %s::text[]))",
                    tables[facts],
                    [k[0] for k in needed],
                    [k[1] for k in needed],
                ),
            )
        alert_ids |= {
            (t, alert_book.alert_id(key, seq))
            for (t, _), f in batch.facts.items()
            for key, seq in f.alerts.items()
        }
        found = await ALERTS.fetch(conn, tables, sorted(alert_ids)) if alert_ids else []
        for tenant in sorted(ticking):
            found += await _select(
                conn,
                f"SELECT {', '.join(ALERTS.names)} FROM {{}}"
                " WHERE tenant_id = %s AND status <> 'resolved'",
                tables[ALERTS.name],
                tenant,
            )
        for row in found:
            batch.alerts[row[0]][row[1]] = AlertRecord(*row[2:])

    @staticmethod
    def _keep(batch: _Batch, rows: Iterable[tuple[Any, ...]]) -> None:
        for tenant, subject, raw in rows:
            batch.facts[(tenant, subject)] = alert_facts.decode(raw)

    async def _save(self, conn: Conn, tables: Mapping[str, str], batch: _Batch) -> None:
        if batch.dirty_facts:
            query = sql.SQL(
                "INSERT INTO {} (tenant_id, subject, timed, facts) VALUES (%s, %s, %s, %s::jsonb)"
                " ON CONFLICT (tenant_id, subject) DO UPDATE"
                " SET timed = EXCLUDED.timed, facts = EXCLUDED.facts"
            ).format(sql.Identifier(tables[FACTS_TABLE]))
            params = [
                (
                    t,
                    s,
                    is_timed(batch.facts[(t, s)]),
                    alert_facts.encode(batch.facts[(t, s)]).decode(),
                )
                for t, s in sorted(batch.dirty_facts)
            ]
            async with conn.cursor() as cur:
                await cur.executemany(query, params)
        names = alert_book.COLUMNS
        await ALERTS.upsert(
            conn,
            tables,
            (
                (t, a, *(getattr(batch.alerts[t][a], n) for n in names))
                for t, a in sorted(batch.dirty_alerts)
            ),
        )


def _is_stock_of(subject: str, item_id: str) -> bool:
    kind, _, rest = subject.partition("/")
    return kind == "stock" and rest.partition("/")[2] == item_id


def _needs(facts: AnyFacts) -> list[str]:
    """The other subjects evaluating (or planning) this one reads."""
    match facts:
        case StockFacts():
            return [item_subject(facts.item_id)]
        case OrderFacts():
            stock = stock_subject(facts.destination_store_id, facts.sku)
            return [item_subject(facts.sku), stock]
    return []


async def _select(conn: Conn, query: str, table: str, *params: Any) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql.SQL(query).format(sql.Identifier(table)), params)
    return list(await cur.fetchall())
