"""An in-memory event store with the same behaviour as the PostgreSQL one, for fast unit tests.

Never used where a user would have the real store: services always open
:class:`streams.store.EventStore`. ``tests/streams/test_store_contract.py``
runs the same behaviours against both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from streams.append_batch import AtomicAppendRefused
from streams.envelope import AppendRequest, AppendResult, RecordedEvent
from streams.errors import InvalidAppend, StoreError, WrongExpectedVersion
from streams.front import StoreFront
from streams.subject_keys import MemoryKeyring
from streams.validation import check_atomic_group, validate_request, validate_tenant


class InMemoryEventStore(StoreFront):
    def __init__(self) -> None:
        self._log: list[RecordedEvent] = []
        self._streams: dict[tuple[str, str], list[RecordedEvent]] = {}
        self._keys: dict[tuple[str, str], AppendResult] = {}
        self._event_ids: set[object] = set()
        self._changed = asyncio.Event()
        self.keyring = MemoryKeyring()

    async def close(self) -> None:
        return None

    async def _submit(self, request: AppendRequest) -> AppendResult | StoreError:
        return self._apply(request)

    async def append_many(
        self, requests: Sequence[AppendRequest], *, atomic: bool = False
    ) -> list[AppendResult | StoreError]:
        for request in requests:
            validate_request(request)
        if not atomic:
            return [self._apply(r) for r in requests]
        check_atomic_group(requests)
        verdicts = [self._check(r) for r in requests]
        if all(v == "new" for v in verdicts):
            return [self._apply(r) for r in requests]
        if all(v == "duplicate" for v in verdicts):
            return [self._apply(r) for r in requests]
        outcomes: list[AppendResult | StoreError] = [
            self._conflict(r)
            if v == "conflict"
            else self._apply(r)
            if v == "duplicate"
            else StoreError("not written")
            for r, v in zip(requests, verdicts, strict=True)
        ]
        raise AtomicAppendRefused(outcomes)

    def _check(self, request: AppendRequest) -> str:
        if (request.tenant_id, request.key()) in self._keys:
            return "duplicate"
        version = len(self._streams.get((request.tenant_id, request.stream_id), []))
        expected = request.expected_version
        return "conflict" if expected is not None and expected != version else "new"

    def _conflict(self, request: AppendRequest) -> StoreError:
        version = len(self._streams.get((request.tenant_id, request.stream_id), []))
        return WrongExpectedVersion(
            request.tenant_id, request.stream_id, request.expected_version, version
        )

    async def bulk_append(
        self,
        requests: Iterable[AppendRequest],
        *,
        chunk_events: int = 20_000,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[AppendResult | StoreError]:
        outcomes: list[AppendResult | StoreError] = []
        for request in requests:
            validate_request(request)
            outcomes.append(self._apply(request))
            if on_progress is not None:
                on_progress(len(request.events))
        return outcomes

    def _apply(self, request: AppendRequest) -> AppendResult | StoreError:
        key = (request.tenant_id, request.key())
        if key in self._keys:
            original = self._keys[key]
            return AppendResult(
                tenant_id=original.tenant_id,
                stream_id=original.stream_id,
                first_version=original.first_version,
                last_version=original.last_version,
                first_position=original.first_position,
                last_position=original.last_position,
                duplicate=True,
            )
        stream = self._streams.get((request.tenant_id, request.stream_id), [])
        version = len(stream)
        expected = request.expected_version
        if expected is not None and expected != version:
            return WrongExpectedVersion(request.tenant_id, request.stream_id, expected, version)
        if any(e.event_id in self._event_ids for e in request.events):
            return InvalidAppend("events[].event_id", "an event with this id is already stored")
        now = datetime.now(UTC)
        recorded = [
            RecordedEvent(
                position=len(self._log) + i + 1,
                event_id=e.event_id,
                tenant_id=request.tenant_id,
                stream_id=request.stream_id,
                stream_version=version + i + 1,
                event_type=e.event_type,
                schema_version=e.schema_version,
                payload=e.payload,
                recorded_at=now,
                causation_id=e.causation_id,
                correlation_id=e.correlation_id,
                actor=e.actor,
            )
            for i, e in enumerate(request.events)
        ]
        self._log.extend(recorded)
        self._streams[(request.tenant_id, request.stream_id)] = stream + recorded
        self._event_ids.update(e.event_id for e in request.events)
        result = AppendResult(
            tenant_id=request.tenant_id,
            stream_id=request.stream_id,
            first_version=version + 1,
            last_version=version + len(recorded),
            first_position=recorded[0].position,
            last_position=recorded[-1].position,
        )
        self._keys[key] = result
        self._changed.set()
        return result

    async def read_stream(
        self,
        tenant_id: str,
        stream_id: str,
        *,
        from_version: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        validate_tenant(tenant_id)
        stream = self._streams.get((tenant_id, stream_id), [])
        if backwards:
            start = from_version if from_version is not None else len(stream)
            chosen = [e for e in reversed(stream) if e.stream_version <= start]
        else:
            start = from_version if from_version is not None else 1
            chosen = [e for e in stream if e.stream_version >= start]
        return chosen[:limit] if limit is not None else chosen

    async def stream_version(self, tenant_id: str, stream_id: str) -> int:
        return len(self._streams.get((tenant_id, stream_id), []))

    async def existing_streams(self, tenant_id: str, stream_ids: Iterable[str]) -> set[str]:
        validate_tenant(tenant_id)
        return {s for s in stream_ids if (tenant_id, s) in self._streams}

    async def first_events(
        self, tenant_id: str, stream_ids: Iterable[str]
    ) -> dict[str, RecordedEvent]:
        validate_tenant(tenant_id)
        streams = ((s, self._streams.get((tenant_id, s))) for s in stream_ids)
        return {s: events[0] for s, events in streams if events}

    async def has_streams(self, tenant_id: str, *, prefix: str) -> bool:
        validate_tenant(tenant_id)
        return any(t == tenant_id and s.startswith(prefix) for t, s in self._streams)

    async def read_all(
        self, *, after: int = 0, limit: int = 1000, tenant_id: str | None = None
    ) -> list[RecordedEvent]:
        chosen = [e for e in self._log[after:] if tenant_id is None or e.tenant_id == tenant_id]
        return chosen[:limit]

    async def head_position(self) -> int:
        return len(self._log)

    async def wait_for_events(self, after: int, timeout: float) -> bool:
        if len(self._log) > after:
            return True
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        return True
