"""What ``obrador demo`` prints of its books and waste, and what ``--check`` verifies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from deploy.demo import PRODUCTS, STORES, TENANT, last_day, load_demo
from deploy.demo_days import DemoSale, ticket_id
from domain import catalogue, organisation
from domain.codec import decode_event, encode_event
from domain.events import Event
from domain.events.organisation import TenantCreated, TenantKind
from domain.events.sales import SaleRecorded
from domain.streams import TENANT_STREAM, product_stream, sale_stream
from streams.envelope import NO_STREAM, NewEvent, RecordedEvent
from streams.errors import WrongExpectedVersion
from streams.store import EventStore


async def print_figures(database_url: str) -> None:
    """The books after the last day's close and the last week's waste, per store."""
    for line in await figures(database_url):
        print(f"  {line}")


async def figures(database_url: str) -> list[str]:
    """What ``obrador demo`` prints of the books and the week's waste (docs/read-models.md)."""
    import psycopg

    from projections.models.waste import waste_report

    week = (last_day() - timedelta(days=6), last_day())
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT store_id, sum(on_hand), sum(stock_value) FROM rm_inventory_stock"
            " WHERE tenant_id = %s GROUP BY store_id ORDER BY store_id",
            (TENANT,),
        )
        stock = await cur.fetchall()
        waste = await waste_report(conn, TENANT, start=week[0], end=week[1], by=("store_id",))
        cur = await conn.execute(
            "SELECT store_id, sum(units) FROM rm_sales_daily WHERE tenant_id = %s"
            " AND sales_date BETWEEN %s AND %s GROUP BY store_id",
            (TENANT, *week),
        )
        sold = {str(store_id): units for store_id, units in await cur.fetchall()}
    lines = [f"books after the close of {last_day()} (units, value at cost):"]
    lines += [
        f"  {store_id:<14} {units:>6} units  €{value:>8.2f}" for store_id, units, value in stock
    ]
    lines.append(f"waste {week[0]} to {week[1]} (units, euros at cost, share of units sold):")
    for row in sorted(waste, key=lambda r: str(r["store_id"])):
        share = row["units"] / sold[row["store_id"]] if sold.get(row["store_id"]) else 0
        lines.append(
            f"  {row['store_id']:<14} {row['units']:>6} units  €{row['value']:>8.2f}"
            f"  ({share:.1%} of {sold.get(row['store_id'], 0)} sold)"
        )
    return lines


# ------------------------------------------------------------------ --check


async def _events(store: EventStore, stream_id: str) -> list[Event]:
    return [
        decode_event(r.event_type, r.schema_version, r.payload)
        for r in await store.read_stream(TENANT, stream_id)
    ]


async def _read_all(store: EventStore) -> list[RecordedEvent]:
    log: list[RecordedEvent] = []
    position = 0
    while batch := await store.read_all(after=position, tenant_id=TENANT, limit=5000):
        log.extend(batch)
        position = batch[-1].position
    return log


async def verify(store: EventStore, sales: Sequence[DemoSale]) -> bool:
    """What a user relies on, checked on the stored demo (true on a folder used before)."""
    checks: list[tuple[str, bool]] = []
    tenant = organisation.fold(await _events(store, TENANT_STREAM))
    products = [
        catalogue.fold_product(await _events(store, product_stream(p[0])))
        for p in PRODUCTS.values()
    ]
    checks.append(
        (
            "the tenant, its stores and products are known to the handlers",
            set(tenant.open_store_ids()) >= {s for s, _ in STORES.values()}
            and all(p.product is not None for p in products),
        )
    )
    sold = 0
    for sale in sales:
        if sale.units:
            sku = PRODUCTS[sale.product][0]
            events = await _events(
                store, sale_stream(STORES[sale.store][0], ticket_id(sku, sale.day))
            )
            sold += sum(
                int(line.quantity)
                for e in events
                if isinstance(e, SaleRecorded)
                for line in e.lines
            )
    checks.append(
        ("every ticket is stored once with the real units", sold == sum(s.units for s in sales))
    )
    log = await _read_all(store)
    positions = [e.position for e in log]
    decoded = all(decode_event(e.event_type, e.schema_version, e.payload) is not None for e in log)
    checks.append(
        (
            "the tenant's log is in position order and every event decodes",
            positions == sorted(set(positions)) and decoded,
        )
    )
    again = await load_demo(store, sales)
    checks.append(
        ("loading again stores nothing new (idempotency)", again.appended == 0 and not again.failed)
    )
    checks.append(("a stale expected version is refused", await _stale_is_refused(store)))
    checks.append(
        ("the stock books add up (projections/invariants.py)", await _books_add_up(store))
    )
    for label, ok in checks:
        print(f"  {'ok ' if ok else 'FAIL'} {label}")
    return all(ok for _, ok in checks)


async def _books_add_up(store: EventStore) -> bool:
    from projections.invariants import inventory_breaches

    async with store.pool.connection() as conn:  # the model run_demo brought up to date
        breaches = await inventory_breaches(conn, tenant_id=TENANT)
    for breach in breaches[:5]:
        print(f"  ! {breach}")
    return not breaches


async def _stale_is_refused(store: EventStore) -> bool:
    event_type, version, payload = encode_event(
        TenantCreated(occurred_at=datetime.now(UTC), name="x", kind=TenantKind.CHAIN)
    )
    try:
        await store.append(
            TENANT,
            TENANT_STREAM,
            [NewEvent(event_type=event_type, schema_version=version, payload=payload)],
            expected_version=NO_STREAM,
        )
    except WrongExpectedVersion:
        return True
    return False
