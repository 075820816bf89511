"""Behaviours every event store must have, on the in-memory fake and on real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from streams.append_batch import AtomicAppendRefused
from streams.envelope import NO_STREAM, AppendRequest, NewEvent
from streams.errors import InvalidAppend, WrongExpectedVersion
from streams.memory import InMemoryEventStore
from streams.store import EventStore

Store = EventStore | InMemoryEventStore
T = "bakery-1"


def ev(kind: str = "SaleRecorded", body: bytes = b"{}") -> NewEvent:
    return NewEvent(event_type=kind, payload=body)


class TestAppendAndRead:
    async def test_versions_and_positions_follow_the_appends(self, any_store: Store) -> None:
        first = await any_store.append(T, "sale-1", [ev(), ev()], expected_version=NO_STREAM)
        second = await any_store.append(T, "sale-1", [ev()], expected_version=2)
        assert (first.first_version, first.last_version) == (1, 2)
        assert (second.first_version, second.last_version) == (3, 3)
        assert second.first_position > first.last_position

    async def test_reads_a_stream_forwards_backwards_and_limited(self, any_store: Store) -> None:
        await any_store.append(T, "s", [ev(body=b'{"n":%d}' % i) for i in range(1, 6)])
        forwards = await any_store.read_stream(T, "s", from_version=2, limit=2)
        backwards = await any_store.read_stream(T, "s", backwards=True, limit=2)
        assert [e.stream_version for e in forwards] == [2, 3]
        assert [e.stream_version for e in backwards] == [5, 4]
        assert forwards[0].payload == b'{"n":2}'

    async def test_envelope_keeps_the_writers_fields(self, any_store: Store) -> None:
        cause, corr = uuid.uuid4(), uuid.uuid4()
        event = NewEvent(
            event_type="StockReceived",
            payload=b'{"qty":3}',
            schema_version=2,
            causation_id=cause,
            correlation_id=corr,
            actor="user:ana",
        )
        await any_store.append(T, "stock-1", [event])
        (stored,) = await any_store.read_stream(T, "stock-1")
        assert (stored.event_id, stored.schema_version, stored.actor) == (
            event.event_id,
            2,
            "user:ana",
        )
        assert (stored.causation_id, stored.correlation_id) == (cause, corr)
        assert stored.tenant_id == T
        assert stored.recorded_at.tzinfo is not None

    async def test_global_log_reads_in_order_and_filters_by_tenant(self, any_store: Store) -> None:
        await any_store.append("a", "s1", [ev()])
        await any_store.append("b", "s1", [ev()])
        await any_store.append("a", "s2", [ev(), ev()])
        everything = await any_store.read_all()
        only_a = await any_store.read_all(tenant_id="a")
        positions = [e.position for e in everything]
        assert positions == sorted(positions) and len(positions) == 4
        assert {e.tenant_id for e in only_a} == {"a"} and len(only_a) == 3
        tail = await any_store.read_all(after=positions[1])
        assert [e.position for e in tail] == positions[2:]


class TestOptimisticConcurrency:
    async def test_stale_version_is_refused_and_writes_nothing(self, any_store: Store) -> None:
        await any_store.append(T, "mo-7", [ev(), ev()])
        with pytest.raises(WrongExpectedVersion) as caught:
            await any_store.append(T, "mo-7", [ev()], expected_version=1)
        assert caught.value.expected == 1 and caught.value.actual == 2
        assert "mo-7" in str(caught.value) and "expected version 1" in str(caught.value)
        assert len(await any_store.read_stream(T, "mo-7")) == 2

    async def test_no_stream_expectation_fails_on_existing_stream(self, any_store: Store) -> None:
        await any_store.append(T, "s", [ev()])
        with pytest.raises(WrongExpectedVersion):
            await any_store.append(T, "s", [ev()], expected_version=NO_STREAM)

    async def test_many_writers_on_one_stream_exactly_one_wins_each_version(
        self, any_store: Store
    ) -> None:
        await any_store.append(T, "hot", [ev()])

        async def attempt(i: int) -> bool:
            try:
                await any_store.append(T, "hot", [ev(body=b"%d" % i)], expected_version=1)
            except WrongExpectedVersion:
                return False
            return True

        wins = await asyncio.gather(*(attempt(i) for i in range(20)))
        assert sum(wins) == 1
        assert len(await any_store.read_stream(T, "hot")) == 2


class TestIdempotency:
    async def test_same_key_returns_the_original_result_and_stores_once(
        self, any_store: Store
    ) -> None:
        first = await any_store.append(T, "sale-9", [ev()], idempotency_key="pos:9")
        again = await any_store.append(T, "sale-9", [ev()], idempotency_key="pos:9")
        assert again.duplicate and not first.duplicate
        assert (again.first_position, again.last_version) == (first.first_position, 1)
        assert len(await any_store.read_stream(T, "sale-9")) == 1

    async def test_resending_the_same_events_is_recognised_without_a_key(
        self, any_store: Store
    ) -> None:
        events = [ev(), ev()]
        await any_store.append(T, "s", events, expected_version=NO_STREAM)
        again = await any_store.append(T, "s", events, expected_version=NO_STREAM)
        assert again.duplicate and again.last_version == 2

    async def test_concurrent_duplicates_store_once(self, any_store: Store) -> None:
        results = await asyncio.gather(
            *(any_store.append(T, f"s{i % 3}", [ev()], idempotency_key="same") for i in range(10))
        )
        assert sum(not r.duplicate for r in results) == 1
        assert len(await any_store.read_all()) == 1

    async def test_append_many_checks_each_append_on_its_own(self, any_store: Store) -> None:
        await any_store.append(T, "taken", [ev()])
        outcomes = await any_store.append_many(
            [
                AppendRequest(tenant_id=T, stream_id="fresh", events=(ev(),), expected_version=0),
                AppendRequest(tenant_id=T, stream_id="taken", events=(ev(),), expected_version=0),
            ]
        )
        assert not isinstance(outcomes[0], Exception)
        assert isinstance(outcomes[1], WrongExpectedVersion)


class TestBadInput:
    @pytest.mark.parametrize(
        ("tenant", "stream", "events", "field"),
        [
            (T, "", [ev()], "stream_id"),
            (T, "has space", [ev()], "stream_id"),
            ("Bad Tenant!", "s", [ev()], "tenant_id"),
            (T, "s", [], "events"),
            (T, "s", [ev(kind="not a type")], "events[0].event_type"),
            (T, "s", [NewEvent(event_type="X", payload="text")], "events[0].payload"),  # type: ignore[arg-type]
            (T, "s", [ev(body=b"x" * 1_048_577)], "events[0].payload"),
            (T, "s", ["not an event"], "events[0]"),
        ],
    )
    async def test_bad_append_names_the_field_and_writes_nothing(
        self, any_store: Store, tenant: str, stream: str, events: list[NewEvent], field: str
    ) -> None:
        with pytest.raises(InvalidAppend) as caught:
            await any_store.append(tenant, stream, events)
        assert caught.value.field == field
        assert await any_store.read_all() == []

    async def test_negative_expected_version_is_refused(self, any_store: Store) -> None:
        with pytest.raises(InvalidAppend, match="expected_version"):
            await any_store.append(T, "s", [ev()], expected_version=-3)


class TestBulk:
    async def test_bulk_append_keeps_idempotency_and_version_checks(self, any_store: Store) -> None:
        await any_store.append(T, "sale-0", [ev()])
        requests = [
            AppendRequest(
                tenant_id=T,
                stream_id=f"sale-{i}",
                events=(ev(), ev()),
                expected_version=NO_STREAM,
                idempotency_key=f"import:{i}",
            )
            for i in range(50)
        ]
        outcomes = await any_store.bulk_append(requests, chunk_events=16)
        assert isinstance(outcomes[0], WrongExpectedVersion)
        assert all(not isinstance(o, Exception) for o in outcomes[1:])
        again = await any_store.bulk_append(requests, chunk_events=16)
        assert all(getattr(o, "duplicate", False) for o in again[1:])
        assert len(await any_store.read_all(limit=10_000)) == 1 + 49 * 2


class TestAtomicGroup:
    def group(self, expected_second: int | None) -> list[AppendRequest]:
        return [
            AppendRequest(
                tenant_id=T,
                stream_id="mo-1",
                events=(ev("ManufacturingOrderCompleted"),),
                expected_version=1,
                idempotency_key="complete-mo-1@mo",
            ),
            AppendRequest(
                tenant_id=T,
                stream_id="stock-centro-barra",
                events=(ev("StockReceived"),),
                expected_version=expected_second,
                idempotency_key="complete-mo-1@stock",
            ),
        ]

    async def test_all_or_nothing_on_a_stale_version(self, any_store: Store) -> None:
        await any_store.append(T, "mo-1", [ev("ManufacturingOrderStarted")])
        await any_store.append(T, "stock-centro-barra", [ev("StockReceived")])
        with pytest.raises(AtomicAppendRefused) as refused:
            await any_store.append_many(self.group(expected_second=0), atomic=True)
        assert isinstance(refused.value.outcomes[1], WrongExpectedVersion)
        assert len(await any_store.read_stream(T, "mo-1")) == 1  # the first append rolled back too

    async def test_commits_together_and_a_resend_is_a_duplicate(self, any_store: Store) -> None:
        await any_store.append(T, "mo-1", [ev("ManufacturingOrderStarted")])
        first = await any_store.append_many(self.group(expected_second=None), atomic=True)
        again = await any_store.append_many(self.group(expected_second=None), atomic=True)
        assert [getattr(o, "duplicate", None) for o in first] == [False, False]
        assert [getattr(o, "duplicate", None) for o in again] == [True, True]
        assert len(await any_store.read_all()) == 3

    async def test_a_stream_twice_in_one_group_is_refused(self, any_store: Store) -> None:
        group = self.group(expected_second=None)
        twice = [group[0], AppendRequest(tenant_id=T, stream_id="mo-1", events=(ev(),))]
        with pytest.raises(InvalidAppend, match="each stream at most once"):
            await any_store.append_many(twice, atomic=True)

    async def test_large_chunks_keep_the_same_rules(self, any_store: Store) -> None:
        # 300 appends in one transaction: the set-based path for big batches
        await any_store.append(T, "sale-7", [ev()])
        requests = [
            AppendRequest(
                tenant_id=T,
                stream_id=f"sale-{i}",
                events=(ev(), ev()),
                expected_version=NO_STREAM,
                idempotency_key=f"big:{i}",
            )
            for i in range(300)
        ]
        first = await any_store.bulk_append(requests[:150], chunk_events=100_000)
        outcomes = await any_store.bulk_append(requests, chunk_events=100_000)
        assert isinstance(outcomes[7], WrongExpectedVersion)
        assert all(getattr(o, "duplicate", False) for i, o in enumerate(outcomes[:150]) if i != 7)
        assert all(not isinstance(o, Exception) and not o.duplicate for o in outcomes[150:])
        assert [getattr(o, "first_position", None) for o in outcomes[:7]] == [
            getattr(o, "first_position", None) for o in first[:7]
        ]
        assert len(await any_store.read_all(limit=10_000)) == 1 + 299 * 2
