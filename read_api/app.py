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
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from psycopg import AsyncConnection
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from commands.state_cache import StateCache
from read_api.accounts import UsersController
from read_api.alerts import AlertsController
from read_api.auth import SECURITY_SCHEME, jwt_auth
from read_api.changes import CheckpointWatch, stream_changes
from read_api.commands_http import command_handlers, document_optional_tags
from read_api.consistency import document_min_position, read_your_writes
from read_api.controllers import (
    DashboardController,
    ForecastsController,
    InventoryController,
    ProductionOrdersController,
    PurchaseOrdersController,
    SalesController,
)
from read_api.dashboard_http import DashboardViewController
from read_api.edges import Cors, HeadAsGet
from read_api.errors import document_problems, problem_details_plugin
from read_api.event_schemas import get_event_schema, list_event_schemas
from read_api.export import export_history
from read_api.health import DEFAULT_MAX_LAG_SECONDS, HealthController
from read_api.limits import MAX_BODY_BYTES, document_string_rules, refuse_hostile_strings
from read_api.live import stream_events
from read_api.login import AuthController
from read_api.page import DashboardFragmentController, DashboardPageController, static_files
from read_api.projections_status import ProjectionsStatusController
from read_api.ratelimit import RateLimits, SharedCounts, address_limits, caller_limits
from read_api.tokens import AuthConfig, Sessions
from read_api.waste import WasteController
from read_api.workshops import WorkshopOrdersController
from streams.pool_check import check_connection
from streams.store import EventStore

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _read_only(conn: AsyncConnection[Any]) -> None:
    # The read API only SELECTs; the server refuses anything else on these sessions.
    await conn.execute("SET default_transaction_read_only = on")


class MetricsController(PrometheusController):
    """``/metrics``: every Prometheus series of this process (API, store, projectors, …)."""

    path = "/metrics"
    include_in_schema = False


#: Requests, latency and errors by route template (``/v1/inventory/{store}``, not the raw path).
_REQUEST_METRICS = PrometheusConfig(
    app_name="obrador", prefix="obrador_api", group_path=True, exclude=["/metrics"]
)


def create_app(
    database_url: str,
    *,
    clock: Clock = _utc_now,
    cors_origins: Iterable[str] = (),
    auth: AuthConfig | None = None,
    rate_limits: RateLimits | None = None,
    nats_url: str | None = None,
    max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS,
) -> Litestar:
    """The read API on ``database_url`` (``clock`` gives "now" for the dashboard).

    ``cors_origins``: browser origins (``https://shop.example``) allowed to read
    the API from their pages; none by default (docs/api.md, "CORS").
    ``auth``: token lifetimes and signing key; ``rate_limits``: docs/auth.md.
    ``nats_url``, when given, is checked by ``/ready``, as is every projector's lag
    against ``max_lag_seconds`` (read_api/health.py).
    """
    auth = auth or AuthConfig()
    limits = rate_limits or RateLimits()
    shared_counts = SharedCounts()  # the rate limits' windows, shared with other processes
    jwt = jwt_auth(auth)

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
            check=check_connection,  # streams/pool_check.py: no round trip when healthy
        )
        await pool.open()
        app.state.pool = pool
        # The write side (commands, idempotency answers, logins' sessions and their
        # events): one read-write pool. Opened without waiting, like the read pool: a
        # database down at start makes requests answer 503, not the process fail.
        writer: AsyncConnectionPool[Any] = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=8,
            timeout=5.0,
            open=False,
            kwargs={"row_factory": tuple_row},
            check=check_connection,  # streams/pool_check.py: no round trip when healthy
        )
        await writer.open()
        app.state.store = EventStore(writer)
        app.state.command_cache = StateCache()
        app.state.sessions = Sessions(jwt, app.state.store, auth)
        # /v1/stream: one LISTEN connection for the whole process, opened on first use.
        app.state.checkpoint_watch = CheckpointWatch(database_url)
        try:
            async with shared_counts.syncing(writer):
                yield
        finally:
            await app.state.checkpoint_watch.close()
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
            DashboardViewController,
            DashboardFragmentController,
            ProjectionsStatusController,
            AuthController,
            UsersController,
            AlertsController,
            WasteController,
            WorkshopOrdersController,
            export_history,
            list_event_schemas,
            get_event_schema,
            stream_events,
            stream_changes,
            *command_handlers(),
        ],
        middleware=[jwt.middleware, *caller_limits(limits, shared_counts)],
        guards=[read_your_writes],
    )
    app = Litestar(
        route_handlers=[
            HealthController,
            DashboardPageController,
            static_files(),
            MetricsController,
            v1,
        ],
        lifespan=[database],
        state=State({"clock": clock, "nats_url": nats_url, "max_lag_seconds": max_lag_seconds}),
        plugins=[problem_details_plugin()],
        request_max_body_size=MAX_BODY_BYTES,
        middleware=[
            _REQUEST_METRICS.middleware,
            refuse_hostile_strings,
            *address_limits(limits, shared_counts),
        ],
        openapi_config=OpenAPIConfig(
            title="Obrador read API",
            version="1",
            description=(
                "Read models of one bakery tenant; the tenant comes from the credential"
                " (an access token from POST /v1/auth/login, or an API key)."
            ),
            components=Components(
                security_schemes={
                    SECURITY_SCHEME: SecurityScheme(
                        type="http",
                        scheme="bearer",
                        bearer_format="JWT access token or obrkey_ API key",
                        description=(
                            "People: the access_token of POST /v1/auth/login (15 minutes;"
                            " POST /v1/auth/refresh for a new one). Machines: an API key"
                            " from `obrador api-key create`."
                        ),
                    )
                }
            ),
        ),
    )
    document_problems(app)
    document_string_rules(app)  # builds the OpenAPI document: every route is in by now
    document_optional_tags(app)
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
    auth: AuthConfig | None = None,
    rate_limits: RateLimits | None = None,
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
    app = create_app(
        database_url,
        clock=clock,
        cors_origins=cors_origins,
        auth=auth,
        rate_limits=rate_limits,
        nats_url=nats_url,
    )
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
