"""What ``obrador chaos`` breaks: worker processes, NATS cluster nodes, the PostgreSQL server.

A :class:`Worker` is one ``obrador relay`` or ``obrador projector`` process that
can be killed with SIGKILL and started again. :class:`Faults` says what one run
may break; :func:`inject` breaks one of them and brings it back.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deploy.embedded.nats_cluster import NatsCluster
from deploy.embedded.postgres import EmbeddedPostgres
from deploy.embedded.process import free_port


class Worker:
    """One `obrador relay` or `obrador projector` process that can be killed and restarted."""

    def __init__(
        self,
        kind: str,
        env: dict[str, str],
        log_dir: Path,
        index: int = 0,
        args: tuple[str, ...] = (),
    ) -> None:
        self.kind, self.index, self.log_dir, self.args = kind, index, log_dir, args
        # every process its own metrics port: two relays on one machine must not collide
        self.env = {**env, "OBRADOR_METRICS_PORT": str(free_port())}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def name(self) -> str:
        return f"{self.kind}{self.index}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", self.kind, *self.args],
            env=self.env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Faults:
    """What a chaos run may break: its workers always; a NATS node, PostgreSQL if given."""

    relays: int = 1
    projectors: int = 1
    nats: NatsCluster | None = None
    postgres: EmbeddedPostgres | None = None
    #: the kinds to pick from (default: every one available)
    only: tuple[str, ...] = ()
    workers: list[Worker] = field(default_factory=list)

    def start_workers(
        self,
        database_url: str,
        nats_url: str,
        log_dir: Path,
        projector_args: tuple[str, ...] = (),
    ) -> None:
        env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url}
        self.workers = [Worker("relay", env, log_dir, i) for i in range(self.relays)]
        self.workers += [
            Worker("projector", env, log_dir, i, projector_args) for i in range(self.projectors)
        ]
        for worker in self.workers:
            worker.start()

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()

    def kinds(self) -> list[str]:
        kinds = ["relay", "projector"]
        if self.nats is not None:
            kinds.append("nats")
        if self.postgres is not None:
            kinds.append("postgres")
        return [k for k in kinds if k in self.only] if self.only else kinds


async def inject(faults: Faults, kind: str, rng: random.Random) -> str:
    """Break one ``kind`` and bring it back; return what was broken (``relay1``, ``nats n2``)."""
    if kind in ("relay", "projector"):
        worker = rng.choice([w for w in faults.workers if w.kind == kind])
        worker.kill()
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        worker.start()
        return worker.name
    if kind == "nats" and faults.nats is not None:
        index = rng.randrange(len(faults.nats.nodes))
        faults.nats.nodes[index].kill()
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        await asyncio.to_thread(faults.nats.restart, index)
        return f"nats {faults.nats.nodes[index].name}"
    if kind == "postgres" and faults.postgres is not None:
        await asyncio.to_thread(faults.postgres.stop)  # fast shutdown: every session is cut
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        await asyncio.to_thread(faults.postgres.start)  # same data folder, same port
        return "postgres"
    raise ValueError(f"fault: nothing to break for {kind!r}")
