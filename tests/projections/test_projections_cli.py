"""`obrador projections …` as an analyst runs it, on the demo chain's real sales."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from deploy.demo import real_sales
from streams.store import EventStore
from tests.projections.poison import sale, sales_poison


def obrador(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_rebuild_verify_and_status_from_the_command_line(pg_url: str, nats_url: str) -> None:
    env = {"DATABASE_URL": pg_url, "NATS_URL": nats_url}
    assert obrador("demo", "--check", env=env).returncode == 0
    rebuilt = obrador("projections", "rebuild", "sales", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt sales:" in rebuilt.stdout
    verified = obrador("projections", "verify", "sales", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "DIFFERENT" not in verified.stdout and "identical" in verified.stdout
    status = obrador("projections", "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    sales = [r for r in report["projections"] if r["projection"] == "sales"]
    assert sales and all(r["lag_events"] == 0 for r in sales)  # rebuilt up to the head
    assert report["relay"]["position"] == 0 and report["relay"]["lag_events"] > 0  # no relay ran
    with __import__("psycopg").connect(pg_url) as conn:
        units = conn.execute("SELECT sum(units) FROM rm_sales_daily").fetchone()
    demo_units = sum(s.units for s in real_sales())
    assert units is not None and int(units[0]) == demo_units  # the demo's real units sold


def test_verify_and_status_report_parked_events(pg_url: str, nats_url: str) -> None:
    async def load() -> None:
        store = await EventStore.open(pg_url)
        try:
            await store.append("horno", "sale-e-1", [sale("e", "T1")])
            [poison] = [p for p in sales_poison("e", "w", "T2") if p.name == "quantity 1E+999999"]
            await store.append("horno", "sale-e-2", [poison.event])
        finally:
            await store.close()

    asyncio.run(load())
    env = {"DATABASE_URL": pg_url, "NATS_URL": nats_url}
    rebuilt = obrador("projections", "rebuild", "sales", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "1 parked" in rebuilt.stdout
    verified = obrador("projections", "verify", "sales", env=env)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "DIFFERENT" not in verified.stdout and "1 events parked" in verified.stdout
    assert "PARKED position 2 (SaleRecorded, tenant horno): UnappliableEvent" in verified.stdout
    status = obrador("projections", "status", env=env)
    assert "1 parked, the first at position 2: UnappliableEvent: lines[0].quantity" in status.stdout
    report = json.loads(obrador("projections", "status", "--json", env=env).stdout)
    sales = [r for r in report["projections"] if r["projection"] == "sales" and r["parked"]]
    assert [(r["parked"], r["first_parked_position"]) for r in sales] == [(1, 2)]
