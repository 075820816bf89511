"""The exactly-once step: apply a batch and move the checkpoint in one transaction.

Delivery is at least once (JetStream redelivers, two processes may briefly
share a partition). Effects are exactly once because the checkpoint row is
locked, every event at or below it is dropped, and the read-model rows and the
new checkpoint commit together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Delivery:
    """One event as the broker delivered it.

    ``partition_prev`` is the position of the previous event of the same
    partition (set by the relay); ``None`` means "trust the order given" (events
    read straight from the store). ``stream_seq`` is the JetStream sequence.
    """

    event: RecordedEvent
    partition_prev: int | None = None
    stream_seq: int = 0


@dataclass(frozen=True)
class Applied:
    position: int  # the checkpoint after this batch
    stream_seq: int  # JetStream sequence of the checkpoint's event (0 if unknown)
    processed: int  # deliveries consumed from the front of the batch (applied or duplicate)
    gap: bool  # an event of this partition is missing before ``batch[processed]``


async def apply_with_checkpoint(
    conn: Conn,
    model: ReadModel,
    partition: int,
    batch: Sequence[Delivery | RecordedEvent],
    tables: Mapping[str, str] | None = None,
) -> Applied:
    """Apply what is new in ``batch``, in order, and move the checkpoint; never past a gap.

    A delivery at or below the checkpoint is a duplicate and is dropped. One whose
    partition predecessor is above the checkpoint means something before it has
    not been applied yet (a redelivery still pending, a consumer shared by two
    processes): the batch stops there and the caller repositions its consumer.
    Must run inside the caller's transaction: a failure leaves both the read
    model and the checkpoint untouched.
    """
    cur = await conn.execute(  # create-or-lock the checkpoint row in one round trip
        "INSERT INTO projection_checkpoints AS c (projection, partition) VALUES (%s, %s)"
        " ON CONFLICT (projection, partition) DO UPDATE SET position = c.position"
        " RETURNING position, stream_seq",
        (model.name, partition),
    )
    row = await cur.fetchone()
    checkpoint, seq = (int(row[0]), int(row[1])) if row else (0, 0)
    fresh: list[RecordedEvent] = []
    processed, gap = 0, False
    for item in batch:
        delivery = item if isinstance(item, Delivery) else Delivery(item)
        event = delivery.event
        if event.position > checkpoint:
            if delivery.partition_prev is not None and delivery.partition_prev > checkpoint:
                gap = True
                break
            fresh.append(event)
            checkpoint = event.position
            seq = delivery.stream_seq or seq
        processed += 1
    if fresh:
        decoded = decode_for(model, fresh)
        if decoded:
            await model.apply(conn, decoded, tables or live_tables(model))
        await conn.execute(
            "UPDATE projection_checkpoints SET position = %s, stream_seq = %s, updated_at = now()"
            " WHERE projection = %s AND partition = %s",
            (checkpoint, seq, model.name, partition),
        )
    return Applied(checkpoint, seq, processed, gap)
