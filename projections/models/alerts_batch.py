"""The alerts model's working set for one batch, and how it is loaded and saved.

``load`` reads, with a few statements, every record and alert the batch can
touch (and, for a clock tick, every subject the clock can change and every
open alert of that tenant); ``Batch`` folds and evaluates in memory; ``save``
writes back what changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    RecipeVersioned,
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
LIFECYCLE = (AlertAcknowledged, AlertSnoozed, AlertResolved)
CATALOGUE = (ProductDefined, ProductRepriced, ProductDiscontinued, IngredientDefined)


@dataclass
class Batch:
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

        def stocks(store_id: str, item_id: str) -> StockFacts | None:
            found = self.facts.get((tenant_id, stock_subject(store_id, item_id)))
            return found if isinstance(found, StockFacts) else None

        return Context(now=now, tenant=self.tenant(tenant_id), items=items, stocks=stocks)

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


async def load(
    conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str], batch: Batch
) -> None:
    wanted: set[tuple[str, str]] = set()
    ticking: set[str] = set()
    items: set[tuple[str, str]] = set()
    alert_ids: set[tuple[str, str]] = set()
    for rec, ev in events:
        t = rec.tenant_id
        wanted.add((t, alert_facts.TENANT))
        if isinstance(ev, LIFECYCLE):
            alert_ids.add((t, ev.alert_id))
        elif isinstance(ev, ClockTicked):
            ticking.add(t)
        _wants(t, ev, wanted, items)
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
        rows += [r for r in found if is_stock_of(r[1], item)]
    _keep(batch, rows)
    await _load_needed(conn, events, tables, batch)
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


def _wants(
    t: str, ev: DomainEvent, wanted: set[tuple[str, str]], items: set[tuple[str, str]]
) -> None:
    """The records one event touches (``wanted``) and the items whose every stock it re-checks."""
    if isinstance(ev, ManufacturingOrderSuggested):
        wanted.add((t, item_subject(ev.sku)))
        wanted.add((t, stock_subject(ev.destination_store_id, ev.sku)))
    for subject in alert_facts.subjects_of(ev):
        wanted.add((t, subject))
        if subject.startswith("stock/"):
            wanted.add((t, item_subject(subject.rpartition("/")[2])))
        if isinstance(ev, CATALOGUE):
            items.add((t, subject.partition("/")[2]))
    if isinstance(ev, RecipeVersioned):  # orders read its ingredients' stock from now on
        for line in ev.lines:
            wanted.add((t, item_subject(line.ingredient_id)))
            items.add((t, line.ingredient_id))


async def _load_needed(
    conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str], batch: Batch
) -> None:
    """What evaluating the loaded subjects reads: their items, then (once a product's
    recipe is known) its ingredients' item and stock at the producing store; new orders too."""
    suggested = {
        (rec.tenant_id, ev.sku, ev.producing_store_id)
        for rec, ev in events
        if isinstance(ev, ManufacturingOrderSuggested)
    }
    asked: set[tuple[str, str]] = set()
    for _ in range(3):
        needed = {(t, s) for (t, _), f in batch.facts.items() for s in _needs(f, batch, t)}
        needed |= {k for t, sku, at in suggested for k in _recipe_needs(batch, t, sku, at)}
        needed -= set(batch.facts) | asked
        if not needed:
            break
        asked |= needed
        _keep(
            batch,
            await _select(
                conn,
                "SELECT tenant_id, subject, facts::text FROM {} WHERE (tenant_id, subject) IN"
                " (SELECT * FROM unnest(%s::text[], %s::text[]))",
                tables[FACTS_TABLE],
                [k[0] for k in sorted(needed)],
                [k[1] for k in sorted(needed)],
            ),
        )


def _keep(batch: Batch, rows: Iterable[tuple[Any, ...]]) -> None:
    for tenant, subject, raw in rows:
        batch.facts[(tenant, subject)] = alert_facts.decode(raw)


async def save(conn: Conn, tables: Mapping[str, str], batch: Batch) -> None:
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


def is_stock_of(subject: str, item_id: str) -> bool:
    kind, _, rest = subject.partition("/")
    return kind == "stock" and rest.partition("/")[2] == item_id


def _needs(facts: AnyFacts, batch: Batch, tenant_id: str) -> list[str]:
    """The other subjects evaluating (or planning) this one reads (as far as loaded)."""
    match facts:
        case StockFacts():
            return [item_subject(facts.item_id)]
        case OrderFacts():
            stock = stock_subject(facts.destination_store_id, facts.sku)
            return [stock] + [
                s for _, s in _recipe_needs(batch, tenant_id, facts.sku, facts.producing_store_id)
            ]
    return []


def _recipe_needs(batch: Batch, tenant_id: str, sku: str, store_id: str) -> set[tuple[str, str]]:
    """A product's item and, once loaded, its ingredients' items and stock at ``store_id``."""
    out = {(tenant_id, item_subject(sku))}
    product = batch.facts.get((tenant_id, item_subject(sku)))
    if isinstance(product, alert_facts.ItemFacts):
        for ingredient_id in product.ingredients:
            out.add((tenant_id, item_subject(ingredient_id)))
            out.add((tenant_id, stock_subject(store_id, ingredient_id)))
    return out


async def _select(conn: Conn, query: str, table: str, *params: Any) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql.SQL(query).format(sql.Identifier(table)), params)
    return list(await cur.fetchall())
