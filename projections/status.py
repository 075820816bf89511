"""Per-partition state of every projection, the lag figures and the parked events
`projections status` shows, and a tenant's parked events (the read API's
``GET /v1/projections/parked``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg


@dataclass(frozen=True)
class PartitionStatus:
    projection: str
    partition: int
    state: str
    position: int
    lag_events: int
    lag_seconds: float
    error: str | None
    failed_position: int | None
    updated_at: datetime | None
    parked: int = 0  # events this partition parked
    first_parked_position: int | None = None
    first_parked_error: str | None = None


@dataclass(frozen=True)
class ParkedEvent:
    """An event a read model could not apply (``parked_events``), as a tenant sees it."""

    projection: str
    position: int
    stream_id: str
    event_type: str
    error_class: str
    error: str
    parked_at: datetime


async def mark(
    conn: psycopg.AsyncConnection[tuple[Any, ...]],
    projection: str,
    partition: int,
    state: str,
    *,
    error: str | None = None,
    failed_position: int | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO projection_status (projection, partition, state, error, failed_position)"
        " VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (projection, partition) DO UPDATE SET state = EXCLUDED.state,"
        " error = EXCLUDED.error, failed_position = EXCLUDED.failed_position, updated_at = now()",
        (projection, partition, state, error, failed_position),
    )


async def read_status(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> list[PartitionStatus]:
    """One row per projection × partition with events and seconds behind the store."""
    from streams.jetstream import partition_of  # noqa: PLC0415 — keeps status import-light

    cur = await conn.execute(
        "SELECT c.projection, c.partition, coalesce(s.state, 'idle'), c.position,"
        " s.error, s.failed_position, s.updated_at"
        " FROM projection_checkpoints c LEFT JOIN projection_status s"
        "   ON s.projection = c.projection AND s.partition = c.partition"
        " ORDER BY c.projection, c.partition"
    )
    rows = await cur.fetchall()
    cur = await conn.execute(
        "SELECT DISTINCT tenant_id FROM events"
        " WHERE tx_id < obrador_visible_horizon() AND position > %s",
        (min((int(r[3]) for r in rows), default=0),),
    )
    tenants = [str(t) for (t,) in await cur.fetchall()]
    cur = await conn.execute(  # partitions come from the tenant, computed here, joined there
        "SELECT c.projection, c.partition, count(*), min(e.recorded_at)"
        " FROM projection_checkpoints c"
        " JOIN unnest(%s::text[], %s::int[]) AS t(tenant_id, partition)"
        "   ON t.partition = c.partition"
        " JOIN events e ON e.tenant_id = t.tenant_id AND e.position > c.position"
        "   AND e.tx_id < obrador_visible_horizon()"
        " GROUP BY c.projection, c.partition",
        (tenants, [partition_of(t) for t in tenants]),
    )
    behind = {
        (str(p), int(n)): (int(count), oldest) for p, n, count, oldest in await cur.fetchall()
    }
    parked = await _parked_by_partition(conn)
    out = []
    for projection, partition, state, position, error, failed, updated in rows:
        count, oldest = behind.get((str(projection), int(partition)), (0, None))
        n_parked, first_position, first_error = parked.get(
            (str(projection), int(partition)), (0, None, None)
        )
        lag = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        out.append(
            PartitionStatus(
                str(projection),
                int(partition),
                str(state),
                int(position),
                count,
                lag,
                error,
                failed,
                updated,
                n_parked,
                first_position,
                first_error,
            )
        )
    return out


async def _parked_by_partition(
    conn: psycopg.AsyncConnection[tuple[Any, ...]],
) -> dict[tuple[str, int], tuple[int, int, str]]:
    """(projection, partition) -> (parked events, first position, its error)."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (projection, partition) projection, partition,"
        " count(*) OVER (PARTITION BY projection, partition), position,"
        " error_class || ': ' || error"
        " FROM parked_events ORDER BY projection, partition, position"
    )
    return {
        (str(p), int(n)): (int(c), int(pos), str(e)) for p, n, c, pos, e in await cur.fetchall()
    }


async def parked_events(
    conn: psycopg.AsyncConnection[tuple[Any, ...]],
    tenant_id: str,
    *,
    projection: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[ParkedEvent]:
    """The tenant's parked events, oldest first, from global position ``after`` on."""
    cur = await conn.execute(
        "SELECT projection, position, stream_id, event_type, error_class, error, parked_at"
        " FROM parked_events WHERE tenant_id = %s AND position > %s"
        " AND (%s::text IS NULL OR projection = %s)"
        " ORDER BY position, projection LIMIT %s",
        (tenant_id, after, projection, projection, limit),
    )
    return [
        ParkedEvent(str(p), int(pos), str(s), str(t), str(c), str(e), at)
        for p, pos, s, t, c, e, at in await cur.fetchall()
    ]


async def parked_counts(
    conn: psycopg.AsyncConnection[tuple[Any, ...]], tenant_id: str
) -> dict[str, int]:
    """Per read model, how many of the tenant's events it parked (absent: none)."""
    cur = await conn.execute(
        "SELECT projection, count(*) FROM parked_events WHERE tenant_id = %s"
        " GROUP BY projection ORDER BY projection",
        (tenant_id,),
    )
    return {str(p): int(n) for p, n in await cur.fetchall()}
