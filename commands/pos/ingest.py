"""The POS ingest consumer: JetStream tickets in, ``RecordSale`` through the commands layer.

For every message on ``pos.<tenant>.<store>.sales`` (durable pull consumer,
``AckPolicy.MANUAL``):

1. the device token (``Obrador-Device-Token``) must belong to an active device
   of that tenant and store — the subject names the tenant, never the body;
2. the body must be a valid ticket (``commands.pos.schema``);
3. ``handle(RecordSale)`` records it, idempotent by (store, POS transaction id).

The message is acked only once ``handle`` has returned, i.e. once the sale's
events are committed, or once it is safely in the dead-letter stream
(``pos.<tenant>.<store>.dlq``, original body and headers, reason in headers).
A store or broker outage is a nack with a growing delay: the ticket comes back.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import psycopg
import psycopg_pool
from faststream import AckPolicy
from faststream.nats import (
    ConsumerConfig,
    DeliverPolicy,
    JStream,
    NatsBroker,
    NatsMessage,
    PullSub,
    StorageType,
)

from commands.handlers import handle
from commands.pos.devices import Device, DeviceRegistry
from commands.pos.schema import (
    DLQ_TOKEN,
    H_MSG_ID,
    H_TOKEN,
    SALES_PATTERN,
    SALES_TOKEN,
    SUBJECT_ROOT,
    dlq_subject,
    ticket_to_command,
)
from commands.runtime import ConcurrencyConflict, EventStoreLike
from commands.state_cache import StateCache
from domain.access import Actor
from domain.errors import DomainError
from domain.events.organisation import Role
from domain.sales import ConflictingTicket
from streams.errors import InvalidAppend, StoreError

log = logging.getLogger("obrador.pos")

POS_STREAM_NAME: Final = "OBRADOR_POS"
DLQ_STREAM_NAME: Final = "OBRADOR_POS_DLQ"
DURABLE: Final = "obrador-pos-ingest"
#: Unexpected (non-domain, non-outage) failures are retried this often, then dead-lettered.
MAX_UNEXPECTED_DELIVERIES: Final = 5


def pos_stream() -> JStream:
    """A fresh definition per broker (FastStream remembers what it has declared)."""
    return JStream(
        name=POS_STREAM_NAME,
        description="Tickets published by POS adapters",
        subjects=[f"{SUBJECT_ROOT}.*.*.{SALES_TOKEN}"],
        storage=StorageType.FILE,
        duplicate_window=120.0,  # a till resending with the same Nats-Msg-Id is dropped early
        max_age=30 * 86_400.0,
    )


def dlq_stream() -> JStream:
    return JStream(
        name=DLQ_STREAM_NAME,
        description="POS messages refused by the ingest, with the reason in headers",
        subjects=[f"{SUBJECT_ROOT}.*.*.{DLQ_TOKEN}.*"],
        storage=StorageType.FILE,
        duplicate_window=600.0,  # a redelivered refusal is dead-lettered once
    )


# Dead-letter headers: why, where it came from, and who sent it.
H_DLQ_FIELD: Final = "Obrador-Dlq-Field"
H_DLQ_RULE: Final = "Obrador-Dlq-Rule"
H_DLQ_REASON: Final = "Obrador-Dlq-Reason"
H_DLQ_SUBJECT: Final = "Obrador-Dlq-Subject"
H_DLQ_SEQ: Final = "Obrador-Dlq-Stream-Seq"
H_DLQ_DEVICE: Final = "Obrador-Dlq-Device"
H_DLQ_AT: Final = "Obrador-Dlq-At"

_TRANSIENT = (
    StoreError,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    ConcurrencyConflict,  # the same ticket delivered twice at once: the retry sees it stored
    OSError,
)


@dataclass(frozen=True)
class Refusal:
    """Why a message is dead-lettered: the field, a rule code, and words for people."""

    field: str
    rule: str
    reason: str


@dataclass
class IngestCounters:
    """What this process did; ``obrador pos status`` shows the durable counts from JetStream."""

    accepted: int = 0
    duplicates: int = 0
    retried: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)


class TicketProcessor:
    """The decision for one message, independent of the transport."""

    def __init__(
        self,
        store: EventStoreLike,
        devices: DeviceRegistry,
        *,
        cache: StateCache | None = None,
    ) -> None:
        self.store = store
        self.devices = devices
        self.cache = cache if cache is not None else StateCache()
        self.counters = IngestCounters()

    async def process(
        self, tenant_id: str, store_id: str, headers: Mapping[str, str], body: bytes
    ) -> Refusal | None:
        """Record the ticket (None) or say why it is refused; outages raise to be retried."""
        device = await self.devices.authenticate(headers.get(H_TOKEN))
        refusal = _check_device(device, tenant_id, store_id, headers)
        if refusal is not None:
            return refusal
        assert device is not None
        try:
            command = ticket_to_command(body, store_id=store_id, device_id=device.device_id)
            actor = Actor(
                user_id=device.device_id,
                role=Role.POS_DEVICE,
                store_ids=frozenset({device.store_id}),
            )
            result = await handle(
                command, self.store, tenant_id=tenant_id, actor=actor, cache=self.cache
            )
        except ConcurrencyConflict:
            raise
        except DomainError as exc:
            return Refusal(exc.field, _rule_of(exc), exc.reason)
        except InvalidAppend as exc:  # refused by the store before writing (e.g. too long ids)
            return Refusal(exc.field, "invalid_append", exc.reason)
        if result.duplicate:
            self.counters.duplicates += 1
        else:
            self.counters.accepted += 1
        return None


def _check_device(
    device: Device | None, tenant_id: str, store_id: str, headers: Mapping[str, str]
) -> Refusal | None:
    if H_TOKEN not in headers:
        return Refusal(H_TOKEN, "token_missing", "no device token in the message headers")
    if device is None:
        return Refusal(H_TOKEN, "token_unknown", "unknown or revoked device token")
    if device.tenant_id != tenant_id:
        return Refusal(
            "subject", "tenant_mismatch", "the device is not registered for the subject's tenant"
        )
    if device.store_id != store_id:
        return Refusal(
            "subject",
            "store_mismatch",
            f"device {device.device_id!r} is registered for store {device.store_id!r},"
            f" not {store_id!r}",
        )
    return None


def _rule_of(exc: DomainError) -> str:
    """``InvalidCommand`` -> ``invalid_command``: the error class as a stable rule code."""
    if isinstance(exc, ConflictingTicket):
        return "conflict"
    name = type(exc).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def dead_letter_headers(
    original: Mapping[str, str], refusal: Refusal, subject: str, seq: int | None
) -> dict[str, str]:
    """The original headers without the credential, plus the reason."""
    headers = {k: v for k, v in original.items() if k not in (H_TOKEN, H_MSG_ID)}
    headers.update(
        {
            H_DLQ_FIELD: _header_value(refusal.field)[:200],
            H_DLQ_RULE: refusal.rule,
            H_DLQ_REASON: _header_value(refusal.reason)[:1000],
            H_DLQ_SUBJECT: subject,
            H_DLQ_AT: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    if seq is not None:
        headers[H_DLQ_SEQ] = str(seq)
        headers[H_MSG_ID] = f"dlq-{seq}"
    return headers


def build_broker(
    nats_url: str,
    processor: TicketProcessor | None,
    *,
    batch_size: int = 64,
    durable: str = DURABLE,
) -> NatsBroker:
    """The FastStream broker of ``obrador ingest`` (``processor=None``: for AsyncAPI only)."""
    broker = NatsBroker(nats_url, logger=log, log_level=logging.DEBUG)
    broker.publisher(
        f"{SUBJECT_ROOT}.*.*.{DLQ_TOKEN}.*",
        stream=dlq_stream(),
        title="pos-dead-letters",
        description=f"pos.<tenant>.<store>.{DLQ_TOKEN}.<rule>: a refused POS message, the original"
        f" body and headers (device token removed), the reason in {H_DLQ_FIELD},"
        f" {H_DLQ_RULE} and {H_DLQ_REASON}.",
    )

    @broker.subscriber(
        SALES_PATTERN,
        stream=pos_stream(),
        durable=durable,
        pull_sub=PullSub(batch_size=batch_size, timeout=1.0),
        config=ConsumerConfig(
            ack_wait=30.0, max_deliver=-1, deliver_policy=DeliverPolicy.ALL, max_ack_pending=1000
        ),
        ack_policy=AckPolicy.MANUAL,  # acked by hand in _consume, once the sale is durable
        title="pos-tickets",
        description="A ticket from a till (schema_version 1). Header Obrador-Device-Token"
        " is required; tenant and store come from the subject.",
    )
    async def on_ticket(msg: NatsMessage) -> None:
        if processor is None:
            raise RuntimeError("this broker only describes the API")
        await _consume(msg, processor, broker)

    return broker


async def _consume(msg: NatsMessage, processor: TicketProcessor, broker: NatsBroker) -> None:
    raw = msg.raw_message
    headers = dict(raw.headers or {})
    tenant_id, store_id = _tokens(raw.subject)
    meta = raw.metadata
    delivered = meta.num_delivered
    try:
        refusal = await processor.process(tenant_id, store_id, headers, raw.data)
    except _TRANSIENT as exc:
        processor.counters.retried += 1
        delay = min(30.0, 0.5 * 2 ** min(delivered, 6))
        log.warning("ticket on %s not recorded yet (%s); retry in %.1fs", raw.subject, exc, delay)
        await msg.nack(delay=delay)
        return
    except Exception as exc:  # a bug must not lose the ticket: retried, then dead-lettered
        if delivered < MAX_UNEXPECTED_DELIVERIES:
            log.exception("ticket on %s failed (delivery %d)", raw.subject, delivered)
            await msg.nack(delay=1.0)
            return
        refusal = Refusal("$", "internal_error", f"{type(exc).__name__}: {exc}")
    if refusal is not None:
        await broker.publish(
            raw.data,
            subject=dlq_subject(tenant_id, store_id, refusal.rule),
            headers=dead_letter_headers(headers, refusal, raw.subject, meta.sequence.stream),
            stream=DLQ_STREAM_NAME,
        )
        processor.counters.dead_lettered[refusal.rule] += 1
        log.info(
            "dead-lettered %s seq %s: %s (%s) %s",
            raw.subject,
            meta.sequence.stream,
            refusal.field,
            refusal.rule,
            refusal.reason,
        )
    await msg.ack()


def _header_value(text: str) -> str:
    """NATS headers cannot carry line breaks or other control characters."""
    return "".join(c if c.isprintable() else " " for c in text)


def _tokens(subject: str) -> tuple[str, str]:
    parts = subject.split(".")
    return parts[1], parts[2]
