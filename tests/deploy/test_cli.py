"""The ``obrador`` command line as a user runs it: real processes, real servers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.node_run import CheckedDemo, NodeRun

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


def test_demo_check_loads_verifies_and_is_idempotent(checked_demo: CheckedDemo) -> None:
    first = checked_demo.first  # on a fresh database
    assert first.returncode == 0, first.stdout + first.stderr
    assert "FAIL" not in first.stdout and first.stdout.count("ok ") == 6
    assert "0 already stored" in first.stdout
    second = checked_demo.second  # on the demo it loaded: nothing new, every check again
    out = second.stdout
    assert second.returncode == 0, out + second.stderr
    assert " 0 appended now" in out and " 0 failed" in out, out
    assert "FAIL" not in out and out.count("  ok ") == 6
    assert "ok  the stock books add up" in out


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
