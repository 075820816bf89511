"""Prometheus series of the projectors (served by ``deploy.metrics``)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge

APPLIED_EVENTS: Final = Counter(
    "obrador_projector_applied_events",
    "Events applied to a read model (checkpoint moved in the same transaction)",
    ["model", "partition"],
)
CHECKPOINT: Final = Gauge(
    "obrador_projector_checkpoint",
    "Global position a read model has applied",
    ["model", "partition"],
)
LAG_SECONDS: Final = Gauge(
    "obrador_projector_lag_seconds",
    "Age of the newest applied event when its batch committed",
    ["model", "partition"],
)
PARKED_EVENTS: Final = Counter(
    "obrador_projector_parked_events",
    "Events a read model could not apply and parked (see `obrador projections status`)",
    ["model", "partition"],
)
