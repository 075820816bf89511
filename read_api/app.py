"""The read API: ``create_app`` builds it, ``serve_api`` runs it under uvicorn.

Composition root: the connection pool is opened in the lifespan, kept on
``app.state.pool`` and closed in ``finally``; every session is read-only.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from psycopg import AsyncConnection
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from commands.state_cache import StateCache
from read_api.auth import ApiKeyAuthentication
from read_api.commands_http import command_handlers
from read_api.consistency import document_min_position, read_your_writes
from read_api.controllers import (
    DashboardController,
    ForecastsController,
    InventoryController,
    ProductionOrdersController,
    PurchaseOrdersController,
    SalesController,
)
from read_api.edges import Cors, HeadAsGet
from read_api.errors import document_problems, problem_details_plugin
from read_api.export import export_history
from read_api.health import DEFAULT_MAX_LAG_SECONDS, HealthController
from read_api.limits import MAX_BODY_BYTES, document_string_rules, refuse_hostile_strings
from read_api.live import stream_events
from read_api.page import DashboardPageController
from read_api.projections_status import ProjectionsStatusController
from streams.store import EventStore

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _read_only(conn: AsyncConnection[Any]) -> None:
    # The read API only SELECTs; the server refuses anything else on these sessions.
    await conn.execute("SET default_transaction_read_only = on")


def create_app(
    database_url: str,
    *,
    clock: Clock = _utc_now,
    cors_origins: Iterable[str] = (),
    nats_url: str | None = None,
    max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS,
) -> Litestar:
    """The API on ``database_url`` (``clock`` gives "now" for the dashboard).

    ``nats_url``, when given, is checked by ``/ready``, as is every projector's lag
    against ``max_lag_seconds`` (read_api/health.py).

    ``cors_origins``: browser origins (``https://shop.example``) allowed to read
    the API from their pages; none by default (docs/api.md, "CORS").
    """

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=8,
            timeout=5.0,  # a request waits this long for a connection, then 503
            open=False,
            kwargs={"autocommit": True},
            configure=_read_only,
            # A connection cut under the pool (server restart, failover, idle kill) is
            # noticed when lent out and replaced, instead of failing the request.
            check=AsyncConnectionPool.check_connection,
        )
        await pool.open()
        app.state.pool = pool
        # The write side (command routes, idempotency answers): its own read-write pool.
        # Opened without waiting, like the read pool: a database that is down at start
        # makes requests answer 503 until it is back, not the process fail to start.
        store_pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=8,
            timeout=5.0,
            open=False,
            kwargs={"row_factory": tuple_row},
            check=AsyncConnectionPool.check_connection,
        )
        await store_pool.open()
        app.state.store = EventStore(store_pool)
        app.state.command_cache = StateCache()
        try:
            yield
        finally:
            await app.state.store.close()
            await pool.close()

    v1 = Router(
        path="/v1",
        route_handlers=[
            InventoryController,
            SalesController,
            ForecastsController,
            ProductionOrdersController,
            PurchaseOrdersController,
            DashboardController,
            ProjectionsStatusController,
            export_history,
            stream_events,
            *command_handlers(),
        ],
        middleware=[DefineMiddleware(ApiKeyAuthentication)],
        guards=[read_your_writes],
    )
    app = Litestar(
        route_handlers=[HealthController, DashboardPageController, v1],
        lifespan=[database],
        state=State({"clock": clock, "nats_url": nats_url, "max_lag_seconds": max_lag_seconds}),
        plugins=[problem_details_plugin()],
        request_max_body_size=MAX_BODY_BYTES,
        middleware=[refuse_hostile_strings],
        openapi_config=OpenAPIConfig(
            title="Obrador read API",
            version="1",
            description="Read models of one bakery tenant; the tenant comes from the API key.",
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(
                        type="http", scheme="bearer", description="obrador api-key create"
                    )
                }
            ),
        ),
    )
    document_problems(app)
    document_string_rules(app)  # builds the OpenAPI document: every route is in by now
    document_min_position(app)
    # HEAD and CORS wrap the whole router (before routing decides a 405), see edges.py.
    app.asgi_handler = Cors(HeadAsGet(app.asgi_handler), cors_origins)
    return app


class _KeyRedaction(logging.Filter):
    """Access logs keep paths but never a ``key=`` query value (the dashboard login)."""

    _KEY = re.compile(r"(?<=[?&]key=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._KEY.sub("***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The caller owns the signals and stops us through ``stop``.
        yield


async def serve_api(
    database_url: str,
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    clock: Clock = _utc_now,
    cors_origins: Iterable[str] = (),
    nats_url: str | None = None,
) -> None:
    """Serve the read API on ``host:port`` until ``stop`` is set (OSError if the port is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    app = create_app(database_url, clock=clock, cors_origins=cors_origins, nats_url=nats_url)
    config = uvicorn.Config(app, lifespan="on", log_level="info")
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _KeyRedaction) for f in access.filters):
        access.addFilter(_KeyRedaction())
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopping.cancel()
        await serving
        sock.close()
