"""Fixtures for handler tests: a fresh tenant per test and a one-line way to run a command."""

from __future__ import annotations

import uuid

import pytest
from commands_kit import AT, OWNER, Run, Store

from commands.handlers import handle
from commands.runtime import CommandResult
from commands.state_cache import StateCache
from commands.types import Command
from domain.access import Actor


@pytest.fixture
def tenant() -> str:
    return f"bakery-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["fresh-reads", "state-cache"])
def run(request: pytest.FixtureRequest, any_store: Store, tenant: str) -> Run:
    """``await run(command, actor=...)``: the same handle() the API will call.

    Every handler test runs twice: folding each stream from scratch, and with
    one ``StateCache`` for the whole test (streams advanced incrementally).
    """
    cache = StateCache() if request.param == "state-cache" else None

    async def run_command(command: Command, actor: Actor = OWNER) -> CommandResult:
        return await handle(command, any_store, tenant_id=tenant, actor=actor, now=AT, cache=cache)

    return run_command
