"""The part of the store API that is the same whatever keeps the events."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence

from streams.envelope import ANY, AppendRequest, AppendResult, NewEvent, RecordedEvent
from streams.errors import StoreError
from streams.subject_keys import Keyring
from streams.validation import validate_request


class StoreFront(ABC):
    #: The data subjects' keys (personal fields are sealed with them, docs/gdpr.md).
    keyring: Keyring

    @abstractmethod
    async def _submit(self, request: AppendRequest) -> AppendResult | StoreError: ...

    @abstractmethod
    async def read_all(
        self, *, after: int = 0, limit: int = 1000, tenant_id: str | None = None
    ) -> list[RecordedEvent]: ...

    @abstractmethod
    async def wait_for_events(self, after: int, timeout: float) -> bool: ...

    async def append(
        self,
        tenant_id: str,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None = ANY,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        """Append atomically; a stale version raises ``WrongExpectedVersion``, writing nothing."""
        request = AppendRequest(
            tenant_id=tenant_id,
            stream_id=stream_id,
            events=tuple(events),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )
        validate_request(request)
        outcome = await self._submit(request)
        if isinstance(outcome, StoreError):
            raise outcome
        return outcome

    async def subscribe(
        self, *, after: int = 0, batch: int = 1000, idle_timeout: float = 0.5
    ) -> AsyncIterator[list[RecordedEvent]]:
        """Catch up from ``after``, then follow the log live, one batch at a time."""
        position = after
        while True:
            events = await self.read_all(after=position, limit=batch)
            if events:
                position = events[-1].position
                yield events
                continue
            await self.wait_for_events(position, idle_timeout)
