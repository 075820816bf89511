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
from typing import Any, Final, NamedTuple

import psycopg

from streams.append_batch import NOTIFY_CHANNEL

#: Projector commits NOTIFY here (``projections.apply.move_checkpoints``, ADR 0012).
CHECKPOINT_CHANNEL: Final = "obrador_checkpoints"


class Mark(NamedTuple):
    """The notifications counted when a read of the log began."""

    appends: int
    notes: int


class Wakeups:
    """Notifications on the relay's channels, counted, on a connection of their own.

    Appends NOTIFY their last position: while the relay's position is below the
    highest one heard, events are held back and any notification (a projector's
    commit too) is worth a read; otherwise only a new append is, so the many
    projector commits of a node do not each cost the relay a read.
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn
        self.appends = 0  # notifications of appends
        self.notes = 0  # every notification
        self.latest = 0  # the highest position an append announced
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._listen())

    @classmethod
    async def listen(cls, conninfo: str) -> Wakeups:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        for channel in (NOTIFY_CHANNEL, CHECKPOINT_CHANNEL):
            await conn.execute(f"LISTEN {channel}")
        return cls(conn)

    def mark(self) -> Mark:
        return Mark(self.appends, self.notes)

    async def _listen(self) -> None:
        try:
            async for note in self._conn.notifies():
                self.notes += 1
                if note.channel == NOTIFY_CHANNEL:
                    self.appends += 1
                    with contextlib.suppress(ValueError):
                        self.latest = max(self.latest, int(note.payload))
                self._changed.set()
        finally:
            self._changed.set()  # a lost connection wakes the waiter, which then raises

    def _worth_a_read(self, mark: Mark, position: int) -> bool:
        if self.latest > position:  # held back: whichever commit ends the holder
            return self.notes > mark.notes
        return self.appends > mark.appends

    async def wait(self, mark: Mark, position: int, timeout: float) -> None:
        """Return once a notification since ``mark`` is worth a read at ``position``.

        Or after ``timeout`` s (a writer that does not notify may have held
        events back; the idle timeout covers it).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._task.done() and not self._worth_a_read(mark, position):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        if self._task.done():
            raise psycopg.OperationalError("the relay's LISTEN connection was lost")

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._conn.close()
