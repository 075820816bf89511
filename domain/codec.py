"""Events to bytes and back, upcasting stored payloads written by older schema versions.

The store keeps ``(event_type, schema_version, payload)``. Reading an event whose
stored version is older than its class's ``SCHEMA_VERSION`` runs the registered
upcasters one version at a time (``v1 dict -> v2 dict -> ...``) and then decodes
the result. Old payloads are never rewritten: history stays as it was stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from domain.events import EVENT_TYPES, DomainEvent, Event

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()
}
#: (event type, version it reads) -> function returning the next version's dict.
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class EventCodecError(ValueError):
    """A stored event cannot be decoded: unknown type, missing upcaster or bad payload."""


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` as the step from ``from_version`` to ``from_version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in _UPCASTERS:
            raise ValueError(f"upcaster for {event_type} v{from_version} already registered")
        _UPCASTERS[key] = fn
        return fn

    return register


def encode_event(event: DomainEvent) -> tuple[str, int, bytes]:
    """Return ``(event_type, schema_version, json_bytes)`` for the store."""
    cls = type(event)
    return cls.__name__, cls.SCHEMA_VERSION, _ENCODER.encode(event)


def decode_event(event_type: str, schema_version: int, payload: bytes) -> Event:
    """Decode a stored event, upcasting it first if it was written by an older schema."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise EventCodecError(f"unknown event type {event_type!r}")
    current = cls.SCHEMA_VERSION
    if schema_version > current:
        raise EventCodecError(
            f"{event_type} v{schema_version} is newer than this code (v{current}); upgrade"
        )
    try:
        if schema_version < current:
            payload = _ENCODER.encode(_upcast(event_type, schema_version, current, payload))
        decoded: Event = _DECODERS[event_type].decode(payload)
    except msgspec.DecodeError as exc:
        raise EventCodecError(f"{event_type} v{schema_version}: {exc}") from exc
    return decoded


def _upcast(event_type: str, version: int, target: int, payload: bytes) -> Payload:
    data: Payload = msgspec.json.decode(payload)
    while version < target:
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise EventCodecError(f"no upcaster for {event_type} v{version} -> v{version + 1}")
        data = step(data)
        version += 1
    return data


# Registrations live in their own module; importing it here makes them always active.
from domain import upcasters as _upcasters  # noqa: E402, F401
