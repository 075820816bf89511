"""Folded stream states kept between commands, so a long stream is not re-read for each one.

A stock stream grows with every sale; folding it from version 1 for each
ticket would cost more every day. With a cache, a handler reads only the events
after the version it already folded and applies them to the kept state. The
cache holds only what the store recorded (never a decision that was not
appended), so it can be stale but never wrong: a stale version simply fails
the append's expected-version check and the handler re-reads.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from domain.codec import decode_event
from domain.events import Event
from streams.envelope import RecordedEvent

DEFAULT_MAX_STREAMS: Final = 10_000


class Evolving(Protocol):
    def apply(self, event: Event) -> None: ...


@dataclass
class CachedState:
    state: Any  # an Evolving fold result
    version: int


class StateCache:
    """An LRU of folded states per (tenant, stream, fold function), for one process."""

    def __init__(self, max_streams: int = DEFAULT_MAX_STREAMS) -> None:
        self.max_streams = max_streams
        self._entries: OrderedDict[tuple[str, str, Callable[..., Any]], CachedState] = OrderedDict()

    def get(self, tenant_id: str, stream_id: str, fold: Callable[..., Any]) -> CachedState | None:
        key = (tenant_id, stream_id, fold)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(
        self, tenant_id: str, stream_id: str, fold: Callable[..., Any], entry: CachedState
    ) -> None:
        if not hasattr(entry.state, "apply"):
            return  # plain lists and the like cannot be advanced; they are re-read
        self._entries[(tenant_id, stream_id, fold)] = entry
        self._entries.move_to_end((tenant_id, stream_id, fold))
        while len(self._entries) > self.max_streams:
            self._entries.popitem(last=False)

    def note_append(
        self,
        tenant_id: str,
        stream_id: str,
        fold: Callable[..., Any],
        *,
        appended_after: int,
        events: Sequence[Event],
    ) -> None:
        """Apply what this process just appended, if the entry is still where it was."""
        entry = self._entries.get((tenant_id, stream_id, fold))
        if entry is None or entry.version != appended_after:
            return  # moved meanwhile (or evicted): the next read catches up
        for event in events:
            entry.state.apply(event)
        entry.version = appended_after + len(events)

    @staticmethod
    def advance(entry: CachedState, records: Sequence[RecordedEvent]) -> None:
        """Apply the records that follow ``entry.version``, each exactly once.

        Synchronous, so two commands of one process sharing an entry cannot both
        apply the same event: the second sees the version already moved.
        """
        for record in records:
            if record.stream_version == entry.version + 1:
                entry.state.apply(
                    decode_event(record.event_type, record.schema_version, record.payload)
                )
                entry.version = record.stream_version
