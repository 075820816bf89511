"""Fixtures of the deploy tests: runs of whole ``obrador`` processes, shared where only read."""

from __future__ import annotations

import pytest

from tests.deploy.node_run import NodeRun, run_idle_node


@pytest.fixture(scope="session")
def idle_node(tmp_path_factory: pytest.TempPathFactory) -> NodeRun:
    """One ``obrador up`` in a fresh data folder, idle, then SIGTERM (tests/deploy/node_run.py)."""
    return run_idle_node(tmp_path_factory.mktemp("idle-node"))
