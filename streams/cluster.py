"""What a NATS cluster changes for our clients: a list of servers, replicated streams.

``NATS_URL`` may name several servers, comma-separated (as the Go client and the
``nats`` CLI take it); nats-py wants a list, and would read the whole string as
one address. Streams are created with ``REPLICAS`` copies when the server is
clustered, and with one on a single server, which refuses replicas (error 10074).
An existing stream is never changed here (docs/deploy.md says how to raise the
replicas of a stream created before the cluster).
"""

from __future__ import annotations

import dataclasses
from typing import Final

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import APIError

REPLICAS: Final = 3
#: JetStream's "replicas > 1 not supported in non-clustered mode"
_NOT_CLUSTERED: Final = 10074
#: "insufficient resources": fewer JetStream servers than replicas asked for
_TOO_FEW_SERVERS: Final = 10005


def nats_servers(url: str) -> list[str]:
    """``nats://a:4222,nats://b:4222`` -> both addresses; a single URL -> itself."""
    servers = [part.strip() for part in url.split(",") if part.strip()]
    if not servers:
        raise ValueError("NATS_URL: no server address in it")
    return servers


async def add_stream_replicated(
    js: JetStreamContext, config: js_api.StreamConfig
) -> js_api.StreamInfo:
    """Create ``config`` with ``REPLICAS`` copies, or with one where the server cannot."""
    try:
        return await js.add_stream(dataclasses.replace(config, num_replicas=REPLICAS))
    except APIError as exc:
        if exc.err_code not in (_NOT_CLUSTERED, _TOO_FEW_SERVERS):
            raise
    return await js.add_stream(dataclasses.replace(config, num_replicas=1))
