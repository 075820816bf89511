"""The ``obrador`` command line as a user runs it: real processes, real servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.stack import StackUrls
from tests.deploy.node_run import NodeRun

OBRADOR = [sys.executable, "-m", "deploy.cli"]


def run(
    args: list[str], env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        OBRADOR + args,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_check_loads_verifies_and_is_idempotent(stack: StackUrls, pg_url: str) -> None:
    env = {"DATABASE_URL": pg_url, "NATS_URL": stack.nats_url}
    first = run(["demo", "--check"], env, timeout=300)  # two loads on a shared machine
    assert first.returncode == 0, first.stdout + first.stderr
    assert "FAIL" not in first.stdout and first.stdout.count("ok ") == 6
    assert "0 already stored" in first.stdout
    second = run(["demo", "--check"], env, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 appended now" in second.stdout


def test_migrate_reports_nothing_to_do_on_a_migrated_database(pg_url: str) -> None:
    result = run(["migrate"], {"DATABASE_URL": pg_url})
    assert result.returncode == 0, result.stderr
    assert "already up to date" in result.stdout


@pytest.mark.slow
def test_up_serves_until_sigterm_then_stops_its_servers(idle_node: NodeRun) -> None:
    text = idle_node.text
    assert idle_node.ready, text
    assert "PostgreSQL  postgresql://" in text and "NATS        nats://" in text
    assert idle_node.pg_pid is not None, text
    assert idle_node.returncode == 0, text
    assert not idle_node.pg_alive_after
    assert not idle_node.nats_pid_file_after


def test_schema_events_writes_one_valid_schema_per_event_type(tmp_path: Path) -> None:
    import json

    from domain.events import EVENT_TYPES

    result = run(["schema", "events", "--out", str(tmp_path)], {})
    assert result.returncode == 0, result.stderr
    files = sorted(tmp_path.glob("*.schema.json"))
    assert len(files) == len(EVENT_TYPES)
    sale = json.loads((tmp_path / "SaleRecorded.v1.schema.json").read_text())
    assert sale["x-schema-version"] == 1 and "lines" in sale["properties"]


@pytest.mark.slow
def test_demo_serves_the_dashboard_and_the_api_with_its_key(tmp_path: Path) -> None:
    import json
    import re
    import urllib.error
    import urllib.request

    from deploy.demo import plan_day, real_sales
    from deploy.embedded.process import free_port

    expected = sum(s.units for s in real_sales())

    port = free_port()
    env = {**os.environ, "OBRADOR_DATA_DIR": str(tmp_path), "OBRADOR_API_PORT": str(port)}
    env.pop("DATABASE_URL", None)
    env.pop("NATS_URL", None)
    proc = subprocess.Popen(
        [*OBRADOR, "demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    try:
        text = ""
        for line in proc.stdout:
            text += line
            if "Ctrl-C" in line:
                break
        key = re.search(r"Bearer (obrkey_\S+)'", text)
        assert key is not None, text
        headers = {"Authorization": f"Bearer {key.group(1)}"}

        def items(path: str) -> list[dict[str, str]]:
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    found: list[dict[str, str]] = json.loads(response.read())["items"]
            except urllib.error.URLError:  # the API binds its port a moment after the banner
                return []
            return found

        day = plan_day().isoformat()
        deadline = time.monotonic() + 60  # the projectors fill the read models in the background
        units = forecasts = planned = 0
        while time.monotonic() < deadline:
            units = sum(int(float(i["units"])) for i in items("/v1/sales/daily?limit=5000"))
            forecasts = len(items(f"/v1/forecasts?from={day}&to={day}"))
            planned = sum(o["production_date"] == day for o in items("/v1/production-orders"))
            if (units, forecasts) == (expected, 9) and planned:
                break
            time.sleep(0.2)
        assert units == expected  # every real unit of the demo, through relay → projector → API
        # the plan for the day after the last sales day is there when the dashboard opens
        assert forecasts == 9 and planned > 0
        # and the morning after needs a person: a stockout, expiring lots, a plan to confirm
        wanted = {"stockout", "lot_expiring", "plan_unconfirmed"}
        kinds: set[str] = set()
        while time.monotonic() < deadline + 30 and not wanted <= kinds:
            kinds = {a["type"] for a in items("/v1/alerts?limit=200")}
            time.sleep(0.2)
        assert wanted <= kinds, kinds
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
