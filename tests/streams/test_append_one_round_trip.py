"""A group-committed or bulk batch is one statement on an autocommit connection.

``write_with_retries`` switches its pooled connection to autocommit for the
call: the append function is then its own transaction (no BEGIN and COMMIT
round trips around it), committed when it returns, and the connection goes
back to the pool as it came.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import pq
from psycopg.pq import TransactionStatus

from streams.append_batch import write_batch
from streams.envelope import AppendRequest, AppendResult, NewEvent
from streams.errors import WrongExpectedVersion
from streams.store import EventStore

T = "forn-trips"


def request(stream: str, key: str, expected: int | None = 0) -> AppendRequest:
    return AppendRequest(
        tenant_id=T,
        stream_id=stream,
        expected_version=expected,
        events=(NewEvent(event_type="SaleRecorded", payload=b"{}"),),
        idempotency_key=key,
    )


async def test_an_autocommit_batch_is_committed_when_the_call_returns(
    pg_url: str, tmp_path: Path
) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        trace = tmp_path / "libpq.trace"
        with trace.open("w") as out:
            conn.pgconn.trace(out.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
            first = await write_batch(conn, [request("sale-1", "k1"), request("sale-2", "k2")])
            conn.pgconn.untrace()
        lines = trace.read_text().splitlines()
        sent = [line.split("\t")[2] for line in lines if line.startswith("F\t")]
        # the call alone, one round trip: no BEGIN, no COMMIT (simple "Query" messages)
        assert sent.count("Sync") + sent.count("Query") == 1, sent
        assert [type(o) for o in first] == [AppendResult, AppendResult]
        assert conn.info.transaction_status == TransactionStatus.IDLE
        # duplicates and conflicts are described after the call, from what it committed
        again = await write_batch(conn, [request("sale-1", "k1"), request("sale-2", "k3")])
        assert isinstance(again[0], AppendResult) and again[0].duplicate
        assert again[0].first_position == first[0].first_position  # type: ignore[union-attr]
        assert isinstance(again[1], WrongExpectedVersion)
    async with await psycopg.AsyncConnection.connect(pg_url) as other:
        cur = await other.execute("SELECT count(*) FROM events WHERE tenant_id = %s", (T,))
        assert await cur.fetchone() == (2,)


async def test_pooled_connections_come_back_out_of_autocommit(pg_url: str) -> None:
    store = await EventStore.open(pg_url, min_size=1, max_size=1)
    try:
        await store.append(T, "sale-9", [NewEvent(event_type="SaleRecorded", payload=b"{}")])
        outcomes = await store.bulk_append([request(f"bulk-{i}", f"b{i}") for i in range(250)])
        assert all(isinstance(o, AppendResult) for o in outcomes)
        async with store.pool.connection() as conn:
            assert not conn.autocommit
            assert conn.info.transaction_status == TransactionStatus.IDLE
    finally:
        await store.close()
