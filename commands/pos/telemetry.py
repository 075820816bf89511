"""Prometheus series of the POS ingest (served by ``deploy.metrics``)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

ACCEPTED: Final = Counter("obrador_ingest_accepted_tickets", "Tickets recorded (or recognised)")
DEAD_LETTERED: Final = Counter(
    "obrador_ingest_dead_lettered_tickets", "Tickets refused and kept on a dead letter", ["rule"]
)
