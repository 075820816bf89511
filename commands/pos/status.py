"""``obrador pos status``: what the ingest has taken, what it owes, and what it refused.

Every count comes from JetStream, so it is durable and the same for every
ingest process: the POS stream, the ingest's durable consumer (pending, being
processed, redelivered) and the dead-letter stream by tenant, store and rule
(the rule is the last token of a dead-letter subject).
"""

from __future__ import annotations

from typing import Any

import nats
from nats.js.errors import NotFoundError

from commands.pos.ingest import DLQ_STREAM_NAME, DURABLE, POS_STREAM_NAME
from streams.cluster import nats_servers


async def pos_status(nats_url: str) -> dict[str, Any]:
    nc = await nats.connect(nats_servers(nats_url))
    js = nc.jetstream()
    status: dict[str, Any] = {}
    try:
        try:
            tickets = await js.stream_info(POS_STREAM_NAME)
            status["tickets_received"] = tickets.state.messages
        except NotFoundError:
            status["tickets_received"] = None  # the ingest has never run here
        try:
            consumer = await js.consumer_info(POS_STREAM_NAME, DURABLE)
            status["ingest"] = {
                "waiting": consumer.num_pending,
                "in_progress": consumer.num_ack_pending,
                "redelivered": consumer.num_redelivered,
                "acked_up_to_seq": consumer.ack_floor.stream_seq if consumer.ack_floor else 0,
            }
        except NotFoundError:
            status["ingest"] = None
        try:
            dlq = await js.stream_info(DLQ_STREAM_NAME, subjects_filter=">")
        except NotFoundError:
            status["dead_letters"] = {"total": 0, "by_store_and_rule": {}}
        else:
            by: dict[str, int] = {}
            for subject, count in sorted((dlq.state.subjects or {}).items()):
                _, tenant, store, _, rule = subject.split(".", 4)
                by[f"{tenant}/{store}/{rule}"] = count
            status["dead_letters"] = {"total": dlq.state.messages, "by_store_and_rule": by}
    finally:
        await nc.close()
    return status
