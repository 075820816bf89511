"""The forecast scheduler runs on one node at a time; a standby takes over when it stops."""

from __future__ import annotations

import asyncio
import logging

import pytest

from deploy.node import scheduler
from tests.eventually import eventually


async def test_one_scheduler_at_a_time_and_a_standby_takes_over(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="obrador.node")

    def said(text: str) -> int:
        return sum(text in r.getMessage() for r in caplog.records)

    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(scheduler(pg_url, "", check_every=0.1).run(first_stop))
    await eventually(lambda: said("this node runs the forecast jobs") == 1, timeout=20)
    # the stores' daily jobs run beside the forecast jobs (deploy/jobs_daily.py)
    await eventually(
        lambda: said("store jobs at 23:30 (close) and 00:05 (expiry)") == 1, timeout=20
    )
    second = asyncio.create_task(scheduler(pg_url, "", check_every=0.1).run(second_stop))
    await eventually(lambda: said("standing by") == 1, timeout=20)
    assert said("this node runs the forecast jobs") == 1

    first_stop.set()
    await asyncio.wait_for(first, timeout=20)
    await eventually(lambda: said("this node runs the forecast jobs") == 2, timeout=20)
    second_stop.set()
    await asyncio.wait_for(second, timeout=20)
