"""The supervisor: crashed components come back with backoff, and stopping is prompt."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from deploy.supervisor import Component, Supervisor
from tests.eventually import eventually


async def test_a_component_that_fails_twice_is_restarted_and_then_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[float] = []
    running = asyncio.Event()

    async def flaky(stop: asyncio.Event) -> None:
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise ConnectionError(f"broker unreachable #{len(calls)}")
        running.set()
        await stop.wait()

    steady_runs = 0

    async def steady(stop: asyncio.Event) -> None:
        nonlocal steady_runs
        steady_runs += 1
        await stop.wait()

    supervisor = Supervisor(
        [Component("flaky", flaky), Component("steady", steady)],
        wait_initial=0.05,
        wait_max=0.2,
        wait_jitter=0.0,
    )
    caplog.set_level(logging.INFO, logger="obrador.supervisor")
    task = asyncio.create_task(supervisor.run())
    await asyncio.wait_for(running.wait(), timeout=10)
    supervisor.stop.set()
    await asyncio.wait_for(task, timeout=10)

    assert len(calls) == 3 and steady_runs == 1  # the others were not disturbed
    assert calls[1] - calls[0] >= 0.04 and calls[2] - calls[1] >= calls[1] - calls[0] - 0.01
    assert supervisor.restarts == {"flaky": 2, "steady": 0}
    crashes = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert [r.levelname for r in crashes] == ["ERROR", "ERROR"]
    assert all(r.exc_info and "broker unreachable" in str(r.exc_info[1]) for r in crashes)
    assert {getattr(r, "component", None) for r in crashes} == {"flaky"}  # a JSON log field


async def test_a_component_returning_on_its_own_is_restarted_too() -> None:
    runs = 0

    async def quits(stop: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        if runs >= 3:
            await stop.wait()

    supervisor = Supervisor([Component("quits", quits)], wait_initial=0.01, wait_jitter=0.0)
    task = asyncio.create_task(supervisor.run())
    await eventually(lambda: runs >= 3, timeout=10)
    supervisor.stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert runs == 3 and supervisor.restarts["quits"] == 2


async def test_stop_is_prompt_even_when_a_component_waits_to_restart_or_hangs() -> None:
    async def always_fails(stop: asyncio.Event) -> None:
        raise RuntimeError("nope")

    async def ignores_stop(stop: asyncio.Event) -> None:
        await asyncio.Event().wait()  # never returns by itself

    supervisor = Supervisor(
        [Component("fails", always_fails), Component("hangs", ignores_stop)],
        wait_initial=30.0,  # the failing one sits in a long backoff
        wait_max=30.0,
        grace=0.5,
    )
    task = asyncio.create_task(supervisor.run())
    await eventually(lambda: supervisor.restarts["fails"] >= 1, timeout=10)
    started = time.monotonic()
    supervisor.stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert time.monotonic() - started < 2.0
