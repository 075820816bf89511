"""Bulk lookups the importer asks the store (existing streams, first events, any stream with
a prefix): the same answers from the in-memory fake and from PostgreSQL."""

from __future__ import annotations

from streams.envelope import NewEvent
from streams.memory import InMemoryEventStore
from streams.store import LOOKUP_BATCH, EventStore

Store = EventStore | InMemoryEventStore
T = "bakery-lookups"


def ev(body: bytes) -> NewEvent:
    return NewEvent(event_type="SaleRecorded", payload=body)


class TestExistingStreams:
    async def test_names_only_the_streams_of_this_tenant_that_exist(self, any_store: Store) -> None:
        await any_store.append(T, "sale-a-1", [ev(b"{}")])
        await any_store.append(T, "product-x", [ev(b"{}")])
        await any_store.append("other", "sale-a-2", [ev(b"{}")])
        asked = ["sale-a-1", "sale-a-2", "product-x", "product-y"]
        assert await any_store.existing_streams(T, asked) == {"sale-a-1", "product-x"}
        assert await any_store.existing_streams(T, []) == set()

    async def test_any_number_of_ids_is_answered(self, any_store: Store) -> None:
        await any_store.append(T, "s-7", [ev(b"{}")])
        many = (f"s-{i}" for i in range(LOOKUP_BATCH * 2 + 10))
        assert await any_store.existing_streams(T, many) == {"s-7"}


class TestFirstEvents:
    async def test_the_first_event_of_each_existing_stream(self, any_store: Store) -> None:
        await any_store.append(T, "sale-b-1", [ev(b'{"n":1}'), ev(b'{"n":2}')])
        await any_store.append(T, "sale-b-2", [ev(b'{"n":3}')])
        await any_store.append("other", "sale-b-3", [ev(b'{"n":4}')])
        first = await any_store.first_events(T, ["sale-b-1", "sale-b-2", "sale-b-3", "nope"])
        assert sorted(first) == ["sale-b-1", "sale-b-2"]
        assert first["sale-b-1"].payload == b'{"n":1}' and first["sale-b-1"].stream_version == 1
        assert first["sale-b-2"].tenant_id == T


class TestHasStreams:
    async def test_true_only_for_a_prefix_this_tenant_has(self, any_store: Store) -> None:
        await any_store.append(T, "sale-c-1", [ev(b"{}")])
        await any_store.append("other", "stock-c", [ev(b"{}")])
        assert await any_store.has_streams(T, prefix="sale-")
        assert not await any_store.has_streams(T, prefix="stock-")
        assert not await any_store.has_streams("nobody", prefix="sale-")

    async def test_like_wildcards_in_the_prefix_are_plain_characters(
        self, any_store: Store
    ) -> None:
        await any_store.append(T, "sale-xd-1", [ev(b"{}")])
        assert not await any_store.has_streams(T, prefix="sale_")
        assert not await any_store.has_streams(T, prefix="%")
        assert await any_store.has_streams(T, prefix="sale-x")
