"""The store and the relay count what they did in Prometheus series (the /metrics scrape)."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from streams.envelope import NO_STREAM, AppendRequest, NewEvent
from streams.relay import Relay
from streams.store import EventStore
from tests.eventually import eventually


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def ev() -> NewEvent:
    return NewEvent(event_type="SaleRecorded", payload=b"{}")


async def test_appends_are_counted_once_and_duplicates_not(pg_store: EventStore) -> None:
    before = sample("obrador_store_appended_events_total", path="single")
    timed = sample("obrador_store_append_seconds_count", path="single")
    await pg_store.append(
        "t1", "sale-a", [ev(), ev()], expected_version=NO_STREAM, idempotency_key="k1"
    )
    await pg_store.append(
        "t1", "sale-a", [ev(), ev()], expected_version=NO_STREAM, idempotency_key="k1"
    )  # the resend stores nothing
    assert sample("obrador_store_appended_events_total", path="single") == before + 2
    assert sample("obrador_store_append_seconds_count", path="single") == timed + 2


async def test_bulk_and_atomic_paths_have_their_own_label(pg_store: EventStore) -> None:
    bulk = sample("obrador_store_appended_events_total", path="bulk")
    atomic = sample("obrador_store_appended_events_total", path="atomic")
    await pg_store.bulk_append(
        [AppendRequest(tenant_id="t1", stream_id=f"s-{i}", events=(ev(),)) for i in range(3)]
    )
    await pg_store.append_many(
        [AppendRequest(tenant_id="t1", stream_id=f"a-{i}", events=(ev(),)) for i in range(2)],
        atomic=True,
    )
    assert sample("obrador_store_appended_events_total", path="bulk") == bulk + 3
    assert sample("obrador_store_appended_events_total", path="atomic") == atomic + 2


async def test_relay_reports_what_it_published(pg_store: EventStore, nats_url: str) -> None:
    before = sample("obrador_relay_published_events_total")
    result = await pg_store.append("t1", "sale-r", [ev(), ev(), ev()])
    stop = asyncio.Event()
    task = asyncio.create_task(Relay(pg_store, nats_url).run(stop))
    try:
        await eventually(lambda: sample("obrador_relay_published_events_total") >= before + 3)
        assert sample("obrador_relay_position") >= result.last_position
    finally:
        stop.set()
        await task
