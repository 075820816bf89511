"""What the relay publishes decodes to exactly the stored event, in either header format.

The relay sends the envelope as one ``Obrador-Envelope`` header built by
PostgreSQL (``streams.relay_read``); a message of the older format (one header
per field) must still decode, since a JetStream stream keeps what it holds.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import nats

from streams.envelope import AppendRequest, NewEvent, RecordedEvent
from streams.jetstream import (
    H_ACTOR,
    H_CAUSATION,
    H_CORRELATION,
    H_ENVELOPE,
    H_MSG_ID,
    H_PARTITION_PREV,
    H_POSITION,
    H_RECORDED,
    H_SCHEMA,
    H_STREAM,
    H_TENANT,
    H_TYPE,
    H_VERSION,
    STREAM_NAME,
    event_and_prev,
    event_from_message,
    headers_for,
    partition_of,
)
from streams.relay import Relay
from streams.store import EventStore
from tests.eventually import eventually

TENANTS = ("envelope-a", "envelope-b", "envelope-c")


def _requests() -> list[AppendRequest]:
    cause, corr = uuid.uuid4(), uuid.uuid4()
    return [
        AppendRequest(
            tenant_id=TENANTS[n % 3],
            stream_id=f"stock-s{n}",
            events=(
                NewEvent(
                    event_type="Probe.Happened:v",
                    schema_version=2,
                    payload=b'{"n": %d, "text": "caf\xc3\xa9 \\u00e9"}' % n,
                    causation_id=cause if n % 2 else None,
                    correlation_id=corr if n % 3 else None,
                    actor="user:ana" if n % 2 else None,
                ),
            ),
            expected_version=0,
        )
        for n in range(12)
    ]


async def test_relayed_messages_decode_to_the_stored_events(
    pg_store: EventStore, nats_url: str
) -> None:
    for outcome in await pg_store.append_many(_requests()):
        assert not isinstance(outcome, Exception), outcome
    stored = await pg_store.read_all(limit=100)
    stop = asyncio.Event()
    relay = Relay(pg_store, nats_url)
    task = asyncio.create_task(relay.run(stop))
    try:
        await eventually(lambda: relay.stats.published == len(stored), timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        got = []
        for seq in range(1, len(stored) + 1):
            msg = await js.get_msg(STREAM_NAME, seq=seq)
            headers = msg.headers or {}
            assert set(headers) >= {H_MSG_ID, H_POSITION, H_ENVELOPE}
            got.append(event_and_prev(headers, msg.data or b""))
    finally:
        await nc.close()
    assert [event for event, _ in got] == stored
    tails: dict[int, int] = {}
    for event, prev in got:  # each names the previous event of its partition
        partition = partition_of(event.tenant_id)
        assert prev == tails.get(partition, 0)
        tails[partition] = event.position


def test_both_header_formats_decode_alike() -> None:
    event = _stored_like()
    headers = headers_for(event, partition_prev=41)
    old = {
        H_MSG_ID: str(event.event_id),
        H_POSITION: str(event.position),
        H_TENANT: event.tenant_id,
        H_STREAM: event.stream_id,
        H_VERSION: str(event.stream_version),
        H_TYPE: event.event_type,
        H_SCHEMA: str(event.schema_version),
        H_RECORDED: event.recorded_at.isoformat(),
        H_CAUSATION: str(event.causation_id),
        H_CORRELATION: str(event.correlation_id),
        H_ACTOR: str(event.actor),
        H_PARTITION_PREV: "41",
    }
    assert event_and_prev(headers, event.payload) == (event, 41)
    assert event_and_prev(old, event.payload) == (event, 41)
    # what docs/streaming.md gives integrators reads both formats the same way
    assert event_from_message(headers, event.payload) == event_from_message(old, event.payload)
    assert event_from_message(headers, event.payload) == event


def _stored_like() -> RecordedEvent:
    return RecordedEvent(
        position=42,
        event_id=uuid.uuid4(),
        tenant_id="envelope-a",
        stream_id="sale-s1-T1",
        stream_version=3,
        event_type="SaleRecorded",
        schema_version=1,
        payload=b"{}",
        recorded_at=datetime.fromisoformat("2026-11-30T03:02:09.123456+00:00"),
        causation_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        actor="device:till-1",
    )
