"""The API's edges: OPTIONS/HEAD/CORS, hostile strings and dates, problem documents.

Routes and parameters come from the app's own OpenAPI document, so a route added
later is covered without touching this file.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient
from read_api_kit import Bakeries, Client

from domain.limits import MAX_TEXT
from read_api.app import create_app
from read_api.limits import DATE_PATTERN, FIRST_DATE, LAST_DATE

PROBLEM = "application/problem+json"
PATH_VALUES = {"store": "madrid-centro", "item": "harina"}
PAGES = ["/", "/login", "/logout"]
HOSTILE = {
    "nul": "a\x00b",
    "control": "a\x1fb",
    "delete": "a\x7fb",
    "newline": "a\nb",
    "c1-control": "a\x85b",
    "too-long": "x" * (MAX_TEXT + 1),
}


def _path(template: str, **override: str) -> str:
    values = {**PATH_VALUES, **override}
    for name, value in values.items():
        template = template.replace("{" + name + "}", quote(value, safe=""))
    return template


async def _schema(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


async def _operations(client: Client) -> list[tuple[str, str, dict[str, Any]]]:
    schema = await _schema(client)
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "head", "post", "put", "patch", "delete"}
    ]


def _is_string(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type", [])
    return "string" in ([kinds] if isinstance(kinds, str) else kinds) or any(
        _is_string(s) for s in schema.get("oneOf", [])
    )


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


async def test_options_is_answered_on_every_route_without_cors_by_default(
    client: Client,
) -> None:
    methods: dict[str, set[str]] = {_path(p): {"GET", "HEAD"} for p in PAGES}
    for p, method, _ in await _operations(client):
        methods.setdefault(_path(p), set()).update(
            {"GET", "HEAD"} if method == "get" else {method.upper()}
        )
    assert len(methods) >= 10
    for path, expected in methods.items():
        for headers in (
            {},
            {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"},
        ):
            response = await client.options(path, headers=headers)
            assert response.status_code == 204, (path, response.text)
            allowed = {m.strip() for m in response.headers["allow"].split(",")}
            assert {*expected, "OPTIONS"} <= allowed, path
            assert "OPTIONS" in allowed and allowed & {"GET", "POST"}, path
            assert "HEAD" in allowed or "GET" not in allowed, path  # a GET answers HEAD too
            assert "access-control-allow-origin" not in response.headers


async def test_cors_answers_only_the_origins_it_is_given(bakeries: Bakeries) -> None:
    shop = "https://shop.example"
    app = create_app(bakeries.url, cors_origins=[shop])
    auth = {"Authorization": f"Bearer {bakeries.demo_key}"}
    async with AsyncTestClient(app=app) as cors:
        preflight = await cors.options(
            "/v1/inventory",
            headers={
                "Origin": shop,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == shop
        assert "GET" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "Origin" in preflight.headers["vary"]
        stranger = await cors.options(
            "/v1/inventory",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert stranger.status_code == 204
        assert "access-control-allow-origin" not in stranger.headers
        read = await cors.get("/v1/inventory", headers={**auth, "Origin": shop})
        assert read.status_code == 200
        assert read.headers["access-control-allow-origin"] == shop
        refused = await cors.get("/v1/inventory", headers={"Origin": shop})
        _assert_problem(refused, 401)
        assert refused.headers["access-control-allow-origin"] == shop


async def test_head_is_get_without_a_body_on_every_route(
    client: Client, demo: dict[str, str]
) -> None:
    for path in [_path(p) for p, m, _ in await _operations(client) if m == "get"] + PAGES:
        got = await client.get(path, headers=demo, follow_redirects=False)
        head = await client.head(path, headers=demo, follow_redirects=False)
        assert head.status_code == got.status_code, path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.content == b"", path


async def test_a_hostile_string_in_any_parameter_is_a_400_naming_it(
    client: Client, demo: dict[str, str]
) -> None:
    checked = 0
    for path, method, op in await _operations(client):
        for param in op.get("parameters", []):
            if param["in"] not in {"query", "path"} or not _is_string(param["schema"]):
                continue
            name = param["name"]
            hostile = dict(HOSTILE)
            if "maxLength" in param["schema"]:  # its own, tighter bound
                hostile["over-its-max"] = "x" * (param["schema"]["maxLength"] + 1)
            for label, value in hostile.items():
                if param["in"] == "path":
                    url = _path(path, **{name: value})
                else:
                    url = f"{_path(path)}?{quote(name)}={quote(value, safe='')}"
                response = await client.request(method.upper(), url, headers=demo)
                body = _assert_problem(response, 400)
                assert [(e["field"], e["source"]) for e in body["errors"]] == [
                    (name, param["in"])
                ], (url, label, body)
                checked += 1
    assert checked >= 10 * len(HOSTILE)  # store, item, sku, status, from, to, date…


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/dashboard/summary?date=0001-01-01", "date"),
        ("/v1/dashboard/summary?date=9999-12-31", "date"),
        ("/v1/sales/daily?from=0001-01-01", "from"),
        ("/v1/forecasts?to=9999-12-31", "to"),
    ],
)
async def test_a_date_outside_the_window_is_a_400_naming_it(
    client: Client, demo: dict[str, str], url: str, field: str
) -> None:
    body = _assert_problem(await client.get(url, headers=demo), 400)
    assert [e["field"] for e in body["errors"]] == [field]


async def test_every_kind_of_error_is_a_typed_problem_document(
    client: Client, demo: dict[str, str]
) -> None:
    cases = [
        ("GET", "/v1/inventory", {}, 401),
        ("GET", "/v1/inventory/nowhere/nothing/lots", demo, 404),
        ("GET", "/v1/ovens", demo, 404),
        ("POST", "/v1/inventory", demo, 405),
        ("DELETE", "/health", {}, 405),
        ("GET", "/v1/sales/daily?limit=0", demo, 400),
        ("GET", "/v1/sales/daily?from=2019-04-20&to=2019-04-10", demo, 422),
    ]
    types = set()
    for method, url, headers, status in cases:
        body = _assert_problem(await client.request(method, url, headers=headers), status)
        types.add((status, body["type"]))
    assert len({t for _, t in types}) == len({s for s, _ in types})  # one type per kind


async def test_405_says_which_methods_are_allowed(client: Client, demo: dict[str, str]) -> None:
    response = await client.post("/v1/sales/daily", headers=demo)
    _assert_problem(response, 405)
    assert {"GET", "HEAD", "OPTIONS"} <= {m.strip() for m in response.headers["allow"].split(",")}


async def test_openapi_documents_the_problems_of_every_operation(client: Client) -> None:
    schema = await _schema(client)
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert "errors" in problem["properties"]
    for path, method, op in await _operations(client):
        expected = {"400", "404", "405", "422", "500", "503"}
        if op.get("security"):
            expected |= {"401", "403"}
        assert expected <= set(op["responses"]), (path, method)
        for status in expected:
            content = op["responses"][status]["content"]
            assert list(content) == [PROBLEM], (path, method, status)
            assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_the_documented_date_pattern_is_the_window() -> None:
    inside = [FIRST_DATE, LAST_DATE, FIRST_DATE + timedelta(days=1), LAST_DATE - timedelta(days=1)]
    outside = [FIRST_DATE - timedelta(days=1), LAST_DATE + timedelta(days=1), date(1, 1, 1)]
    assert all(re.fullmatch(DATE_PATTERN, d.isoformat()) for d in inside)
    assert not any(re.fullmatch(DATE_PATTERN, d.isoformat()) for d in outside)


@pytest.mark.parametrize(
    "url",
    [
        "/login?key=obrkey_%00",
        "/login?key=obrkey_%FF%FE",
        "/login?key=obrkey_" + "x" * 5000,
        "/?date=0001-01-01",
        "/?date=9999-12-31",
        "/?date=2019-04-30%00",
    ],
)
async def test_the_dashboard_page_refuses_hostile_input_without_a_5xx(
    client: Client, bakeries: Bakeries, url: str
) -> None:
    client.cookies.set("obrador_key", bakeries.demo_key)
    try:
        response = await client.get(url, follow_redirects=False)
    finally:
        client.cookies.clear()
    assert response.status_code in {400, 401}, (url, response.text[:300])
    if response.status_code == 400:
        _assert_problem(response, 400)


@pytest.mark.parametrize(
    "url",
    [
        "/v1/inventory?store=madrid-centro&store=alcala",
        "/v1/%00",
        "/health%00",
        "/v1/inventory/%2F/x/lots",
        "/v1/inventory/madrid-centro/%FF%FE/lots",
        "/v1/inventory?limit=99999999999999999999999999",
        "/v1/inventory?limit=%00",
        "/v1/sales/daily?from=2019-04-01T00:00:00",
        "/v1/inventory?%00=1",
        "/v1/production-orders?status=%00",
        "/v1/dashboard/summary?date=",
        "/v1/inventory?" + "&".join(f"p{i}=1" for i in range(60)),
    ],
)
async def test_odd_urls_get_a_4xx_problem_never_a_5xx(
    client: Client, demo: dict[str, str], url: str
) -> None:
    response = await client.get(url, headers=demo)
    assert response.status_code < 500, (url, response.text)
    if response.status_code >= 400:
        _assert_problem(response, response.status_code)


async def test_openapi_states_a_rule_for_every_string_parameter(client: Client) -> None:
    for path, method, op in await _operations(client):
        for param in op.get("parameters", []):
            schema = param["schema"]
            if _is_string(schema) and "enum" not in schema:
                assert schema.get("pattern") and schema.get("maxLength"), (path, method, param)
                assert not re.search(schema["pattern"], "a\x00b"), (path, param["name"])
