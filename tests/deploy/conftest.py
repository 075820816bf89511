"""Fixtures of the deploy tests: runs of whole ``obrador`` processes, shared where only read."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from deploy.scratch import scratch_schema
from deploy.stack import StackUrls
from tests.deploy.node_run import CheckedDemo, NodeRun, demo_check, run_idle_node


@pytest.fixture(scope="session")
def idle_node(tmp_path_factory: pytest.TempPathFactory) -> NodeRun:
    """One ``obrador up`` in a fresh data folder, idle, then SIGTERM (tests/deploy/node_run.py)."""
    return run_idle_node(tmp_path_factory.mktemp("idle-node"))


@pytest.fixture(scope="session")
def checked_demo(stack: StackUrls) -> Iterator[CheckedDemo]:
    """The demo loaded and planned once for every deploy test that reads it.

    Both runs happen before any test adds to the demo (tests/deploy/test_demo.py
    registers a till and imports two sales), so their output does not depend on
    the order the tests run in.
    """
    with scratch_schema(stack.database_url, "t") as url:
        env = {**os.environ, "DATABASE_URL": url, "NATS_URL": stack.nats_url}
        first = demo_check(env)
        second = demo_check(env)
        yield CheckedDemo(url, first, second)
