"""Whole ``obrador`` processes run once and read by several tests.

One real ``obrador up`` run, watched from start to SIGTERM, for the tests that read it.

Booting a node (initdb, migrations, NATS, every component) is one of the slowest
things the suite does; the tests of ``up``'s banner and shutdown and of an idle
node's log lines look at the same run (tests/deploy/conftest.py ``idle_node``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.embedded.process import free_port, pid_alive

OBRADOR = [sys.executable, "-m", "deploy.cli"]
IDLE_SECONDS = 15.0  # idle on purpose: the pull-timeout noise came within seconds


@dataclass(frozen=True)
class NodeRun:
    lines: list[str]  # stdout and stderr, merged, from start to exit
    idle: list[str]  # what had been printed by the end of the idle period
    returncode: int | None  # after SIGTERM (None: it did not stop within 60 s)
    pg_pid: int | None  # the embedded postmaster, read while the node ran
    pg_alive_after: bool
    nats_pid_file_after: bool
    ready: bool  # the banner ("Ctrl-C ...") came within 120 s

    @property
    def text(self) -> str:
        return "".join(self.lines)


def run_idle_node(data_dir: Path) -> NodeRun:
    """``obrador up`` in its own data folder, JSON DEBUG logs, idle, then SIGTERM."""
    env = {
        **os.environ,
        "OBRADOR_DATA_DIR": str(data_dir),
        "OBRADOR_API_PORT": str(free_port()),
        "OBRADOR_LOG_FORMAT": "json",
        "OBRADOR_LOG_LEVEL": "DEBUG",  # FastStream task restarts are DEBUG lines: count them
    }
    env.pop("DATABASE_URL", None)
    env.pop("NATS_URL", None)
    proc = subprocess.Popen(
        [*OBRADOR, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    idle: list[str] = []
    pg_pid: int | None = None
    returncode: int | None = None
    try:
        if ready.wait(120):
            pid_file = data_dir / "pg" / "postmaster.pid"
            pg_pid = int(pid_file.read_text().splitlines()[0]) if pid_file.exists() else None
            time.sleep(IDLE_SECONDS)
            idle = lines[:]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            returncode = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        reader.join(10)
    return NodeRun(
        lines=lines,
        idle=idle,
        returncode=returncode,
        pg_pid=pg_pid,
        pg_alive_after=pg_pid is not None and pid_alive(pg_pid),
        nats_pid_file_after=(data_dir / "nats.pid").exists(),
        ready=ready.is_set(),
    )


@dataclass(frozen=True)
class CheckedDemo:
    """A schema where ``obrador demo --check`` ran twice: fresh, then on the loaded demo."""

    url: str
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]


def demo_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``obrador demo --check`` against the servers ``env`` names."""
    return subprocess.run(
        [*OBRADOR, "demo", "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # two loads and a plan on a shared machine
        check=False,
    )
