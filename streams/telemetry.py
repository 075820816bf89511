"""Prometheus series of the event store and the relay (served by ``deploy.metrics``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

from prometheus_client import Counter, Gauge, Histogram

from streams.envelope import AppendResult

APPENDED_EVENTS: Final = Counter(
    "obrador_store_appended_events", "Events durably appended to the store", ["path"]
)
APPEND_SECONDS: Final = Histogram(
    "obrador_store_append_seconds",
    "Time from an append call to its durable commit",
    ["path"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
RELAY_PUBLISHED: Final = Counter(
    "obrador_relay_published_events", "Events published to JetStream and acknowledged"
)
RELAY_POSITION: Final = Gauge(
    "obrador_relay_position", "Global position of the newest event relayed"
)
RELAY_LAG_SECONDS: Final = Gauge(
    "obrador_relay_lag_seconds", "Age of the newest relayed event when it was published"
)
RELAY_RESTARTS: Final = Counter(
    "obrador_relay_restarts", "Times the relay restarted from JetStream's tail"
)


def observe_appends(path: str, outcomes: Sequence[object], started: float) -> None:
    """Count the events an append call newly stored and time it (duplicates and errors add 0)."""
    stored = sum(
        o.last_version - o.first_version + 1
        for o in outcomes
        if isinstance(o, AppendResult) and not o.duplicate
    )
    if stored:
        APPENDED_EVENTS.labels(path).inc(stored)
    APPEND_SECONDS.labels(path).observe(time.perf_counter() - started)
