"""When the relay reads the log again: pushed by NOTIFY, never a spin.

The relay reads only events of transactions older than every running one
(docs/adr/0002-gap-safe-global-log.md). An append's NOTIFY can therefore
arrive while its events are still invisible, because some older transaction
(another append, a projector's, any writer's) is still running. Waiting "until
the store holds a position above mine" would then return at once, again and
again — a busy loop of reads until that transaction ends. Instead the relay
counts notifications: it notes the count before a read and afterwards sleeps
until a *newer* one arrives. Besides appends (``obrador_events``) it listens to
projector commits (``obrador_checkpoints``, the usual other writers), so the
end of the transaction that held the events back wakes it too; any other
writer is covered by the idle timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

import psycopg

from streams.append_batch import NOTIFY_CHANNEL

#: Projector commits NOTIFY here (``projections.apply.move_checkpoints``, ADR 0012).
CHECKPOINT_CHANNEL: Final = "obrador_checkpoints"


class Wakeups:
    """Notifications on the relay's channels, counted, on a connection of their own."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn
        self.count = 0
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._listen())

    @classmethod
    async def listen(cls, conninfo: str) -> Wakeups:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        for channel in (NOTIFY_CHANNEL, CHECKPOINT_CHANNEL):
            await conn.execute(f"LISTEN {channel}")
        return cls(conn)

    async def _listen(self) -> None:
        try:
            async for _ in self._conn.notifies():
                self.count += 1
                self._changed.set()
        finally:
            self._changed.set()  # a lost connection wakes the waiter, which then raises

    async def wait(self, seen: int, timeout: float) -> None:
        """Return once a notification newer than count ``seen`` arrived, or after ``timeout`` s."""
        if self.count == seen:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
        if self._task.done():
            raise psycopg.OperationalError("the relay's LISTEN connection was lost")

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._conn.close()
