"""The clock and alert settings through the write side: ``Tick`` and ``SetAlertSettings``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commands.handlers import handle
from commands.handlers.alerts import tick_now
from commands.types import SetAlertSettings, Tick
from commands.validation import InvalidCommand, parse_command
from domain.access import Actor
from domain.codec import decode_event
from domain.errors import InvalidValue, PermissionDenied
from domain.events import AlertSettingsChanged, ClockTicked
from domain.events.organisation import Role
from domain.streams import ALERT_SETTINGS_STREAM, clock_stream
from streams.memory import InMemoryEventStore

T = "forn-sant-joan"
OWNER = Actor(user_id="olga", role=Role.OWNER)
HOUR = datetime(2026, 3, 2, 5, tzinfo=UTC)


async def _stream(store: InMemoryEventStore, stream: str) -> list[object]:
    return [
        decode_event(r.event_type, r.schema_version, r.payload)
        for r in await store.read_stream(T, stream)
    ]


async def test_the_scheduler_ticks_once_per_instant_and_never_backwards() -> None:
    store = InMemoryEventStore()
    await tick_now(store, T, HOUR)
    again = await tick_now(store, T, HOUR)  # a retried job
    assert again.duplicate
    await tick_now(store, T, HOUR + timedelta(hours=1))
    await handle(Tick(at=HOUR), store, tenant_id=T, actor=OWNER)  # late, without a key
    assert await _stream(store, clock_stream(HOUR.date())) == [
        ClockTicked(occurred_at=HOUR),
        ClockTicked(occurred_at=HOUR + timedelta(hours=1)),
    ]


async def test_a_tick_from_the_future_is_refused() -> None:
    store = InMemoryEventStore()
    with pytest.raises(InvalidValue) as refused:
        await handle(Tick(at=HOUR + timedelta(hours=1)), store, tenant_id=T, actor=OWNER, now=HOUR)
    assert refused.value.field == "at"
    assert await store.read_stream(T, clock_stream(HOUR.date())) == []


async def test_a_store_manager_may_not_move_the_clock() -> None:
    manager = Actor(user_id="rosa", role=Role.STORE_MANAGER, store_ids=frozenset({"centro"}))
    with pytest.raises(PermissionDenied):
        await handle(Tick(at=HOUR), InMemoryEventStore(), tenant_id=T, actor=manager)


async def test_settings_are_an_event_with_who_changed_them() -> None:
    store = InMemoryEventStore()
    await handle(SetAlertSettings(expiry_warning_days=3), store, tenant_id=T, actor=OWNER, now=HOUR)
    assert await _stream(store, ALERT_SETTINGS_STREAM) == [
        AlertSettingsChanged(occurred_at=HOUR, expiry_warning_days=3, changed_by="olga")
    ]


def test_settings_out_of_range_name_the_field() -> None:
    with pytest.raises(InvalidCommand) as refused:
        parse_command({"type": "SetAlertSettings", "expiry_warning_days": 0})
    assert refused.value.field == "expiry_warning_days"
    with pytest.raises(InvalidCommand) as refused:
        parse_command({"type": "Tick", "at": "2026-03-02T05:00:00"})
    assert refused.value.field == "at"
