from __future__ import annotations

from pathlib import Path

import pytest

from streams.store import EventStore
from tests.importer.kit import Bakery, make_bakery


@pytest.fixture
async def bakery(pg_store: EventStore, tmp_path: Path) -> Bakery:
    return await make_bakery(pg_store, tmp_path)
