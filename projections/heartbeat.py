"""The lease heartbeat: a thread that renews a projector's leases whatever its event loop does.

On a loaded machine the projector's event loop is starved: decoding and applying
a batch holds it for a long while at a small share of a core, so a timer due in
2 s ran 5–10 s late, a 6 s lease lapsed, and the other process took partitions
this one was still running (ADR 0020). A thread is scheduled by the OS and gets
the GIL every few milliseconds, so one statement every ``ttl / 3`` on a
connection of its own keeps the leases alive while the loop catches up. What it
found is handed to the loop (``on_renewed``), which stops the workers of
partitions another owner has taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from projections.leases import renew_all

log = logging.getLogger("obrador.projector")
#: (partitions held per projection, monotonic time the renewal statement was sent)
OnRenewed = Callable[[dict[str, set[int]], float], None]


class LeaseHeartbeat:
    def __init__(
        self,
        conninfo: str,
        owner: str,
        projections: Sequence[str],
        ttl: float,
        on_renewed: OnRenewed,
    ) -> None:
        self.conninfo, self.owner, self.ttl = conninfo, owner, ttl
        self.projections = list(projections)
        self.on_renewed = on_renewed
        self.renewals = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"leases-{owner}", daemon=True)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join, self.ttl * 3 + 15)

    def _run(self) -> None:
        conn: psycopg.Connection[tuple[Any, ...]] | None = None
        failing_since: float | None = None
        wait = 0.0
        while not self._stop.wait(wait):
            sent = time.monotonic()
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(
                        self.conninfo,
                        autocommit=True,
                        connect_timeout=10,
                        # a server gone without closing the socket is noticed in ~15 s
                        keepalives_idle=5,
                        keepalives_interval=2,
                        keepalives_count=5,
                    )
                held = renew_all(conn, self.owner, self.projections, self.ttl)
            except psycopg.Error as exc:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
                failing_since = failing_since or sent
                log.warning(
                    "projector %s: leases not renewed for %.1f s, again shortly: %s: %s",
                    self.owner,
                    time.monotonic() - failing_since,
                    type(exc).__name__,
                    exc,
                )
                wait = min(0.5, self.ttl / 6)
                continue
            failing_since = None
            self.renewals += 1
            if self._loop is not None:
                with contextlib.suppress(RuntimeError):  # the loop has closed: we are stopping
                    self._loop.call_soon_threadsafe(self.on_renewed, held, sent)
            wait = self.ttl / 3
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
