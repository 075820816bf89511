"""The chain bench reads the database server's CPU time from /proc: it must see work done."""

from __future__ import annotations

import psycopg
import pytest

from deploy.bench_chain import postmaster_pid, server_cpu


def test_server_cpu_counts_the_work_of_a_backend_that_has_exited(pg_url: str) -> None:
    postmaster = postmaster_pid(pg_url)
    if postmaster is None:
        pytest.skip("the test server is not on this machine")
    before = server_cpu(postmaster)
    with psycopg.connect(pg_url) as conn:  # ~0.1-0.3 s of CPU in one backend, then it exits
        conn.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
    assert server_cpu(postmaster) - before >= 0.05
