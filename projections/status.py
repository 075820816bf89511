"""Per-partition state of every projection, and the lag figures `projections status` shows."""

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
    out = []
    for projection, partition, state, position, error, failed, updated in rows:
        count, oldest = behind.get((str(projection), int(partition)), (0, None))
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
            )
        )
    return out
