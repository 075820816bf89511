"""Persistence module that runs an ``eventsourcing`` application on Obrador's event store.

Select it with the library's own environment variable::

    PERSISTENCE_MODULE=streams.es_persistence
    OBRADOR_ES_DSN=postgresql://...        # libpq conninfo or URL; falls back to DATABASE_URL
    OBRADOR_ES_TENANT=eventsourcing        # tenant the application's events belong to

Like every library setting, each can be given per application with the
application's name as prefix (``BANKACCOUNTS_OBRADOR_ES_TENANT=bank``).
Optional: ``OBRADOR_ES_POOL_MIN`` (1), ``OBRADOR_ES_POOL_MAX`` (16),
``OBRADOR_ES_CONNECT_TIMEOUT`` seconds (30), ``ORIGINATOR_ID_TYPE`` (``uuid``
or ``text``, as for the library's PostgreSQL module). Tables come from the
project's migrations (``obrador migrate``); this module never creates any.
See docs/eventsourcing.md.
"""

from __future__ import annotations

from typing import Any, cast

import psycopg_pool
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    ProgrammingError,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic
from typing_extensions import TypeVar

from streams.es_base import OriginatorIdType, Pool, translated_errors
from streams.es_recorders import (
    ObradorAggregateRecorder,
    ObradorApplicationRecorder,
    ObradorProcessRecorder,
    ObradorRecorder,
    ObradorSnapshotRecorder,
    ObradorTrackingRecorder,
)
from streams.pool_check import check_connection_sync
from streams.validation import TENANT_RE

__all__ = [
    "ObradorAggregateRecorder",
    "ObradorApplicationRecorder",
    "ObradorFactory",
    "ObradorProcessRecorder",
    "ObradorSnapshotRecorder",
    "ObradorTrackingRecorder",
]

DEFAULT_TENANT = "eventsourcing"

TObradorTrackingRecorder = TypeVar(
    "TObradorTrackingRecorder", bound=ObradorTrackingRecorder, default=ObradorTrackingRecorder
)
_REQUIRED = ("events", "streams", "eventsourcing_tracking", "eventsourcing_snapshots")


class ObradorFactory(InfrastructureFactory[ObradorTrackingRecorder]):
    """Builds the recorders over one psycopg pool; closing the factory closes the pool."""

    DSN = "OBRADOR_ES_DSN"
    TENANT = "OBRADOR_ES_TENANT"
    POOL_MIN = "OBRADOR_ES_POOL_MIN"
    POOL_MAX = "OBRADOR_ES_POOL_MAX"
    CONNECT_TIMEOUT = "OBRADOR_ES_CONNECT_TIMEOUT"
    ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        dsn = self.env.get(self.DSN) or self.env.get("DATABASE_URL")
        if not dsn:
            msg = f"set {self.DSN} (or DATABASE_URL) to the event store's PostgreSQL conninfo"
            raise OSError(msg)
        self.tenant_id = self.env.get(self.TENANT) or DEFAULT_TENANT
        if not TENANT_RE.match(self.tenant_id):
            msg = (
                f"{self.TENANT}={self.tenant_id!r} is not a tenant id (lower-case letters, "
                "digits, '-' or '_', 1-63 characters, starting with a letter or digit)"
            )
            raise OSError(msg)
        id_type = (self.env.get(self.ORIGINATOR_ID_TYPE) or "uuid").lower()
        if id_type not in ("uuid", "text"):
            msg = f"{self.ORIGINATOR_ID_TYPE}={id_type!r}: expected 'uuid' or 'text'"
            raise OSError(msg)
        self.originator_id_type = cast(OriginatorIdType, id_type)
        self.pool: Pool = psycopg_pool.ConnectionPool(
            dsn,
            min_size=self._int(self.POOL_MIN, 1),
            max_size=self._int(self.POOL_MAX, 16),
            kwargs={"autocommit": True},
            open=False,
            name=f"eventsourcing-{self.tenant_id}",
            check=check_connection_sync,  # replaced if cut: streams/pool_check.py
        )
        try:
            with translated_errors():
                self.pool.open(wait=True, timeout=float(self._int(self.CONNECT_TIMEOUT, 30)))
            self._check_schema()
        except BaseException:
            self.pool.close()
            raise

    def _int(self, key: str, default: int) -> int:
        raw = self.env.get(key)
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError:
            msg = f"{key}={raw!r}: expected an integer"
            raise OSError(msg) from None

    def _check_schema(self) -> None:
        with translated_errors(), self.pool.connection() as conn:
            row = conn.execute(
                "SELECT array_agg(t) FILTER (WHERE to_regclass(t) IS NULL)"
                " FROM unnest(%s::text[]) AS t",
                (list(_REQUIRED),),
            ).fetchone()
        missing = row[0] if row is not None else None
        if missing:
            msg = (
                f"event store tables missing: {', '.join(missing)}; "
                "run `obrador migrate` against this database first"
            )
            raise ProgrammingError(msg)

    def _kwargs(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "tenant_id": self.tenant_id,
            "originator_id_type": self.originator_id_type,
        }

    def _resolve(self, key: str, default: type[ObradorRecorder]) -> type[Any]:
        topic = self.env.get(key)
        cls: type[Any] = resolve_topic(topic) if topic else default
        if not (isinstance(cls, type) and issubclass(cls, default)):
            msg = f"{key}={topic!r} is not a subclass of {default.__name__}"
            raise ProgrammingError(msg)
        return cls

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose == "events":
            return ObradorAggregateRecorder(**self._kwargs())
        return ObradorSnapshotRecorder(**self._kwargs(), purpose=purpose)

    def application_recorder(self) -> ApplicationRecorder:
        cls = self._resolve(self.APPLICATION_RECORDER_TOPIC, ObradorApplicationRecorder)
        recorder: ApplicationRecorder = cls(**self._kwargs())
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[TObradorTrackingRecorder] | None = None
    ) -> TObradorTrackingRecorder:
        if tracking_recorder_class is None:
            cls = self._resolve(self.TRACKING_RECORDER_TOPIC, ObradorTrackingRecorder)
        else:
            cls = tracking_recorder_class
        recorder: TObradorTrackingRecorder = cls(**self._kwargs())
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        cls = self._resolve(self.PROCESS_RECORDER_TOPIC, ObradorProcessRecorder)
        recorder: ProcessRecorder = cls(**self._kwargs())
        return recorder

    def close(self) -> None:
        if not self.pool.closed:
            self.pool.close()
        super().close()
