"""How a handler writes: load a stream, fold it, decide, append with the version it read.

``Writer.decide`` is the one loop every handler uses. A version conflict is
retried (re-read, re-fold, re-decide) only when the handler says the decision
is safe to repeat on fresh state; otherwise it surfaces as
``ConcurrencyConflict``. Retries pause for a random, growing few milliseconds so
that racers on one stream (tills selling the same product at once) spread out
instead of colliding again in lockstep. With an idempotency key, event ids are derived from
the key, so a resent command is recognised in the stream itself even when the
domain would now refuse it (confirming an order that is already confirmed).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Final, Protocol, TypeVar
from uuid import UUID, uuid4, uuid5

import msgspec

from commands.state_cache import CachedState, StateCache
from domain.access import Actor, Permission, check_permission
from domain.codec import decode_event, encode_event
from domain.errors import DomainError
from domain.events import Event
from domain.events.organisation import Role
from streams.append_batch import AtomicAppendRefused
from streams.envelope import AppendRequest, AppendResult, NewEvent, RecordedEvent
from streams.errors import StoreError, WrongExpectedVersion
from streams.personal import open_records, seal_events
from streams.subject_keys import Keyring, Keys

S = TypeVar("S")
#: Attempts of a decision that is safe to re-make on fresh state (``retry=True``).
MAX_ATTEMPTS: Final = 12
#: The longest pause between two attempts, in seconds (full jitter below it).
MAX_PAUSE: Final = 0.1


async def _pause(attempt: int) -> None:
    """Full-jitter exponential backoff: up to 2 ms after the first conflict, capped."""
    await asyncio.sleep(random.uniform(0, min(MAX_PAUSE, 0.001 * 2**attempt)))


#: Event ids of a command are uuid5(EVENT_ID_NAMESPACE, "<tenant>|<stream key>|<i>"): the
#: importer derives the same ids, so a till resending an imported ticket is a duplicate.
EVENT_ID_NAMESPACE: Final = UUID("5f0b7a3e-8a53-4f5e-9d53-0b6a3c1e2d10")


class EventStoreLike(Protocol):
    """The part of ``streams.store.EventStore`` (and the in-memory one) handlers use."""

    @property
    def keyring(self) -> Keyring: ...

    async def append(
        self,
        tenant_id: str,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None = ...,
        idempotency_key: str | None = ...,
    ) -> AppendResult: ...

    async def read_stream(
        self,
        tenant_id: str,
        stream_id: str,
        *,
        from_version: int | None = ...,
        backwards: bool = ...,
        limit: int | None = ...,
    ) -> list[RecordedEvent]: ...

    async def append_many(
        self, requests: Sequence[AppendRequest], *, atomic: bool = ...
    ) -> list[AppendResult | StoreError]: ...


class ConcurrencyConflict(DomainError):
    """Someone else changed the stream first and the command is not safe to re-decide."""


class Appended(msgspec.Struct, frozen=True, kw_only=True):
    """What one command wrote to one stream (or found already written: ``duplicate``)."""

    stream_id: str
    first_version: int
    last_version: int
    event_types: tuple[str, ...]
    duplicate: bool = False
    #: Global positions of the first and last event written (0 when not known).
    first_position: int = 0
    last_position: int = 0


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    command: str
    appended: tuple[Appended, ...]

    @property
    def duplicate(self) -> bool:
        """True when the command had already been applied and nothing new was written."""
        return bool(self.appended) and all(a.duplicate for a in self.appended)


class Writer:
    """One command's access to the store: tenant, actor, time and idempotency in one place."""

    def __init__(
        self,
        store: EventStoreLike,
        *,
        tenant_id: str,
        actor: Actor,
        now: datetime,
        key: str | None,
        cache: StateCache | None = None,
    ) -> None:
        self.store, self.tenant_id, self.actor, self.now, self.key = (
            store,
            tenant_id,
            actor,
            now,
            key,
        )
        self.cache = cache
        self.command_id = uuid4()
        self.appended: list[Appended] = []

    @property
    def actor_label(self) -> str:
        """The envelope's ``actor``: ``device:<id>`` for a POS, ``user:<id>`` for people."""
        kind = "device" if self.actor.role is Role.POS_DEVICE else "user"
        return f"{kind}:{self.actor.user_id}"

    def authorize(self, permission: Permission, store_id: str | None) -> None:
        """Check the actor's store scope once the stream has told which store it is."""
        check_permission(self.actor, permission, store_id)

    async def load(self, stream_id: str, fold: Callable[[Iterable[Event]], S]) -> S:
        state, _, _, _ = await self._read(stream_id, fold)
        return state

    async def decide(
        self,
        stream_id: str,
        fold: Callable[[Iterable[Event]], S],
        decide: Callable[[S], Sequence[Event]],
        *,
        retry: bool,
        expected_version: int | None = None,
    ) -> S:
        """Append what ``decide(state)`` returns; return the state the decision was made on."""
        stream_key = None if self.key is None else f"{self.key}@{stream_id}"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            state, version, records, whole = await self._read(stream_id, fold)
            if stream_key is not None and (
                done := _already_written(records, self._ids(stream_key, 1))
            ):
                self.appended.append(done)
                return state
            if expected_version is not None and expected_version != version:
                raise ConcurrencyConflict(
                    "expected_version",
                    f"{stream_id} is at version {version}, not {expected_version}",
                )
            try:
                events = decide(state)
            except DomainError:
                # With a cache only the newest records were read: the earlier append of
                # this very command may be older, so look before refusing a resend.
                earlier = None
                if stream_key is not None and not whole:
                    earlier = await self._find_earlier(stream_id, stream_key)
                if earlier is None:
                    raise
                self.appended.append(earlier)
                return state
            if not events:
                return state
            try:
                result = await self.store.append(
                    self.tenant_id,
                    stream_id,
                    await self._sealed(events, stream_key),
                    expected_version=version,
                    idempotency_key=stream_key,
                )
            except WrongExpectedVersion as conflict:
                if retry and attempt < MAX_ATTEMPTS:
                    await _pause(attempt)
                    continue
                raise ConcurrencyConflict("stream", str(conflict)) from conflict
            self._record(stream_id, fold, version, events, result)
            return state
        raise AssertionError("unreachable")  # pragma: no cover

    async def decide_together(
        self,
        streams: Sequence[tuple[str, Callable[[Iterable[Event]], Any]]],
        decide: Callable[[list[Any]], Sequence[Sequence[Event]]],
        *,
        retry: bool,
    ) -> list[Any]:
        """Decide on several streams at once and append to all of them or to none.

        ``decide`` gets the states in the order of ``streams`` and returns the
        events for each. The appends go out as one atomic ``append_many``, each
        checked against the version its state was read at; on a conflict the
        whole decision is re-made on fresh state (when ``retry``).
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            loaded = [await self._read(stream_id, fold) for stream_id, fold in streams]
            states = [state for state, _, _, _ in loaded]
            decisions = decide(states)
            plan = [
                (stream_id, fold, version, list(events))
                for (stream_id, fold), (_, version, _, _), events in zip(
                    streams, loaded, decisions, strict=True
                )
                if events
            ]
            if not plan:
                return states
            requests = [
                AppendRequest(
                    tenant_id=self.tenant_id,
                    stream_id=stream_id,
                    events=tuple(await self._sealed(events, self._stream_key(stream_id))),
                    expected_version=version,
                    idempotency_key=self._stream_key(stream_id),
                )
                for stream_id, _, version, events in plan
            ]
            try:
                results = await self.store.append_many(requests, atomic=True)
            except AtomicAppendRefused as refused:
                if retry and attempt < MAX_ATTEMPTS:
                    await _pause(attempt)
                    continue
                raise ConcurrencyConflict("stream", str(refused)) from refused
            for (stream_id, fold, version, events), result in zip(plan, results, strict=True):
                assert isinstance(result, AppendResult)
                self._record(stream_id, fold, version, events, result)
            return states
        raise AssertionError("unreachable")  # pragma: no cover

    def _record(
        self,
        stream_id: str,
        fold: Callable[[Iterable[Event]], Any],
        version: int,
        events: Sequence[Event],
        result: AppendResult,
    ) -> None:
        """Remember an append: in the state cache and in the command's result."""
        if self.cache is not None and not result.duplicate:
            self.cache.note_append(
                self.tenant_id, stream_id, fold, appended_after=version, events=events
            )
        self.appended.append(
            Appended(
                stream_id=stream_id,
                first_version=result.first_version,
                last_version=result.last_version,
                event_types=tuple(type(e).__name__ for e in events),
                duplicate=result.duplicate,
                first_position=result.first_position,
                last_position=result.last_position,
            )
        )

    def _stream_key(self, stream_id: str) -> str | None:
        return None if self.key is None else f"{self.key}@{stream_id}"

    async def _read(
        self, stream_id: str, fold: Callable[[Iterable[Event]], S]
    ) -> tuple[S, int, list[RecordedEvent], bool]:
        """State, version, the records read, and whether they were the whole stream."""
        entry = self.cache.get(self.tenant_id, stream_id, fold) if self.cache else None
        if entry is not None:
            start = entry.version + 1
            records = await self._opened(
                await self.store.read_stream(self.tenant_id, stream_id, from_version=start)
            )
            StateCache.advance(entry, records)
            return entry.state, entry.version, records, False
        records = await self._opened(await self.store.read_stream(self.tenant_id, stream_id))
        events = [decode_event(r.event_type, r.schema_version, r.payload) for r in records]
        version = records[-1].stream_version if records else 0
        state = fold(events)
        if self.cache is not None:
            self.cache.put(self.tenant_id, stream_id, fold, CachedState(state, version))
        return state, version, records, True

    async def _find_earlier(self, stream_id: str, stream_key: str) -> Appended | None:
        records = await self.store.read_stream(self.tenant_id, stream_id)
        return _already_written(records, self._ids(stream_key, 1))

    def _ids(self, stream_key: str, count: int) -> list[UUID]:
        return [
            uuid5(EVENT_ID_NAMESPACE, f"{self.tenant_id}|{stream_key}|{i}") for i in range(count)
        ]

    async def _opened(self, records: list[RecordedEvent]) -> list[RecordedEvent]:
        """Personal fields readable (or ``[erased]``) before the fold sees them."""
        return await open_records(self._read_keys, records)

    async def _sealed(self, events: Sequence[Event], stream_key: str | None) -> list[NewEvent]:
        """The envelopes, personal fields sealed with their subject's key (docs/gdpr.md)."""
        envelopes = self._envelopes(events, stream_key)
        return await seal_events(self._make_keys, self.tenant_id, envelopes)

    # The keyring is looked up only when an event has personal fields.
    async def _read_keys(self, tenant_id: str, subjects: Collection[str]) -> Keys:
        return await self.store.keyring.keys_for_reading(tenant_id, subjects)

    async def _make_keys(self, tenant_id: str, subjects: Collection[str]) -> dict[str, bytes]:
        return await self.store.keyring.keys_for_writing(tenant_id, subjects)

    def _envelopes(self, events: Sequence[Event], stream_key: str | None) -> list[NewEvent]:
        ids = self._ids(stream_key, len(events)) if stream_key else [uuid4() for _ in events]
        envelopes = []
        for event_id, event in zip(ids, events, strict=True):
            event_type, version, payload = encode_event(event)
            envelopes.append(
                NewEvent(
                    event_type=event_type,
                    schema_version=version,
                    payload=payload,
                    event_id=event_id,
                    causation_id=self.command_id,
                    actor=self.actor_label,
                )
            )
        return envelopes


def _already_written(records: list[RecordedEvent], first_ids: list[UUID]) -> Appended | None:
    """The earlier append of this very command, found by its derived first event id."""
    for index, record in enumerate(records):
        if record.event_id == first_ids[0]:
            batch = [r for r in records[index:] if r.causation_id == record.causation_id]
            return Appended(
                stream_id=record.stream_id,
                first_version=batch[0].stream_version,
                last_version=batch[-1].stream_version,
                event_types=tuple(r.event_type for r in batch),
                duplicate=True,
                first_position=batch[0].position,
                last_position=batch[-1].position,
            )
    return None
