"""Errors the event store raises; each names what was wrong and where."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every event-store error."""


class InvalidAppend(StoreError, ValueError):
    """The append was refused before touching the database; ``field`` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class WrongExpectedVersion(StoreError):
    """Optimistic concurrency conflict: the stream is not at the version the writer expected."""

    def __init__(self, tenant_id: str, stream_id: str, expected: int | None, actual: int) -> None:
        wanted = "no stream" if expected == 0 else f"version {expected}"
        super().__init__(
            f"stream {stream_id!r} of tenant {tenant_id!r}: expected {wanted}, "
            f"actual version {actual}; nothing was written"
        )
        self.tenant_id = tenant_id
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class StoreUnavailable(StoreError):
    """The database could not be reached; the append may be retried (nothing was acknowledged)."""
