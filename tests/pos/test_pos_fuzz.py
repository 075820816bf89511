"""The POS fuzzer, small: a few hundred random and boundary messages, nothing lost."""

from __future__ import annotations

from pathlib import Path

from deploy.fuzz_pos import ROW_MARKER, record, run_fuzz


async def test_a_few_hundred_fuzzed_messages_are_each_recorded_or_dead_lettered(
    pg_url: str, nats_url: str, tmp_path: Path
) -> None:
    report = await run_fuzz(pg_url, nats_url, messages=300, seconds=60, seed=8)
    assert report.messages_sent >= 300
    assert report.lost == 0, report.examples
    assert report.unexpected == 0, report.examples
    assert report.recorded + report.dead_lettered == report.messages_sent
    assert report.healthy and report.reconnects == 0
    assert {"out_of_bounds", "conflict", "invalid_command"} <= set(report.by_rule)
    docs = tmp_path / "benchmarks.md"
    docs.write_text(f"| header |\n{ROW_MARKER}\n")
    record(report, docs)
    assert "--seed 8`" in docs.read_text()
