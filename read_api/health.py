"""``/health`` (is the process and its database alive) and ``/ready`` (should it get traffic).

``/ready`` answers 200 only when the database answers, NATS answers (when the
API was given a ``nats_url``) and every projector partition is less than
``max_lag_seconds`` behind the store (``projections.status.read_status``, the
figure ``obrador projections status`` shows); otherwise 503 with ``reasons``,
one line per failed check. Neither needs a key and neither names a tenant.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, Literal

import nats
import psycopg
from litestar import Controller, get
from litestar.datastructures import State
from litestar.exceptions import ServiceUnavailableException
from psycopg_pool import PoolTimeout

from projections.models import ALL_MODELS
from projections.status import read_status
from read_api.errors import problem
from read_api.schemas import HealthCheck, Out
from streams.cluster import nats_servers

#: /ready fails when a projector partition is further behind than this (seconds).
DEFAULT_MAX_LAG_SECONDS: Final = 60.0
_TIMEOUT: Final = 2.0


class Readiness(Out, frozen=True, kw_only=True):
    status: Literal["ready"]
    database: Literal["ok"]
    nats: Literal["ok", "not configured"]
    #: Worst projector lag in seconds (0 when every read model is current).
    projector_lag_seconds: float


class HealthController(Controller):
    tags = ["system"]

    @get(
        "/health",
        operation_id="getHealth",
        summary="Is the database reachable (no key needed)",
    )
    async def health(self, state: State) -> HealthCheck:
        try:
            async with state.pool.connection(timeout=_TIMEOUT) as conn:
                await conn.execute("SELECT 1")
        except (PoolTimeout, psycopg.OperationalError, OSError) as exc:
            raise ServiceUnavailableException("database unreachable") from exc
        return HealthCheck(status="ok", database="ok")

    @get(
        "/ready",
        operation_id="getReady",
        summary="Database, NATS and projector lag all fine (no key needed); 503 with reasons",
        # For orchestrators' probes, not clients: left out of the OpenAPI document, so the
        # fuzzer does not count a lagging projector (no projector runs there) as a 5xx.
        include_in_schema=False,
    )
    async def ready(self, state: State) -> Readiness:
        reasons: list[str] = []
        lag = 0.0
        try:
            async with state.pool.connection(timeout=_TIMEOUT) as conn:
                lag, behind = await _projector_lag(conn, state.max_lag_seconds)
                reasons += behind
        except (PoolTimeout, psycopg.OperationalError, OSError):
            reasons.append("database: unreachable")
        nats_state: Literal["ok", "not configured"] = "not configured"
        if state.nats_url:
            if await _nats_answers(state.nats_url):
                nats_state = "ok"
            else:
                reasons.append("nats: unreachable")
        if reasons:
            raise problem(
                503,
                "not ready: " + "; ".join(reasons),
                headers={"Retry-After": "5"},
                reasons=reasons,
            )
        return Readiness(
            status="ready", database="ok", nats=nats_state, projector_lag_seconds=round(lag, 3)
        )


async def _projector_lag(conn: Any, max_lag: float) -> tuple[float, list[str]]:
    """Worst lag in seconds and a reason per projection partition over ``max_lag``."""
    partitions = await read_status(conn)
    reasons = [
        f"projector {p.projection}/{p.partition}: {p.lag_seconds:.0f} s behind"
        f" ({p.lag_events} events)"
        for p in partitions
        if p.lag_seconds > max_lag
    ]
    reasons += [
        f"projector {p.projection}/{p.partition}: failed at position {p.failed_position}"
        for p in partitions
        if p.state == "failed"
    ]
    missing = sorted({m.name for m in ALL_MODELS} - {p.projection for p in partitions})
    if missing:
        cur = await conn.execute(
            "SELECT EXISTS (SELECT 1 FROM events WHERE tx_id < obrador_visible_horizon())"
        )
        row = await cur.fetchone()
        if row and row[0]:
            reasons += [
                f"projector {name}: no checkpoint yet, the store has events" for name in missing
            ]
    return max((p.lag_seconds for p in partitions), default=0.0), reasons


async def _nats_answers(url: str) -> bool:
    try:
        client = await asyncio.wait_for(
            nats.connect(
                nats_servers(url),
                connect_timeout=_TIMEOUT,
                max_reconnect_attempts=0,
                allow_reconnect=False,
            ),
            _TIMEOUT,
        )
    except Exception:
        return False
    try:
        await client.flush(timeout=int(_TIMEOUT))
        return True
    except Exception:
        return False
    finally:
        await client.close()
