"""The ``pos`` fixture: a tenant, tills with tokens, and the ingest consuming a private NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pos_kit import Pos, running_pos


@pytest.fixture
async def pos(pg_url: str, nats_url: str) -> AsyncIterator[Pos]:
    async with running_pos(pg_url, nats_url) as running:
        yield running
