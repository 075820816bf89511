"""History export: a tenant's events as NDJSON, in global order, with flat memory.

``history_lines`` is the one generator: ``GET /v1/history`` streams it and
``obrador history export`` writes it to a file. It reads in keyset batches
(``position > last`` on the ``(tenant_id, position)`` index, ``BATCH`` rows
each, a pooled connection lent per batch), so memory does not grow with the
history and no transaction stays open for the whole export. Only events below
the store's visible horizon are read (ADR 0002), so an export never skips an
event that commits late.

Each line is the envelope (docs/envelope.md), the event's hash-chain link
(``hash``, and ``prev_hash``: the hash of the event before it in its stream, 64
zeros for a stream's first; ADR 0007) and, last, the event's JSON ``payload``
embedded byte for byte as stored, so ``docs/audit.md``'s offline script can
recompute every hash from the line alone::

    {"position":1,"event_id":"…","tenant_id":"…","stream_id":"…","stream_version":1,
     "event_type":"SaleRecorded","schema_version":1,"recorded_at":"…",
     "causation_id":null,"correlation_id":null,"actor":"user:…",
     "hash":"…","prev_hash":"…","payload":{…}}

The payload's JSON Schema: ``GET /v1/schemas/events/{event_type}`` (the
response's ``Link: </v1/schemas/events>; rel="describedby"`` says so).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Stream
from psycopg import sql

from domain.access import STORE_SCOPED_ROLES, Permission, can
from read_api.errors import InvalidQuery, problem
from read_api.event_schemas import PATH as SCHEMAS_PATH
from read_api.keys import Principal, actor_of
from read_api.limits import ID_PATTERN, MAX_ID_LENGTH

NDJSON: Final = "application/x-ndjson"
BATCH: Final = 1000
#: At most this many event types in one filter.
MAX_TYPES: Final = 50


@dataclass(frozen=True)
class HistoryFilter:
    """Which events: all of the tenant's unless narrowed (every bound is optional)."""

    after: int = 0  # global position, exclusive
    until: int | None = None  # global position, inclusive
    stream_id: str | None = None
    event_types: tuple[str, ...] = field(default_factory=tuple)
    recorded_from: datetime | None = None  # inclusive
    recorded_to: datetime | None = None  # exclusive


class HistoryLine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    position: int
    event_id: UUID
    tenant_id: str
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    recorded_at: datetime
    causation_id: UUID | None
    correlation_id: UUID | None
    actor: str | None
    #: the chain link (hex): present in the export, absent from the live stream
    hash: str | None = None
    prev_hash: str | None = None
    #: last on the line, so that its stored bytes can be cut out of the line exactly
    payload: msgspec.Raw


_GENESIS_HEX: Final = "0" * 64
_COLUMNS: Final = (
    "e.position, e.event_id, e.tenant_id, e.stream_id, e.stream_version, e.event_type,"
    " e.schema_version, e.recorded_at, e.causation_id, e.correlation_id, e.actor, e.payload,"
    " e.hash, p.hash"
)


def _query(tenant_id: str, wanted: HistoryFilter, after: int) -> tuple[sql.Composed, list[Any]]:
    clauses = [
        sql.SQL("e.tenant_id = %s"),
        sql.SQL("e.position > %s"),
        sql.SQL("e.tx_id < obrador_visible_horizon()"),
    ]
    params: list[Any] = [tenant_id, after]
    if wanted.until is not None:
        clauses.append(sql.SQL("e.position <= %s"))
        params.append(wanted.until)
    if wanted.stream_id is not None:
        clauses.append(sql.SQL("e.stream_id = %s"))
        params.append(wanted.stream_id)
    if wanted.event_types:
        clauses.append(sql.SQL("e.event_type = ANY(%s)"))
        params.append(list(wanted.event_types))
    if wanted.recorded_from is not None:
        clauses.append(sql.SQL("e.recorded_at >= %s"))
        params.append(wanted.recorded_from)
    if wanted.recorded_to is not None:
        clauses.append(sql.SQL("e.recorded_at < %s"))
        params.append(wanted.recorded_to)
    # prev_hash: the stream's previous event, by the unique (tenant, stream, version) index
    query = sql.SQL(
        "SELECT {} FROM events e LEFT JOIN events p ON p.tenant_id = e.tenant_id"
        " AND p.stream_id = e.stream_id AND p.stream_version = e.stream_version - 1"
        " WHERE {} ORDER BY e.position LIMIT {}"
    ).format(sql.SQL(_COLUMNS), sql.SQL(" AND ").join(clauses), sql.Literal(BATCH))
    return query, params


async def history_lines(
    pool: Any, tenant_id: str, wanted: HistoryFilter = HistoryFilter()
) -> AsyncIterator[bytes]:
    """The tenant's events matching ``wanted``, one NDJSON line (bytes, ``\\n``-ended) each."""
    encoder = msgspec.json.Encoder()
    after = wanted.after
    while True:
        query, params = _query(tenant_id, wanted, after)
        async with pool.connection() as conn:
            cur = await conn.execute(query, params)
            rows = await cur.fetchall()
        for row in rows:
            payload = row[11]
            yield (
                encoder.encode(
                    HistoryLine(
                        position=row[0],
                        event_id=row[1],
                        tenant_id=row[2],
                        stream_id=row[3],
                        stream_version=row[4],
                        event_type=row[5],
                        schema_version=row[6],
                        recorded_at=row[7],
                        causation_id=row[8],
                        correlation_id=row[9],
                        actor=row[10],
                        hash=bytes(row[12]).hex(),
                        prev_hash=_GENESIS_HEX if row[13] is None else bytes(row[13]).hex(),
                        payload=msgspec.Raw(bytes(payload) if payload is not None else b"null"),
                    )
                )
                + b"\n"
            )
        if len(rows) < BATCH:
            return
        after = int(rows[-1][0])


_Id = Annotated[
    str | None,
    QueryParameter(
        pattern=ID_PATTERN, min_length=1, max_length=MAX_ID_LENGTH, description="only this stream"
    ),
]
_Type = Annotated[
    list[str] | None,
    QueryParameter(
        name="event_type",
        max_items=MAX_TYPES,
        description="only these event types (repeat the parameter for several)",
    ),
]


@get(
    "/history",
    operation_id="exportHistory",
    summary="The tenant's events as NDJSON, in global order (auditors, integrators)",
    description=(
        "One line per event: the envelope and its JSON payload (docs/api.md, 'History"
        " export'). Streamed: any size. Resume with `after=` the last position received."
    ),
    tags=["history"],
    media_type=NDJSON,
    security=[{"apiKey": []}],
)
async def export_history(
    *,
    request: Request[Principal, Any, Any],
    state: State,
    after: Annotated[
        int, QueryParameter(ge=0, description="only events after this global position")
    ] = 0,
    until: Annotated[
        int | None, QueryParameter(ge=0, description="only events up to this global position")
    ] = None,
    stream: _Id = None,
    event_type: _Type = None,
    recorded_from: Annotated[
        datetime | None,
        QueryParameter(description="only events recorded at or after this time (ISO 8601)"),
    ] = None,
    recorded_to: Annotated[
        datetime | None,
        QueryParameter(description="only events recorded before this time (ISO 8601)"),
    ] = None,
) -> Stream:
    principal = request.user
    actor = actor_of(principal)
    if actor.role in STORE_SCOPED_ROLES or not can(actor, Permission.READ_HISTORY):
        # The history is tenant-wide: a store-scoped role would see other stores' events.
        raise problem(403, "this credential's role may not read the tenant's history")
    for name, moment in (("recorded_from", recorded_from), ("recorded_to", recorded_to)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidQuery(name, "needs a time zone (e.g. 2026-01-01T00:00:00Z)")
    if recorded_from and recorded_to and recorded_from > recorded_to:
        raise InvalidQuery("recorded_from", "is after recorded_to")
    wanted = HistoryFilter(
        after=after,
        until=until,
        stream_id=stream,
        event_types=tuple(event_type or ()),
        recorded_from=recorded_from,
        recorded_to=recorded_to,
    )
    return Stream(
        history_lines(state.pool, principal.tenant_id, wanted),
        media_type=NDJSON,
        headers={"Link": f'<{SCHEMAS_PATH}>; rel="describedby"'},
    )
