"""An idle JetStream pull fetch times out with nats.errors.TimeoutError, never a bare one.

FastStream's pull subscriber (the POS ingest) suppresses exactly that exception; a bare
asyncio.TimeoutError (raised by nats-py >= 2.16 on one path of batch fetches) killed its
consume task and logged an ERROR traceback on an idle, healthy node.
"""

from __future__ import annotations

import uuid

import nats
import nats.errors

import streams  # noqa: F401 — importing streams installs the fix


async def test_every_idle_batch_fetch_times_out_with_the_documented_error(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    name = f"IDLE{uuid.uuid4().hex[:8].upper()}"
    try:
        js = nc.jetstream()
        await js.add_stream(name=name, subjects=[f"{name.lower()}.>"])
        sub = await js.pull_subscribe(f"{name.lower()}.x", durable=name.lower())
        bare = documented = 0
        for attempt in range(120):
            timeout = 0.01 + (attempt % 6) * 0.01
            for batch in (10, 1):
                try:
                    got = await sub.fetch(batch, timeout=timeout)
                except nats.errors.TimeoutError:
                    documented += 1
                except TimeoutError:
                    bare += 1
                else:
                    assert got == []  # nats-py may also return nothing: fine
        assert bare == 0
        assert documented > 100  # the idle fetches did time out, as documented
    finally:
        await js.delete_stream(name)
        await nc.close()
