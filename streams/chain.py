"""The per-stream hash chain: the encoding, the link, and the checks (no I/O).

Every stored event carries ``hash = sha256(previous event's hash || canonical(event))``
where "previous" is the event before it *in its stream* (version - 1) and the first
event of a stream links to :data:`GENESIS`. The database computes the same bytes
(``obrador_event_canonical``, migration 0026): keep the two identical.
Guarantees and limits: ``docs/adr/0007-hash-chain.md``; offline use: ``docs/audit.md``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec

from streams.envelope import RecordedEvent

GENESIS = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
Kind = Literal["edited", "deleted", "inserted", "reordered"]


@dataclass(frozen=True)
class ChainedEvent:
    """A stored event with its chain link, as the history export carries it."""

    event: RecordedEvent
    hash: bytes


@dataclass(frozen=True)
class Finding:
    """One place where the stored history differs from what was appended."""

    kind: Kind
    tenant_id: str
    stream_id: str
    stream_version: int
    position: int  # where it happened in the global log (the nearest known one for deletions)
    detail: str
    #: a deletion whose lost position the store can still name (from the appends' keys)
    locatable: bool = False

    def describe(self) -> str:
        return (
            f"{self.kind} at position {self.position}: tenant {self.tenant_id!r} stream "
            f"{self.stream_id!r} version {self.stream_version}: {self.detail}"
        )


def _text(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">i", -1)
    raw = value.encode()
    return struct.pack(">i", len(raw)) + raw


def _optional_uuid(value: UUID | None) -> bytes:
    return b"\x00" if value is None else b"\x01" + value.bytes


def export_record(item: ChainedEvent) -> dict[str, object]:
    """One event of a history export as JSON-ready values (docs/audit.md, offline check).

    The payload travels as base64 so the exact bytes are kept; ``recorded_at`` as
    ISO 8601 with microseconds; the hash as hex.
    """
    e = item.event
    return {
        "position": e.position,
        "event_id": str(e.event_id),
        "tenant_id": e.tenant_id,
        "stream_id": e.stream_id,
        "stream_version": e.stream_version,
        "event_type": e.event_type,
        "schema_version": e.schema_version,
        "payload": base64.b64encode(e.payload).decode(),
        "recorded_at": e.recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "causation_id": None if e.causation_id is None else str(e.causation_id),
        "correlation_id": None if e.correlation_id is None else str(e.correlation_id),
        "actor": e.actor,
        "hash": item.hash.hex(),
    }


def canonical(event: RecordedEvent) -> bytes:
    """The bytes the chain hashes for ``event`` (every stored field but the transaction id)."""
    micros = (event.recorded_at - _EPOCH) // _MICROSECOND
    return (
        struct.pack(">qqiq", event.position, event.stream_version, event.schema_version, micros)
        + event.event_id.bytes
        + _optional_uuid(event.causation_id)
        + _optional_uuid(event.correlation_id)
        + _text(event.tenant_id)
        + _text(event.stream_id)
        + _text(event.event_type)
        + _text(event.actor)
        + struct.pack(">i", len(event.payload))
        + bytes(event.payload)
    )


def link(previous: bytes, event: RecordedEvent) -> bytes:
    """The hash ``event`` must carry when the event before it in its stream carries ``previous``."""
    return hashlib.sha256(previous + canonical(event)).digest()


def check_stream(events: Iterable[ChainedEvent], recorded_version: int | None) -> list[Finding]:
    """Check one stream's events, given in stream-version order.

    ``recorded_version`` is the stream's version in the store's ``streams`` gate
    (``None``: the gate has no row for it). Returns every finding, in stream order.
    """
    found: list[Finding] = []
    items = list(events)
    expected, previous = 1, GENESIS
    last: RecordedEvent | None = None
    for index, item in enumerate(items):
        e = item.event
        if e.stream_version != expected:
            found.append(
                _at(
                    "deleted",
                    e,
                    e.position,
                    f"versions {expected}..{e.stream_version - 1} are missing before this one",
                    locatable=True,
                )
            )
        elif link(previous, e) != item.hash:
            moved = _moved_from(previous, item, items, index)
            if moved is not None:
                found.append(_at("reordered", e, e.position, f"it was stored at position {moved}"))
            else:
                found.append(
                    _at(
                        "edited",
                        e,
                        e.position,
                        "its content (or the hash of the version before it) does not match "
                        "its hash",
                    )
                )
        expected, previous, last = e.stream_version + 1, item.hash, e
    if last is None:
        return found
    if recorded_version is None:
        found.append(_at("inserted", last, last.position, "stream unknown to the store's gate"))
    elif last.stream_version < recorded_version:
        found.append(
            _at(
                "deleted",
                last,
                last.position,
                f"versions {last.stream_version + 1}..{recorded_version} after this one "
                "are missing",
                locatable=True,
            )
        )
    elif last.stream_version > recorded_version:
        found.append(
            _at(
                "inserted",
                last,
                last.position,
                f"the store's gate stopped at version {recorded_version}",
            )
        )
    return found


def check_events(events: Iterable[ChainedEvent]) -> list[Finding]:
    """Offline check of an export (any order): every stream's chain, findings by position.

    Without the store's gate and seals this finds edits, reorders and deletions
    inside a stream, not a deleted stream tail (compare heads with a kept seal).
    """
    streams: dict[tuple[str, str], list[ChainedEvent]] = {}
    for item in events:
        streams.setdefault((item.event.tenant_id, item.event.stream_id), []).append(item)
    found: list[Finding] = []
    for items in streams.values():
        items.sort(key=lambda c: c.event.stream_version)
        found.extend(check_stream(items, items[-1].event.stream_version))
    return sorted(found, key=lambda f: f.position)


def _moved_from(
    previous: bytes, item: ChainedEvent, items: list[ChainedEvent], index: int
) -> int | None:
    """The position the event was chained at, when it now sits at another event's position.

    Positions are not monotonic along a stream (concurrent appends with ``expected
    version = ANY`` take positions before the stream's lock), so a swap is recognised
    by the hash, not by the order: only nearby events of the stream are tried.
    """
    nearby = items[max(0, index - 32) : index + 33]
    for other in nearby:
        position = other.event.position
        if position != item.event.position:
            candidate = msgspec.structs.replace(item.event, position=position)
            if link(previous, candidate) == item.hash:
                return position
    return None


def _at(
    kind: Kind,
    e: RecordedEvent,
    position: int,
    detail: str,
    locatable: bool = False,
) -> Finding:
    return Finding(kind, e.tenant_id, e.stream_id, e.stream_version, position, detail, locatable)
