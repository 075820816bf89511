"""Partition leases: projector processes share partitions and take over from a dead one.

A lease lasts ``ttl`` seconds and is renewed every ``ttl / 3``. A process claims
free or expired partitions up to its fair share (partitions ÷ live owners,
rounded up). When a process dies its leases expire and the others claim them.
Two owners overlapping for a moment is harmless: effects are exactly once
through the checkpoint lock (projections/apply.py).
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import psycopg


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

    async def refresh(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> set[int]:
        """Renew ours, claim up to a fair share; return the partitions this owner holds now."""
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
        await conn.execute(
            "UPDATE projection_leases SET expires_at = now() + %s::interval"
            " WHERE projection = %s AND owner = %s",
            (interval, self.projection, self.owner),
        )
        cur = await conn.execute(
            "SELECT count(DISTINCT owner) FROM projection_leases"
            " WHERE projection = %s AND expires_at > now() AND owner <> %s",
            (self.projection, self.owner),
        )
        row = await cur.fetchone()
        others = int(row[0]) if row else 0
        share = math.ceil(self.partitions / (others + 1))
        cur = await conn.execute(
            "SELECT partition FROM projection_leases"
            " WHERE projection = %s AND owner = %s AND partition >= 0",
            (self.projection, self.owner),
        )
        held = {int(r[0]) for r in await cur.fetchall()}
        for partition in range(self.partitions):
            if len(held) >= share:
                break
            if partition in held:
                continue
            cur = await conn.execute(
                "INSERT INTO projection_leases (projection, partition, owner, expires_at)"
                " VALUES (%s, %s, %s, now() + %s::interval)"
                " ON CONFLICT (projection, partition) DO UPDATE"
                " SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at"
                " WHERE projection_leases.expires_at < now()"
                " RETURNING partition",
                (self.projection, partition, self.owner, interval),
            )
            if await cur.fetchone() is not None:
                held.add(partition)
        if len(held) > share:  # give back the surplus so newcomers get work
            for partition in sorted(held)[share:]:
                await conn.execute(
                    "DELETE FROM projection_leases WHERE projection = %s AND partition = %s"
                    " AND owner = %s",
                    (self.projection, partition, self.owner),
                )
                held.discard(partition)
        return held

    def _slot(self) -> int:
        """A negative pseudo-partition unique to this owner, for its presence row."""
        return 1 + (zlib.crc32(self.owner.encode()) & 0x3FFFFFFF)

    async def release(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        await conn.execute(
            "DELETE FROM projection_leases WHERE projection = %s AND owner = %s",
            (self.projection, self.owner),
        )
