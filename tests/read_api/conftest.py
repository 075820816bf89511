"""One loaded bakery database per test module (loading the real demo takes a moment)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg.conninfo import make_conninfo
from read_api_kit import NOW, RIVAL, Bakeries, Client, load_bakeries

from deploy.demo import TENANT
from deploy.stack import StackUrls
from migrations.runner import migrate
from read_api.app import create_app
from read_api.keys import create_api_key


@pytest.fixture(scope="module")
async def bakeries(stack: StackUrls) -> AsyncIterator[Bakeries]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    migrate(stack.database_url, schema=schema)
    url = make_conninfo(stack.database_url, options=f"-c search_path={schema}")
    await load_bakeries(url)
    yield Bakeries(
        url=url,
        demo_key=create_api_key(url, TENANT, "owner", "test owner"),
        rival_key=create_api_key(url, RIVAL, "planner", "rival planner"),
    )
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
async def client(bakeries: Bakeries) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(bakeries.url, clock=lambda: NOW)) as test_client:
        yield test_client


@pytest.fixture
def demo(bakeries: Bakeries) -> dict[str, str]:
    return {"Authorization": f"Bearer {bakeries.demo_key}"}


@pytest.fixture
def rival(bakeries: Bakeries) -> dict[str, str]:
    return {"Authorization": f"Bearer {bakeries.rival_key}"}
