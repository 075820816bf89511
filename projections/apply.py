"""The exactly-once step: apply a batch and move the checkpoint in one transaction.

Delivery is at least once (JetStream redelivers, two processes may briefly
share a partition). Effects are exactly once because the checkpoint row is
locked, every event at or below it is dropped, and the read-model rows and the
new checkpoint commit together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from domain.codec import decode_event
from projections.model import Decoded, ReadModel
from streams.envelope import RecordedEvent

Conn = psycopg.AsyncConnection[tuple[Any, ...]]


def live_tables(model: ReadModel) -> dict[str, str]:
    return {table: table for table in model.tables}


def decode_for(model: ReadModel, events: Sequence[RecordedEvent]) -> list[Decoded]:
    return [
        (event, decode_event(event.event_type, event.schema_version, event.payload))
        for event in events
        if model.handles(event.event_type)
    ]


async def apply_with_checkpoint(
    conn: Conn,
    model: ReadModel,
    partition: int,
    events: Sequence[RecordedEvent],
    tables: Mapping[str, str] | None = None,
) -> int:
    """Apply what is new in ``events``; return the checkpoint after the batch.

    Must run inside a transaction (the caller's), so a failure leaves both the
    read model and the checkpoint untouched.
    """
    cur = await conn.execute(
        "INSERT INTO projection_checkpoints (projection, partition) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING",
        (model.name, partition),
    )
    cur = await conn.execute(
        "SELECT position FROM projection_checkpoints"
        " WHERE projection = %s AND partition = %s FOR UPDATE",
        (model.name, partition),
    )
    row = await cur.fetchone()
    checkpoint = int(row[0]) if row else 0
    fresh = [e for e in events if e.position > checkpoint]
    if not fresh:
        return checkpoint
    decoded = decode_for(model, fresh)
    if decoded:
        await model.apply(conn, decoded, tables or live_tables(model))
    newest = max(e.position for e in fresh)
    await conn.execute(
        "UPDATE projection_checkpoints SET position = %s, updated_at = now()"
        " WHERE projection = %s AND partition = %s",
        (newest, model.name, partition),
    )
    return newest
