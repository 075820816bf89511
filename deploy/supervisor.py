"""One supervisor for every long-running component of a node (``obrador up``).

A component is a name and ``run(stop)``: a coroutine that works until ``stop`` is set
and then returns, releasing what it opened. The supervisor runs each one in its own
task; a component that raises (or returns while the node is not stopping) is logged
with its traceback and restarted with exponential backoff and jitter (stamina: one
well-kept retry helper instead of hand-written loops). A component that had been up
for ``healthy_after`` seconds before crashing starts its backoff over.

SIGINT/SIGTERM set ``stop``: running components get ``grace`` seconds to return, those
waiting to restart are cancelled at once, anything still running after the grace is
cancelled — so Ctrl-C stops a node within a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import stamina

log = logging.getLogger("obrador.supervisor")

Run = Callable[[asyncio.Event], Awaitable[object]]


@dataclass(frozen=True)
class Component:
    name: str
    run: Run


class _Crashed(Exception):
    """A component failed; retried with backoff."""


class _Recovered(Exception):
    """A component failed after a healthy while; its backoff starts over."""


@dataclass
class Supervisor:
    components: Sequence[Component]
    wait_initial: float = 0.5
    wait_max: float = 30.0
    wait_jitter: float = 0.5
    healthy_after: float = 60.0
    grace: float = 10.0

    def __post_init__(self) -> None:
        self.stop = asyncio.Event()
        self.restarts: dict[str, int] = {c.name: 0 for c in self.components}
        self._state: dict[str, str] = {c.name: "starting" for c in self.components}

    async def run(self, ready: Callable[[], None] | None = None) -> None:
        """Run every component until SIGINT/SIGTERM or :attr:`stop`; return once all stopped."""
        loop = asyncio.get_running_loop()
        handled: dict[signal.Signals, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                previous = signal.getsignal(sig)
                loop.add_signal_handler(sig, self._stop_by_signal, sig)
                handled[sig] = previous
        tasks = {
            c.name: asyncio.create_task(self._keep_running(c), name=f"component {c.name}")
            for c in self.components
        }
        log.info("started: %s", ", ".join(tasks))
        try:
            if ready is not None:
                ready()
            await self.stop.wait()
        finally:
            self.stop.set()
            await self._wind_down(tasks)
            for sig, previous in handled.items():  # the caller's handlers come back
                loop.remove_signal_handler(sig)
                if previous is not None:
                    signal.signal(sig, previous)
        log.info("stopped: %s", ", ".join(tasks))

    def _stop_by_signal(self, sig: signal.Signals) -> None:
        if not self.stop.is_set():
            log.info("%s: stopping every component", sig.name)
        self.stop.set()

    async def _wind_down(self, tasks: dict[str, asyncio.Task[None]]) -> None:
        for name, task in tasks.items():
            if self._state[name] != "running":  # waiting to restart: nothing to finish
                task.cancel()
        _, late = await asyncio.wait(tasks.values(), timeout=self.grace)
        for task in late:
            log.warning("%s did not stop within %.0f s: cancelled", task.get_name(), self.grace)
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)

    async def _keep_running(self, component: Component) -> None:
        while not self.stop.is_set():
            try:
                async for attempt in stamina.retry_context(
                    on=_Crashed,
                    attempts=None,
                    timeout=None,
                    wait_initial=self.wait_initial,
                    wait_max=self.wait_max,
                    wait_jitter=self.wait_jitter,
                ):
                    with attempt:
                        await self._run_once(component)
                return
            except _Recovered:
                continue

    async def _run_once(self, component: Component) -> None:
        if self.stop.is_set():
            return
        started = time.monotonic()
        self._state[component.name] = "running"
        failure: BaseException | None = None
        try:
            await component.run(self.stop)
        except Exception as exc:
            failure = exc
        finally:
            self._state[component.name] = "stopped"
        if self.stop.is_set():
            if failure is not None:
                log.error(
                    "%s failed while stopping",
                    component.name,
                    exc_info=failure,
                    extra={"component": component.name},
                )
            return
        self._state[component.name] = "backoff"
        self.restarts[component.name] += 1
        uptime = time.monotonic() - started
        if failure is None:
            log.error(
                "%s returned after %.1f s without being stopped",
                component.name,
                uptime,
                extra={"component": component.name},
            )
        else:
            log.error(
                "%s crashed after %.1f s (restart #%d follows)",
                component.name,
                uptime,
                self.restarts[component.name],
                exc_info=failure,
                extra={"component": component.name},
            )
        if uptime >= self.healthy_after:
            raise _Recovered(component.name) from failure
        raise _Crashed(component.name) from failure
