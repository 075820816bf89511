"""Write many appends in one transaction: the shared core of group commit and bulk import.

One transaction, a handful of set-based statements whatever the batch size:

1. reserve positions (and the transaction id) for every event of the batch;
2. claim each append's idempotency key — a key already stored means the
   append is a duplicate and gets the original result;
3. move each stream's version through the ``streams`` gate — an append whose
   expected version does not match is a conflict and writes nothing;
4. COPY the events of the appends that passed, and NOTIFY listeners.

The caller guarantees at most one append per stream and per key in a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import AsyncConnection

from streams.envelope import AppendRequest, AppendResult
from streams.errors import StoreError, WrongExpectedVersion

NOTIFY_CHANNEL = "obrador_events"

_COPY_EVENTS = (
    "COPY events (position, event_id, tenant_id, stream_id, stream_version, event_type,"
    " schema_version, payload, causation_id, correlation_id, actor) FROM STDIN"
)


@dataclass
class _Slot:
    request: AppendRequest
    first_position: int
    result: AppendResult | StoreError | None = None


async def write_batch(
    conn: AsyncConnection[tuple[object, ...]], requests: Sequence[AppendRequest]
) -> list[AppendResult | StoreError]:
    """Append ``requests`` in one transaction; return one outcome per request, in order."""
    total = sum(len(r.events) for r in requests)
    async with conn.transaction():
        cur = await conn.execute("SELECT obrador_reserve_positions(%s)", (total,))
        row = await cur.fetchone()
        assert row is not None
        slots = _place(requests, int(str(row[0])))
        fresh = await _claim_keys(conn, slots)
        await _resolve_duplicates(conn, [s for s in slots if id(s) not in fresh])
        winners = await _pass_gate(conn, [s for s in slots if id(s) in fresh])
        if winners:
            await _copy_events(conn, winners)
            last = max(s.first_position + len(s.request.events) - 1 for s in winners)
            await conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(last)))
    return [s.result if s.result is not None else _missing(s) for s in slots]


def _place(requests: Sequence[AppendRequest], first: int) -> list[_Slot]:
    slots = []
    for request in requests:
        slots.append(_Slot(request, first))
        first += len(request.events)
    return slots


async def _claim_keys(conn: AsyncConnection[tuple[object, ...]], slots: list[_Slot]) -> set[int]:
    cur = await conn.execute(
        "INSERT INTO idempotency_keys (tenant_id, key, stream_id, first_position, last_position)"
        " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::bigint[])"
        " ON CONFLICT DO NOTHING RETURNING tenant_id, key",
        (
            [s.request.tenant_id for s in slots],
            [s.request.key() for s in slots],
            [s.request.stream_id for s in slots],
            [s.first_position for s in slots],
            [s.first_position + len(s.request.events) - 1 for s in slots],
        ),
    )
    claimed = {(str(t), str(k)) for t, k in await cur.fetchall()}
    return {id(s) for s in slots if (s.request.tenant_id, s.request.key()) in claimed}


async def _resolve_duplicates(
    conn: AsyncConnection[tuple[object, ...]], slots: list[_Slot]
) -> None:
    if not slots:
        return
    cur = await conn.execute(
        "SELECT k.tenant_id, k.key, k.stream_id, k.first_position, k.last_position,"
        " f.stream_version, l.stream_version"
        " FROM idempotency_keys k"
        " JOIN unnest(%s::text[], %s::text[]) AS v(tenant_id, key)"
        "   ON k.tenant_id = v.tenant_id AND k.key = v.key"
        " JOIN events f ON f.position = k.first_position"
        " JOIN events l ON l.position = k.last_position",
        ([s.request.tenant_id for s in slots], [s.request.key() for s in slots]),
    )
    found = {(str(r[0]), str(r[1])): r for r in await cur.fetchall()}
    for slot in slots:
        r = found[(slot.request.tenant_id, slot.request.key())]
        slot.result = AppendResult(
            tenant_id=str(r[0]), stream_id=str(r[2]), first_version=int(str(r[5])),
            last_version=int(str(r[6])), first_position=int(str(r[3])),
            last_position=int(str(r[4])), duplicate=True,
        )


async def _pass_gate(
    conn: AsyncConnection[tuple[object, ...]], slots: list[_Slot]
) -> list[_Slot]:
    """Move stream versions; return the slots that passed, with their results set."""
    if not slots:
        return []
    creatable = [s for s in slots if s.request.expected_version in (None, 0)]
    versions: dict[tuple[str, str], int] = {}
    if creatable:
        cur = await conn.execute(
            "INSERT INTO streams (tenant_id, stream_id, version)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[])"
            " ON CONFLICT DO NOTHING RETURNING tenant_id, stream_id, version",
            (
                [s.request.tenant_id for s in creatable],
                [s.request.stream_id for s in creatable],
                [len(s.request.events) for s in creatable],
            ),
        )
        versions.update({(str(t), str(s)): int(str(v)) for t, s, v in await cur.fetchall()})
    existing = [
        s for s in slots
        if (s.request.tenant_id, s.request.stream_id) not in versions
        and s.request.expected_version != 0
    ]
    if existing:
        cur = await conn.execute(
            "UPDATE streams AS s SET version = s.version + v.n"
            " FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[])"
            "   AS v(tenant_id, stream_id, expected, n)"
            " WHERE s.tenant_id = v.tenant_id AND s.stream_id = v.stream_id"
            "   AND (v.expected IS NULL OR s.version = v.expected)"
            " RETURNING s.tenant_id, s.stream_id, s.version",
            (
                [s.request.tenant_id for s in existing],
                [s.request.stream_id for s in existing],
                [s.request.expected_version for s in existing],
                [len(s.request.events) for s in existing],
            ),
        )
        versions.update({(str(t), str(s)): int(str(v)) for t, s, v in await cur.fetchall()})
    winners, losers = [], []
    for slot in slots:
        last = versions.get((slot.request.tenant_id, slot.request.stream_id))
        if last is None:
            losers.append(slot)
            continue
        n = len(slot.request.events)
        slot.result = AppendResult(
            tenant_id=slot.request.tenant_id, stream_id=slot.request.stream_id,
            first_version=last - n + 1, last_version=last,
            first_position=slot.first_position, last_position=slot.first_position + n - 1,
        )
        winners.append(slot)
    if losers:
        await _reject(conn, losers)
    return winners


async def _reject(conn: AsyncConnection[tuple[object, ...]], losers: list[_Slot]) -> None:
    tenants = [s.request.tenant_id for s in losers]
    cur = await conn.execute(
        "SELECT s.tenant_id, s.stream_id, s.version FROM streams s"
        " JOIN unnest(%s::text[], %s::text[]) AS v(tenant_id, stream_id)"
        "   ON s.tenant_id = v.tenant_id AND s.stream_id = v.stream_id",
        (tenants, [s.request.stream_id for s in losers]),
    )
    actual = {(str(t), str(s)): int(str(v)) for t, s, v in await cur.fetchall()}
    await conn.execute(
        "DELETE FROM idempotency_keys k USING unnest(%s::text[], %s::text[]) AS v(tenant_id, key)"
        " WHERE k.tenant_id = v.tenant_id AND k.key = v.key",
        (tenants, [s.request.key() for s in losers]),
    )
    for slot in losers:
        r = slot.request
        slot.result = WrongExpectedVersion(
            r.tenant_id, r.stream_id, r.expected_version,
            actual.get((r.tenant_id, r.stream_id), 0),
        )


async def _copy_events(conn: AsyncConnection[tuple[object, ...]], slots: list[_Slot]) -> None:
    cur = conn.cursor()
    async with cur.copy(_COPY_EVENTS) as copy:
        for slot in slots:
            assert isinstance(slot.result, AppendResult)
            r = slot.request
            version = slot.result.first_version
            position = slot.first_position
            for event in r.events:
                await copy.write_row((
                    position, event.event_id, r.tenant_id, r.stream_id, version,
                    event.event_type, event.schema_version, event.payload,
                    event.causation_id, event.correlation_id, event.actor,
                ))
                position += 1
                version += 1


def _missing(slot: _Slot) -> StoreError:
    return StoreError(f"append to {slot.request.stream_id!r} produced no outcome")
