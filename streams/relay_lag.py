"""How far JetStream is behind the store: events and seconds (``obrador projections status``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import nats
import psycopg

from streams.cluster import nats_servers
from streams.jetstream import ensure_event_stream, last_relayed


async def relay_lag(
    conn: psycopg.AsyncConnection[tuple[Any, ...]], nats_url: str
) -> dict[str, object]:
    """``position`` relayed so far, ``lag_events`` and ``lag_seconds`` still to relay."""
    nc = await nats.connect(nats_servers(nats_url))
    try:
        js = nc.jetstream()
        await ensure_event_stream(js)
        position, _ = await last_relayed(js)
    finally:
        await nc.close()
    cur = await conn.execute(
        "SELECT count(*), min(recorded_at) FROM events"
        " WHERE position > %s AND tx_id < obrador_visible_horizon()",
        (position,),
    )
    row = await cur.fetchone()
    behind, oldest = (int(row[0]), row[1]) if row else (0, None)
    lag = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return {"position": position, "lag_events": behind, "lag_seconds": max(0.0, lag)}
