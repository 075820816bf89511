"""Prometheus metrics of a node on a small HTTP port (``/metrics``), for processes without an API.

Every package defines its own series (``streams.telemetry``, ``projections.telemetry``,
``commands.pos.telemetry``, …) in the process-wide default registry; the read API
serves the same registry on its own ``/metrics`` route, so a node that runs the
API needs no extra port.
"""

from __future__ import annotations

import asyncio

from prometheus_client import start_http_server


async def serve_metrics(host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``http://host:port/metrics`` until ``stop`` is set."""
    server, thread = start_http_server(port, addr=host)
    try:
        await stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        await asyncio.to_thread(thread.join, 5)
