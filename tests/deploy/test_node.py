"""`obrador up` as one process model: a subset with --only, one node per data folder,
a busy API port refused before anything is ready, SIGTERM stops it in seconds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from deploy.embedded.process import free_port

OBRADOR = [sys.executable, "-m", "deploy.cli"]


def node_env(data_dir: Path, port: int | None = None) -> dict[str, str]:
    env = {**os.environ, "OBRADOR_DATA_DIR": str(data_dir)}
    env["OBRADOR_API_PORT"] = str(port or free_port())
    env["OBRADOR_METRICS_PORT"] = str(free_port())
    env.pop("DATABASE_URL", None)
    env.pop("NATS_URL", None)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OBRADOR, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


class Node:
    """A running `obrador up …` whose output is read in the background."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [*OBRADOR, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "Ctrl-C stops everything" in line:
                self.ready.set()

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self.reader.join(10)
        return code, time.monotonic() - started


@pytest.mark.slow
def test_only_a_subset_one_node_per_folder_and_sigterm_stops_it_quickly(tmp_path: Path) -> None:
    env = node_env(tmp_path)
    node = Node(["up", "--only", "relay,projector"], env)
    try:
        assert node.ready.wait(120), node.text
        banner = node.text.split("Obrador is up", 1)[1]
        assert "  relay " in banner and "  projector " in banner
        for absent in ("ingest", "api ", "scheduler", "worker"):
            assert f"  {absent}" not in banner, banner
        series = scrape(int(env["OBRADOR_METRICS_PORT"]))  # no API here: the metrics port
        assert "obrador_relay_published_events_total" in series
        assert "# TYPE obrador_projector_applied_events_total counter" in series

        second = run(["up"], env)
        assert second.returncode == 1
        assert second.stderr.strip().count("\n") == 0 and "Traceback" not in second.stderr
        assert "OBRADOR_DATA_DIR" in second.stderr and "already run by another obrador" in (
            second.stderr
        )
        assert "Obrador is up" not in second.stdout
        demo = run(["demo"], env)
        assert demo.returncode == 1 and "already run by another obrador" in demo.stderr

        status = run(["pos", "status", "--json"], env)  # one-shot commands work beside it
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["dead_letters"]["total"] == 0
    finally:
        code, seconds = node.stop()
    assert code == 0, node.text
    assert seconds < 10, f"stopping took {seconds:.1f} s\n{node.text}"
    assert "Traceback" not in node.text
    assert not (tmp_path / "nats.pid").exists()


def scrape(port: int, timeout: float = 30.0) -> str:
    """``/metrics`` once the component serving it listens (it starts just after the banner)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.slow
def test_ctrl_c_stops_a_whole_node_cleanly_in_seconds(tmp_path: Path) -> None:
    env = node_env(tmp_path)
    node = Node(["up"], env)
    try:
        assert node.ready.wait(120), node.text
        series = scrape(int(env["OBRADOR_API_PORT"]))  # every component's, on the API
        for name in (
            "obrador_relay_published_events_total",
            "# TYPE obrador_projector_applied_events_total counter",
            "obrador_ingest_accepted_tickets_total",
            "# TYPE obrador_store_append_seconds histogram",
        ):
            assert name in series, name
    finally:
        code, seconds = node.stop(signal.SIGINT)
    assert code == 0 and seconds < 10, (seconds, node.text)
    assert "Traceback" not in node.text
    pg_pid_file = tmp_path / "pg" / "postmaster.pid"
    assert not pg_pid_file.exists() and not (tmp_path / "nats.pid").exists()


def test_a_busy_api_port_is_one_line_naming_the_setting_before_anything_is_ready(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["up"], node_env(tmp_path, port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"obrador: OBRADOR_API_PORT: port {port} on 127.0.0.1 is in use; set OBRADOR_API_PORT"
        " to a free port (or stop what listens there)"
    ]
    assert result.stdout == ""  # no banner, no link to someone else's server
    assert not (tmp_path / "pg").exists()  # refused before starting any server


def test_unknown_components_are_a_usage_error_listing_the_known_ones(tmp_path: Path) -> None:
    result = run(["up", "--only", "relay,oven"], node_env(tmp_path))
    assert result.returncode == 2
    assert "--only: unknown component 'oven'" in result.stderr
    assert "relay, projector, ingest, api, scheduler, worker" in result.stderr
