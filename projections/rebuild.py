"""Rebuild a read model from the event store, without taking readers down.

1. Create shadow copies of the model's tables (``<table>__shadow``).
2. Read the store's global log directly (the fast path, not JetStream) and
   apply it to the shadows in committed chunks, with a progress callback.
3. In one transaction: lock the projection's checkpoints (the live projector
   waits), apply whatever arrived meanwhile, swap every shadow in by renaming,
   and set all partition checkpoints to the rebuilt position.

Readers query the old tables until the swap commits and the new ones after:
never a half-built model. ``verify`` builds a private copy the same way and
compares it with the live tables row by row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from projections.apply import decode_for
from projections.model import ReadModel
from streams.envelope import RecordedEvent
from streams.jetstream import PARTITIONS, partition_of
from streams.store import EventStore

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
Progress = Callable[[int, int], None]  # (events read, position)
#: events between two ANALYZEs of the tables a rebuild is filling
ANALYZE_EVERY = 200_000


@dataclass(frozen=True)
class RebuildResult:
    projection: str
    events: int
    position: int


def shadow_names(model: ReadModel, suffix: str) -> dict[str, str]:
    return {table: f"{table}__{suffix}" for table in model.tables}


async def create_copies(conn: Conn, tables: Mapping[str, str]) -> None:
    """Empty copies with the live tables' columns, indexes and storage options.

    ``LIKE … INCLUDING ALL`` leaves out storage parameters such as
    ``fillfactor``, which the read models rely on for in-place updates; they
    are copied over explicitly.
    """
    for live, copy in tables.items():
        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(copy)))
        await conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                sql.Identifier(copy), sql.Identifier(live)
            )
        )
        cur = await conn.execute(
            "SELECT reloptions FROM pg_class WHERE oid = %s::regclass", (live,)
        )
        row = await cur.fetchone()
        options = list(row[0] or []) if row else []
        if options:
            settings = sql.SQL(", ").join(
                sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(v))
                for k, v in (option.split("=", 1) for option in options)
            )
            await conn.execute(
                sql.SQL("ALTER TABLE {} SET ({})").format(sql.Identifier(copy), settings)
            )


async def fill(
    store: EventStore,
    model: ReadModel,
    tables: Mapping[str, str],
    *,
    after: int = 0,
    conn: Conn | None = None,
    include: Callable[[RecordedEvent], bool] | None = None,
    chunk: int = 10_000,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Apply the log after ``after`` to ``tables``; return (events read, last position).

    The next chunk is read (on another connection) while the current one is
    applied. With ``conn`` everything is written in that connection's open
    transaction; otherwise each chunk commits on its own (short transactions
    keep the log's visibility horizon moving for everyone else).
    """
    queue: asyncio.Queue[list[RecordedEvent] | None] = asyncio.Queue(maxsize=2)

    async def read_ahead() -> None:
        position = after
        while events := await store.read_all(after=position, limit=chunk):
            position = events[-1].position
            await queue.put(events)
        await queue.put(None)

    reader = asyncio.create_task(read_ahead())
    position, count, analysed = after, 0, 0
    try:
        while (events := await queue.get()) is not None:
            chosen = [e for e in events if include(e)] if include else events
            decoded = decode_for(model, chosen)
            if decoded:
                if conn is not None:
                    await model.apply(conn, decoded, tables)
                else:
                    async with store.pool.connection() as own, own.transaction():
                        await model.apply(own, decoded, tables)
            position = events[-1].position
            count += len(events)
            if conn is None and count - analysed >= ANALYZE_EVERY:
                # fresh copies have no statistics: keep the planner on the right indexes
                async with store.pool.connection() as own:
                    for table in tables.values():
                        await own.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
                analysed = count
            if progress is not None:
                progress(count, position)
        await reader
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    return count, position


async def rebuild(
    store: EventStore, model: ReadModel, *, progress: Progress | None = None
) -> RebuildResult:
    shadows = shadow_names(model, "shadow")
    async with store.pool.connection() as conn, conn.transaction():
        await create_copies(conn, shadows)
    count, position = await fill(store, model, shadows, progress=progress)
    async with store.pool.connection() as conn, conn.transaction():
        live = await _lock_checkpoints(conn, model)
        more, position = await fill(store, model, shadows, after=position, conn=conn)
        count += more
        ahead = {p: pos for p, pos in live.items() if pos > position}
        if ahead:  # cannot happen if the log is gap-safe; refuse rather than lose effects
            raise RuntimeError(f"live checkpoints {ahead} are past the rebuilt position {position}")
        await _swap(conn, shadows)
        await conn.execute(
            "INSERT INTO projection_checkpoints (projection, partition, position)"
            " SELECT %s, p, %s FROM generate_series(0, %s - 1) AS p"
            " ON CONFLICT (projection, partition)"
            " DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
            (model.name, position, PARTITIONS),
        )
    return RebuildResult(model.name, count, position)


async def _lock_checkpoints(conn: Conn, model: ReadModel) -> dict[int, int]:
    await conn.execute(
        "INSERT INTO projection_checkpoints (projection, partition)"
        " SELECT %s, p FROM generate_series(0, %s - 1) AS p ON CONFLICT DO NOTHING",
        (model.name, PARTITIONS),
    )
    cur = await conn.execute(
        "SELECT partition, position FROM projection_checkpoints WHERE projection = %s"
        " ORDER BY partition FOR UPDATE",
        (model.name,),
    )
    return {int(p): int(pos) for p, pos in await cur.fetchall()}


async def _swap(conn: Conn, shadows: Mapping[str, str]) -> None:
    for live, shadow in shadows.items():
        old = f"{live}__old"
        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(old)))
        await conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(live), sql.Identifier(old))
        )
        await conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(shadow), sql.Identifier(live)
            )
        )
        await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(old)))


async def verify(store: EventStore, model: ReadModel) -> dict[str, tuple[int, int]]:
    """Rebuild privately up to the live checkpoints and diff every table.

    Returns, per table, (rows only in the live model, rows only in the rebuild);
    all zeros means the live projector and a rebuild agree exactly. The live
    projector waits while this runs (its checkpoints are locked).
    """
    copies = shadow_names(model, "verify")
    differences: dict[str, tuple[int, int]] = {}
    async with store.pool.connection() as conn, conn.transaction():
        checkpoints = await _lock_checkpoints(conn, model)
        await create_copies(conn, copies)

        def applied_live(event: RecordedEvent) -> bool:
            return event.position <= checkpoints.get(partition_of(event.tenant_id), 0)

        await fill(store, model, copies, conn=conn, include=applied_live)
        for live, copy in copies.items():
            differences[live] = (
                await _count_except(conn, live, copy),
                await _count_except(conn, copy, live),
            )
        for copy in copies.values():
            await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(copy)))
    return differences


async def _count_except(conn: Conn, left: str, right: str) -> int:
    cur = await conn.execute(
        sql.SQL("SELECT count(*) FROM (TABLE {} EXCEPT ALL TABLE {}) AS d").format(
            sql.Identifier(left), sql.Identifier(right)
        )
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0
