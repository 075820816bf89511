"""Shared fixtures: one real PostgreSQL and one real nats-server per test session.

Both start from the project's own wheels in a temporary folder (the same code
as ``obrador up``), so a fresh machine needs nothing but Python. Tests that
need an empty event store get a fresh PostgreSQL schema, migrated.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from deploy.settings import Settings
from deploy.stack import StackUrls, running_stack
from migrations.runner import migrate
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
    schema = f"t_{uuid.uuid4().hex[:12]}"
    migrate(stack.database_url, schema=schema)
    yield make_conninfo(stack.database_url, options=f"-c search_path={schema}")
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


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
    from deploy.embedded.nats import EmbeddedNats

    server = EmbeddedNats(tmp_path / "nats-private")
    (tmp_path / "nats-private").mkdir()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
