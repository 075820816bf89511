"""``obrador audit``: verify the hash chains and seals of every tenant, and seal them.

Composes :mod:`streams.chain_read` (each stream's chain against the stream gate)
and :mod:`streams.seals` (the seal chain, and the latest seal's heads against the
events). docs/audit.md says what is found and what is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from streams.chain import Finding
from streams.chain_read import tenants, walk_tenant
from streams.seals import Seal, check_seals, seal


@dataclass
class TenantReport:
    tenant_id: str
    events: int = 0
    streams: int = 0
    seals: int = 0
    sealed_through: int = 0
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_id,
            "events": self.events,
            "streams": self.streams,
            "seals": self.seals,
            "sealed_through": self.sealed_through,
            "clean": not self.findings,
            "first": _finding(self.findings[0]) if self.findings else None,
            "findings": [_finding(f) for f in self.findings],
        }


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "position": f.position,
        "stream": f.stream_id,
        "version": f.stream_version,
        "detail": f.detail,
    }


async def verify(
    database_url: str, *, tenant: str | None = None, kept_seals: frozenset[bytes] = frozenset()
) -> list[TenantReport]:
    """One report per tenant (or just ``tenant``); each tenant is read in one snapshot."""
    reports: list[TenantReport] = []
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        names = [tenant] if tenant is not None else await tenants(conn)
        for name in names:
            report = TenantReport(name)
            async with conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                report.events, report.streams, found = await walk_tenant(conn, name)
                chain, sealed = await check_seals(conn, name, kept=kept_seals)
            report.seals = len(chain)
            report.sealed_through = chain[-1].through_position if chain else 0
            report.findings = sorted(found + sealed, key=lambda f: f.position)
            reports.append(report)
    return reports


async def seal_tenants(database_url: str, *, tenant: str | None = None) -> list[Seal]:
    """Seal every tenant (or just ``tenant``) up to the current visibility horizon."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        names = [tenant] if tenant is not None else await tenants(conn)
        return [await seal(conn, name) for name in names]


def seal_dict(s: Seal) -> dict[str, Any]:
    return {
        "tenant": s.tenant_id,
        "seq": s.seq,
        "through_position": s.through_position,
        "streams": s.stream_count,
        "events": s.event_count,
        "digest": s.digest.hex(),
        "seal_hash": s.seal_hash.hex(),
    }
