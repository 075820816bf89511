"""Tamper evidence: every write path chains its events, and plain-SQL tampering is found.

Each test appends through the store (group commit, bulk import, atomic groups,
concurrent writers), checks that the history verifies, then edits, deletes,
inserts or reorders rows behind the store's back and checks what is reported.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import psycopg
import pytest

from deploy.audit import verify
from deploy.cli import main
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


async def fill(store: EventStore) -> None:
    """Small group-committed appends, a large batch, an atomic group and a bulk import."""
    for i in range(3):
        await store.append(T, "sale-a", events(2, f"a{i}"), expected_version=2 * i)
    await asyncio.gather(*(store.append(T, f"sale-g{i}", events(3)) for i in range(40)))
    await store.append_many(
        [
            AppendRequest(tenant_id=T, stream_id="stock-1", events=tuple(events(2))),
            AppendRequest(tenant_id=T, stream_id="stock-2", events=tuple(events(1))),
        ],
        atomic=True,
    )
    await store.bulk_append(
        (
            AppendRequest(
                tenant_id=T, stream_id=f"import-{i % 250}", events=tuple(events(2, f"b{i}"))
            )
            for i in range(500)
        ),
        chunk_events=400,
    )
    await store.append("other-tenant", "sale-a", events(2))


async def report(pg_url: str) -> list[tuple[str, int, str, int]]:
    (tenant,) = await verify(pg_url, tenant=T)
    return [(f.kind, f.position, f.stream_id, f.stream_version) for f in tenant.findings]


async def sql(pg_url: str, statement: str, *params: object) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(statement, params)


async def position_of(store: EventStore, stream: str, version: int) -> int:
    (event,) = await store.read_stream(T, stream, from_version=version, limit=1)
    return event.position


class TestAnUntouchedHistoryVerifies:
    async def test_every_write_path_chains_what_python_computes(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await fill(pg_store)
        reports = await verify(pg_url)
        assert {r.tenant_id: (r.events, r.findings) for r in reports} == {
            T: (6 + 120 + 3 + 1000, []),
            "other-tenant": (2, []),
        }

    async def test_concurrent_writers_of_one_stream_keep_one_chain(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        async def writer(w: int) -> None:
            for i in range(15):
                await pg_store.append(T, f"shared-{w % 3}", events(1 + i % 3, f"{w}-{i}"))

        await asyncio.gather(*(writer(w) for w in range(12)))
        assert await report(pg_url) == []

    async def test_the_export_feed_verifies_offline(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await fill(pg_store)
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            exported = [item async for item in iter_chained(conn, T, page=97)]
        assert [c.event.position for c in exported] == sorted(c.event.position for c in exported)
        assert len(exported) == 1129
        assert check_events(exported) == []
        first = exported[0]
        assert first.hash == link(bytes(32), first.event)

    async def test_a_writer_that_leaves_the_hash_out_gets_it_from_the_database(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await pg_store.append(T, "es-1", events(2))
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await conn.execute(
                "SELECT obrador_reserve_positions(1)"
            )  # the eventsourcing recorder's path: its own INSERT, no hash column
            await conn.execute(
                "INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version,"
                " event_type, payload) SELECT nextval('event_position_seq'), gen_random_uuid(),"
                " %s, 'es-1', 3, 'SaleRecorded', '{}'",
                (T,),
            )
            await conn.execute("UPDATE streams SET version = 3 WHERE stream_id = 'es-1'")
        assert await report(pg_url) == []


class TestTamperingIsFound:
    async def test_an_edited_payload_is_reported_at_its_position(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await fill(pg_store)
        target = await position_of(pg_store, "sale-a", 3)
        await sql(pg_url, "UPDATE events SET payload = '{\"n\":99}' WHERE position = %s", target)
        assert (await report(pg_url))[0] == ("edited", target, "sale-a", 3)

    async def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await fill(pg_store)
        target = await position_of(pg_store, "sale-a", 2)
        await sql(
            pg_url,
            "UPDATE events SET actor = 'someone', hash = sha256(hash) WHERE position = %s",
            target,
        )
        found = await report(pg_url)
        assert found[0] == ("edited", target, "sale-a", 2)

    async def test_a_deleted_event_is_reported_with_the_position_it_had(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await fill(pg_store)
        target = await position_of(pg_store, "sale-a", 4)
        await sql(pg_url, "DELETE FROM events WHERE position = %s", target)
        assert (await report(pg_url))[0] == ("deleted", target, "sale-a", 5)

    async def test_a_cut_tail_is_reported_against_the_stream_gate(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await fill(pg_store)
        target = await position_of(pg_store, "sale-a", 6)
        await sql(pg_url, "DELETE FROM events WHERE position = %s", target)
        assert (await report(pg_url))[0] == ("deleted", target, "sale-a", 5)

    async def test_an_inserted_event_is_reported_at_its_position(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await fill(pg_store)
        await sql(
            pg_url,
            "INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version,"
            " event_type, payload) VALUES (1000000, gen_random_uuid(), %s, 'sale-a', 7,"
            " 'SaleVoided', '{}')",
            T,
        )
        assert (await report(pg_url))[0] == ("inserted", 1000000, "sale-a", 7)

    async def test_reordered_events_are_reported(self, pg_store: EventStore, pg_url: str) -> None:
        await fill(pg_store)
        second = await position_of(pg_store, "sale-a", 2)
        third = await position_of(pg_store, "sale-a", 3)
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            await conn.execute("UPDATE events SET position = -1 WHERE position = %s", (second,))
            await conn.execute(
                "UPDATE events SET position = %s WHERE position = %s", (second, third)
            )
            await conn.execute("UPDATE events SET position = %s WHERE position = -1", (third,))
            await conn.commit()
        assert (await report(pg_url))[0] == ("reordered", second, "sale-a", 3)


class TestSealsCoverWhatChainsCannot:
    async def test_a_sealed_history_verifies_and_a_cut_tail_with_its_gate_is_found(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        from deploy.audit import seal_tenants

        await fill(pg_store)
        (made,) = await seal_tenants(pg_url, tenant=T)
        assert made.event_count == 1129 and made.stream_count == 293
        await pg_store.append(T, "sale-a", events(1), expected_version=6)
        assert await report(pg_url) == []
        target = await position_of(pg_store, "sale-g7", 3)
        await sql(pg_url, "DELETE FROM events WHERE position = %s", target)
        await sql(pg_url, "UPDATE streams SET version = 2 WHERE stream_id = 'sale-g7'")
        assert (await report(pg_url))[0] == ("deleted", target, "sale-g7", 3)

    async def test_a_whole_deleted_stream_is_found(self, pg_store: EventStore, pg_url: str) -> None:
        from deploy.audit import seal_tenants

        await fill(pg_store)
        await seal_tenants(pg_url, tenant=T)
        last = await position_of(pg_store, "stock-2", 1)
        await sql(pg_url, "DELETE FROM events WHERE stream_id = 'stock-2'")
        await sql(pg_url, "DELETE FROM streams WHERE stream_id = 'stock-2'")
        assert (await report(pg_url))[0] == ("deleted", last, "stock-2", 1)

    async def test_an_altered_seal_and_a_missing_kept_seal_are_found(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        from deploy.audit import seal_tenants

        await fill(pg_store)
        (first,) = await seal_tenants(pg_url, tenant=T)
        await sql(
            pg_url, "UPDATE audit_seal_heads SET stream_version = 1 WHERE stream_id = 'sale-a'"
        )
        assert ("edited", first.through_position, "$seal", 1) in await report(pg_url)
        await sql(pg_url, "DELETE FROM audit_seal_heads")
        await sql(pg_url, "DELETE FROM audit_seals")
        (tenant,) = await verify(pg_url, tenant=T, kept_seals=frozenset({first.seal_hash}))
        assert [f.kind for f in tenant.findings] == ["deleted"]
        assert first.seal_hash.hex() in tenant.findings[0].detail


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
