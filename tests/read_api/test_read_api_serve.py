"""Running it: uvicorn until ``stop``, the OpenAPI document, 500s."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg.conninfo import make_conninfo

from read_api.app import _KeyRedaction, create_app, serve_api
from read_api.commands_http import ROUTES
from read_api.keys import create_api_key

OPERATIONS = {
    "getHealth",
    "listEventSchemas",
    "getEventSchema",
    "createLogin",
    "listInventory",
    "listLots",
    "listDailySales",
    "listForecasts",
    "listProductionOrders",
    "listPurchaseOrders",
    "getDashboardSummary",
    "getDashboard",
    "listParkedEvents",
    "listWaste",
    "listWorkshopOrders",
    "listAlerts",
    "login",
    "refreshToken",
    "logout",
    "whoAmI",
    "changePassword",
    "listUsers",
    "registerUser",
    "changeUserRole",
    "deactivateUser",
    "exportHistory",
    # One per command route (read_api/commands_http.py), named after the command.
    *(r.command.__name__[0].lower() + r.command.__name__[1:] for r in ROUTES),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_serve_api_answers_until_stop_is_set(pg_url: str) -> None:
    port, stop = free_port(), asyncio.Event()
    server = asyncio.create_task(serve_api(pg_url, "127.0.0.1", port, stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        async with asyncio.timeout(15):
            while True:
                try:
                    response = await http.get("/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        assert response.json() == {"status": "ok", "database": "ok"}
        assert (await http.get("/v1/inventory")).status_code == 401
    stop.set()
    async with asyncio.timeout(10):
        await server


async def test_serve_api_refuses_a_port_in_use(pg_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            await serve_api(pg_url, "127.0.0.1", taken.getsockname()[1], asyncio.Event())


def test_access_logs_never_show_a_key() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s"',
        ("1.2.3.4", "GET", "/login?key=s3cret&x=1"),
        None,
    )
    assert _KeyRedaction().filter(record)
    assert "s3cret" not in record.getMessage() and "key=***&x=1" in record.getMessage()


async def test_openapi_names_every_operation(pg_url: str) -> None:
    async with AsyncTestClient(app=create_app(pg_url)) as client:
        schema = (await client.get("/schema/openapi.json")).json()
    operations = {
        op["operationId"]: op for path in schema["paths"].values() for op in path.values()
    }
    assert set(operations) == OPERATIONS
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert operations["listInventory"]["security"] == [{"apiKey": []}]
    assert "security" not in operations["getHealth"]
    params = {p["name"] for p in operations["listDailySales"]["parameters"]}
    assert {"store", "sku", "from", "to", "limit"} <= params


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_an_unexpected_failure_is_a_500_problem_without_internals(pg_url: str) -> None:
    kept = _Kept()  # on the logger itself: Litestar reconfigures the root's handlers
    logging.getLogger("read_api").addHandler(kept)
    key = create_api_key(pg_url, "t1", "owner", "")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE rm_purchase_orders CASCADE")
    try:
        async with AsyncTestClient(app=create_app(pg_url)) as client:
            response = await client.get(
                "/v1/purchase-orders", headers={"Authorization": f"Bearer {key}"}
            )
    finally:
        logging.getLogger("read_api").removeHandler(kept)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Internal Server Error" and "rm_purchase_orders" not in response.text
    assert body["type"] == "urn:obrador:problem:internal-error" and body["detail"]
    [logged] = kept.records
    assert logged.exc_info is not None and "rm_purchase_orders" in str(logged.exc_info[1])


async def test_health_says_503_when_the_database_is_unreachable() -> None:
    async with AsyncTestClient(app=create_app("postgresql://127.0.0.1:9/none")) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "database unreachable"


async def test_the_api_answers_again_after_its_database_connections_are_cut(pg_url: str) -> None:
    url = make_conninfo(pg_url, application_name="read-api-blip")
    key = create_api_key(pg_url, "t1", "owner", "")
    auth = {"Authorization": f"Bearer {key}"}
    async with AsyncTestClient(app=create_app(url)) as client:
        assert (await client.get("/v1/inventory", headers=auth)).status_code == 200
        with psycopg.connect(pg_url, autocommit=True) as admin:
            cut = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'read-api-blip'"
            ).fetchone()
        assert cut is not None and cut[0] >= 1
        for _ in range(3):  # every pooled connection was cut: none may answer a 500
            response = await client.get("/v1/inventory", headers=auth)
            assert response.status_code in {200, 503}, response.text
        assert (await client.get("/v1/inventory", headers=auth)).status_code == 200
        assert (await client.get("/health")).status_code == 200
