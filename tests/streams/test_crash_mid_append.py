"""A writer killed with -9 in the middle of an append leaves no partial batch behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import psycopg

from streams.envelope import NewEvent
from streams.store import EventStore

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from streams.envelope import AppendRequest, NewEvent
    from streams.store import EventStore

    async def main() -> None:
        store = await EventStore.open(sys.argv[1])
        requests = (
            AppendRequest(tenant_id="t", stream_id=f"sale-{i}",
                          events=tuple(NewEvent(event_type="SaleRecorded", payload=b"{}")
                                       for _ in range(4)))
            for i in range(200_000)
        )
        await store.bulk_append(requests, chunk_events=400_000)  # one huge transaction

    asyncio.run(main())
    """
)


async def test_kill_9_mid_append_leaves_nothing_half_written(
    pg_store: EventStore, pg_url: str
) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, pg_url], env=os.environ.copy())
    try:
        with psycopg.connect(pg_url, autocommit=True) as watch:
            async with asyncio.timeout(60):
                while True:  # wait until the child's transaction is writing events
                    row = watch.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE pid <> pg_backend_pid() AND state = 'active'"
                        " AND query LIKE '%%obrador_append(%%'"
                    ).fetchone()
                    if row and row[0] > 0:
                        break
                    assert child.poll() is None, "child finished before it could be killed"
                    await asyncio.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    async with asyncio.timeout(30):  # the server notices the dead client and rolls back
        while True:
            with psycopg.connect(pg_url, autocommit=True) as watch:
                row = watch.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE query LIKE '%%obrador_append(%%'"
                    " AND pid <> pg_backend_pid()"
                ).fetchone()
            if row is not None and row[0] == 0:
                break
            await asyncio.sleep(0.05)
    with psycopg.connect(pg_url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM streams),"
            " (SELECT count(*) FROM idempotency_keys)"
        ).fetchone()
    assert counts == (0, 0, 0)
    # and the store still takes appends: no lock or position left behind
    result = await pg_store.append("t", "after-crash", [NewEvent(event_type="X", payload=b"{}")])
    assert result.first_version == 1
    assert [e.stream_id for e in await pg_store.read_all()] == ["after-crash"]
