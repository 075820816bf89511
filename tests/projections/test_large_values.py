"""The largest values the edges allow never overflow a read model, and sum exactly.

``domain.limits``: quantity < 1e6 with 3 decimals, unit price < 1e5 with 4
decimals, 500 lines per ticket, business time from 1990 to tomorrow. Tickets at
those limits are applied in batches of several sizes; the daily sums must equal
the exact sums, nothing is parked, and a rebuild from scratch agrees.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import localcontext

import psycopg

from domain.limits import HISTORY_FIRST_YEAR, LIVE_FUTURE, MAX_LINES_PER_TICKET
from projections.apply import apply_with_checkpoint
from projections.model import ReadModel
from projections.models import InventoryModel, SalesModel
from projections.rebuild import check
from streams.jetstream import partition_of
from streams.store import EventStore
from tests.projections.poison import WEST, opened, received, sale
from tests.projections.test_guard import LARGEST_PRICE, LARGEST_QUANTITY

TENANT = "north"
TICKETS = 12


async def apply_in_batches(store: EventStore, pg_url: str, model: ReadModel) -> None:
    events = await store.read_all(limit=10_000)
    sizes = [1, 2, 5, 3, 7]
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        start, i = 0, 0
        while start < len(events):
            batch = events[start : start + sizes[i % len(sizes)]]
            async with conn.transaction():
                result = await apply_with_checkpoint(conn, model, partition_of(TENANT), batch)
            assert result.parked == ()
            start, i = start + len(batch), i + 1


async def test_the_largest_tickets_sum_exactly(pg_store: EventStore, pg_url: str) -> None:
    await pg_store.append(TENANT, "store-w", [opened("w", WEST)])
    q, p = str(LARGEST_QUANTITY), str(LARGEST_PRICE)
    for n in range(TICKETS):
        event = sale("w", f"T{n}", quantity=q, price=p, lines=MAX_LINES_PER_TICKET, sku="barra")
        await pg_store.append(TENANT, f"sale-w-T{n}", [event])
    first = datetime(HISTORY_FIRST_YEAR, 1, 1, tzinfo=UTC)  # 1989-12-31 in New York
    last = datetime.now(UTC) + LIVE_FUTURE
    await pg_store.append(
        TENANT, "sale-w-first", [sale("w", "first", quantity=q, price=p, sold_at=first)]
    )
    await pg_store.append(
        TENANT, "sale-w-last", [sale("w", "last", quantity=q, price=p, sold_at=last)]
    )
    await apply_in_batches(pg_store, pg_url, SalesModel())

    with localcontext() as exact:
        exact.prec = 100
        line = LARGEST_QUANTITY * LARGEST_PRICE
        units = LARGEST_QUANTITY * MAX_LINES_PER_TICKET * TICKETS
        revenue = line * MAX_LINES_PER_TICKET * TICKETS
    with psycopg.connect(pg_url) as conn:
        daily = conn.execute(
            "SELECT sales_date, sum(units), sum(revenue), sum(tickets) FROM rm_sales_daily"
            " GROUP BY sales_date ORDER BY sales_date"
        ).fetchall()
        parked = conn.execute("SELECT count(*) FROM parked_events").fetchone()
    assert daily[0] == (date(1989, 12, 31), LARGEST_QUANTITY, line, 1)
    by_day = {d: (u, r, n) for d, u, r, n in daily}
    assert by_day[date(2026, 11, 20)] == (units, revenue, TICKETS)
    assert len(daily) == 3 and parked == (0,)
    report = await check(pg_store, SalesModel())
    assert report.identical and report.parked == []


async def test_the_largest_stock_moves_value_exactly(pg_store: EventStore, pg_url: str) -> None:
    q, c = str(LARGEST_QUANTITY), str(LARGEST_PRICE)
    for n in range(40):
        await pg_store.append(TENANT, f"stock-{n}", [received("e", f"L{n}", quantity=q, cost=c)])
    await apply_in_batches(pg_store, pg_url, InventoryModel())
    with localcontext() as exact:
        exact.prec = 100
        value = LARGEST_QUANTITY * LARGEST_PRICE * 40
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT on_hand, stock_value FROM rm_inventory_stock").fetchone()
    assert row == (LARGEST_QUANTITY * 40, value)
    report = await check(pg_store, InventoryModel())
    assert report.identical and report.parked == []


def test_every_read_model_number_is_unbounded_numeric(pg_url: str) -> None:
    """No ``numeric(p, s)`` that a sum of allowed values could overflow or round."""
    with psycopg.connect(pg_url) as conn:
        bounded = conn.execute(
            "SELECT table_name, column_name, numeric_precision, numeric_scale"
            " FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name LIKE 'rm\\_%%'"
            " AND data_type = 'numeric' AND numeric_precision IS NOT NULL"
        ).fetchall()
        money_as_float = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name LIKE 'rm\\_%%'"
            " AND data_type IN ('real', 'double precision', 'money')"
            " AND column_name <> 'interval_level'"
        ).fetchall()
    assert bounded == [] and money_as_float == []
