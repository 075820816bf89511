"""One timeout exception from JetStream pull fetches: ``nats.errors.TimeoutError``.

nats-py documents that ``PullSubscription.fetch`` raises ``nats.errors.TimeoutError``
when no message arrives in time, and FastStream's pull subscriber suppresses exactly
that one. Since nats-py 2.16 (the "orphan lingering request" fix) a batch fetch whose
deadline runs out between its two requests raises a bare ``asyncio.TimeoutError``
instead: FastStream's consume task then dies, its supervisor logs an ERROR with a
traceback and restarts it, and logs "callback for Task-N is being executed..." on
every later idle timeout — the noise an idle ``obrador up`` printed every few seconds.

(The POS ingest now runs its own pull loop, ADR 0008, and catches both; the projector
and the forecast work queue catch ``nats.errors.TimeoutError`` around their fetches.)

:func:`install` wraps ``fetch`` so every timeout is the documented
``nats.errors.TimeoutError`` (a subclass of ``asyncio.TimeoutError``, so callers
catching either keep working). It is idempotent; ``streams/__init__.py`` installs it,
so every process that talks to JetStream through ``streams`` gets it.
"""

from __future__ import annotations

import functools
from typing import Any

import nats.errors
from nats.js.client import JetStreamContext

_MARK = "_obrador_one_timeout"


def install() -> None:
    """Patch ``JetStreamContext.PullSubscription.fetch`` once per process."""
    subscription = JetStreamContext.PullSubscription
    original = subscription.fetch
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    async def fetch(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except nats.errors.TimeoutError:
            raise
        except TimeoutError as exc:  # asyncio.TimeoutError is TimeoutError on 3.11
            raise nats.errors.TimeoutError from exc

    setattr(fetch, _MARK, True)
    subscription.fetch = fetch  # type: ignore[method-assign]
