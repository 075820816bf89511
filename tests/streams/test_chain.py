"""Tamper evidence: every write path chains its events, and plain-SQL tampering is found.

Each test appends through the store (group commit, bulk import, atomic groups,
concurrent writers), checks that the history verifies, then edits, deletes,
inserts or reorders rows behind the store's back and checks what is reported.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from deploy.audit import seal_tenants, verify
from deploy.cli import main
from deploy.scratch import scratch_schema
from deploy.stack import StackUrls
from streams.chain import check_events, link
from streams.chain_read import iter_chained
from streams.envelope import AppendRequest, NewEvent
from streams.store import EventStore

T = "forn-chain"


def events(n: int, tag: str = "x") -> list[NewEvent]:
    return [
        NewEvent(
            event_type="SaleRecorded",
            payload=f'{{"n":{i},"tag":"{tag}"}}'.encode(),
            actor="till-1" if i % 2 else None,
            correlation_id=uuid.uuid4() if i % 3 == 0 else None,
        )
        for i in range(n)
    ]


async def fill(store: EventStore, tenant: str = T, *, big: bool = False) -> None:
    """Small group-committed appends, an atomic group and a bulk import (with ``big``,
    chunks past ``SMALL_BATCH`` appends, which take the other append function)."""
    for i in range(3):
        await store.append(tenant, "sale-a", events(2, f"a{i}"), expected_version=2 * i)
    await asyncio.gather(*(store.append(tenant, f"sale-g{i}", events(3)) for i in range(10)))
    await store.append_many(
        [
            AppendRequest(tenant_id=tenant, stream_id="stock-1", events=tuple(events(2))),
            AppendRequest(tenant_id=tenant, stream_id="stock-2", events=tuple(events(1))),
        ],
        atomic=True,
    )
    count = 500 if big else 60
    await store.bulk_append(
        (
            AppendRequest(
                tenant_id=tenant,
                stream_id=f"import-{i % (count // 2)}",
                events=tuple(events(2, f"b{i}")),
            )
            for i in range(count)
        ),
        chunk_events=(count // 2) * 2 if big else 50,
    )


#: events and streams ``fill`` writes without ``big``
FILLED = (6 + 30 + 3 + 120, 1 + 10 + 2 + 30)


@pytest.fixture(scope="module")
def shared_url(stack: StackUrls) -> Iterator[str]:
    """One schema for the module; each test writes and tampers with a tenant of its own."""
    with scratch_schema(stack.database_url, "chain") as conninfo:
        yield conninfo


@pytest.fixture
def tenant() -> str:
    return f"forn-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def store(shared_url: str) -> AsyncIterator[EventStore]:
    opened = await EventStore.open(shared_url, min_size=1, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()


async def report(url: str, tenant: str = T) -> list[tuple[str, int, str, int]]:
    (found,) = await verify(url, tenant=tenant)
    return [(f.kind, f.position, f.stream_id, f.stream_version) for f in found.findings]


async def sql(pg_url: str, statement: str, *params: object) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(statement, params)


async def position_of(store: EventStore, tenant: str, stream: str, version: int) -> int:
    (event,) = await store.read_stream(tenant, stream, from_version=version, limit=1)
    return event.position


class TestAnUntouchedHistoryVerifies:
    async def test_every_write_path_chains_what_python_computes(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await fill(pg_store, big=True)
        await pg_store.append("other-tenant", "sale-a", events(2))
        reports = await verify(pg_url)
        assert {r.tenant_id: (r.events, r.findings) for r in reports} == {
            T: (6 + 30 + 3 + 1000, []),
            "other-tenant": (2, []),
        }

    async def test_concurrent_writers_of_one_stream_keep_one_chain(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        async def writer(w: int) -> None:
            for i in range(10):
                await store.append(tenant, f"shared-{w % 3}", events(1 + i % 3, f"{w}-{i}"))

        await asyncio.gather(*(writer(w) for w in range(9)))
        assert await report(shared_url, tenant) == []

    async def test_the_export_feed_verifies_offline(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        async with await psycopg.AsyncConnection.connect(shared_url) as conn:
            exported = [item async for item in iter_chained(conn, tenant, page=37)]
        assert [c.event.position for c in exported] == sorted(c.event.position for c in exported)
        assert len(exported) == FILLED[0]
        assert check_events(exported) == []
        first = exported[0]
        assert first.hash == link(bytes(32), first.event)

    async def test_a_writer_that_leaves_the_hash_out_gets_it_from_the_database(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await store.append(tenant, "es-1", events(2))
        # the eventsourcing recorder's path: its own multi-row INSERT, no hash column
        await sql(
            shared_url,
            "WITH r AS (SELECT obrador_reserve_positions(2) AS base)"
            " INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version,"
            " event_type, payload) SELECT r.base + v - 3, gen_random_uuid(), %s, 'es-1', v,"
            " 'SaleRecorded', '{}' FROM r, unnest(ARRAY[3, 4]) AS v",
            tenant,
        )
        await sql(shared_url, "UPDATE streams SET version = 4 WHERE tenant_id = %s", tenant)
        assert await report(shared_url, tenant) == []


class TestTamperingIsFound:
    async def test_an_edited_payload_is_reported_at_its_position(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        target = await position_of(store, tenant, "sale-a", 3)
        await sql(shared_url, "UPDATE events SET payload = '{}' WHERE position = %s", target)
        assert (await report(shared_url, tenant))[0] == ("edited", target, "sale-a", 3)

    async def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        target = await position_of(store, tenant, "sale-a", 2)
        await sql(
            shared_url,
            "UPDATE events SET actor = 'someone', hash = sha256(hash) WHERE position = %s",
            target,
        )
        assert (await report(shared_url, tenant))[0] == ("edited", target, "sale-a", 2)

    async def test_a_deleted_event_is_reported_with_the_position_it_had(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        target = await position_of(store, tenant, "sale-a", 4)
        await sql(shared_url, "DELETE FROM events WHERE position = %s", target)
        assert (await report(shared_url, tenant))[0] == ("deleted", target, "sale-a", 5)

    async def test_a_cut_tail_is_reported_against_the_stream_gate(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        target = await position_of(store, tenant, "sale-a", 6)
        await sql(shared_url, "DELETE FROM events WHERE position = %s", target)
        assert (await report(shared_url, tenant))[0] == ("deleted", target, "sale-a", 5)

    async def test_an_inserted_event_is_reported_at_its_position(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        async with await psycopg.AsyncConnection.connect(shared_url, autocommit=True) as conn:
            cur = await conn.execute(
                "INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version,"
                " event_type, payload) VALUES (nextval('event_position_seq'), gen_random_uuid(),"
                " %s, 'sale-a', 7, 'SaleVoided', '{}') RETURNING position",
                (tenant,),
            )
            row = await cur.fetchone()
        assert row is not None
        assert (await report(shared_url, tenant))[0] == ("inserted", row[0], "sale-a", 7)

    async def test_reordered_events_are_reported(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        second = await position_of(store, tenant, "sale-a", 2)
        third = await position_of(store, tenant, "sale-a", 3)
        async with await psycopg.AsyncConnection.connect(shared_url) as conn:
            swap = "UPDATE events SET position = %s WHERE position = %s"
            await conn.execute(swap, (-1, second))
            await conn.execute(swap, (second, third))
            await conn.execute(swap, (third, -1))
            await conn.commit()
        assert (await report(shared_url, tenant))[:2] == [
            ("reordered", second, "sale-a", 3),
            ("reordered", third, "sale-a", 2),
        ]


class TestSealsCoverWhatChainsCannot:
    async def test_a_sealed_history_verifies_and_a_cut_tail_with_its_gate_is_found(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        (made,) = await seal_tenants(shared_url, tenant=tenant)
        assert (made.event_count, made.stream_count) == FILLED
        await store.append(tenant, "sale-a", events(1), expected_version=6)
        assert await report(shared_url, tenant) == []
        target = await position_of(store, tenant, "sale-g7", 3)
        await sql(shared_url, "DELETE FROM events WHERE position = %s", target)
        await sql(
            shared_url,
            "UPDATE streams SET version = 2 WHERE tenant_id = %s AND stream_id = 'sale-g7'",
            tenant,
        )
        assert (await report(shared_url, tenant))[0] == ("deleted", target, "sale-g7", 3)

    async def test_a_whole_deleted_stream_is_found(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        await seal_tenants(shared_url, tenant=tenant)
        last = await position_of(store, tenant, "stock-2", 1)
        for table in ("events", "streams"):
            await sql(
                shared_url,
                f"DELETE FROM {table} WHERE tenant_id = %s AND stream_id = 'stock-2'",
                tenant,
            )
        assert (await report(shared_url, tenant))[0] == ("deleted", last, "stock-2", 1)

    async def test_an_altered_seal_and_a_missing_kept_seal_are_found(
        self, store: EventStore, shared_url: str, tenant: str
    ) -> None:
        await fill(store, tenant)
        (first,) = await seal_tenants(shared_url, tenant=tenant)
        await sql(
            shared_url,
            "UPDATE audit_seal_heads SET stream_version = 1"
            " WHERE tenant_id = %s AND stream_id = 'sale-a'",
            tenant,
        )
        assert ("edited", first.through_position, "$seal", 1) in await report(shared_url, tenant)
        for table in ("audit_seal_heads", "audit_seals"):
            await sql(shared_url, f"DELETE FROM {table} WHERE tenant_id = %s", tenant)
        (found,) = await verify(shared_url, tenant=tenant, kept_seals=frozenset({first.seal_hash}))
        assert [f.kind for f in found.findings] == ["deleted"]
        assert first.seal_hash.hex() in found.findings[0].detail


@pytest.mark.parametrize("tampered", [False, True])
def test_the_cli_exits_non_zero_on_tampering(
    pg_url: str, tampered: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> None:
        store = await EventStore.open(pg_url)
        try:
            await store.append(T, "sale-a", events(3))
        finally:
            await store.close()
        if tampered:
            await sql(pg_url, "UPDATE events SET payload = '{}' WHERE stream_version = 2")

    asyncio.run(prepare())
    monkeypatch.setenv("DATABASE_URL", pg_url)
    code = main(["audit", "verify", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert (code, result["clean"]) == ((1, False) if tampered else (0, True))
    if tampered:
        assert result["tenants"][0]["first"]["kind"] == "edited"
