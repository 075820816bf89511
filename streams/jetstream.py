"""The JetStream side of the log: stream definition, subject scheme, envelope headers.

Subject of every event (``docs/streaming.md``)::

    obrador.events.p<partition>.<tenant>.<stream type>.<event type>

``partition`` is derived from the tenant alone (crc32 mod ``PARTITIONS``), so
all events of a tenant travel in one partition, in log order, while
projectors and forecast workers share partitions between processes.
``stream type`` is the stream id up to its first ``-`` (``sale``, ``stock``,
``mo``…). The message body is the stored payload, byte for byte; the envelope
travels in three headers: ``Nats-Msg-Id`` (the event id), ``Obrador-Position``
and ``Obrador-Envelope``, a JSON array of the other fields (``ENVELOPE_FIELDS``)
— nats-py spends most of a publish encoding headers, so fewer is faster
(docs/adr/0019-live-path-round-trips.md). Messages of the older format, one
header per field, still decode.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Final
from uuid import UUID

import msgspec
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from domain.streams import stream_type as stream_kind
from streams.cluster import add_stream_replicated
from streams.envelope import RecordedEvent

STREAM_NAME: Final = "OBRADOR_EVENTS"
SUBJECT_ROOT: Final = "obrador.events"
PARTITIONS: Final = 8

H_POSITION: Final = "Obrador-Position"
H_TENANT: Final = "Obrador-Tenant"
H_STREAM: Final = "Obrador-Stream"
H_VERSION: Final = "Obrador-Stream-Version"
H_TYPE: Final = "Obrador-Type"
H_SCHEMA: Final = "Obrador-Schema-Version"
H_RECORDED: Final = "Obrador-Recorded-At"
H_CAUSATION: Final = "Obrador-Causation"
H_CORRELATION: Final = "Obrador-Correlation"
H_ACTOR: Final = "Obrador-Actor"
H_MSG_ID: Final = "Nats-Msg-Id"
#: Position of the previous event of the same partition (0 for the first).
H_PARTITION_PREV: Final = "Obrador-Partition-Prev"
#: The envelope but the event id and position, as a JSON array in ``ENVELOPE_FIELDS`` order.
H_ENVELOPE: Final = "Obrador-Envelope"


class Envelope(msgspec.Struct, array_like=True, frozen=True):
    """The ``Obrador-Envelope`` header: ``[tenant, stream, version, type, schema, recorded_at,
    causation, correlation, actor, partition_prev]``."""

    tenant_id: str
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    recorded_at: datetime
    causation_id: UUID | None
    correlation_id: UUID | None
    actor: str | None
    partition_prev: int = 0


ENVELOPE_FIELDS: Final = Envelope.__struct_fields__
_envelope = msgspec.json.Decoder(Envelope)


def partition_of(tenant_id: str, partitions: int = PARTITIONS) -> int:
    return zlib.crc32(tenant_id.encode()) % partitions


def subject_of(tenant_id: str, stream_id: str, event_type: str) -> str:
    stream_type = stream_kind(stream_id)
    safe_type = event_type.replace(".", "_").replace(":", "_")
    safe_stream_type = stream_type.replace(".", "_").replace(":", "_")
    return f"{SUBJECT_ROOT}.p{partition_of(tenant_id)}.{tenant_id}.{safe_stream_type}.{safe_type}"


def partition_subject(partition: int) -> str:
    return f"{SUBJECT_ROOT}.p{partition}.>"


def headers_for(event: RecordedEvent, partition_prev: int = 0) -> dict[str, str]:
    """The headers of ``event``'s message (the relay builds the same from SQL, ``relay_read``)."""
    envelope = Envelope(
        event.tenant_id,
        event.stream_id,
        event.stream_version,
        event.event_type,
        event.schema_version,
        event.recorded_at,
        event.causation_id,
        event.correlation_id,
        event.actor,
        partition_prev,
    )
    return {
        H_MSG_ID: str(event.event_id),
        H_POSITION: str(event.position),
        H_ENVELOPE: msgspec.json.encode(envelope).decode(),
    }


def event_from_message(headers: Mapping[str, str], data: bytes) -> RecordedEvent:
    """The event a message carries (either header format): for integrators (docs/streaming.md)."""
    return event_and_prev(headers, data)[0]


def event_and_prev(headers: Mapping[str, str], data: bytes) -> tuple[RecordedEvent, int]:
    """The event a message carries and its ``partition_prev`` (either header format)."""
    envelope = headers.get(H_ENVELOPE)
    if envelope is not None:
        e = _envelope.decode(envelope)
        event = RecordedEvent(
            position=int(headers[H_POSITION]),
            event_id=UUID(headers[H_MSG_ID]),
            tenant_id=e.tenant_id,
            stream_id=e.stream_id,
            stream_version=e.stream_version,
            event_type=e.event_type,
            schema_version=e.schema_version,
            payload=data,
            recorded_at=e.recorded_at,
            causation_id=e.causation_id,
            correlation_id=e.correlation_id,
            actor=e.actor,
        )
        return event, e.partition_prev

    def uuid_or_none(key: str) -> UUID | None:
        value = headers.get(key)
        return UUID(value) if value else None

    event = RecordedEvent(
        position=int(headers[H_POSITION]),
        event_id=UUID(headers[H_MSG_ID]),
        tenant_id=headers[H_TENANT],
        stream_id=headers[H_STREAM],
        stream_version=int(headers[H_VERSION]),
        event_type=headers[H_TYPE],
        schema_version=int(headers[H_SCHEMA]),
        payload=data,
        recorded_at=datetime.fromisoformat(headers[H_RECORDED]),
        causation_id=uuid_or_none(H_CAUSATION),
        correlation_id=uuid_or_none(H_CORRELATION),
        actor=headers.get(H_ACTOR),
    )
    return event, int(headers.get(H_PARTITION_PREV, 0))


async def ensure_event_stream(js: JetStreamContext) -> None:
    """Create the events stream if missing (idempotent; keeps an existing one as it is).

    Three replicas on a cluster, one on a single server (``streams.cluster``).
    """
    try:
        await js.stream_info(STREAM_NAME)
        return
    except NotFoundError:
        pass
    await add_stream_replicated(
        js,
        js_api.StreamConfig(
            name=STREAM_NAME,
            subjects=[f"{SUBJECT_ROOT}.>"],
            retention=js_api.RetentionPolicy.LIMITS,
            storage=js_api.StorageType.FILE,
            duplicate_window=120.0,
        ),
    )


async def partition_tails(js: JetStreamContext, partitions: int = PARTITIONS) -> dict[int, int]:
    """Store position of the newest message of every partition (0 where there is none)."""
    tails = {}
    for partition in range(partitions):
        try:
            message = await js.get_last_msg(STREAM_NAME, partition_subject(partition))
        except NotFoundError:
            tails[partition] = 0
            continue
        tails[partition] = int((message.headers or {})[H_POSITION])
    return tails


async def last_relayed(js: JetStreamContext) -> tuple[int, str | None]:
    """(store position, event id) of the newest message in the stream; (0, None) when empty."""
    info = await js.stream_info(STREAM_NAME)
    last_seq = info.state.last_seq
    if not last_seq:
        return 0, None
    message = await js.get_msg(STREAM_NAME, seq=last_seq)
    headers = message.headers or {}
    return int(headers[H_POSITION]), headers.get(H_MSG_ID)


# -- the forecast training work queue (consumed by ``forecasting.ops.workqueue``) --------

FORECAST_JOBS_STREAM: Final = "OBRADOR_FORECAST_JOBS"
FORECAST_JOBS_ROOT: Final = "forecast.jobs"
FORECAST_TRAIN_SUBJECT: Final = f"{FORECAST_JOBS_ROOT}.train"
#: the one durable consumer every forecast worker pulls from
FORECAST_WORKERS: Final = "forecast-workers"
FORECAST_JOB_PARTITIONS: Final = 8
FORECAST_ACK_WAIT_S: Final = 600.0
FORECAST_MAX_DELIVER: Final = 5


async def ensure_forecast_jobs_stream(js: JetStreamContext) -> None:
    """Create the work-queue stream and the shared durable consumer if missing.

    Retention WORK_QUEUE: a message is gone once a worker acks it. The hour-long
    duplicate window makes enqueueing the same run twice publish each job once.
    """
    try:
        await js.stream_info(FORECAST_JOBS_STREAM)
    except NotFoundError:
        await add_stream_replicated(
            js,
            js_api.StreamConfig(
                name=FORECAST_JOBS_STREAM,
                subjects=[f"{FORECAST_JOBS_ROOT}.>"],
                retention=js_api.RetentionPolicy.WORK_QUEUE,
                storage=js_api.StorageType.FILE,
                duplicate_window=3600.0,
            ),
        )
    try:
        await js.consumer_info(FORECAST_JOBS_STREAM, FORECAST_WORKERS)
    except NotFoundError:
        await js.add_consumer(
            FORECAST_JOBS_STREAM,
            js_api.ConsumerConfig(
                durable_name=FORECAST_WORKERS,
                ack_policy=js_api.AckPolicy.EXPLICIT,
                ack_wait=FORECAST_ACK_WAIT_S,
                max_deliver=FORECAST_MAX_DELIVER,
                filter_subject=f"{FORECAST_JOBS_ROOT}.>",
            ),
        )
