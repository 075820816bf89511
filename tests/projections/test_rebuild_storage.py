"""A rebuilt read model keeps the live tables' storage options (fillfactor)."""

from __future__ import annotations

import psycopg

from projections.models import model_by_name
from projections.rebuild import rebuild
from streams.store import EventStore


def reloptions(pg_url: str, table: str) -> list[str]:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", (table,))
        found = row.fetchone()
    return list(found[0] or []) if found else []


async def test_swapped_in_tables_keep_their_fillfactor(pg_store: EventStore, pg_url: str) -> None:
    model = model_by_name("inventory")
    before = {table: reloptions(pg_url, table) for table in model.tables}
    assert any(before.values())  # the migration sets fillfactor on some tables
    await rebuild(pg_store, model)
    assert {table: reloptions(pg_url, table) for table in model.tables} == before
