"""``/metrics`` serves the process's Prometheus series, API requests by route template included."""

from __future__ import annotations

from tests.read_api.read_api_kit import Client


async def test_metrics_count_requests_by_route_template(
    client: Client, demo: dict[str, str]
) -> None:
    await client.get("/v1/inventory/madrid-centro/barra/lots", headers=demo)
    await client.get("/v1/inventory/madrid-norte/barra/lots", headers=demo)
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    lines = answer.text.splitlines()
    by_template = [
        line
        for line in lines
        if line.startswith("obrador_api_requests_total{")
        and 'path="/v1/inventory/{store}/{item}/lots"' in line
    ]
    assert by_template, "requests are labelled by route template, not by raw path"
    assert not any("madrid-norte" in line for line in lines)
    assert any(line.startswith("obrador_store_append_seconds") for line in lines)


async def test_metrics_are_not_in_the_api_document(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/metrics" not in schema["paths"]
