"""Audit seals: a tenant's stream heads at one point of the log, hashed and chained.

A per-stream chain cannot see its own tail cut off, nor a whole stream removed
(nothing links *to* the missing part). A seal records, for every stream of the
tenant, its last version, position and hash at or below ``through_position`` —
a point of the log no late commit can still land under (the visibility horizon,
docs/adr/0002) — and hashes them into ``digest``; ``seal_hash`` chains the seal to
the previous one. Checking the latest seal against the events finds deletions,
insertions and rewrites at or below its position; the seal chain finds edited
seals; a seal hash kept outside the database (printed by ``obrador audit seal``)
finds a rewritten seal chain. docs/adr/0007-hash-chain.md.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from streams.chain import GENESIS, Finding
from streams.validation import validate_tenant

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
SEAL_STREAM = "$seal"  # the stream name findings about seals themselves carry


@dataclass(frozen=True)
class Head:
    stream_id: str
    stream_version: int
    position: int
    hash: bytes


@dataclass(frozen=True)
class Seal:
    tenant_id: str
    seq: int
    through_position: int
    stream_count: int
    event_count: int
    digest: bytes
    seal_hash: bytes
    sealed_at: datetime | None = None


class SealRaced(Exception):
    """Another seal of the same tenant committed first; sealing again is safe."""


def _text(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">i", len(raw)) + raw


def heads_digest(heads: list[Head]) -> bytes:
    """sha256 over every head, ordered by the UTF-8 bytes of the stream id."""
    digest = hashlib.sha256()
    for head in sorted(heads, key=lambda h: h.stream_id.encode()):
        digest.update(
            _text(head.stream_id)
            + struct.pack(">qq", head.stream_version, head.position)
            + head.hash
        )
    return digest.digest()


def seal_hash(previous: bytes, seal: Seal) -> bytes:
    return hashlib.sha256(
        previous
        + _text(seal.tenant_id)
        + struct.pack(">qqqq", seal.seq, seal.through_position, seal.stream_count, seal.event_count)
        + seal.digest
    ).digest()


async def _heads(conn: Conn, tenant_id: str, through: int) -> list[Head]:
    cur = await conn.execute(
        "SELECT DISTINCT ON (stream_id) stream_id, stream_version, position, hash FROM events"
        " WHERE tenant_id = %s AND position <= %s ORDER BY stream_id, stream_version DESC",
        (tenant_id, through),
    )
    return [Head(str(s), int(v), int(p), bytes(h)) for s, v, p, h in await cur.fetchall()]


async def seal(conn: Conn, tenant_id: str) -> Seal:
    """Seal ``tenant_id``'s history up to the current visibility horizon (its own transaction)."""
    validate_tenant(tenant_id)
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur = await conn.execute(
            "SELECT coalesce(max(position), 0) FROM events WHERE tx_id < obrador_visible_horizon()"
        )
        row = await cur.fetchone()
        through = int(row[0]) if row else 0
        heads = await _heads(conn, tenant_id, through)
        cur = await conn.execute(
            "SELECT count(*) FROM events WHERE tenant_id = %s AND position <= %s",
            (tenant_id, through),
        )
        row = await cur.fetchone()
        events = int(row[0]) if row else 0
        cur = await conn.execute(
            "SELECT seq, seal_hash FROM audit_seals WHERE tenant_id = %s ORDER BY seq DESC LIMIT 1",
            (tenant_id,),
        )
        last = await cur.fetchone()
        seq, previous = (int(last[0]) + 1, bytes(last[1])) if last else (1, GENESIS)
        draft = Seal(tenant_id, seq, through, len(heads), events, heads_digest(heads), b"")
        made = Seal(**{**draft.__dict__, "seal_hash": seal_hash(previous, draft)})
        try:
            await conn.execute(
                "INSERT INTO audit_seals (tenant_id, seq, through_position, stream_count,"
                " event_count, digest, seal_hash) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (tenant_id, seq, through, len(heads), events, made.digest, made.seal_hash),
            )
        except (pg_errors.UniqueViolation, pg_errors.SerializationFailure) as exc:
            raise SealRaced(f"another seal of tenant {tenant_id!r} committed first") from exc
        async with (
            conn.cursor() as copy_cur,
            copy_cur.copy(
                "COPY audit_seal_heads (tenant_id, seq, stream_id, stream_version, position,"
                " hash) FROM STDIN"
            ) as copy,
        ):
            for h in heads:
                await copy.write_row(
                    (tenant_id, seq, h.stream_id, h.stream_version, h.position, h.hash)
                )
    return made


async def seals(conn: Conn, tenant_id: str) -> list[Seal]:
    cur = await conn.execute(
        "SELECT seq, through_position, stream_count, event_count, digest, seal_hash, sealed_at"
        " FROM audit_seals WHERE tenant_id = %s ORDER BY seq",
        (tenant_id,),
    )
    return [
        Seal(tenant_id, int(r[0]), int(r[1]), int(r[2]), int(r[3]), bytes(r[4]), bytes(r[5]), r[6])
        for r in await cur.fetchall()
    ]


async def _sealed_heads(conn: Conn, tenant_id: str, seq: int) -> list[Head]:
    cur = await conn.execute(
        "SELECT stream_id, stream_version, position, hash FROM audit_seal_heads"
        " WHERE tenant_id = %s AND seq = %s",
        (tenant_id, seq),
    )
    return [Head(str(s), int(v), int(p), bytes(h)) for s, v, p, h in await cur.fetchall()]


def _seal_finding(kind: Any, s: Seal, detail: str) -> Finding:
    return Finding(kind, s.tenant_id, SEAL_STREAM, s.seq, s.through_position, detail)


async def check_seals(
    conn: Conn, tenant_id: str, *, kept: frozenset[bytes] = frozenset()
) -> tuple[list[Seal], list[Finding]]:
    """Check the seal chain, each seal's heads, and the events against the latest seal.

    ``kept``: seal hashes the auditor kept outside the database; each must still be
    in the chain. Returns the seals and the findings (by position).
    """
    found: list[Finding] = []
    chain = await seals(conn, tenant_id)
    previous, expected_seq = GENESIS, 1
    latest_heads: list[Head] = []
    for s in chain:
        if s.seq != expected_seq:
            found.append(_seal_finding("deleted", s, f"seals {expected_seq}..{s.seq - 1} missing"))
        heads = await _sealed_heads(conn, tenant_id, s.seq)
        if heads_digest(heads) != s.digest or len(heads) != s.stream_count:
            found.append(_seal_finding("edited", s, "the seal's stream heads were altered"))
        if seal_hash(previous, s) != s.seal_hash:
            found.append(_seal_finding("edited", s, "the seal does not match its hash or chain"))
        previous, expected_seq, latest_heads = s.seal_hash, s.seq + 1, heads
    present = {s.seal_hash for s in chain}
    for missing in sorted(kept - present):
        found.append(
            Finding(
                "deleted",
                tenant_id,
                SEAL_STREAM,
                0,
                chain[-1].through_position if chain else 0,
                f"kept seal {missing.hex()} is not in the seal chain (seals rewritten or cut)",
            )
        )
    if chain:
        now = await _heads(conn, tenant_id, chain[-1].through_position)
        found.extend(compare_heads(tenant_id, chain[-1], latest_heads, now))
    return chain, sorted(found, key=lambda f: f.position)


def compare_heads(tenant_id: str, s: Seal, sealed: list[Head], now: list[Head]) -> list[Finding]:
    """What changed at or below the seal's position since it was made."""
    found: list[Finding] = []
    current = {h.stream_id: h for h in now}
    for old in sealed:
        new = current.pop(old.stream_id, None)
        tag = f"seal {s.seq} (through position {s.through_position})"
        if new is None:
            found.append(
                Finding(
                    "deleted",
                    tenant_id,
                    old.stream_id,
                    old.stream_version,
                    old.position,
                    f"the stream had {old.stream_version} events at {tag}; none are left",
                )
            )
        elif new.stream_version < old.stream_version:
            found.append(
                Finding(
                    "deleted",
                    tenant_id,
                    old.stream_id,
                    old.stream_version,
                    old.position,
                    f"versions {new.stream_version + 1}..{old.stream_version}, sealed by {tag},"
                    " are gone",
                )
            )
        elif new.stream_version > old.stream_version:
            found.append(
                Finding(
                    "inserted",
                    tenant_id,
                    new.stream_id,
                    new.stream_version,
                    new.position,
                    f"appeared at or below the position of {tag}, after it was made",
                )
            )
        elif new.hash != old.hash or new.position != old.position:
            found.append(
                Finding(
                    "edited",
                    tenant_id,
                    new.stream_id,
                    new.stream_version,
                    new.position,
                    f"the stream's history up to here was rewritten since {tag}",
                )
            )
    for new in current.values():
        found.append(
            Finding(
                "inserted",
                tenant_id,
                new.stream_id,
                new.stream_version,
                new.position,
                "a stream unknown to the latest seal, below its position",
            )
        )
    return found
