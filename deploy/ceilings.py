"""Raw references: what the bare resource does with the same rows, in the same run.

Every benchmark divides its figure by one of these, measured on the same
servers minutes apart, so the ratio means the same on a fast or a slow
machine (docs/benchmarks.md, "Method"):

- ``executemany_rows_per_s``: one connection committing ``executemany``
  INSERTs of event-shaped rows, 1,000 per transaction — the rows of the
  store-append workload, already batched, without any of the store's checks;
- ``copy_rows_per_s``: one binary ``COPY`` of event-shaped rows, committed;
- ``cursor_scan_rows_per_s``: a server-side cursor reading every row of the
  events table in position order;
- ``raw_publish_per_s``: nats-py JetStream ``publish_async`` with a
  ``Nats-Msg-Id`` header, at most ``window`` publishes awaiting their ack.

The event-shaped table is ``CREATE TABLE … (LIKE events INCLUDING ALL)``: the
same columns, defaults, primary key and unique constraints as the real one.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Sequence
from typing import Any, Final

import nats
import psycopg
from nats.js import api as js_api

#: The columns a writer supplies (the rest are defaults, as in the store).
COLUMNS: Final = (
    "position",
    "event_id",
    "tenant_id",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "payload",
    "hash",  # the stream's hash-chain link (docs/audit.md): 32 bytes on every row
)
Row = tuple[int, uuid.UUID, str, str, int, str, int, bytes, bytes]
CEILING_STREAM: Final = "OBRADOR_CEILING"


def event_rows(count: int, payload: bytes, *, per_stream: int = 4, first: int = 1) -> list[Row]:
    """``count`` rows shaped like stored events: ``per_stream`` versions per stream."""
    rows: list[Row] = []
    for i in range(count):
        event_id = uuid.uuid4()
        rows.append(
            (
                first + i,
                event_id,
                "bench",
                f"sale-{(first + i) // per_stream}",
                i % per_stream + 1,
                "SaleRecorded",
                1,
                payload,
                hashlib.sha256(event_id.bytes).digest(),
            )
        )
    return rows


def _shaped_table(conn: psycopg.Connection[Any]) -> str:
    name = f"ceiling_{uuid.uuid4().hex[:10]}"
    conn.execute(f"CREATE TABLE {name} (LIKE events INCLUDING ALL)")
    return name


def copy_rows_per_s(conninfo: str, rows: Sequence[Row]) -> float:
    """One binary COPY of ``rows`` into an events-shaped table, committed; rows/s."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        table = _shaped_table(conn)
        try:
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                statement = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
                with cur.copy(statement) as copy:
                    copy.set_types(
                        [
                            *("bigint", "uuid", "text", "text", "bigint", "text", "integer"),
                            *("bytea", "bytea"),
                        ]
                    )
                    for row in rows:
                        copy.write_row(row)
            elapsed = time.perf_counter() - started
        finally:
            conn.execute(f"DROP TABLE {table}")
    return len(rows) / elapsed


def copy_stored_events(conninfo: str) -> tuple[int, float]:
    """The rows of ``events`` as they are, COPYed again into an events-shaped table: (rows, s).

    The reference of a writer that has already filled the store (the import):
    the same rows, byte for byte, through the fastest path PostgreSQL has.
    """
    with psycopg.connect(conninfo) as conn:
        rows: list[Any] = conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY position"
        ).fetchall()
    rate = copy_rows_per_s(conninfo, rows)
    return len(rows), len(rows) / rate if rate else 0.0


async def executemany_rows_per_s(
    conninfo: str, payload: bytes, *, seconds: float, chunk: int = 1000
) -> float:
    """executemany INSERTs of event-shaped rows, ``chunk`` rows per committed transaction; rows/s.

    One connection, no checks, no per-stream locking: the rate PostgreSQL takes
    rows from a Python client that already batched them (what the store's group
    commit does for its concurrent writers).
    """
    values = ", ".join(["%s"] * len(COLUMNS))
    insert = f"INSERT INTO {{table}} ({', '.join(COLUMNS)}) VALUES ({values})"
    written = 0
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        async with conn.transaction():
            table = f"ceiling_{uuid.uuid4().hex[:10]}"
            await conn.execute(f"CREATE TABLE {table} (LIKE events INCLUDING ALL)")
        statement = insert.format(table=table)
        try:
            started = time.perf_counter()
            deadline = started + seconds
            while time.perf_counter() < deadline:
                rows = event_rows(chunk, payload, first=written + 1)
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.executemany(statement, rows)
                written += chunk
            elapsed = time.perf_counter() - started
        finally:
            async with conn.transaction():
                await conn.execute(f"DROP TABLE {table}")
    return written / elapsed


def cursor_scan_rows_per_s(conninfo: str, *, itersize: int = 5000) -> tuple[int, float]:
    """Every row of ``events`` through a server-side cursor, in position order: (rows, rows/s)."""
    columns = (
        "position, event_id, tenant_id, stream_id, stream_version, event_type, schema_version,"
        " payload, recorded_at, causation_id, correlation_id, actor"
    )
    rows = 0
    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        with conn.cursor(name=f"scan_{uuid.uuid4().hex[:8]}") as cur:
            cur.itersize = itersize
            cur.execute(f"SELECT {columns} FROM events ORDER BY position")
            while batch := cur.fetchmany(itersize):
                rows += len(batch)
        elapsed = time.perf_counter() - started
    return rows, rows / elapsed if elapsed else 0.0


async def raw_publish_per_s(
    nats_url: str, payloads: Sequence[bytes], *, window: int = 4000
) -> float:
    """JetStream publish+ack of ``payloads`` with ``Nats-Msg-Id``, ``window`` in flight; msg/s.

    Uses a stream of its own (file storage, same duplicate window as the events
    stream) on the same server, settled every ``window // 2`` as the relay does.
    """
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream(publish_async_max_pending=window)
        await js.add_stream(
            js_api.StreamConfig(
                name=CEILING_STREAM,
                subjects=["ceiling.>"],
                storage=js_api.StorageType.FILE,
                duplicate_window=120.0,
            )
        )
        pending: list[asyncio.Future[Any]] = []
        started = time.perf_counter()
        for payload in payloads:
            headers = {"Nats-Msg-Id": uuid.uuid4().hex}
            pending.append(await js.publish_async("ceiling.p0", payload, headers=headers))
            if len(pending) >= window // 2:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - started
        await js.delete_stream(CEILING_STREAM)
    finally:
        await nc.close()
    return len(payloads) / elapsed


def ratio(figure: float, reference: float) -> float:
    return round(figure / reference, 3) if reference else 0.0
