"""Checks an append must pass before it reaches the database; each failure names its field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from streams.envelope import AppendRequest, NewEvent
from streams.errors import InvalidAppend

#: Largest encoded payload of one event (documented in docs/envelope.md).
MAX_PAYLOAD_BYTES: Final = 1_048_576
#: Most events one ordinary append may carry; bulk imports split larger sets.
MAX_EVENTS_PER_APPEND: Final = 10_000
MAX_STREAM_ID_LENGTH: Final = 255
MAX_KEY_LENGTH: Final = 255

TENANT_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
EVENT_TYPE_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,127}$")
_CONTROL_OR_SPACE: Final = re.compile(r"[\s\x00-\x1f\x7f]")


def validate_request(request: AppendRequest) -> None:
    """Raise :class:`InvalidAppend` naming the first wrong field of ``request``."""
    _tenant(request.tenant_id)
    _stream(request.stream_id)
    expected = request.expected_version
    if expected is not None and (
        isinstance(expected, bool) or not isinstance(expected, int) or expected < 0
    ):
        raise InvalidAppend(
            "expected_version", "must be None (any), 0 (no stream) or a version ≥ 1"
        )
    key = request.idempotency_key
    if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH):
        raise InvalidAppend("idempotency_key", f"must be a non-empty string of ≤ {MAX_KEY_LENGTH}")
    if not request.events:
        raise InvalidAppend("events", "an append needs at least one event")
    if len(request.events) > MAX_EVENTS_PER_APPEND:
        raise InvalidAppend(
            "events", f"{len(request.events)} events; at most {MAX_EVENTS_PER_APPEND} per append"
        )
    for index, event in enumerate(request.events):
        _event(index, event)


def _tenant(tenant_id: object) -> None:
    if not isinstance(tenant_id, str) or not TENANT_RE.match(tenant_id):
        raise InvalidAppend(
            "tenant_id",
            f"{tenant_id!r} is not a tenant id (lower-case letters, digits, '-' or '_', "
            "1-63 characters, starting with a letter or digit)",
        )


def _stream(stream_id: object) -> None:
    if not isinstance(stream_id, str) or not stream_id:
        raise InvalidAppend("stream_id", "must be a non-empty string")
    if len(stream_id) > MAX_STREAM_ID_LENGTH:
        raise InvalidAppend("stream_id", f"longer than {MAX_STREAM_ID_LENGTH} characters")
    if _CONTROL_OR_SPACE.search(stream_id):
        raise InvalidAppend("stream_id", "must not contain spaces or control characters")


def _event(index: int, event: object) -> None:
    where = f"events[{index}]"
    if not isinstance(event, NewEvent):
        raise InvalidAppend(where, f"expected a NewEvent, got {type(event).__name__}")
    if not isinstance(event.event_type, str) or not EVENT_TYPE_RE.match(event.event_type):
        raise InvalidAppend(
            f"{where}.event_type", f"{event.event_type!r} is not an event type name"
        )
    version = event.schema_version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidAppend(f"{where}.schema_version", "must be an integer ≥ 1")
    if not isinstance(event.payload, bytes):
        raise InvalidAppend(
            f"{where}.payload", f"must be bytes, got {type(event.payload).__name__}"
        )
    if len(event.payload) > MAX_PAYLOAD_BYTES:
        raise InvalidAppend(
            f"{where}.payload",
            f"{len(event.payload)} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes per event",
        )
    if event.actor is not None and not isinstance(event.actor, str):
        raise InvalidAppend(f"{where}.actor", "must be a string")


def validate_tenant(tenant_id: object) -> None:
    _tenant(tenant_id)


def check_atomic_group(requests: Sequence[AppendRequest]) -> None:
    """An atomic group names each stream and each idempotency key once."""
    streams = [(r.tenant_id, r.stream_id) for r in requests]
    keys = [(r.tenant_id, r.key()) for r in requests]
    if len(set(streams)) != len(streams):
        raise InvalidAppend("requests", "an atomic group appends to each stream at most once")
    if len(set(keys)) != len(keys):
        raise InvalidAppend("requests", "an atomic group uses each idempotency key at most once")
