"""The embedded stack starts real servers, stops them cleanly and recovers from kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from deploy.embedded.process import pid_alive
from deploy.settings import Settings
from deploy.stack import DataDirBusy, running_stack

OWNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from deploy.settings import Settings
    from deploy.stack import running_stack
    settings = Settings(database_url=None, nats_url=None, data_dir=Path(sys.argv[1]))
    with running_stack(settings, log=None) as urls:
        print(urls.database_url, urls.nats_url, flush=True)
        time.sleep(600)
    """
)


def nats_ok(url: str) -> bool:
    import socket

    host, port = url.removeprefix("nats://").split(":")
    with socket.create_connection((host, int(port)), timeout=2) as conn:
        return conn.recv(4) == b"INFO"


def server_pids(data_dir: Path) -> tuple[int, int]:
    pg = int((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])
    nats = int((data_dir / "nats.pid").read_text())
    return pg, nats


def wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.slow
def test_starts_real_servers_and_stops_them(tmp_path: Path) -> None:
    with running_stack(
        Settings(database_url=None, nats_url=None, data_dir=tmp_path), log=None
    ) as urls:
        with psycopg.connect(urls.database_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            tables = conn.execute("SELECT to_regclass('events')").fetchone()
        assert version is not None and int(str(version[0]).split(".")[0]) >= 16
        assert tables == ("events",)
        assert nats_ok(urls.nats_url)
        pg_pid, nats_pid = server_pids(tmp_path)
    wait_gone(pg_pid)
    wait_gone(nats_pid)
    assert not pid_alive(pg_pid) and not pid_alive(nats_pid)
    assert not (tmp_path / "stack.json").exists()


@pytest.mark.slow
def test_kill_9_of_the_owner_leaves_nothing_that_blocks_the_next_start(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert owner.stdout is not None
    first_db, _ = owner.stdout.readline().split()
    with psycopg.connect(first_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE survived (n int); INSERT INTO survived VALUES (42)")
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=10)
    # the stale pid files, lock and stack.json are still there; a new run must cope
    assert (tmp_path / "stack.json").exists()
    with running_stack(
        Settings(database_url=None, nats_url=None, data_dir=tmp_path), log=None
    ) as urls:
        assert urls.owned
        with psycopg.connect(urls.database_url) as conn:
            assert conn.execute("SELECT n FROM survived").fetchone() == (42,)
        assert nats_ok(urls.nats_url)


@pytest.mark.slow
def test_second_process_reuses_the_running_stack(tmp_path: Path) -> None:
    settings = Settings(database_url=None, nats_url=None, data_dir=tmp_path)
    with running_stack(settings, log=None) as first, running_stack(settings, log=None) as second:
        assert not second.owned
        assert (second.database_url, second.nats_url) == (first.database_url, first.nats_url)


def test_busy_data_dir_without_published_stack_is_reported(tmp_path: Path) -> None:
    import fcntl

    with (tmp_path / "obrador.lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with (
            pytest.raises(DataDirBusy, match=str(tmp_path)),
            running_stack(Settings(database_url=None, nats_url=None, data_dir=tmp_path), log=None),
        ):
            pass
