"""The short chaos run inside `make test`: kill -9 relay and projector under load,
then JetStream holds every event once and the read model equals a rebuild."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from deploy.chaos import run_chaos
from tests.projections.counting import CREATE


@pytest.mark.slow
async def test_killed_relay_and_projector_lose_nothing_and_double_nothing(
    pg_url: str, nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBRADOR_EXTRA_MODELS", "tests.projections.counting:MODEL")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(CREATE)
    report = await run_chaos(pg_url, nats_url, events=3000, cycles=4, log_dir=tmp_path)
    assert sum(report.kills.values()) == 4
    assert report.jetstream_messages == 3000
    assert report.jetstream_in_order_no_duplicates
    assert report.models and all(v == "equal to a rebuild" for v in report.models.values()), report
    assert report.verdict == "PASS"
