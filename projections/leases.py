"""Partition leases: projector processes share partitions and take over from a dead one.

A lease lasts ``ttl`` seconds. A process claims free or expired partitions up to
its fair share (partitions ÷ live owners, rounded up), and gives back its
surplus so a newcomer gets work. When a process dies its leases expire and the
others claim them. Two owners overlapping for a moment is harmless: effects are
exactly once through the checkpoint lock (projections/apply.py).

Renewing is kept apart from claiming (:func:`renew_all`): one statement for
every lease an owner holds, run every ``ttl / 3`` by a thread of the projector
with a connection of its own (:mod:`projections.heartbeat`), whatever its event
loop is busy with. When renewal waited for the
claiming turn (which also starts and stops partition workers, and queued for
the shared pool), a loaded process let its leases lapse, the other process took
them while the first still ran them, and the two re-created each other's
consumers (ADR 0020).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import psycopg

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
#: Called with the partitions about to be given back, while they are still ours.
BeforeRelease = Callable[[set[int]], Awaitable[None]]


class Leases:
    def __init__(
        self,
        projection: str,
        owner: str,
        partitions: int,
        ttl: float = 6.0,
    ) -> None:
        self.projection = projection
        self.owner = owner
        self.partitions = partitions
        self.ttl = ttl

    async def refresh(self, conn: Conn, before_release: BeforeRelease | None = None) -> set[int]:
        """Renew ours, claim up to a fair share; return the partitions this owner holds now.

        A surplus is given back only after ``before_release`` returned (the
        projector stops those partitions' workers there): a newcomer never starts on
        a partition whose previous worker is still running.
        """
        interval = f"{self.ttl} seconds"
        await conn.execute(  # forget owners gone for good
            "DELETE FROM projection_leases WHERE projection = %s AND partition < 0"
            " AND expires_at < now() - interval '10 minutes'",
            (self.projection,),
        )
        await conn.execute(  # presence: partition -1 says "this owner is alive", even with no work
            "INSERT INTO projection_leases (projection, partition, owner, expires_at)"
            " VALUES (%s, %s, %s, now() + %s::interval)"
            " ON CONFLICT (projection, partition) DO NOTHING",
            (self.projection, -self._slot(), self.owner, interval),
        )
        cur = await conn.execute(  # renew ours and learn which partitions they are
            "UPDATE projection_leases SET expires_at = now() + %s::interval"
            " WHERE projection = %s AND owner = %s RETURNING partition",
            (interval, self.projection, self.owner),
        )
        held = {int(r[0]) for r in await cur.fetchall() if int(r[0]) >= 0}
        cur = await conn.execute(
            "SELECT count(DISTINCT owner) FROM projection_leases"
            " WHERE projection = %s AND expires_at > now() AND owner <> %s",
            (self.projection, self.owner),
        )
        row = await cur.fetchone()
        share = math.ceil(self.partitions / ((int(row[0]) if row else 0) + 1))
        if len(held) < share:
            held |= await self._claim(conn, share - len(held), interval)
        if len(held) > share:  # give back the surplus so newcomers get work
            surplus = set(sorted(held)[share:])
            if before_release is not None:
                await before_release(surplus)
            await conn.execute(
                "DELETE FROM projection_leases WHERE projection = %s AND owner = %s"
                " AND partition = ANY(%s)",
                (self.projection, self.owner, sorted(surplus)),
            )
            held -= surplus
        return held

    async def _claim(self, conn: Conn, wanted: int, interval: str) -> set[int]:
        """Up to ``wanted`` free or expired partitions, in two statements whatever their count."""
        cur = await conn.execute(
            "SELECT p FROM generate_series(0, %s - 1) AS p WHERE NOT EXISTS"
            " (SELECT 1 FROM projection_leases l WHERE l.projection = %s AND l.partition = p"
            " AND l.expires_at > now()) ORDER BY p LIMIT %s",
            (self.partitions, self.projection, wanted),
        )
        free = [int(r[0]) for r in await cur.fetchall()]
        if not free:
            return set()
        cur = await conn.execute(  # another owner may claim the same ones now: the WHERE decides
            "INSERT INTO projection_leases AS l (projection, partition, owner, expires_at)"
            " SELECT %s, p, %s, now() + %s::interval FROM unnest(%s::integer[]) AS p"
            " ON CONFLICT (projection, partition) DO UPDATE"
            " SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at"
            " WHERE l.expires_at < now() RETURNING partition",
            (self.projection, self.owner, interval, free),
        )
        return {int(r[0]) for r in await cur.fetchall()}

    def _slot(self) -> int:
        """A negative pseudo-partition unique to this owner, for its presence row."""
        return 1 + (zlib.crc32(self.owner.encode()) & 0x3FFFFFFF)

    async def release(self, conn: Conn) -> None:
        await conn.execute(
            "DELETE FROM projection_leases WHERE projection = %s AND owner = %s",
            (self.projection, self.owner),
        )


def renew_all(
    conn: psycopg.Connection[tuple[Any, ...]], owner: str, projections: Sequence[str], ttl: float
) -> dict[str, set[int]]:
    """Extend every lease ``owner`` holds on ``projections``, in one statement.

    Returns the partitions still ours per projection. A lease another owner took
    after ours expired is not ours any more and is not in the answer (the
    projector stops that partition's worker); an expired lease nobody took is
    simply ours again. Synchronous: the projector runs it on a thread of its own
    (:mod:`projections.heartbeat`).
    """
    rows = conn.execute(
        "UPDATE projection_leases SET expires_at = now() + %s::interval"
        " WHERE owner = %s AND projection = ANY(%s) RETURNING projection, partition",
        (f"{ttl} seconds", owner, list(projections)),
    ).fetchall()
    held: dict[str, set[int]] = {name: set() for name in projections}
    for projection, partition in rows:
        if int(partition) >= 0:
            held[str(projection)].add(int(partition))
    return held
