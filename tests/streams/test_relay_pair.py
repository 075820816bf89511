"""Two relays on one store and one stream: the log order holds and the survivor carries on.

JetStream refuses a publish that does not follow the event it names; nats-py 2.16 leaves
such a refused async publish unanswered, so the relay gives up waiting after its
``ack_timeout`` and starts again from JetStream's tail instead of hanging.
"""

from __future__ import annotations

import asyncio

import nats

from deploy.chaos import all_events, check_stream, load, load_requests
from streams.jetstream import STREAM_NAME
from streams.relay import Relay
from streams.store import EventStore
from tests.eventually import eventually


async def _messages(nats_url: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        return int((await nc.jetstream().stream_info(STREAM_NAME)).state.messages)
    except nats.js.errors.NotFoundError:
        return 0
    finally:
        await nc.close()


async def test_two_racing_relays_keep_log_order_and_the_survivor_takes_over(
    pg_store: EventStore, nats_url: str
) -> None:
    requests = load_requests(400)
    await load(pg_store, requests[:200], 50, pause=0.0)
    stops = [asyncio.Event(), asyncio.Event()]
    relays = [Relay(pg_store, nats_url, batch=50, ack_timeout=1.0) for _ in stops]
    tasks = [asyncio.create_task(r.run(s)) for r, s in zip(relays, stops, strict=True)]
    try:
        await eventually(lambda: _enough(nats_url, 200), timeout=30, every=0.2)
        stops[0].set()
        await asyncio.wait_for(tasks[0], 15)
        await load(pg_store, requests[200:], 50, pause=0.0)
        await eventually(lambda: _enough(nats_url, 400), timeout=30, every=0.2)
    finally:
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)
    written = await all_events(pg_store)
    assert await check_stream(nats_url, [e.position for e in written]) == (400, True)


async def _enough(nats_url: str, count: int) -> bool:
    return await _messages(nats_url) >= count
