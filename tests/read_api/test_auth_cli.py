"""`obrador tenant create` and `obrador user add|list` as an operator types them."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from litestar.testing import AsyncTestClient

from deploy.cli import main
from domain.events.organisation import Role
from read_api.app import create_app
from read_api.ratelimit import RateLimits
from read_api.users import create_login

NO_LIMITS = RateLimits(per_address=None, per_caller=None, login_per_address=None)


def _logs_in(pg_url: str, email: str, password: str) -> dict[str, object]:
    """Log in through the API (sync: the CLI under test runs its own event loop)."""
    return asyncio.run(_log_in(pg_url, email, password))


async def _log_in(pg_url: str, email: str, password: str) -> dict[str, object]:
    async with AsyncTestClient(app=create_app(pg_url, rate_limits=NO_LIMITS)) as client:
        response = await client.post("/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        me = await client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        body: dict[str, object] = me.json()
        return body


def test_tenant_create_bootstraps_an_owner_who_can_log_in(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    assert main(["tenant", "create", "Horno de Ana", "--owner", "Ana@Horno.example", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["tenant_id"] == "horno-de-ana" and created["email"] == "ana@horno.example"
    me = _logs_in(pg_url, "ana@horno.example", created["password"])
    assert (me["tenant_id"], me["role"]) == ("horno-de-ana", "owner")
    # The same tenant twice is refused through the domain, with nothing half-made.
    assert main(["tenant", "create", "Horno de Ana", "--owner", "otra@horno.example"]) == 1
    assert "tenant" in capsys.readouterr().err


def test_a_password_from_stdin_and_users_added_later(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long owner secret\n"))
    create = ["tenant", "create", "Obrador Sur", "--id", "sur", "--owner", "jefa@sur.example"]
    assert main([*create, "--password-stdin"]) == 0
    printed = capsys.readouterr().out
    assert "a long owner secret" not in printed and "jefa@sur.example" in printed
    assert (_logs_in(pg_url, "jefa@sur.example", "a long owner secret"))["role"] == "owner"

    assert main(["user", "add", "--tenant", "sur", "plan@sur.example", "--role", "planner"]) == 0
    password = next(
        line.split()[1] for line in capsys.readouterr().out.splitlines() if "password" in line
    )
    assert (_logs_in(pg_url, "plan@sur.example", password))["role"] == "planner"
    assert main(["user", "add", "--tenant", "sur", "plan@sur.example", "--role", "auditor"]) == 1
    capsys.readouterr()
    assert main(["user", "list", "--tenant", "sur"]) == 0
    listed = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["jefa@sur.example", "plan@sur.example"]


def test_create_login_is_what_the_demo_calls(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    assert main(["tenant", "create", "Demo", "--id", "demo-x", "--owner", "o@demo.example"]) == 0
    capsys.readouterr()
    person = create_login(pg_url, tenant_id="demo-x", email="audit@demo.example", role=Role.AUDITOR)
    assert len(person.password) >= 20  # generated
    assert _logs_in(pg_url, "audit@demo.example", person.password)["role"] == "auditor"
