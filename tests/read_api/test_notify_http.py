"""Notification channels over HTTP: the owner adds and removes them; bad input names its field."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from http_kit import NORTH, Tenants, problem_fields, scratch, tenants_on
from litestar import Litestar
from litestar.testing import AsyncTestClient

from deploy.stack import StackUrls
from domain.codec import decode_event
from domain.events import WebhookChannelAdded
from domain.streams import NOTIFY_SETTINGS_STREAM
from read_api.app import create_app
from streams.store import EventStore

Client = AsyncTestClient[Litestar]
HOOK = {"channel_id": "ops", "url": "https://hooks.example/obrador", "secret": "x" * 24}


@pytest.fixture(scope="module")
async def tenants(stack: StackUrls) -> AsyncIterator[Tenants]:
    for made in scratch(stack.database_url):
        yield await tenants_on(made.url)


@pytest.fixture(scope="module")
async def client(tenants: Tenants) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(tenants.url)) as test_client:
        yield test_client


async def test_the_owner_adds_a_webhook_an_email_and_quiet_hours(
    client: Client, tenants: Tenants
) -> None:
    for path, body in (
        ("/v1/notifications/webhooks", HOOK),
        ("/v1/notifications/emails", {"channel_id": "olga", "address": "olga@north.example"}),
        ("/v1/notifications/quiet-hours", {"start_hour": 22, "end_hour": 6}),
        ("/v1/notifications/remove", {"channel_id": "olga"}),
    ):
        answer = await client.post(path, json=body, headers=tenants.north)
        assert answer.status_code == 200, answer.text
    async with await EventStore.open(tenants.url, min_size=1, max_size=1) as store:
        records = await store.read_stream(NORTH, NOTIFY_SETTINGS_STREAM)
    events = [decode_event(r.event_type, r.schema_version, r.payload) for r in records]
    assert [type(e).__name__ for e in events] == [
        "WebhookChannelAdded", "EmailRecipientAdded", "QuietHoursSet", "NotificationChannelRemoved",
    ]  # fmt: skip
    assert isinstance(events[0], WebhookChannelAdded) and events[0].url == HOOK["url"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/notifications/webhooks", {**HOOK, "channel_id": "a", "secret": "short"}, "secret"),
        ("/v1/notifications/webhooks", {**HOOK, "channel_id": "b", "url": "mailto:x"}, "url"),
        ("/v1/notifications/quiet-hours", {"start_hour": 22, "end_hour": 25}, "end_hour"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    client: Client, tenants: Tenants, path: str, body: dict[str, object], field: str
) -> None:
    answer = await client.post(path, json=body, headers=tenants.south)
    assert answer.status_code in (400, 422), answer.text
    assert problem_fields(answer.json()) == [field]


async def test_an_auditor_may_not_add_channels(client: Client, tenants: Tenants) -> None:
    answer = await client.post(
        "/v1/notifications/webhooks",
        json={**HOOK, "channel_id": "c"},
        headers=tenants.north_auditor,
    )
    assert answer.status_code == 403
