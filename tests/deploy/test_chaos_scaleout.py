"""Two relays and two projector processes on the same servers (real ``obrador`` processes).

The projectors share the partitions through leases; when one is killed with -9 the
other takes its partitions over. Two relays racing never put the stream out of log
order: JetStream refuses a publish that does not follow the event it expects.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from deploy.chaos import all_events, caught_up, check_stream, load, load_requests
from deploy.chaos_faults import Faults
from projections.rebuild import verify
from projections.registry import select
from streams.jetstream import PARTITIONS
from streams.store import EventStore
from tests.eventually import eventually

MODELS = ("inventory", "sales")


async def _holders(url: str) -> dict[str, dict[str, int]]:
    """projection -> owner -> partitions held (live leases only)."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT projection, owner, count(*) FROM projection_leases"
            " WHERE partition >= 0 AND expires_at > now() GROUP BY projection, owner"
        )
        rows = await cur.fetchall()
    held: dict[str, dict[str, int]] = {}
    for projection, owner, count in rows:
        held.setdefault(str(projection), {})[str(owner)] = int(count)
    return held


@pytest.mark.slow
async def test_two_projectors_share_partitions_and_the_survivor_takes_over(
    pg_url: str, nats_url: str, tmp_path: Path
) -> None:
    faults = Faults(relays=2, projectors=2)
    faults.start_workers(pg_url, nats_url, tmp_path, projector_args=("--models", ",".join(MODELS)))
    requests = load_requests(1200)
    try:
        async with await EventStore.open(pg_url) as store:
            await load(store, requests[:600], 100, pause=0.05)

            async def shared() -> bool:
                held = await _holders(pg_url)
                return all(
                    len(held.get(m, {})) == 2 and sum(held[m].values()) == PARTITIONS
                    for m in MODELS
                )

            await eventually(shared, timeout=30, every=0.3)
            await caught_up(store, pg_url, await store.head_position(), 60, list(MODELS))

            relay0, _, projector0, projector1 = faults.workers
            relay0.kill()
            projector0.kill()
            await load(store, requests[600:], 100, pause=0.05)

            async def taken_over() -> bool:
                held = await _holders(pg_url)
                return all(len(held.get(m, {})) == 1 for m in MODELS)

            await eventually(taken_over, timeout=30, every=0.3)
            await caught_up(store, pg_url, await store.head_position(), 60, list(MODELS))
            assert projector1.alive
            faults.stop_workers()
            written = await all_events(store)
            messages, in_order = await check_stream(nats_url, [e.position for e in written])
            assert len(written) == messages == 1200
            assert in_order
            for model in select(",".join(MODELS)):
                assert all(v == (0, 0) for v in (await verify(store, model)).values()), model.name
    finally:
        faults.stop_workers()
