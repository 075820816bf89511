"""PostgreSQL restarted mid-load (stop and start of the postmaster on the same data folder).

Writers get a retryable answer (the API a 503 with Retry-After) and a resend is stored
once; the relay, the projectors and the POS ingest reconnect by themselves. The short
version inside ``make test``; ``obrador chaos --restart-postgres`` is the long one.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from deploy.chaos import run_chaos
from deploy.chaos_faults import Faults
from deploy.embedded.postgres import EmbeddedPostgres
from deploy.scratch import scratch_schema
from domain.streams import sale_stream
from read_api.app import create_app
from streams.store import EventStore
from tests.eventually import eventually
from tests.pos.pos_kit import running_pos, ticket
from tests.projections.counting import CREATE
from tests.read_api.http_kit import NORTH, tenants_on


def receipt(lot: str) -> dict[str, str]:
    return {
        "store_id": "norte-1",
        "item_id": "harina",
        "item_kind": "ingredient",
        "lot_id": lot,
        "quantity": "40",
        "unit_cost": "0.80",
    }


async def test_a_command_while_the_database_is_down_is_a_503_and_its_resend_is_stored_once(
    postgres_to_restart: EmbeddedPostgres,
) -> None:
    with scratch_schema(postgres_to_restart.url, "r") as url:
        tenants = await tenants_on(url)
        async with AsyncTestClient(app=create_app(url)) as client:
            north = tenants.north
            first = await client.post("/v1/stock/receipts", json=receipt("a"), headers=north)
            assert first.status_code == 200, first.text
            headers = {**tenants.north, "Idempotency-Key": "during-restart"}
            postgres_to_restart.stop()
            try:
                down = await client.post("/v1/stock/receipts", json=receipt("b"), headers=headers)
            finally:
                postgres_to_restart.start()
            assert down.status_code == 503, down.text
            assert down.headers["content-type"] == "application/problem+json"
            assert int(down.headers["Retry-After"]) > 0
            answers: list[int] = []

            async def resent() -> bool:
                again = await client.post("/v1/stock/receipts", json=receipt("b"), headers=headers)
                answers.append(again.status_code)
                return again.status_code == 200

            await eventually(resent, timeout=60, every=0.5)
            assert set(answers) <= {200, 503}, answers  # never a 500 while it reconnects
        async with await EventStore.open(url, min_size=1, max_size=1) as store:
            events = await store.read_stream(NORTH, "stock-norte-1-harina")
        assert sum(b'"b"' in e.payload for e in events) == 1
        assert sum(b'"a"' in e.payload for e in events) == 1


async def test_the_pos_ingest_records_tickets_sent_while_the_database_was_down(
    postgres_to_restart: EmbeddedPostgres, nats_url: str
) -> None:
    with scratch_schema(postgres_to_restart.url, "r") as url:
        async with running_pos(url, nats_url) as pos:
            await pos.publish("born", ticket("before"), pos.tokens["born"])
            await pos.settled()
            postgres_to_restart.stop()
            try:
                for txn in ("down-1", "down-2"):
                    await pos.publish("born", ticket(txn), pos.tokens["born"])
            finally:
                postgres_to_restart.start()
            await pos.settled(timeout=90)
            tenant = pos.tenant
        async with await EventStore.open(url, min_size=1, max_size=1) as store:
            for txn in ("before", "down-1", "down-2"):
                records = await store.read_stream(tenant, sale_stream("born", txn))
                assert len(records) == 1, (txn, records)


@pytest.mark.slow
async def test_relay_and_projectors_reconnect_after_postgres_restarts(
    postgres_to_restart: EmbeddedPostgres,
    nats_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OBRADOR_EXTRA_MODELS", "tests.projections.counting:MODEL")
    with scratch_schema(postgres_to_restart.url, "r") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(CREATE)
        faults = Faults(postgres=postgres_to_restart, only=("postgres",))
        report = await run_chaos(
            url, nats_url, events=2000, cycles=2, log_dir=tmp_path, faults=faults
        )
    assert report.kills == {"postgres": 2}, report
    assert report.stored_events == report.jetstream_messages == 2000, report
    assert report.jetstream_in_order_no_duplicates, report
    assert report.models and all(v == "equal to a rebuild" for v in report.models.values())
    assert report.verdict == "PASS"
