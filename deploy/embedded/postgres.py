"""A real PostgreSQL server from the ``pgserver`` wheel, run in a data folder."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import IO

import psycopg

from deploy.embedded.process import (
    ChildServer,
    die_with_parent,
    free_port,
    pid_alive,
    process_cmdline,
    stop_pid,
    wait_until,
)


def _postgres_bin() -> Path:
    """The server binaries inside the pgserver wheel (found without importing its Python side)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("PostgreSQL binaries not found: install the pgserver wheel")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _postgres_bin()
_SERVER_USER = "pgserver"  # postgres refuses to run as root; the same user pgserver uses
_DATABASE = "obrador"
_SETTINGS = {
    "fsync": "on",  # every acknowledged append is durable, embedded or not
    "synchronous_commit": "on",
    "max_connections": "300",
    "shared_buffers": "256MB",
    "wal_buffers": "16MB",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "15min",
    "log_min_messages": "warning",
}


class EmbeddedPostgres(ChildServer):
    """Start (or recover) and stop one PostgreSQL server whose files live in ``data_dir/pg``."""

    stop_signal = signal.SIGINT  # fast shutdown
    stop_timeout = 30.0

    def __init__(self, data_dir: Path, log: IO[str] | None = None) -> None:
        self.pgdata = data_dir / "pg"
        self.socket_dir = _socket_dir(data_dir)
        self.log_path = data_dir / "postgres.log"
        self.port = 0
        super().__init__(log)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{_DATABASE}"

    @property
    def socket_url(self) -> str:
        return f"postgresql://postgres@/{_DATABASE}?host={self.socket_dir}&port={self.port}"

    def start(self, timeout: float = 60.0) -> None:
        user = _server_user()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _hand_over(self.pgdata, user)
            _hand_over(self.socket_dir, user)
            _traversable(self.pgdata)
            _traversable(self.socket_dir)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(user)
        self._recover_stale_server()
        self.port = self.port or free_port()  # a restart keeps its address (clients reconnect)
        args = [
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D",
            str(self.pgdata),
            "-k",
            str(self.socket_dir),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        for key, value in _SETTINGS.items():
            args += ["-c", f"{key}={value}"]
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            preexec_fn=die_with_parent(signal.SIGINT),  # noqa: PLW1509 (see ADR 0001)
            start_new_session=True,
        )
        log.close()
        wait_until(self._ready, timeout, f"PostgreSQL (log: {self.log_path})")
        with psycopg.connect(self._admin_url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (_DATABASE,))
            if exists.fetchone() is None:
                conn.execute(f"CREATE DATABASE {_DATABASE}")

    def stop(self) -> None:
        self._stop_child()

    def _initdb(self, user: pwd.struct_passwd | None) -> None:
        self._say(f"initialising a new PostgreSQL cluster in {self.pgdata}")
        subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
        )

    def _recover_stale_server(self) -> None:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            pid = -1
        if pid > 0 and pid_alive(pid) and "postgres" in process_cmdline(pid):
            self._say(f"stopping PostgreSQL (pid {pid}) left running by an earlier run")
            stop_pid(pid, signal.SIGINT, timeout=30)
        else:
            self._say(f"removing stale {pid_file} (pid {pid} is not running)")
        pid_file.unlink(missing_ok=True)

    def _admin_url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}&port={self.port}"

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited at start; see {self.log_path}")
        try:
            with psycopg.connect(self._admin_url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False


def _server_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", _SERVER_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(_SERVER_USER)


def _hand_over(path: Path, user: pwd.struct_passwd) -> None:
    if path.stat().st_uid == user.pw_uid:
        return
    os.chown(path, user.pw_uid, user.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(Path(root) / name, user.pw_uid, user.pw_gid)
    path.chmod(0o700)


def _traversable(path: Path) -> None:
    """Let the server user walk down to ``path`` (it is owned by root's folders)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IXOTH
        if wanted != mode:
            parent.chmod(wanted)


def _socket_dir(data_dir: Path) -> Path:
    """Unix socket paths are limited to ~107 bytes: fall back to a short folder under /tmp."""
    candidate = data_dir / "run"
    if len(str(candidate)) < 80:
        return candidate
    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"obrador-{digest}"


def remove_cluster(data_dir: Path) -> None:
    shutil.rmtree(data_dir / "pg", ignore_errors=True)
