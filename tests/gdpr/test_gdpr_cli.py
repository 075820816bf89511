"""Crypto-shredding end to end on the real stack, as an operator types it (docs/gdpr.md).

A person and a supplier's contact are registered through the ordinary paths;
``obrador gdpr export`` shows them; ``obrador gdpr erase`` makes them unreadable
everywhere while the history stays as it was: the hash chain still verifies, the
history export never held plaintext, read models rebuild with "[erased]", and
the erased person can no longer log in.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from commands.handlers import handle
from commands.types import RegisterSupplier
from deploy.cli import main
from domain.personal import ERASED
from projections.apply import apply_events, live_tables
from projections.registry import model_named
from read_api.app import create_app
from read_api.ratelimit import RateLimits
from read_api.users import SYSTEM
from streams.store import EventStore

TENANT = "horno-gdpr"
MARIA = ("maria.perez@horno.example", "María Pérez")
JOSE = ("José Harina", "jose@harinas.example", "+34 600 111 222")
PLAINTEXT = [*MARIA, *JOSE]
NO_LIMITS = RateLimits(per_address=None, per_caller=None, login_per_address=None)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def _export(capsys: pytest.CaptureFixture[str], subject: str) -> dict[str, Any]:
    code, out = _run(capsys, "gdpr", "export", "--tenant", TENANT, subject)
    assert code == 0
    found: dict[str, Any] = json.loads(out)
    return found


async def _login_status(pg_url: str, email: str, password: str) -> int:
    async with AsyncTestClient(app=create_app(pg_url, rate_limits=NO_LIMITS)) as client:
        response = await client.post("/v1/auth/login", json={"email": email, "password": password})
        return response.status_code


async def _register_supplier(pg_url: str) -> None:
    async with await EventStore.open(pg_url, min_size=1, max_size=2) as store:
        command = RegisterSupplier(
            supplier_id="harinas",
            name="Harinas del Sur SL",
            lead_time_days=2,
            contact_name=JOSE[0],
            contact_email=JOSE[1],
            contact_phone=JOSE[2],
        )
        await handle(command, store, tenant_id=TENANT, actor=SYSTEM)


def _db(pg_url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(query).fetchall()


def _supplier_row(pg_url: str) -> tuple[Any, ...]:
    return _db(
        pg_url,
        "SELECT name, contact_name, contact_email, contact_phone FROM rm_purchase_suppliers",
    )[0]


async def _apply_live(pg_url: str, after: int) -> None:
    """The live projector's step for the events after ``after`` (the erasures)."""
    model = model_named("purchase_orders")
    async with await EventStore.open(pg_url, min_size=1, max_size=2) as store:
        records = await store.read_all(after=after, tenant_id=TENANT)
        async with store.pool.connection() as conn, conn.transaction():
            assert not await apply_events(conn, model, records, live_tables(model))


def test_export_then_erase_a_person_and_a_supplier_contact(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    assert main(["tenant", "create", "Horno", "--id", TENANT, "--owner", "o@horno.example"]) == 0
    monkeypatch.setenv("OBRADOR_PASSWORD", "maria's long secret")
    add = ["user", "add", "--tenant", TENANT, MARIA[0], "--role", "planner", "--name", MARIA[1]]
    assert _run(capsys, *add)[0] == 0
    maria = next(
        line.split("\t")[1]
        for line in _run(capsys, "user", "list", "--tenant", TENANT)[1].splitlines()
        if line.startswith("maria")
    )
    asyncio.run(_register_supplier(pg_url))
    assert asyncio.run(_login_status(pg_url, MARIA[0], "maria's long secret")) == 200

    # Held, readable through the system, never in clear in the store.
    before = _export(capsys, f"user:{maria}")
    assert before["status"] == "active"
    assert before["personal"] == {"name": MARIA[1], "email": MARIA[0]}
    assert before["login"]["email"] == MARIA[0] and before["sessions"]
    assert _export(capsys, "supplier:harinas")["personal"] == {
        "contact_name": JOSE[0],
        "contact_email": JOSE[1],
        "contact_phone": JOSE[2],
    }
    stored = b"".join(bytes(p) for (p,) in _db(pg_url, "SELECT payload FROM events"))
    assert not [t for t in PLAINTEXT if t.encode() in stored]
    assert _run(capsys, "projections", "rebuild", "purchase_orders")[0] == 0
    assert _supplier_row(pg_url) == ("Harinas del Sur SL", *JOSE)
    (head,) = _db(pg_url, "SELECT max(position) FROM events")[0]

    # Erase both: twice is harmless.
    for subject in (f"user:{maria}", "supplier:harinas"):
        code, out = _run(capsys, "gdpr", "erase", "--tenant", TENANT, subject, "--json")
        assert code == 0 and json.loads(out)["key_shredded"] is True
        code, out = _run(capsys, "gdpr", "erase", "--tenant", TENANT, subject, "--json")
        assert code == 0 and json.loads(out)["recorded"] is False
    assert main(["gdpr", "erase", "--tenant", TENANT, "user:nobody"]) == 1

    after = _export(capsys, f"user:{maria}")
    assert (after["status"], after["personal"], after["login"]) == ("erased", {}, None)
    assert all(s["revoked_at"] for s in after["sessions"])
    assert "SubjectErased" in [e["type"] for e in after["events"]]
    exported = json.dumps([after, _export(capsys, "supplier:harinas")], ensure_ascii=False)
    assert not [t for t in PLAINTEXT if t in exported]
    code, history = _run(capsys, "history", "export", "--tenant", TENANT)
    assert code == 0 and "SubjectErased" in history
    assert not [t for t in PLAINTEXT if t in history]
    assert _run(capsys, "audit", "verify", "--tenant", TENANT)[0] == 0

    # The live projector blanks the contact; a rebuild from the history gives the same.
    asyncio.run(_apply_live(pg_url, head))
    assert _supplier_row(pg_url) == ("Harinas del Sur SL", ERASED, ERASED, ERASED)
    assert _run(capsys, "projections", "rebuild", "purchase_orders")[0] == 0
    assert _supplier_row(pg_url) == ("Harinas del Sur SL", ERASED, ERASED, ERASED)
    assert asyncio.run(_login_status(pg_url, MARIA[0], "maria's long secret")) == 401
