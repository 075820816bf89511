"""Reading the hash chain from PostgreSQL: the export feed and the per-tenant walk.

``read_chained`` gives a tenant's events with their hashes in global order (what the
history export carries). ``walk_tenant`` checks every stream of a tenant against its
chain and against the store's stream gate, in one snapshot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import psycopg

from streams.chain import ChainedEvent, Finding, check_stream
from streams.envelope import RecordedEvent
from streams.validation import validate_tenant

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
_COLUMNS = (
    "e.position, e.event_id, e.tenant_id, e.stream_id, e.stream_version, e.event_type,"
    " e.schema_version, e.payload, e.recorded_at, e.causation_id, e.correlation_id, e.actor,"
    " e.hash"
)


def _chained(row: tuple[Any, ...]) -> ChainedEvent:
    event = RecordedEvent(
        position=row[0],
        event_id=row[1],
        tenant_id=row[2],
        stream_id=row[3],
        stream_version=row[4],
        event_type=row[5],
        schema_version=row[6],
        payload=bytes(row[7]),
        recorded_at=row[8],
        causation_id=row[9],
        correlation_id=row[10],
        actor=row[11],
    )
    return ChainedEvent(event, bytes(row[12]))


async def read_chained(
    conn: Conn, tenant_id: str, *, after: int = 0, limit: int = 1000
) -> list[ChainedEvent]:
    """A tenant's events after position ``after`` with their chain hashes, in commit order.

    Gap-safe like ``EventStore.read_all``: only events older than every running
    transaction, so paging on the last position never skips one.
    """
    validate_tenant(tenant_id)
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM events e WHERE e.tenant_id = %s AND e.position > %s"
        " AND e.tx_id < obrador_visible_horizon() ORDER BY e.position LIMIT %s",
        (tenant_id, after, limit),
    )
    return [_chained(row) for row in await cur.fetchall()]


async def iter_chained(
    conn: Conn, tenant_id: str, *, page: int = 5000
) -> AsyncIterator[ChainedEvent]:
    """Every visible event of a tenant with its hash, in commit order, page by page."""
    after = 0
    while batch := await read_chained(conn, tenant_id, after=after, limit=page):
        for item in batch:
            yield item
        after = batch[-1].event.position


async def tenants(conn: Conn) -> list[str]:
    """Every tenant with events, a stream gate row or a seal."""
    cur = await conn.execute(
        "SELECT tenant_id FROM streams UNION SELECT DISTINCT tenant_id FROM events"
        " UNION SELECT tenant_id FROM audit_seals ORDER BY 1"
    )
    return [str(row[0]) for row in await cur.fetchall()]


async def walk_tenant(conn: Conn, tenant_id: str) -> tuple[int, int, list[Finding]]:
    """Check every stream of ``tenant_id``: (events read, streams read, findings by position).

    Run it inside a REPEATABLE READ transaction so events and the stream gate are
    read from one snapshot (an append committing meanwhile is wholly in or out).
    Streams are read one after the other through a server-side cursor: memory
    stays at one stream's events.
    """
    found: list[Finding] = []
    events = streams = 0
    current: list[ChainedEvent] = []
    recorded: int | None = None
    async with conn.cursor(name="audit_walk") as cur:
        await cur.execute(
            f"SELECT {_COLUMNS}, s.version FROM events e LEFT JOIN streams s"
            "  ON s.tenant_id = e.tenant_id AND s.stream_id = e.stream_id"
            " WHERE e.tenant_id = %s ORDER BY e.stream_id, e.stream_version",
            (tenant_id,),
        )
        async for row in cur:
            item = _chained(row)
            if current and current[-1].event.stream_id != item.event.stream_id:
                found.extend(check_stream(current, recorded))
                streams += 1
                current = []
            if not current:
                recorded = None if row[13] is None else int(row[13])
            current.append(item)
            events += 1
    if current:
        found.extend(check_stream(current, recorded))
        streams += 1
    found = [await _locate(conn, f) if f.locatable else f for f in found]
    found.extend(await _emptied_streams(conn, tenant_id))
    return events, streams, sorted(found, key=lambda f: f.position)


async def _locate(conn: Conn, finding: Finding) -> Finding:
    """Name the first lost position of a stream: appends' idempotency keys record the
    positions each append took, so a recorded position with no event is a deleted one."""
    cur = await conn.execute(
        "SELECT min(p) FROM idempotency_keys k,"
        " generate_series(k.first_position, k.last_position) AS p"
        " WHERE k.tenant_id = %s AND k.stream_id = %s"
        "   AND NOT EXISTS (SELECT 1 FROM events e WHERE e.position = p)",
        (finding.tenant_id, finding.stream_id),
    )
    row = await cur.fetchone()
    if row is None or row[0] is None:
        return finding
    lost = int(row[0])
    return replace(finding, position=lost, detail=f"{finding.detail}; first lost: position {lost}")


async def _emptied_streams(conn: Conn, tenant_id: str) -> list[Finding]:
    """Gate rows whose stream has no event left: the whole stream was deleted."""
    cur = await conn.execute(
        "SELECT s.stream_id, s.version,"
        " (SELECT max(k.last_position) FROM idempotency_keys k"
        "   WHERE k.tenant_id = s.tenant_id AND k.stream_id = s.stream_id)"
        " FROM streams s WHERE s.tenant_id = %s AND NOT EXISTS"
        " (SELECT 1 FROM events e WHERE e.tenant_id = s.tenant_id AND e.stream_id = s.stream_id)",
        (tenant_id,),
    )
    return [
        Finding(
            "deleted",
            tenant_id,
            str(stream_id),
            int(version),
            int(last or 0),
            f"all {version} events of the stream are gone (the gate still has it)",
        )
        for stream_id, version, last in await cur.fetchall()
    ]
