"""The POS ingest's decision for one message: record the ticket, or say why not.

For every message on ``pos.<tenant>.<store>.sales``:

1. its size and JSON depth are checked before anything is decoded
   (``MAX_MESSAGE_BYTES``, ``MAX_JSON_DEPTH``);
2. the device token (``Obrador-Device-Token``) must belong to an active device
   of that tenant and store — the subject names the tenant, never the body;
3. the body must be a valid ticket within the limits (``commands.pos.schema``);
4. ``handle(RecordSale)`` records it, idempotent by (store, POS transaction id).

``TicketProcessor.process`` returns ``None`` (recorded, or a resend already
recorded) or a ``Refusal`` for the dead letters; an outage raises, to be
retried. The transport (fetch, ack, dead-letter publish, reconnect) is
``commands.pos.consumer``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import psycopg
import psycopg_pool

from commands.handlers import handle
from commands.pos import telemetry
from commands.pos.deadletter import Refusal
from commands.pos.devices import Device, DeviceRegistry
from commands.pos.schema import H_TOKEN, check_size_and_depth, ticket_to_command
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

#: Transient failures: the message is nacked with a delay and comes back.
TRANSIENT = (
    StoreError,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    ConcurrencyConflict,  # the same ticket delivered twice at once: the retry sees it stored
    OSError,
)


@dataclass
class IngestCounters:
    """What this process did; ``obrador pos status`` shows the durable counts from JetStream."""

    accepted: int = 0
    duplicates: int = 0
    retried: int = 0
    #: Times the consumer lost its NATS connection and opened a new one.
    reconnects: int = 0
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
        try:
            check_size_and_depth(body)
        except DomainError as exc:
            return Refusal(exc.field, _rule_of(exc), exc.reason)
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
        # The sale's own stream says whether this delivery recorded it (a concurrent
        # resend may still write the stock step the first delivery had not reached yet).
        if not result.appended or result.appended[0].duplicate:
            self.counters.duplicates += 1
        else:
            self.counters.accepted += 1
        telemetry.ACCEPTED.inc()
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
