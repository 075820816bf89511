"""Recorders that store an ``eventsourcing`` application's events in Obrador's event store.

Mapping (docs/eventsourcing.md): ``originator_id`` -> ``stream_id`` (``str`` of
the id), ``originator_version`` -> ``stream_version``, ``topic`` -> ``event_type``
(verbatim), ``state`` -> ``payload``, notification id -> global ``position``. All
of one application's rows carry its tenant id.

Appends follow the store's protocol (docs/adr/0002-gap-safe-global-log.md):
``obrador_reserve_positions(n)`` is the first write of the transaction, then the
``streams`` rows move in step, the events go in with the reserved positions,
``pg_notify`` wakes listeners, commit. No table lock. Notification reads only
return rows whose transaction is below ``obrador_visible_horizon()``, so a
follower never skips an event that commits late.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from threading import Thread
from time import monotonic
from typing import Any, Literal
from uuid import UUID

import psycopg
import psycopg_pool
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    ListenNotifySubscription,
    Notification,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProcessRecorder,
    ProgrammingError,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)

from streams.append_batch import NOTIFY_CHANNEL
from streams.validation import MAX_STREAM_ID_LENGTH

Conn = psycopg.Connection[tuple[Any, ...]]
Pool = psycopg_pool.ConnectionPool[Conn]
OriginatorIdType = Literal["uuid", "text"]

#: How often a subscription re-reads without a NOTIFY: events held back by the
#: visibility horizon become readable when an older transaction ends, which
#: sends no notification if that transaction appended nothing.
SUBSCRIPTION_POLL_S = 0.5

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
                        self.write_events(conn, stored_events, positions)
            except BaseException:
                if reserving:
                    _release_session_locks(conn)
                raise
        return positions

    def write_events(
        self, conn: Conn, stored_events: Sequence[StoredEvent], positions: list[int]
    ) -> None:
        stream_ids = [stream_id_of(e.originator_id) for e in stored_events]
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


class ObradorAggregateRecorder(ObradorRecorder, AggregateRecorder):
    """An aggregate's events as a stream of the store (notification ids not returned)."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self.write(stored_events, None)
        return None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        return self.read_stream(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)


class ObradorSnapshotRecorder(ObradorAggregateRecorder):
    """Snapshots (any purpose but "events"): their own table, outside the global log."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return None
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO eventsourcing_snapshots"
                " (tenant_id, purpose, stream_id, stream_version, topic, state)"
                " SELECT %s, %s, u.stream_id, u.version, u.topic, u.state"
                " FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bytea[])"
                "  AS u(stream_id, version, topic, state)",
                (
                    self.tenant_id,
                    self.purpose,
                    [stream_id_of(e.originator_id) for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [e.state for e in stored_events],
                ),
            )
        return None


class ObradorApplicationRecorder(ObradorAggregateRecorder, ApplicationRecorder):
    """Adds the application sequence: the tenant's slice of the gap-safe global log."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self.write(stored_events, None)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        query = (
            "SELECT position, stream_id, stream_version, event_type, payload FROM events"
            " WHERE tenant_id = %s AND tx_id < obrador_visible_horizon()"
        )
        params: list[Any] = [self.tenant_id]
        if start is not None:
            query += " AND position >= %s" if inclusive_of_start else " AND position > %s"
            params.append(start)
        if stop is not None:
            query += " AND position <= %s"
            params.append(stop)
        if topics:
            query += " AND event_type = ANY(%s)"
            params.append(list(topics))
        query += " ORDER BY position LIMIT %s"
        params.append(limit)
        with self.connection() as conn:
            rows = conn.execute(query, params).fetchall()
        return [
            Notification(
                id=row[0],
                originator_id=self.originator_id_of(row[1]),
                originator_version=row[2],
                topic=row[3],
                state=bytes(row[4]),
            )
            for row in rows
        ]

    def max_notification_id(self) -> int | None:
        """The highest position of this tenant a reader can see (None when there is none)."""
        with self.connection() as conn:
            row = conn.execute(
                "SELECT max(position) FROM events"
                " WHERE tenant_id = %s AND tx_id < obrador_visible_horizon()",
                (self.tenant_id,),
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return ObradorSubscription(recorder=self, gt=gt, topics=topics)


class ObradorSubscription(ListenNotifySubscription[ObradorApplicationRecorder]):
    """Catch up, then follow: woken by the store's NOTIFY, with a slow poll as a safety net."""

    def __init__(
        self,
        recorder: ObradorApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._listen_thread = Thread(target=self._listen, daemon=True)
        self._listen_thread.start()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._listen_thread.join()

    def _listen(self) -> None:
        try:
            conninfo = self._recorder.pool.conninfo
            if callable(conninfo):
                conninfo = conninfo()
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self._has_been_notified.set()  # cover commits between first read and LISTEN
                polled = monotonic()
                while not self._has_been_stopped and not self._thread_error:
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        self._has_been_notified.set()
                    if monotonic() - polled >= SUBSCRIPTION_POLL_S:
                        self._has_been_notified.set()
                        polled = monotonic()
        except BaseException as e:
            if self._thread_error is None:
                self._thread_error = e
            self.stop()


class ObradorTrackingRecorder(ObradorRecorder, TrackingRecorder):
    """Each upstream application's processed position, per tenant; never moves back."""

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.connection() as conn, conn.transaction():
            self.write_tracking(conn, tracking)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.connection() as conn:
            row = conn.execute(
                "SELECT notification_id FROM eventsourcing_tracking"
                " WHERE tenant_id = %s AND application_name = %s",
                (self.tenant_id, application_name),
            ).fetchone()
        return None if row is None else int(row[0])


class ObradorProcessRecorder(ObradorTrackingRecorder, ObradorApplicationRecorder, ProcessRecorder):
    """Events and the tracking record that caused them, in one append transaction."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        tracking: Tracking | None = kwargs.get("tracking")
        return self.write(stored_events, tracking)
