"""A NATS_URL naming several servers, and streams replicated where the server allows it."""

from __future__ import annotations

import nats
import pytest

from streams.cluster import nats_servers
from streams.jetstream import STREAM_NAME, ensure_event_stream


def test_a_comma_separated_url_names_every_server() -> None:
    url = "nats://a:4222, nats://b:4222,nats://c:4222"
    assert nats_servers(url) == ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
    assert nats_servers("nats://a:4222") == ["nats://a:4222"]


def test_an_empty_url_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="NATS_URL"):
        nats_servers(" , ")


async def test_a_single_server_gets_one_replica(nats_url: str) -> None:
    nc = await nats.connect(nats_servers(nats_url))
    try:
        js = nc.jetstream()
        await ensure_event_stream(js)
        await ensure_event_stream(js)  # idempotent
        info = await js.stream_info(STREAM_NAME)
    finally:
        await nc.close()
    assert info.config.num_replicas == 1
