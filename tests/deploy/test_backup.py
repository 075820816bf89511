"""Backups under load: `obrador backup` while writers append, `obrador restore` into a fresh
database; the restored store verifies (hash chains) and rebuilds the same read model."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from deploy.audit import verify
from deploy.backup import BackupError, _schema_of, restore
from deploy.cli import main
from deploy.stack import StackUrls
from projections.rebuild import create_copies, fill, rebuild, shadow_names
from streams.chain_read import iter_chained
from streams.store import EventStore
from tests.eventually import eventually
from tests.projections.counting import CREATE, UnitsSold, sale

T = "forn-backup"
MODEL = UnitsSold()


@pytest.fixture
def fresh_database(stack: StackUrls, pg_url: str) -> Iterator[str]:
    """An empty database on the same server, addressed with the source's schema name."""
    name = f"restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    schema = _schema_of(pg_url)
    assert schema is not None
    with psycopg.connect(make_conninfo(stack.database_url, dbname=name), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield make_conninfo(stack.database_url, dbname=name, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def cli(url: str, *args: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    return main(list(args))


async def units(url: str, table: str) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            sql.SQL("SELECT * FROM {} ORDER BY 1, 2, 3").format(sql.Identifier(table))
        )
        return await cur.fetchall()


async def test_a_backup_under_load_restores_verifies_and_rebuilds_equal(
    pg_url: str, fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(CREATE)
    source = await EventStore.open(pg_url)
    stop = asyncio.Event()
    tickets = itertools.count()

    async def writer(w: int) -> None:
        while not stop.is_set():
            n = next(tickets)
            await source.append(
                T,
                f"till-{w}",
                [sale(f"s{w % 2}", f"t{n}-{i}", qty=1 + i) for i in range(1 + n % 3)],
            )

    writers = [asyncio.create_task(writer(w)) for w in range(4)]
    file = tmp_path / "obrador.dump"
    try:
        await eventually(lambda: next(tickets) > 60, timeout=30)
        code = await asyncio.to_thread(cli, pg_url, "backup", str(file), monkeypatch=monkeypatch)
        assert code == 0
        await eventually(lambda: next(tickets) > 200, timeout=30)  # writers still going
    finally:
        stop.set()
        await asyncio.gather(*writers)

    code = await asyncio.to_thread(
        cli, fresh_database, "restore", str(file), monkeypatch=monkeypatch
    )
    assert code == 0
    restored = await EventStore.open(fresh_database)
    try:
        (report,) = await verify(fresh_database)
        assert (report.tenant_id, report.findings) == (T, [])

        # every append is wholly in the backup or wholly out: a prefix of the source
        async with await psycopg.AsyncConnection.connect(fresh_database) as conn:
            copy = [(c.event.position, c.hash) async for c in iter_chained(conn, T)]
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            original = [(c.event.position, c.hash) async for c in iter_chained(conn, T)]
        last = copy[-1][0]
        assert 0 < len(copy) < len(original)
        assert copy == [item for item in original if item[0] <= last]

        await rebuild(restored, MODEL)
        shadows = shadow_names(MODEL, "cmp")
        async with source.pool.connection() as conn, conn.transaction():
            await create_copies(conn, shadows)
        await fill(source, MODEL, shadows, include=lambda e: e.position <= last)
        expected = await units(pg_url, shadows["rm_test_units"])
        assert expected and await units(fresh_database, "rm_test_units") == expected

        # the restored store goes on: new appends extend the restored chains
        await restored.append(T, "till-0", [sale("s0", "after-restore")])
        assert (await verify(fresh_database))[0].findings == []
        with pytest.raises(BackupError, match="already holds"):
            restore(fresh_database, file)
    finally:
        await restored.close()
        await source.close()
