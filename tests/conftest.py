"""Shared fixtures: one real PostgreSQL and one real nats-server per test session.

Both start from the project's own wheels in a temporary folder (the same code
as ``obrador up``), so a fresh machine needs nothing but Python. Tests that
need an empty event store get a fresh PostgreSQL schema, migrated.

The session's shared PostgreSQL runs with ``fsync=off`` (ADR 0023): a test can
only lose what the operating system has not written out if the machine itself
crashes, which no test does; every server a test kills or restarts on purpose
(``obrador up``/``demo`` subprocesses, the PostgreSQL restart chaos) is started
separately with the production settings. A fresh migrated schema then costs a
tenth of what it did (each migration's commit waited for a disk flush).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from unittest import mock

import pytest

from deploy.embedded import postgres as embedded_postgres
from deploy.scratch import scratch_nats, scratch_schema
from deploy.settings import Settings
from deploy.stack import StackUrls, running_stack
from migrations.runner import migrate
from streams.memory import InMemoryEventStore
from streams.store import EventStore

#: Only for the session's shared server (see the module docstring and ADR 0023).
TEST_SERVER_SETTINGS = {"fsync": "off", "full_page_writes": "off"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    """A real PostgreSQL + nats-server for the whole session (or the ones the env names)."""
    data_dir = Path(tmp_path_factory.mktemp("obrador-stack"))
    settings = Settings(
        database_url=os.environ.get("TEST_DATABASE_URL"),
        nats_url=os.environ.get("TEST_NATS_URL"),
        data_dir=data_dir,
    )
    with contextlib.ExitStack() as servers:
        with mock.patch.dict(embedded_postgres._SETTINGS, TEST_SERVER_SETTINGS):
            urls = servers.enter_context(running_stack(settings, log=None))
        yield urls  # servers started later in the session get the production settings


@pytest.fixture(scope="module")
def postgres_to_restart(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[embedded_postgres.EmbeddedPostgres]:
    """A private, migrated server with the production settings, for tests that stop and
    start it: restarting the session's shared one would cut every other test."""
    server = embedded_postgres.EmbeddedPostgres(tmp_path_factory.mktemp("pg-restart"))
    server.start()
    try:
        migrate(server.url)
        yield server
    finally:
        server.stop()


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
