"""``GET /v1/events/stream``: the tenant's new events as Server-Sent Events.

Each event is one SSE message: ``id`` its global position, ``event`` its type,
``data`` the same JSON line as the history export (envelope + payload). A
client resumes with ``Last-Event-ID`` (browsers send it on reconnect) or
``?after=``; with neither it gets only events appended from now on. The
generator reads the log below the visible horizon (never skips a late commit),
sleeps on the store's NOTIFY wake-up between batches and sends a comment as a
keep-alive every ``KEEP_ALIVE_SECONDS``; when the client goes away Litestar
cancels it, and it holds no connection between reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

import msgspec
from litestar import Request, get
from litestar.datastructures import State
from litestar.response import ServerSentEvent, ServerSentEventMessage

from domain.access import STORE_SCOPED_ROLES, Permission, can
from read_api.errors import InvalidParameter, problem
from read_api.export import HistoryLine
from read_api.keys import Principal, actor_of
from streams.store import EventStore

KEEP_ALIVE_SECONDS: Final = 15.0
BATCH: Final = 500


def start_position(last_event_id: str | None, after: str | None) -> int | None:
    for name, raw in (("Last-Event-ID", last_event_id), ("after", after)):
        if raw is None:
            continue
        where = "header" if name == "Last-Event-ID" else "query"
        try:
            value = int(raw)
        except ValueError:
            raise InvalidParameter(
                name, "not a global position (an integer)", source=where
            ) from None
        if value < 0:
            raise InvalidParameter(name, "must be 0 or more", source=where)
        return value
    return None


async def live_messages(
    store: EventStore, tenant_id: str, after: int, *, keep_alive: float = KEEP_ALIVE_SECONDS
) -> AsyncIterator[ServerSentEventMessage]:
    """Every event of ``tenant_id`` after ``after``, then each new one as it commits."""
    encoder = msgspec.json.Encoder()
    while True:
        events = await store.read_all(after=after, limit=BATCH, tenant_id=tenant_id)
        for event in events:
            line = HistoryLine(
                position=event.position,
                event_id=event.event_id,
                tenant_id=event.tenant_id,
                stream_id=event.stream_id,
                stream_version=event.stream_version,
                event_type=event.event_type,
                schema_version=event.schema_version,
                recorded_at=event.recorded_at,
                causation_id=event.causation_id,
                correlation_id=event.correlation_id,
                actor=event.actor,
                payload=msgspec.Raw(event.payload),
            )
            yield ServerSentEventMessage(
                data=encoder.encode(line).decode(), event=event.event_type, id=event.position
            )
            after = event.position
        if len(events) == BATCH:
            continue
        if not await store.wait_for_events(after, keep_alive):
            yield ServerSentEventMessage(comment="keep-alive")


@get(
    "/events/stream",
    operation_id="streamEvents",
    summary="New events of the tenant as Server-Sent Events (resume with Last-Event-ID)",
    tags=["history"],
    # An endless stream: kept out of the OpenAPI document (a fuzzer would wait on it
    # forever); docs/api.md describes it.
    include_in_schema=False,
)
async def stream_events(request: Request[Principal, Any, Any], state: State) -> ServerSentEvent:
    principal = request.user
    actor = actor_of(principal)
    if actor.role in STORE_SCOPED_ROLES or not can(actor, Permission.READ_HISTORY):
        # The history is tenant-wide: a store-scoped role would see other stores' events.
        raise problem(403, "this credential's role may not read the tenant's history")
    start = start_position(request.headers.get("last-event-id"), request.query_params.get("after"))
    store: EventStore = state.store
    if start is None:
        start = await store.head_position()
    return ServerSentEvent(live_messages(store, principal.tenant_id, start), retry_duration=2000)
