"""Streams: the event store, the relay to JetStream and the NATS adapters around them."""

from streams.nats_timeouts import install as _one_fetch_timeout

_one_fetch_timeout()  # every JetStream pull timeout is nats.errors.TimeoutError (see module)
