"""The exactly-once step: apply a batch and move the checkpoint in one transaction.

Delivery is at least once (JetStream redelivers, two processes may briefly
share a partition). Effects are exactly once because the checkpoint row is
locked, every event at or below it is dropped, and the read-model rows and the
new checkpoint commit together.

An event that cannot be applied is parked, not retried forever
(``projections.parking``, ADR 0006): first every event is decoded and checked
(``projections.guard``); then the batch is applied under a savepoint, and if
that fails for any reason but the infrastructure's, again one event at a time so
that only the guilty one is parked. The parked rows go into the same
transaction as the checkpoint. Live projectors and rebuilds share this code, so
both park the same events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import psycopg

from domain.codec import decode_event
from domain.events import EVENT_TYPES
from projections.guard import check_appliable
from projections.model import Decoded, ReadModel
from projections.parking import PARKED_TABLE, Parked, SchemaTooNew, is_transient, write_parked
from streams import relay_wake
from streams.envelope import RecordedEvent
from streams.personal import open_records
from streams.subject_keys import read_keys

Conn = psycopg.AsyncConnection[tuple[Any, ...]]


def live_tables(model: ReadModel) -> dict[str, str]:
    """The model's tables and the parked-events table, each as itself."""
    return {table: table for table in (*model.tables, PARKED_TABLE)}


def decode_for(model: ReadModel, events: Sequence[RecordedEvent]) -> list[Decoded]:
    return [
        (event, decode_event(event.event_type, event.schema_version, event.payload))
        for event in events
        if model.handles(event.event_type)
    ]


def screen(model: ReadModel, events: Sequence[RecordedEvent]) -> tuple[list[Decoded], list[Parked]]:
    """Decode and check the events ``model`` handles: (appliable ones, parked ones).

    A payload that does not decode or holds an unappliable value is parked; an
    event from a newer schema than this code raises ``SchemaTooNew`` (upgrade).
    """
    ready: list[Decoded] = []
    parked: list[Parked] = []
    for event in events:
        if not model.handles(event.event_type):
            continue
        cls = EVENT_TYPES.get(event.event_type)
        if cls is not None and event.schema_version > cls.SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{event.event_type} v{event.schema_version} at position {event.position} is"
                f" newer than this projector (v{cls.SCHEMA_VERSION}): upgrade it"
            )
        try:
            decoded = decode_event(event.event_type, event.schema_version, event.payload)
            check_appliable(decoded)
        except Exception as exc:
            parked.append(Parked.of(event, exc))
        else:
            ready.append((event, decoded))
    return ready, parked


async def apply_events(
    conn: Conn,
    model: ReadModel,
    events: Sequence[RecordedEvent],
    tables: Mapping[str, str],
    *,
    isolate: bool = True,
) -> list[Parked]:
    """Apply ``events`` to ``tables`` in the caller's transaction; park what cannot be applied.

    Returns the parked events (already written to ``tables[PARKED_TABLE]``).
    Infrastructure errors propagate: the caller retries the whole batch.
    ``isolate=False`` applies the batch without a savepoint (two round trips
    fewer): a failure then propagates and spoils the caller's transaction,
    which must roll back and retry with ``isolate=True`` to park the guilty
    event (the live projector's fast path, ``runtime.SharedApplier``).
    """
    handled = [e for e in events if model.handles(e.event_type)]
    ready, parked = screen(model, await open_records(partial(read_keys, conn), handled))
    if ready and not isolate:
        await model.apply(conn, ready, tables)
    elif ready:
        try:
            async with conn.transaction():  # a savepoint: a failure leaves the batch undone
                await model.apply(conn, ready, tables)
        except Exception as exc:
            if is_transient(exc):
                raise
            parked += await _one_by_one(conn, model, ready, tables)
    if parked:
        parked.sort(key=lambda p: p.position)
        await write_parked(conn, model.name, tables[PARKED_TABLE], parked)
    return parked


async def _one_by_one(
    conn: Conn, model: ReadModel, ready: Sequence[Decoded], tables: Mapping[str, str]
) -> list[Parked]:
    """The batch failed: apply each event under its own savepoint and park those that fail."""
    parked: list[Parked] = []
    for item in ready:
        try:
            async with conn.transaction():
                await model.apply(conn, [item], tables)
        except Exception as exc:
            if is_transient(exc):
                raise
            parked.append(Parked.of(item[0], exc))
    return parked


#: LISTEN on this channel to hear a projection move: payload ``"<model> <partition> <position>"``.
#: (The relay listens too: a projector's commit may make held-back events visible.)
CHECKPOINT_CHANNEL: Final = relay_wake.CHECKPOINT_CHANNEL


async def move_checkpoints(
    conn: Conn, model: str, positions: Mapping[int, tuple[int, int]]
) -> None:
    """Set ``model``'s checkpoint of each partition to ``(position, stream_seq)`` and NOTIFY it.

    One statement: the UPDATE and a ``pg_notify`` per partition moved. PostgreSQL
    delivers the notifications at commit only (none if the transaction rolls back),
    so a listener (the API's ``/v1/stream``) hears of rows that are really there.
    """
    partitions = list(positions)
    await conn.execute(
        "WITH moved AS (UPDATE projection_checkpoints AS c"
        " SET position = v.position, stream_seq = v.seq, updated_at = now()"
        " FROM unnest(%s::integer[], %s::bigint[], %s::bigint[]) AS v(partition, position, seq)"
        " WHERE c.projection = %s AND c.partition = v.partition"
        " RETURNING c.partition, c.position)"
        " SELECT pg_notify(%s, %s || ' ' || partition || ' ' || position) FROM moved",
        (
            partitions,
            [positions[p][0] for p in partitions],
            [positions[p][1] for p in partitions],
            model,
            CHECKPOINT_CHANNEL,
            model,
        ),
    )


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
    parked: tuple[Parked, ...] = ()  # events of the batch that could not be applied


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
    model and the checkpoint untouched. An event that cannot be applied is parked
    in the same transaction (see :func:`apply_events`).
    """
    return (await apply_partitions(conn, model, {partition: batch}, tables))[partition]


async def apply_partitions(
    conn: Conn,
    model: ReadModel,
    batches: Mapping[int, Sequence[Delivery | RecordedEvent]],
    tables: Mapping[str, str] | None = None,
    *,
    isolate: bool = True,
) -> dict[int, Applied]:
    """:func:`apply_with_checkpoint` for several partitions at once, in the caller's transaction.

    Every partition keeps its own checkpoint row, duplicate and gap rules; the
    new events of all of them go through one ``model.apply`` (partitions hold
    disjoint tenants, and the order within each is kept), so small batches of
    many partitions cost one transaction and one set of statements.
    ``isolate`` as in :func:`apply_events`.
    """
    partitions = sorted(batches)  # rows locked in one order: no deadlock between projectors
    cur = await conn.execute(  # create-or-lock the checkpoint rows in one round trip
        "INSERT INTO projection_checkpoints AS c (projection, partition)"
        " SELECT %s, p FROM unnest(%s::integer[]) AS p ORDER BY p"
        " ON CONFLICT (projection, partition) DO UPDATE SET position = c.position"
        " RETURNING partition, position, stream_seq",
        (model.name, partitions),
    )
    rows = {int(p): (int(pos), int(seq)) for p, pos, seq in await cur.fetchall()}
    fresh: list[RecordedEvent] = []
    owner: dict[int, int] = {}  # position of a fresh event -> its partition
    moved: dict[int, tuple[int, int, int, bool]] = {}  # checkpoint, seq, processed, gap
    for partition in partitions:
        checkpoint, seq = rows.get(partition, (0, 0))
        processed, gap = 0, False
        for item in batches[partition]:
            delivery = item if isinstance(item, Delivery) else Delivery(item)
            event = delivery.event
            if event.position > checkpoint:
                if delivery.partition_prev is not None and delivery.partition_prev > checkpoint:
                    gap = True
                    break
                fresh.append(event)
                owner[event.position] = partition
                checkpoint = event.position
                seq = delivery.stream_seq or seq
            processed += 1
        moved[partition] = (checkpoint, seq, processed, gap)
    parked: list[Parked] = []
    if fresh:
        fresh.sort(key=lambda e: e.position)
        parked = await apply_events(
            conn, model, fresh, tables or live_tables(model), isolate=isolate
        )
        changed = sorted({owner[e.position] for e in fresh})
        await move_checkpoints(conn, model.name, {p: (moved[p][0], moved[p][1]) for p in changed})
    return {
        partition: Applied(
            checkpoint,
            seq,
            processed,
            gap,
            tuple(p for p in parked if owner.get(p.position) == partition),
        )
        for partition, (checkpoint, seq, processed, gap) in moved.items()
    }
