"""The append transaction and stream reads shared by every eventsourcing recorder.

Appends follow the store's protocol (docs/adr/0002-gap-safe-global-log.md):
``obrador_reserve_positions(n)`` is the first write of the transaction, then the
``streams`` rows move in step, the events go in with the reserved positions,
``pg_notify`` wakes listeners, commit. No table lock. See docs/eventsourcing.md.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal
from uuid import UUID

import psycopg
import psycopg_pool
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
    Tracking,
)

from streams.append_batch import NOTIFY_CHANNEL
from streams.validation import MAX_PAYLOAD_BYTES, MAX_STREAM_ID_LENGTH

Conn = psycopg.Connection[tuple[Any, ...]]
Pool = psycopg_pool.ConnectionPool[Conn]
OriginatorIdType = Literal["uuid", "text"]

_BAD_STREAM_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Raise the library's persistence errors for psycopg's, as its own recorders do."""
    try:
        yield
    except psycopg.IntegrityError as e:
        raise IntegrityError(str(e)) from e
    except psycopg.InterfaceError as e:
        raise InterfaceError(str(e)) from e
    except psycopg.OperationalError as e:  # includes psycopg_pool.PoolTimeout
        raise OperationalError(str(e)) from e
    except psycopg.DataError as e:
        raise DataError(str(e)) from e
    except psycopg.InternalError as e:
        raise InternalError(str(e)) from e
    except psycopg.ProgrammingError as e:
        raise ProgrammingError(str(e)) from e
    except psycopg.NotSupportedError as e:
        raise NotSupportedError(str(e)) from e
    except psycopg.DatabaseError as e:
        raise DatabaseError(str(e)) from e
    except psycopg.Error as e:
        raise PersistenceError(str(e)) from e


def stream_id_of(originator_id: UUID | str) -> str:
    """The store's stream id for an originator id; refuses ids the store cannot hold."""
    stream_id = str(originator_id)
    if not stream_id or len(stream_id) > MAX_STREAM_ID_LENGTH or _BAD_STREAM_CHARS.search(
        stream_id
    ):
        msg = (
            f"originator id {originator_id!r} cannot be a stream id: it must be 1-"
            f"{MAX_STREAM_ID_LENGTH} characters without spaces or control characters"
        )
        raise DataError(msg)
    return stream_id


def _release_session_locks(conn: Conn) -> None:
    """After a failed append: drop any advisory lock a cancelled reserve left behind.

    ``obrador_reserve_positions`` holds a *session* advisory lock for
    microseconds; a statement cancelled inside it would keep that lock on this
    connection and stall every writer. If the unlock itself fails, the
    connection is closed (which frees its locks) and the pool discards it.
    """
    try:
        conn.execute("SELECT pg_advisory_unlock_all()")
    except Exception:
        conn.close()


class ObradorRecorder:
    """What every recorder shares: the pool, the tenant, how ids come back."""

    def __init__(
        self,
        pool: Pool,
        *,
        tenant_id: str,
        originator_id_type: OriginatorIdType = "uuid",
        purpose: str = "events",
    ) -> None:
        self.pool = pool
        self.tenant_id = tenant_id
        self.originator_id_type = originator_id_type
        self.purpose = purpose

    def originator_id_of(self, stream_id: str) -> UUID | str:
        """The originator id for a stream id read back from the store."""
        if self.originator_id_type == "uuid":
            with contextlib.suppress(ValueError):
                return UUID(stream_id)
        return stream_id

    @contextlib.contextmanager
    def connection(self) -> Iterator[Conn]:
        with translated_errors(), self.pool.connection() as conn:
            yield conn

    # -- the append transaction ----------------------------------------------

    def write(self, stored_events: Sequence[StoredEvent], tracking: Tracking | None) -> list[int]:
        """Append ``stored_events`` and record ``tracking`` in one transaction; their positions."""
        count = len(stored_events)
        if count == 0 and tracking is None:
            return []
        # Refuse bad input before reserving anything.
        stream_ids = [stream_id_of(e.originator_id) for e in stored_events]
        for e in stored_events:
            if len(e.state) > MAX_PAYLOAD_BYTES:
                msg = (
                    f"event {e.originator_id} v{e.originator_version} ({e.topic}): "
                    f"{len(e.state)} bytes of state; the store's limit is {MAX_PAYLOAD_BYTES} "
                    "bytes per event (docs/envelope.md)"
                )
                raise DataError(msg)
        positions: list[int] = []
        with self.connection() as conn:
            reserving = False
            try:
                with conn.transaction():
                    if count:
                        reserving = True  # from here a failure may leave the reserve's lock
                        row = conn.execute(
                            "SELECT obrador_reserve_positions(%s)", (count,)
                        ).fetchone()
                        assert row is not None
                        positions = list(range(int(row[0]), int(row[0]) + count))
                    if tracking is not None:
                        self.write_tracking(conn, tracking)
                    if count:
                        self.write_events(conn, stored_events, stream_ids, positions)
            except BaseException:
                if reserving:
                    _release_session_locks(conn)
                raise
        return positions

    def write_events(
        self,
        conn: Conn,
        stored_events: Sequence[StoredEvent],
        stream_ids: list[str],
        positions: list[int],
    ) -> None:
        versions = [e.originator_version for e in stored_events]
        last: dict[str, int] = {}
        for stream_id, version in zip(stream_ids, versions, strict=True):
            last[stream_id] = max(version, last.get(stream_id, version))
        ordered = sorted(last)  # same lock order in every transaction: no deadlocks
        conn.execute(
            "INSERT INTO streams AS s (tenant_id, stream_id, version)"
            " SELECT %s, u.stream_id, u.version"
            " FROM unnest(%s::text[], %s::bigint[]) AS u(stream_id, version) ORDER BY u.stream_id"
            " ON CONFLICT (tenant_id, stream_id)"
            " DO UPDATE SET version = greatest(s.version, excluded.version)",
            (self.tenant_id, ordered, [last[s] for s in ordered]),
        )
        conn.execute(
            "WITH e AS ("
            " INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version,"
            "  event_type, payload)"
            " SELECT u.position, gen_random_uuid(), %s, u.stream_id, u.version, u.topic, u.state"
            " FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::bytea[])"
            "  AS u(position, stream_id, version, topic, state)"
            " RETURNING position)"
            " SELECT pg_notify(%s, max(position)::text) FROM e",
            (
                self.tenant_id,
                positions,
                stream_ids,
                versions,
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
                NOTIFY_CHANNEL,
            ),
        )

    def write_tracking(self, conn: Conn, tracking: Tracking) -> None:
        row = conn.execute(
            "INSERT INTO eventsourcing_tracking AS t (tenant_id, application_name, notification_id)"
            " VALUES (%s, %s, %s)"
            " ON CONFLICT (tenant_id, application_name)"
            " DO UPDATE SET notification_id = excluded.notification_id"
            " WHERE t.notification_id < excluded.notification_id"
            " RETURNING notification_id",
            (self.tenant_id, tracking.application_name, tracking.notification_id),
        ).fetchone()
        if row is None:
            msg = (
                f"tracking of {tracking.application_name!r} is already at or past "
                f"notification {tracking.notification_id} (tenant {self.tenant_id!r})"
            )
            raise IntegrityError(msg)

    # -- reading a stream ----------------------------------------------------

    def read_stream(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None,
        lte: int | None,
        desc: bool,
        limit: int | None,
    ) -> list[StoredEvent]:
        query = (
            "SELECT stream_version, event_type, payload FROM events"
            " WHERE tenant_id = %s AND stream_id = %s"
        )
        params: list[Any] = [self.tenant_id, str(originator_id)]
        if self.purpose != "events":
            query = (
                "SELECT stream_version, topic, state FROM eventsourcing_snapshots"
                " WHERE tenant_id = %s AND purpose = %s AND stream_id = %s"
            )
            params.insert(1, self.purpose)
        if gt is not None:
            query += " AND stream_version > %s"
            params.append(gt)
        if lte is not None:
            query += " AND stream_version <= %s"
            params.append(lte)
        query += " ORDER BY stream_version DESC" if desc else " ORDER BY stream_version"
        if limit is not None:
            query += " LIMIT %s"
            params.append(limit)
        with self.connection() as conn:
            rows = conn.execute(query, params).fetchall()
        return [
            StoredEvent(
                originator_id=originator_id,
                originator_version=row[0],
                topic=row[1],
                state=bytes(row[2]),
            )
            for row in rows
        ]
