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

Events the model cannot apply are parked exactly as the live projector parks
them (``projections.apply.apply_events``): into a copy of ``parked_events``
during the run, whose rows replace the model's live parked rows at the swap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from projections.apply import apply_events
from projections.model import ReadModel
from projections.parking import PARKED_COLUMNS, PARKED_TABLE
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
    parked: int = 0  # events the rebuilt model parked (now in ``parked_events``)


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found: per table (rows only live, rows only rebuilt), and parked events."""

    differences: dict[str, tuple[int, int]]
    parked: list[tuple[int, str, str, str]]  # (position, tenant, event type, error), in order

    @property
    def identical(self) -> bool:
        return all(v == (0, 0) for v in self.differences.values())


def shadow_names(model: ReadModel, suffix: str) -> dict[str, str]:
    """Copies of the model's tables, and the model's own copy of ``parked_events``."""
    names = {table: f"{table}__{suffix}" for table in model.tables}
    names[PARKED_TABLE] = f"{PARKED_TABLE}__{model.name}_{suffix}"
    return names


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
            if any(model.handles(e.event_type) for e in chosen):
                if conn is not None:
                    await apply_events(conn, model, chosen, tables)
                else:
                    async with store.pool.connection() as own, own.transaction():
                        await apply_events(own, model, chosen, tables)
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
        parked = await _count(conn, shadows[PARKED_TABLE])
        await _swap(conn, model, shadows)
        await conn.execute(
            "INSERT INTO projection_checkpoints (projection, partition, position)"
            " SELECT %s, p, %s FROM generate_series(0, %s - 1) AS p"
            " ON CONFLICT (projection, partition)"
            " DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
            (model.name, position, PARTITIONS),
        )
    return RebuildResult(model.name, count, position, parked)


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


async def _swap(conn: Conn, model: ReadModel, shadows: Mapping[str, str]) -> None:
    for live, shadow in shadows.items():
        if live == PARKED_TABLE:  # shared by every model: swap this model's rows only
            await conn.execute(f"DELETE FROM {PARKED_TABLE} WHERE projection = %s", (model.name,))
            await conn.execute(
                sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                    sql.Identifier(PARKED_TABLE), sql.Identifier(shadow)
                )
            )
            await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(shadow)))
            continue
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
    """Per table, (rows only in the live model, rows only in a rebuild): see :func:`check`."""
    return (await check(store, model)).differences


async def check(store: EventStore, model: ReadModel) -> Verification:
    """Rebuild privately up to the live checkpoints, diff every table, list parked events.

    All differences zero means the live projector and a rebuild agree exactly,
    parked events included (``parked_events`` is compared on this model's rows,
    ``parked_at`` aside). The live projector waits while this runs (its
    checkpoints are locked).
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
            left, right = _compared(live, copy, model)
            differences[live] = (
                await _count_except(conn, left, right),
                await _count_except(conn, right, left),
            )
        cur = await conn.execute(
            sql.SQL(
                "SELECT position, tenant_id, event_type, error_class || ': ' || error"
                " FROM {} ORDER BY position"
            ).format(sql.Identifier(copies[PARKED_TABLE]))
        )
        parked = [(int(p), str(t), str(k), str(e)) for p, t, k, e in await cur.fetchall()]
        for copy in copies.values():
            await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(copy)))
    return Verification(differences, parked)


def _compared(live: str, copy: str, model: ReadModel) -> tuple[sql.Composable, sql.Composable]:
    """The two row sets to diff: whole tables, or this model's parked events without the time."""
    if live != PARKED_TABLE:
        return sql.SQL("TABLE {}").format(sql.Identifier(live)), sql.SQL("TABLE {}").format(
            sql.Identifier(copy)
        )
    columns = sql.SQL(", ").join(map(sql.Identifier, PARKED_COLUMNS))
    return (
        sql.SQL("SELECT {} FROM {} WHERE projection = {}").format(
            columns, sql.Identifier(live), sql.Literal(model.name)
        ),
        sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier(copy)),
    )


async def _count_except(conn: Conn, left: sql.Composable, right: sql.Composable) -> int:
    cur = await conn.execute(
        sql.SQL("SELECT count(*) FROM ({} EXCEPT ALL {}) AS d").format(left, right)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _count(conn: Conn, table: str) -> int:
    cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    row = await cur.fetchone()
    return int(row[0]) if row else 0
