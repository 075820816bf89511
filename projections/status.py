"""Per-partition state of every projection, and the lag figures `projections status` shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


async def read_status(
    conn: psycopg.AsyncConnection[tuple[Any, ...]], partitions: int
) -> list[PartitionStatus]:
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
        "SELECT tenant_id, count(*), min(position), min(recorded_at) FROM events"
        " WHERE tx_id < obrador_visible_horizon() AND position > %s GROUP BY tenant_id",
        (min((int(r[3]) for r in rows), default=0),),
    )
    per_tenant = await cur.fetchall()
    out = []
    for projection, partition, state, position, error, failed, updated in rows:
        behind, oldest = 0, None
        for tenant, _count, _first, _when in per_tenant:
            if partition_of(str(tenant)) != partition:
                continue
            sub = await conn.execute(
                "SELECT count(*), min(recorded_at) FROM events WHERE tenant_id = %s"
                " AND position > %s AND tx_id < obrador_visible_horizon()",
                (tenant, position),
            )
            got = await sub.fetchone()
            if got is not None and got[0]:
                behind += int(got[0])
                oldest = got[1] if oldest is None else min(oldest, got[1])
        lag = (
            0.0
            if oldest is None
            else max(0.0, (datetime.now(oldest.tzinfo) - oldest).total_seconds())
        )
        out.append(
            PartitionStatus(
                str(projection),
                int(partition),
                str(state),
                int(position),
                behind,
                lag,
                error,
                failed,
                updated,
            )
        )
    return out
