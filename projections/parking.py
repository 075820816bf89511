"""Parked events: what a projection could not apply, kept with the reason (ADR 0006).

A projector that fails on one event parks it — a row in ``parked_events``,
written in the transaction that moves the checkpoint past the event — and goes
on with the next one. Only a failure that the event itself causes parks it;
trouble with the database or the network is retried (:func:`is_transient`),
never parked, so nothing is skipped because PostgreSQL restarted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql

from streams.envelope import RecordedEvent
from streams.jetstream import partition_of

#: Logical name of the parked-events table in a ``tables`` mapping (live: itself;
#: a rebuild: its own copy, whose rows are swapped in with the model's tables).
PARKED_TABLE: Final = "parked_events"
#: Columns a rebuild and the live projector must agree on (all but ``parked_at``).
PARKED_COLUMNS: Final = (
    "projection",
    "position",
    "partition",
    "tenant_id",
    "stream_id",
    "event_type",
    "error_class",
    "error",
)
MAX_ERROR: Final = 2000


class SchemaTooNew(Exception):
    """An event written by newer code than this projector's: upgrade it, never park."""


@dataclass(frozen=True)
class Parked:
    position: int
    partition: int
    tenant_id: str
    stream_id: str
    event_type: str
    error_class: str
    error: str

    @classmethod
    def of(cls, event: RecordedEvent, exc: BaseException) -> Parked:
        exc = _root(exc)
        message = (str(exc) or type(exc).__name__).replace("\x00", "\\x00")
        return cls(
            event.position,
            partition_of(event.tenant_id),
            event.tenant_id,
            event.stream_id,
            event.event_type,
            type(exc).__name__,
            message[:MAX_ERROR],
        )


def is_transient(exc: BaseException) -> bool:
    """Infrastructure trouble (retry the batch), as opposed to an event that cannot be applied.

    A lost connection, a restart, a deadlock, a full disk or a statement timeout
    is ``OperationalError``; a limit of the statement itself (an index row too
    large) is too, but it is the event's doing and happens again on every retry.
    """
    if isinstance(exc, psycopg.errors.ProgramLimitExceeded):
        return False
    return isinstance(
        exc, psycopg.OperationalError | psycopg.InterfaceError | OSError | SchemaTooNew
    )


async def write_parked(
    conn: psycopg.AsyncConnection[tuple[Any, ...]],
    projection: str,
    table: str,
    parked: Sequence[Parked],
) -> None:
    """Insert the rows (a duplicate position is already parked: left as it is)."""
    if not parked:
        return
    query = sql.SQL(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (projection, position) DO NOTHING"
    ).format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, PARKED_COLUMNS)),
        sql.SQL(", ").join(sql.Placeholder() * len(PARKED_COLUMNS)),
    )
    async with conn.cursor() as cur:
        await cur.executemany(
            query,
            [
                (
                    projection,
                    p.position,
                    p.partition,
                    p.tenant_id,
                    p.stream_id,
                    p.event_type,
                    p.error_class,
                    p.error,
                )
                for p in parked
            ],
        )


def _root(exc: BaseException) -> BaseException:
    """A statement refused because an earlier one failed: the earlier one is the cause."""
    if isinstance(exc, psycopg.errors.InFailedSqlTransaction) and exc.__context__ is not None:
        return _root(exc.__context__)
    return exc
