"""The freshness bench reads each append's latency, hop by hop, from the relay's and
the projector's trace records."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.bench_pipeline import _latencies
from streams.hoptrace import HopTrace, read_trace


def test_each_append_is_timed_by_the_first_record_covering_it_in_its_partition() -> None:
    commits = {10: (1, 100.000), 11: (2, 100.000)}  # position -> (partition, commit time)
    relay = [
        {"hop": "read", "t": 100.010, "first": 10, "last": 11},
        {"hop": "acked", "t": 100.015, "last": 11},
    ]
    projector = [
        {"hop": "fetched", "t": 100.020, "partition": 1, "last": 10},
        {"hop": "committed", "t": 100.030, "partition": 1, "last": 10},
        {"hop": "fetched", "t": 100.040, "partition": 2, "last": 11},
        {"hop": "committed", "t": 100.050, "partition": 2, "last": 11},
        {"hop": "committed", "t": 100.900, "partition": 1, "last": 12},  # later: ignored
    ]
    out = _latencies(commits, relay, projector)
    assert out["events"] == 2
    assert out["p50_ms"] == pytest.approx(40.0, abs=0.2)  # median of 30 and 50
    assert out["max_ms"] == pytest.approx(50.0, abs=0.2)
    assert out["hops_p50_ms"]["relay_read"] == pytest.approx(10.0, abs=0.2)
    assert out["hops_p50_ms"]["publish_ack"] == pytest.approx(5.0, abs=0.2)


def test_an_append_no_record_covers_is_left_out_and_none_at_all_is_an_error() -> None:
    relay = [{"hop": "read", "t": 1.0, "first": 1, "last": 1}]
    with pytest.raises(RuntimeError, match="no append was traced"):
        _latencies({5: (0, 0.5)}, relay, [])


def test_trace_lines_round_trip_and_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    trace = HopTrace(path)
    trace.record("read", first=1, last=3)
    trace.close()
    with path.open("a") as f:
        f.write('{"hop": "acked", "t"')  # killed mid-write
    records = read_trace(path)
    assert [(r["hop"], r["first"], r["last"]) for r in records] == [("read", 1, 3)]
    assert read_trace(tmp_path / "missing.jsonl") == []
