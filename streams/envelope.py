"""The event envelope: what the store records around every domain event.

An event enters the store as a :class:`NewEvent` (type, schema version, payload
bytes, ids chosen by the writer) and comes back as a :class:`RecordedEvent`
with the place the store gave it: tenant, stream, stream version, global
position and the time it was recorded. ``docs/envelope.md`` documents every
field for integrators.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID, uuid4

import msgspec

#: ``expected_version`` value meaning "append whatever the stream's version is".
ANY: Final = None
#: ``expected_version`` value meaning "the stream must not exist yet".
NO_STREAM: Final = 0


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event a writer wants to append; ``payload`` is its encoded body (JSON for Obrador)."""

    event_type: str
    payload: bytes
    schema_version: int = 1
    event_id: UUID = msgspec.field(default_factory=uuid4)
    causation_id: UUID | None = None
    correlation_id: UUID | None = None
    actor: str | None = None


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as stored: the writer's fields plus where and when the store put it."""

    position: int
    event_id: UUID
    tenant_id: str
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    payload: bytes
    recorded_at: datetime
    causation_id: UUID | None = None
    correlation_id: UUID | None = None
    actor: str | None = None


class AppendResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an append did: the versions and global positions its events took.

    ``duplicate`` is true when the idempotency key (or first event id) had
    already been stored: nothing new was written and the fields describe the
    original append.
    """

    tenant_id: str
    stream_id: str
    first_version: int
    last_version: int
    first_position: int
    last_position: int
    duplicate: bool = False


class AppendRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One append: events for one stream, checked against ``expected_version``.

    ``expected_version``: ``None`` (ANY) appends regardless, ``0`` (NO_STREAM)
    requires a new stream, ``n`` requires the stream to be at version ``n``.
    ``idempotency_key`` defaults to ``event:<first event id>``, so resending the
    same events is always recognised.
    """

    tenant_id: str
    stream_id: str
    events: tuple[NewEvent, ...]
    expected_version: int | None = ANY
    idempotency_key: str | None = None

    def key(self) -> str:
        if self.idempotency_key is not None:
            return self.idempotency_key
        return f"event:{self.events[0].event_id}"
