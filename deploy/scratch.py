"""Throw-away places for benchmarks and tests: a migrated schema, a private nats-server."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from deploy.embedded.nats import EmbeddedNats
from migrations.runner import migrate


@contextlib.contextmanager
def scratch_schema(database_url: str, prefix: str = "scratch") -> Iterator[str]:
    """Conninfo of a fresh, migrated schema (an empty event store), dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    migrate(database_url, schema=schema)
    try:
        yield make_conninfo(database_url, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def scratch_nats(folder: Path | None = None) -> Iterator[str]:
    """URL of a private nats-server with JetStream (fresh streams and consumers)."""
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="obrador-")))
        server = EmbeddedNats(folder)
        server.start()
        stack.callback(server.stop)
        yield server.url


@contextlib.contextmanager
def scratch(database_url: str) -> Iterator[tuple[str, str]]:
    """A fresh schema and a private nats-server for one measurement."""
    with scratch_schema(database_url, "bench") as conninfo, scratch_nats() as nats_url:
        yield conninfo, nats_url
