"""Every ``obrador bench … --quick --json`` prints its figure, its reference and their ratio."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from deploy.stack import StackUrls

FIELDS = {
    "store": {
        "figures": ["events_per_s", "bulk_events_per_s"],
        "references": ["baseline_events_per_s", "executemany_rows_per_s", "copy_rows_per_s"],
        "ratios": ["ratio_vs_baseline", "ratio_vs_executemany", "bulk_ratio_vs_copy"],
    },
    "import": {
        "figures": ["lines_per_s", "peak_rss_mb"],
        "references": ["copy_rows_per_s"],
        "ratios": ["ratio_vs_copy"],
    },
    "relay": {
        "figures": ["events_per_s"],
        "references": ["raw_publish_per_s"],
        "ratios": ["ratio_vs_raw"],
    },
    "rebuild": {
        "figures": ["events_per_s"],
        "references": ["cursor_scan_rows_per_s"],
        "ratios": ["ratio_vs_scan"],
    },
    "api": {
        "figures": ["query_req_per_s", "query_p99_ms", "command_per_s", "command_p99_ms"],
        "references": ["trivial_req_per_s", "store_appends_per_s"],
        "ratios": ["query_ratio_vs_trivial", "command_ratio_vs_store_appends"],
    },
    "freshness": {
        "figures": ["p50_ms", "p99_ms", "p50_ms_at_half_max", "p99_ms_at_half_max"],
        "references": ["max_events_per_s"],
        "ratios": [],
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("what", sorted(FIELDS))
def test_quick_bench_prints_figure_reference_and_ratio(stack: StackUrls, what: str) -> None:
    env = {**os.environ, "DATABASE_URL": stack.database_url, "NATS_URL": stack.nats_url}
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "bench", what, "--quick", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    fields = FIELDS[what]
    for key in fields["figures"] + fields["references"] + fields["ratios"]:
        assert key in out, f"{what}: no {key!r} in {sorted(out)}"
        assert out[key] > 0, f"{what}: {key} = {out[key]}"
    assert "load" in out["machine"]
    if what == "freshness":  # every hop of the live path is traced
        assert set(out["hops_p50_ms"]) == {"relay_read", "publish_ack", "pull", "apply"}
        assert out["p50_ms"] <= out["p99_ms"]
