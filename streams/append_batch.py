"""Write many appends in one transaction: the shared core of group commit and bulk import.

One server-side call per batch (``obrador_append_small`` below ``SMALL_BATCH``
appends, ``obrador_append`` above; migrations 0013 and 0010), whatever its size:

1. reserve positions (and the transaction id) for every event of the batch;
2. claim each append's idempotency key — a key already stored means the
   append is a duplicate and gets the original result;
3. move each stream's version through the ``streams`` gate — an append whose
   expected version does not match is a conflict and writes nothing;
4. insert the events of the appends that passed, and NOTIFY listeners.

The caller guarantees at most one append per stream and per key in a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from streams.envelope import AppendRequest, AppendResult
from streams.errors import StoreError, WrongExpectedVersion

NOTIFY_CHANNEL = "obrador_events"


@dataclass
class _Slot:
    request: AppendRequest
    result: AppendResult | StoreError | None = None


class AtomicAppendRefused(StoreError):
    """An all-or-nothing group of appends could not all be written; nothing was."""

    def __init__(self, outcomes: list[AppendResult | StoreError]) -> None:
        first = next((o for o in outcomes if isinstance(o, StoreError)), None)
        super().__init__(
            f"atomic append of {len(outcomes)} streams refused, nothing written: "
            + (str(first) if first else "some appends were already stored and others not")
        )
        self.outcomes = outcomes


async def write_batch(
    conn: AsyncConnection[tuple[object, ...]],
    requests: Sequence[AppendRequest],
    *,
    atomic: bool = False,
) -> list[AppendResult | StoreError]:
    """Append ``requests`` in one transaction; return one outcome per request, in order.

    The steps run server-side in ``obrador_append`` (migration 0010): one
    call per batch. Duplicates and conflicts are then described with one
    more query each, only when there are any.

    On a connection in autocommit mode a non-atomic batch is one round trip:
    the call is a transaction of its own, durable when it returns (no BEGIN
    and COMMIT around it), and the descriptions read what it committed.
    Otherwise (and always with ``atomic``) everything runs in one explicit
    transaction, which an atomic group's refusal rolls back.
    """
    if conn.autocommit and not atomic:
        return await _call_and_describe(conn, requests, atomic=False)
    async with conn.transaction():
        return await _call_and_describe(conn, requests, atomic=atomic)


def append_args(requests: Sequence[AppendRequest]) -> tuple[list[Any], ...]:
    """The append functions' arguments: one array per request column, one per event column."""
    events = [
        (i, offset, e) for i, r in enumerate(requests, start=1) for offset, e in enumerate(r.events)
    ]
    return (
        [r.tenant_id for r in requests],
        [r.stream_id for r in requests],
        [r.expected_version for r in requests],
        [len(r.events) for r in requests],
        [r.key() for r in requests],
        [i for i, _, _ in events],
        [offset for _, offset, _ in events],
        [e.event_id for _, _, e in events],
        [e.event_type for _, _, e in events],
        [e.schema_version for _, _, e in events],
        [e.payload for _, _, e in events],
        [e.causation_id for _, _, e in events],
        [e.correlation_id for _, _, e in events],
        [e.actor for _, _, e in events],
    )


async def _call_and_describe(
    conn: AsyncConnection[tuple[object, ...]],
    requests: Sequence[AppendRequest],
    *,
    atomic: bool,
) -> list[AppendResult | StoreError]:
    cur = await conn.execute(
        _CALL_SMALL if len(requests) < SMALL_BATCH else _CALL, append_args(requests)
    )
    rows = await cur.fetchall()
    slots = [_Slot(r) for r in requests]
    duplicates, conflicts = [], []
    for row in rows:
        slot = slots[int(str(row[0])) - 1]
        outcome = str(row[1])
        if outcome == "ok":
            slot.result = AppendResult(
                tenant_id=slot.request.tenant_id,
                stream_id=slot.request.stream_id,
                first_version=int(str(row[2])),
                last_version=int(str(row[3])),
                first_position=int(str(row[4])),
                last_position=int(str(row[5])),
            )
        elif outcome == "duplicate":
            duplicates.append(slot)
        else:
            conflicts.append(slot)
    await _resolve_duplicates(conn, duplicates)
    await _describe_conflicts(conn, conflicts)
    outcomes = [s.result if s.result is not None else _missing(s) for s in slots]
    if atomic and (conflicts or (duplicates and len(duplicates) != len(slots))):
        raise AtomicAppendRefused(outcomes)  # rolls the whole transaction back
    return outcomes


#: below this many appends the array-only function is cheaper than the temp-table one
SMALL_BATCH = 200
_CALL_SMALL = (
    "SELECT * FROM obrador_append_small(%b::text[], %b::text[], %b::bigint[], %b::int[],"
    " %b::text[], %b::int[], %b::int[], %b::uuid[], %b::text[], %b::int[], %b::bytea[],"
    " %b::uuid[], %b::uuid[], %b::text[])"
)
# %b: parameters travel in binary (no text escaping of payloads, uuids and arrays)
_CALL = (
    "SELECT * FROM obrador_append(%b::text[], %b::text[], %b::bigint[], %b::int[],"
    " %b::text[], %b::int[], %b::int[], %b::uuid[], %b::text[], %b::int[], %b::bytea[],"
    " %b::uuid[], %b::uuid[], %b::text[])"
)


async def _describe_conflicts(
    conn: AsyncConnection[tuple[object, ...]], losers: list[_Slot]
) -> None:
    if not losers:
        return
    cur = await conn.execute(
        "SELECT s.tenant_id, s.stream_id, s.version FROM streams s"
        " JOIN unnest(%s::text[], %s::text[]) AS v(tenant_id, stream_id)"
        "   ON s.tenant_id = v.tenant_id AND s.stream_id = v.stream_id",
        ([s.request.tenant_id for s in losers], [s.request.stream_id for s in losers]),
    )
    actual = {(str(t), str(s)): int(str(v)) for t, s, v in await cur.fetchall()}
    for slot in losers:
        r = slot.request
        slot.result = WrongExpectedVersion(
            r.tenant_id,
            r.stream_id,
            r.expected_version,
            actual.get((r.tenant_id, r.stream_id), 0),
        )


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
            tenant_id=str(r[0]),
            stream_id=str(r[2]),
            first_version=int(str(r[5])),
            last_version=int(str(r[6])),
            first_position=int(str(r[3])),
            last_position=int(str(r[4])),
            duplicate=True,
        )


def _missing(slot: _Slot) -> StoreError:
    return StoreError(f"append to {slot.request.stream_id!r} produced no outcome")
