"""A reader of the global log never skips an event whose transaction commits late.

The held writer reserves its position first and commits last: every reader must
stop below it while it is open, then deliver it in order once it commits (or
move on if it rolls back).
"""

from __future__ import annotations

import asyncio

import psycopg

from streams.append_batch import write_batch
from streams.envelope import AppendRequest, NewEvent, RecordedEvent
from streams.store import EventStore
from tests.eventually import eventually

T = "bakery-1"


def request(stream: str) -> AppendRequest:
    return AppendRequest(
        tenant_id=T, stream_id=stream, events=(NewEvent(event_type="SaleRecorded", payload=b"{}"),)
    )


async def collect(store: EventStore, into: list[RecordedEvent]) -> None:
    async for batch in store.subscribe(idle_timeout=0.05):
        into.extend(batch)


class TestHeldTransaction:
    async def test_late_commit_is_seen_by_every_reader_in_position_order(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        seen: list[RecordedEvent] = []
        subscriber = asyncio.create_task(collect(pg_store, seen))
        held = await psycopg.AsyncConnection.connect(pg_url)
        try:
            async with held.transaction():
                (late,) = await write_batch(held, [request("late")])  # position reserved first
                for i in range(3):
                    await pg_store.append(
                        T, f"early-{i}", [NewEvent(event_type="X", payload=b"{}")]
                    )
                assert len(await pg_store.read_stream(T, "early-2")) == 1  # committed
                assert await pg_store.read_all() == []  # but nobody reads past the hole
                await asyncio.sleep(0.2)  # give the live subscriber every chance to skip
                assert seen == []
            await eventually(lambda: len(seen) == 4)
        finally:
            await held.close()
            subscriber.cancel()
        assert [e.stream_id for e in seen] == ["late", "early-0", "early-1", "early-2"]
        assert not isinstance(late, Exception) and seen[0].position == late.first_position

    async def test_rolled_back_writer_lets_readers_move_on(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        held = await psycopg.AsyncConnection.connect(pg_url)
        try:
            await held.execute("BEGIN")
            await write_batch(held, [request("never")])
            await pg_store.append(T, "after", [NewEvent(event_type="X", payload=b"{}")])
            assert await pg_store.read_all() == []
            await held.execute("ROLLBACK")
        finally:
            await held.close()
        assert [e.stream_id for e in await pg_store.read_all()] == ["after"]

    async def test_appends_do_not_wait_for_a_held_writer(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        held = await psycopg.AsyncConnection.connect(pg_url)
        try:
            await held.execute("BEGIN")
            await write_batch(held, [request("held")])
            async with asyncio.timeout(5):  # no global lock: other writers commit meanwhile
                for i in range(20):
                    await pg_store.append(T, f"free-{i}", [NewEvent(event_type="X", payload=b"{}")])
            await held.execute("COMMIT")
        finally:
            await held.close()
        assert len(await pg_store.read_all()) == 21

    async def test_concurrent_writers_and_a_live_reader_agree_on_everything(
        self, pg_store: EventStore
    ) -> None:
        seen: list[RecordedEvent] = []
        subscriber = asyncio.create_task(collect(pg_store, seen))

        async def writer(w: int) -> None:
            for i in range(25):
                await pg_store.append(
                    T, f"w{w}-{i % 5}", [NewEvent(event_type="X", payload=b"{}")] * 1
                )

        await asyncio.gather(*(writer(w) for w in range(8)))
        await eventually(lambda: len(seen) == 200)
        subscriber.cancel()
        positions = [e.position for e in seen]
        assert positions == sorted(positions) and len(set(positions)) == 200
        assert positions == [e.position for e in await pg_store.read_all(limit=1000)]
