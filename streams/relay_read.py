"""The relay's read of the global log: one round trip, rows ready to publish.

The same gap-safe rule as ``EventStore.read_all`` (docs/adr/0002-gap-safe-global-log.md:
only events of transactions older than every running one), but on a
connection of the relay's own in autocommit, so a read is one statement and
one round trip instead of BEGIN, SELECT, COMMIT; in binary, so payloads
arrive as bytes without hex decoding; and PostgreSQL builds the
``Obrador-Envelope`` header text (``streams.jetstream.Envelope``) itself, so
the relay's single Python thread converts no timestamps or UUIDs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg

#: ``streams.jetstream.Envelope`` but ``partition_prev``, which only the relay knows.
_ENVELOPE = (
    "json_build_array(tenant_id, stream_id, stream_version, event_type, schema_version,"
    " recorded_at, causation_id, correlation_id, actor)::text"
)
_QUERY = (
    f"SELECT position, event_id::text, tenant_id, stream_id, event_type, payload, {_ENVELOPE}"
    " FROM events WHERE position > %s AND tx_id < obrador_visible_horizon()"
    " ORDER BY position LIMIT %s"
)


class LogRow(NamedTuple):
    position: int
    event_id: str
    tenant_id: str
    stream_id: str
    event_type: str
    payload: bytes
    envelope: str  # a JSON array without its last element, partition_prev


class LogReader:
    """Reads the global log after a position, on a connection of its own."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    @classmethod
    async def connect(cls, conninfo: str) -> LogReader:
        return cls(await psycopg.AsyncConnection.connect(conninfo, autocommit=True))

    async def read(self, after: int, limit: int) -> list[LogRow]:
        cur = self._conn.cursor(binary=True)
        await cur.execute(_QUERY, (after, limit))
        return [LogRow(*row) for row in await cur.fetchall()]

    async def close(self) -> None:
        await self._conn.close()


def with_partition_prev(envelope: str, partition_prev: int) -> str:
    """The complete ``Obrador-Envelope`` value: ``envelope`` with ``partition_prev`` appended."""
    return f"{envelope[:-1]}, {partition_prev}]"
