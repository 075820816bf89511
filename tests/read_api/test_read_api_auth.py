"""Who may read: a bearer key names the tenant and role; nothing else is trusted."""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from read_api_kit import Bakeries, Client

from deploy.demo import TENANT
from read_api.keys import create_api_key, revoke_api_key

PROBLEM = "application/problem+json"


async def test_health_needs_no_key(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer obrkey_0000_not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-Tenant": TENANT},
    ],
    ids=["none", "empty", "unknown", "basic", "tenant-header"],
)
async def test_every_v1_route_refuses_a_missing_or_unknown_key(
    client: Client,
    headers: dict[str, str],
) -> None:
    for path in (
        "/v1/inventory",
        "/v1/inventory/madrid-centro/barra/lots",
        "/v1/sales/daily",
        "/v1/production-orders",
        "/v1/purchase-orders",
        "/v1/dashboard/summary",
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"].startswith("Bearer")
        body = response.json()
        assert body["status"] == 401 and body["title"] == "Unauthorized" and body["detail"]


async def test_a_revoked_key_stops_working(
    client: Client,
    bakeries: Bakeries,
) -> None:
    key = create_api_key(bakeries.url, TENANT, "auditor", "temporary")
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/inventory", headers=headers)).status_code == 200
    key_id = key.removeprefix("obrkey_").split("_")[0]
    assert revoke_api_key(bakeries.url, TENANT, key_id)
    assert (await client.get("/v1/inventory", headers=headers)).status_code == 401
    assert not revoke_api_key(bakeries.url, TENANT, key_id)


def test_keys_are_stored_only_as_their_sha256(bakeries: Bakeries) -> None:
    key = create_api_key(bakeries.url, TENANT, "planner", "hash check")
    with psycopg.connect(bakeries.url) as conn:
        rows = conn.execute(
            "SELECT tenant_id, role, label, key_sha256, t::text FROM api_keys AS t"
            " WHERE label = 'hash check'"
        ).fetchall()
    assert len(rows) == 1
    tenant, role, label, digest, text = rows[0]
    assert (tenant, role, label) == (TENANT, "planner", "hash check")
    assert bytes(digest) == hashlib.sha256(key.encode()).digest()
    assert key not in text and key.split("_")[-1] not in text


@pytest.mark.parametrize("role", ["admin", ""])
def test_roles_that_do_not_exist_get_no_key(bakeries: Bakeries, role: str) -> None:
    with pytest.raises(ValueError, match="cannot hold an API key"):
        create_api_key(bakeries.url, TENANT, role, "")


@pytest.mark.parametrize("role", ["pos_device", "store_manager"])
def test_store_scoped_roles_get_no_key_without_stores(bakeries: Bakeries, role: str) -> None:
    # With stores they do (tests/read_api/test_auth_scoped_keys.py).
    with pytest.raises(ValueError, match="at least one store"):
        create_api_key(bakeries.url, TENANT, role, "")


def test_a_key_names_a_tenant(bakeries: Bakeries) -> None:
    with pytest.raises(ValueError, match="tenant"):
        create_api_key(bakeries.url, " ", "owner", "")


async def test_a_key_whose_role_lost_read_access_is_refused(
    client: Client,
    bakeries: Bakeries,
) -> None:
    key = create_api_key(bakeries.url, TENANT, "owner", "demoted")
    with psycopg.connect(bakeries.url, autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET role = 'pos_device' WHERE label = 'demoted'")
    response = await client.get("/v1/inventory", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401
