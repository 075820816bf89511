"""A 3-node JetStream cluster loses a node mid-stream: nothing lost, nothing doubled.

The short version inside ``make test``; ``obrador chaos --nats-cluster 3`` is the long one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nats
import psycopg
import pytest

from deploy.chaos import run_chaos
from deploy.chaos_faults import Faults
from deploy.embedded.nats_cluster import NatsCluster, running_cluster
from streams.cluster import nats_servers
from streams.jetstream import STREAM_NAME
from tests.projections.counting import CREATE


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    with running_cluster(tmp_path / "nats", 3) as started:
        yield started


async def test_the_events_stream_has_a_copy_on_every_node(cluster: NatsCluster) -> None:
    from streams.jetstream import ensure_event_stream

    nc = await nats.connect(nats_servers(cluster.url))
    try:
        js = nc.jetstream()
        await ensure_event_stream(js)
        info = await js.stream_info(STREAM_NAME)
    finally:
        await nc.close()
    assert info.config.num_replicas == 3
    assert info.cluster is not None and info.cluster.leader in {"n1", "n2", "n3"}
    assert len(info.cluster.replicas or []) == 2


@pytest.mark.slow
async def test_a_killed_nats_node_loses_and_doubles_nothing(
    pg_url: str, cluster: NatsCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBRADOR_EXTRA_MODELS", "tests.projections.counting:MODEL")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(CREATE)
    faults = Faults(nats=cluster, only=("nats",))
    report = await run_chaos(
        pg_url, cluster.url, events=3000, cycles=3, log_dir=tmp_path, faults=faults
    )
    assert report.kills == {"nats": 3}, report
    assert report.stored_events == report.jetstream_messages == 3000, report
    assert report.jetstream_in_order_no_duplicates, report
    assert report.models and all(v == "equal to a rebuild" for v in report.models.values())
    assert report.verdict == "PASS"
