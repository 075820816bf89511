"""Recorders that store an ``eventsourcing`` application's events in Obrador's event store.

Mapping (docs/eventsourcing.md): ``originator_id`` -> ``stream_id`` (``str`` of
the id), ``originator_version`` -> ``stream_version``, ``topic`` -> ``event_type``
(verbatim), ``state`` -> ``payload``, notification id -> global ``position``. All
of one application's rows carry its tenant id. Writes go through
:meth:`ObradorRecorder.write` (streams/es_base.py). Notification reads only
return rows whose transaction is below ``obrador_visible_horizon()``, so a
follower never skips an event that commits late.
"""

from __future__ import annotations

from collections.abc import Sequence
from threading import Thread
from time import monotonic
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    ListenNotifySubscription,
    Notification,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)

from streams.append_batch import NOTIFY_CHANNEL
from streams.es_base import ObradorRecorder, stream_id_of, translated_errors

__all__ = [
    "ObradorAggregateRecorder",
    "ObradorApplicationRecorder",
    "ObradorProcessRecorder",
    "ObradorRecorder",
    "ObradorSnapshotRecorder",
    "ObradorSubscription",
    "ObradorTrackingRecorder",
]

#: How often a subscription re-reads without a NOTIFY: events held back by the
#: visibility horizon become readable when an older transaction ends, which
#: sends no notification if that transaction appended nothing.
SUBSCRIPTION_POLL_S = 0.5


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
            with translated_errors(), psycopg.connect(conninfo, autocommit=True) as conn:
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
