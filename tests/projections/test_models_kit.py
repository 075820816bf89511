"""Helpers for the read-model tests (no tests here): build a log, project it, read tables.

Events go through the real codec (encode, then decode as the runtime does) and
get envelope positions in order, so the models see exactly what the projector
would hand them. ``project`` applies each batch inside its own transaction with
``tables = {t: t}`` (the live tables), filtered by ``handles`` like the runtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from domain.codec import decode_event, encode_event
from domain.events import DomainEvent
from projections.model import Decoded, ReadModel
from streams.envelope import RecordedEvent

RECORDED_AT = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


class Log:
    """An ordered event log: ``log.add("bakery-1", "stock-s1-flour", event)``."""

    def __init__(self) -> None:
        self.events: list[Decoded] = []
        self._versions: dict[tuple[str, str], int] = {}

    def add(self, tenant: str, stream: str, *events: DomainEvent) -> Log:
        for event in events:
            event_type, version, payload = encode_event(event)
            key = (tenant, stream)
            self._versions[key] = self._versions.get(key, 0) + 1
            rec = RecordedEvent(
                position=len(self.events) + 1,
                event_id=uuid4(),
                tenant_id=tenant,
                stream_id=stream,
                stream_version=self._versions[key],
                event_type=event_type,
                schema_version=version,
                payload=payload,
                recorded_at=RECORDED_AT,
            )
            self.events.append((rec, decode_event(event_type, version, payload)))
        return self


def decoded(records: Iterable[RecordedEvent]) -> list[Decoded]:
    """Recorded events (e.g. from ``read_all``) as the runtime decodes them."""
    return [(r, decode_event(r.event_type, r.schema_version, r.payload)) for r in records]


def chunks(events: Sequence[Decoded], sizes: Iterable[int]) -> list[Sequence[Decoded]]:
    """Cut ``events`` into consecutive batches of the given sizes (the last size repeats)."""
    out: list[Sequence[Decoded]] = []
    size, start, sizes = 1, 0, iter(sizes)
    while start < len(events):
        size = next(sizes, size)
        out.append(events[start : start + size])
        start += size
    return out


async def project(
    pg_url: str,
    models: ReadModel | Sequence[ReadModel],
    events: Sequence[Decoded],
    *,
    batch: int | Sequence[int] | None = None,
) -> None:
    """Apply ``events`` to each model, one transaction per batch (default: one batch)."""
    if not isinstance(models, Sequence):
        models = [models]
    if batch is None:
        batches: list[Sequence[Decoded]] = [events]
    elif isinstance(batch, int):
        batches = chunks(events, [batch])
    else:
        batches = chunks(events, batch)
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        for model in models:
            tables = {t: t for t in model.tables}
            for part in batches:
                mine = [(r, e) for r, e in part if model.handles(r.event_type)]
                if not mine:
                    continue
                async with conn.transaction():
                    await model.apply(conn, mine, tables)


async def rows(pg_url: str, query: str, *params: Any) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(pg_url, row_factory=dict_row) as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()


async def one(pg_url: str, query: str, *params: Any) -> dict[str, Any]:
    found = await rows(pg_url, query, *params)
    assert len(found) == 1, found
    return found[0]


async def dump(pg_url: str, models: Iterable[ReadModel]) -> dict[str, list[str]]:
    """Every table of ``models`` as the text of its rows, sorted: equal dumps = equal bytes."""
    out: dict[str, list[str]] = {}
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        for model in models:
            for table in model.tables:
                query = sql.SQL("SELECT t::text FROM {} AS t ORDER BY 1").format(
                    sql.Identifier(table)
                )
                cur = await conn.execute(query)
                out[table] = [row[0] for row in await cur.fetchall()]
    return out


async def wipe(pg_url: str, models: Iterable[ReadModel]) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        for model in models:
            for table in model.tables:
                await conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
