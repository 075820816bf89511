"""Shared fixtures: one real PostgreSQL and one real nats-server per test session.

Both start from the project's own wheels in a temporary folder (the same code
as ``obrador up``), so a fresh machine needs nothing but Python. Tests that
need an empty event store get a fresh PostgreSQL schema, migrated.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from deploy.scratch import scratch_nats, scratch_schema
from deploy.settings import Settings
from deploy.stack import StackUrls, running_stack
from streams.memory import InMemoryEventStore
from streams.store import EventStore


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    """A real PostgreSQL + nats-server for the whole session (or the ones the env names)."""
    data_dir = Path(tmp_path_factory.mktemp("obrador-stack"))
    settings = Settings(
        database_url=os.environ.get("TEST_DATABASE_URL"),
        nats_url=os.environ.get("TEST_NATS_URL"),
        data_dir=data_dir,
    )
    with running_stack(settings, log=None) as urls:
        yield urls


@pytest.fixture
def pg_url(stack: StackUrls) -> Iterator[str]:
    """Conninfo of a fresh, migrated schema: an empty event store of its own."""
    with scratch_schema(stack.database_url, "t") as conninfo:
        yield conninfo


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[EventStore]:
    store = await EventStore.open(pg_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def memory_store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture(params=["memory", "postgres"])
async def any_store(
    request: pytest.FixtureRequest,
) -> AsyncIterator[EventStore | InMemoryEventStore]:
    """The same behaviour checked on the in-memory fake and on the real store."""
    if request.param == "memory":  # no schema to migrate for the fake
        yield InMemoryEventStore()
        return
    store = await EventStore.open(request.getfixturevalue("pg_url"))
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A private nats-server with JetStream for one test (fresh streams and consumers)."""
    with scratch_nats(tmp_path) as url:
        yield url
