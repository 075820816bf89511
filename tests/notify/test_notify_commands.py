"""Notification channels and quiet hours are events, decided by the write side."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commands.handlers import handle
from commands.types import (
    AddEmailRecipient,
    AddWebhookChannel,
    RemoveNotificationChannel,
    SetQuietHours,
)
from commands.types.base import Command
from commands.validation import InvalidCommand, parse_command
from domain import notify
from domain.access import Actor
from domain.codec import decode_event
from domain.errors import AlreadyExists, DomainError, InvalidValue, NotFound, PermissionDenied
from domain.events.organisation import Role
from domain.streams import NOTIFY_SETTINGS_STREAM
from streams.memory import InMemoryEventStore
from streams.personal import open_records

T = "forn-sant-joan"
OWNER = Actor(user_id="olga", role=Role.OWNER)
AT = datetime(2026, 3, 2, 5, tzinfo=UTC)
SECRET = "a-long-shared-secret"


async def run(store: InMemoryEventStore, command: Command, actor: Actor = OWNER) -> None:
    await handle(command, store, tenant_id=T, actor=actor, now=AT)


async def settings(store: InMemoryEventStore) -> notify.NotifySettings:
    records = await store.read_stream(T, NOTIFY_SETTINGS_STREAM)
    # Addresses are sealed in the store (docs/gdpr.md); readers open them.
    records = await open_records(store.keyring.keys_for_reading, records)
    return notify.fold(decode_event(r.event_type, r.schema_version, r.payload) for r in records)


async def test_channels_are_added_removed_and_folded_back() -> None:
    store = InMemoryEventStore()
    await run(store, AddWebhookChannel(channel_id="ops", url="https://x.test/h", secret=SECRET))
    await run(store, AddEmailRecipient(channel_id="olga", address="olga@forn.example"))
    await run(store, SetQuietHours(start_hour=21, end_hour=5, timezone="Europe/Madrid"))
    state = await settings(store)
    assert state.channels == {
        "ops": notify.Channel("ops", "webhook", "https://x.test/h", SECRET),
        "olga": notify.Channel("olga", "email", "olga@forn.example"),
    }
    assert state.quiet == notify.QuietHours(21, 5, "Europe/Madrid", 7)
    await run(store, RemoveNotificationChannel(channel_id="ops"))
    assert list((await settings(store)).channels) == ["olga"]


@pytest.mark.parametrize(
    ("command", "error", "field"),
    [
        (AddEmailRecipient(channel_id="ops", address="a@b.example"), AlreadyExists, "channel_id"),
        (RemoveNotificationChannel(channel_id="nobody"), NotFound, "channel_id"),
        (AddWebhookChannel(channel_id="x", url="ftp://x.test", secret=SECRET), InvalidValue, "url"),
        (AddWebhookChannel(channel_id="x", url="https://", secret=SECRET), InvalidValue, "url"),
        (AddEmailRecipient(channel_id="x", address="not-an-address"), InvalidValue, "address"),
        (
            SetQuietHours(start_hour=1, end_hour=5, timezone="Mars/Olympus"),
            InvalidValue,
            "timezone",
        ),
        (SetQuietHours(start_hour=1, end_hour=5, timezone="Europe"), InvalidValue, "timezone"),
        (AddWebhookChannel(channel_id="x", url="http://[", secret=SECRET), InvalidValue, "url"),
        (AddWebhookChannel(channel_id="x", url="http://a/ b", secret=SECRET), InvalidValue, "url"),
        (
            AddEmailRecipient(channel_id="x", address="a@b.example\nBcc: c@d"),
            InvalidValue,
            "address",
        ),
        (AddEmailRecipient(channel_id="x", address="a@b.example\n"), InvalidValue, "address"),
    ],
)
async def test_bad_settings_are_refused_naming_the_field(
    command: Command, error: type[DomainError], field: str
) -> None:
    store = InMemoryEventStore()
    await run(store, AddWebhookChannel(channel_id="ops", url="https://x.test/h", secret=SECRET))
    with pytest.raises(error) as refused:
        await run(store, command)
    assert refused.value.field == field


def test_a_short_secret_or_an_hour_out_of_range_is_refused_at_the_edge() -> None:
    with pytest.raises(InvalidCommand) as refused:
        parse_command(
            {"type": "AddWebhookChannel", "channel_id": "x", "url": "https://x", "secret": "short"}
        )
    assert refused.value.field == "secret"
    with pytest.raises(InvalidCommand) as refused:
        parse_command({"type": "SetQuietHours", "start_hour": 24, "end_hour": 5})
    assert refused.value.field == "start_hour"


async def test_only_an_owner_manages_channels() -> None:
    manager = Actor(user_id="pau", role=Role.STORE_MANAGER, store_ids=frozenset({"born"}))
    with pytest.raises(PermissionDenied):
        await run(InMemoryEventStore(), SetQuietHours(start_hour=1, end_hour=5), manager)


async def test_setting_the_same_quiet_hours_again_writes_nothing() -> None:
    store = InMemoryEventStore()
    for _ in range(2):
        await run(store, SetQuietHours(start_hour=22, end_hour=6))
    assert len(await store.read_stream(T, NOTIFY_SETTINGS_STREAM)) == 1
