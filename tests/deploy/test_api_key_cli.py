"""`obrador api-key create|revoke` as an operator types them."""

from __future__ import annotations

import asyncio
import hashlib

import psycopg
import pytest

from commands.handlers import handle
from commands.types import CreateTenant
from deploy.cli import main
from domain.access import Actor
from domain.events.organisation import Role, TenantKind
from streams.store import EventStore


async def _create_tenant(pg_url: str, tenant_id: str) -> None:
    async with await EventStore.open(pg_url) as store:
        command = CreateTenant(name="Demo", kind=TenantKind.CHAIN)
        await handle(
            command, store, tenant_id=tenant_id, actor=Actor(user_id="ops", role=Role.OWNER)
        )


def test_cli_creates_a_key_printed_once_and_revokes_it(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    asyncio.run(_create_tenant(pg_url, "demo-obrador"))  # a key names a tenant that exists
    create = ["api-key", "create", "--tenant", "demo-obrador", "--role", "owner"]
    assert main([*create, "--label", "5am"]) == 0
    key = capsys.readouterr().out.strip()
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            "SELECT tenant_id, role, label, key_id FROM api_keys WHERE key_sha256 = %s",
            (hashlib.sha256(key.encode()).digest(),),
        ).fetchone()
    assert row is not None and row[:3] == ("demo-obrador", "owner", "5am")
    assert main(["api-key", "revoke", "--tenant", "demo-obrador", row[3]]) == 0
    assert main(["api-key", "revoke", "--tenant", "demo-obrador", row[3]]) == 1
    capsys.readouterr()
    refused = ["api-key", "create", "--tenant", "demo-obrador", "--role", "pos_device"]
    assert main(refused) == 2  # a till's key needs its store: an error naming the option
    assert "--store" in capsys.readouterr().err
