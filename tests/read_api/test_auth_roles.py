"""Who may see and do what: store managers in their stores, auditors read-only, rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from auth_people import SECRET, Client, People, add_people, bearer, login
from litestar.testing import AsyncTestClient
from read_api_kit import NOW, Bakeries

from commands.handlers import handle
from commands.types import ChangeUserRole, OpenStore
from deploy.demo import TENANT
from domain.errors import PermissionDenied
from domain.events.organisation import Role, StoreKind
from domain.streams import TENANT_STREAM
from read_api.app import create_app
from read_api.keys import Principal, actor_of
from read_api.ratelimit import RateLimits
from read_api.tokens import AuthConfig
from read_api.users import SYSTEM
from streams.store import EventStore

PROBLEM = "application/problem+json"
NO_LIMITS = RateLimits(per_address=None, per_caller=None, login_per_address=None)
CENTRO = "madrid-centro"


@pytest.fixture(scope="module")
async def people(bakeries: Bakeries) -> People:
    return await add_people(bakeries.url, "roles")


@pytest.fixture(scope="module")
async def app_client(bakeries: Bakeries) -> AsyncIterator[Client]:
    app = create_app(
        bakeries.url, clock=lambda: NOW, auth=AuthConfig(secret=SECRET), rate_limits=NO_LIMITS
    )
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture(scope="module")
async def manager(app_client: Client, people: People) -> dict[str, str]:
    return bearer((await login(app_client, people.store_manager.email))["access_token"])


class TestStoreManager:
    async def test_sees_only_their_stores_when_asking_for_all(
        self, app_client: Client, manager: dict[str, str], demo: dict[str, str]
    ) -> None:
        for path, column in (
            ("/v1/inventory", "store_id"),
            ("/v1/sales/daily", "store_id"),
        ):
            everything = (await app_client.get(path, headers=demo)).json()["items"]
            mine = (await app_client.get(path, headers=manager)).json()["items"]
            assert {row[column] for row in everything} - {CENTRO}, path  # others exist
            assert mine and {row[column] for row in mine} == {CENTRO}, path
            assert mine == [row for row in everything if row[column] == CENTRO], path

    async def test_purchase_orders_of_their_stores_only(
        self, app_client: Client, manager: dict[str, str], demo: dict[str, str]
    ) -> None:
        everything = (await app_client.get("/v1/purchase-orders", headers=demo)).json()["items"]
        mine = (await app_client.get("/v1/purchase-orders", headers=manager)).json()["items"]
        assert mine == [row for row in everything if row["store_id"] == CENTRO]

    async def test_production_orders_of_their_stores_only(
        self, app_client: Client, manager: dict[str, str]
    ) -> None:
        orders = (await app_client.get("/v1/production-orders", headers=manager)).json()["items"]
        assert orders
        for order in orders:
            assert CENTRO in (order["producing_store_id"], order["destination_store_id"])

    async def test_alerts_of_their_stores_only(
        self, app_client: Client, manager: dict[str, str], demo: dict[str, str]
    ) -> None:
        everything = (await app_client.get("/v1/alerts?status=all", headers=demo)).json()
        mine = (await app_client.get("/v1/alerts?status=all", headers=manager)).json()
        stores = {a["related"]["store_id"] for a in everything["items"]}
        assert CENTRO in stores and len(stores) > 1  # the filter has something to do
        assert mine["items"] == [
            a for a in everything["items"] if a["related"]["store_id"] == CENTRO
        ]

    async def test_the_dashboard_shows_only_their_stores(
        self, app_client: Client, manager: dict[str, str]
    ) -> None:
        summary = (await app_client.get("/v1/dashboard/summary", headers=manager)).json()
        assert [s["store_id"] for s in summary["stores"]] == [CENTRO]

    @pytest.mark.parametrize(
        "path",
        [
            "/v1/inventory?store=madrid-norte",
            "/v1/sales/daily?store=alcala",
            "/v1/forecasts?store=madrid-norte",
            "/v1/production-orders?store=alcala",
            "/v1/inventory/madrid-norte/harina/lots",
            "/v1/alerts?store=alcala",
            "/v1/projections/parked",
        ],
    )
    async def test_another_store_is_forbidden(
        self, app_client: Client, manager: dict[str, str], path: str
    ) -> None:
        response = await app_client.get(path, headers=manager)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == PROBLEM

    async def test_their_own_store_by_name(
        self, app_client: Client, manager: dict[str, str]
    ) -> None:
        response = await app_client.get(f"/v1/inventory?store={CENTRO}", headers=manager)
        assert response.status_code == 200 and response.json()["items"]


class TestWriting:
    async def test_an_auditor_cannot_write(self, bakeries: Bakeries, people: People) -> None:
        auditor = Principal(tenant_id=TENANT, role="auditor", user_id=people.auditor.user_id)
        store = await EventStore.open(bakeries.url)
        try:
            before = await store.stream_version(TENANT, TENANT_STREAM)
            command = OpenStore(
                store_id="auditor-shop",
                name="No",
                kind=StoreKind.SHOP,
                timezone="Europe/Madrid",
                region="ES-MD",
            )
            with pytest.raises(PermissionDenied):
                await handle(command, store, tenant_id=TENANT, actor=actor_of(auditor))
            assert await store.stream_version(TENANT, TENANT_STREAM) == before
        finally:
            await store.close()

    def test_actor_of_keeps_the_store_scope(self) -> None:
        principal = Principal(
            tenant_id=TENANT, role="store_manager", user_id="u-1", store_ids=(CENTRO,)
        )
        actor = actor_of(principal)
        assert (actor.user_id, actor.role, actor.store_ids) == (
            "u-1",
            Role.STORE_MANAGER,
            frozenset({CENTRO}),
        )
        key = actor_of(Principal(tenant_id=TENANT, role="planner", key_id="k1"))
        assert (key.user_id, key.role) == ("k1", Role.PLANNER)

    async def test_a_role_change_reaches_the_token_at_the_next_refresh(
        self, bakeries: Bakeries, app_client: Client, people: People
    ) -> None:
        tokens = await login(app_client, people.owner.email)
        store = await EventStore.open(bakeries.url)
        try:
            # A second owner first: the last owner may not step down.
            await handle(
                ChangeUserRole(user_id=people.auditor.user_id, role=Role.OWNER),
                store,
                tenant_id=TENANT,
                actor=SYSTEM,
            )
            await handle(
                ChangeUserRole(user_id=people.owner.user_id, role=Role.PLANNER),
                store,
                tenant_id=TENANT,
                actor=SYSTEM,
            )
        finally:
            await store.close()
        fresh = await app_client.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        me = await app_client.get("/v1/auth/me", headers=bearer(fresh.json()["access_token"]))
        assert me.json()["role"] == "planner"


class TestRateLimits:
    async def test_login_is_limited_per_address_with_retry_after(
        self, bakeries: Bakeries, people: People
    ) -> None:
        limits = RateLimits(login_per_address=("minute", 2))
        app = create_app(bakeries.url, auth=AuthConfig(secret=SECRET), rate_limits=limits)
        async with AsyncTestClient(app=app) as client:
            body = {"email": people.owner.email, "password": "wrong password"}
            answers = [(await client.post("/v1/auth/login", json=body)) for _ in range(3)]
            assert [a.status_code for a in answers] == [401, 401, 429]
            limited = answers[-1]
            assert limited.headers["content-type"] == PROBLEM
            assert limited.json()["status"] == 429
            assert 1 <= int(limited.headers["retry-after"]) <= 60
            # Reading is not login: it still works from the same address.
            stock = await client.get("/v1/inventory", headers=bearer(bakeries.demo_key))
            assert stock.status_code == 200

    async def test_each_caller_has_a_budget(self, bakeries: Bakeries) -> None:
        limits = RateLimits(per_caller=("minute", 3))
        app = create_app(bakeries.url, auth=AuthConfig(secret=SECRET), rate_limits=limits)
        async with AsyncTestClient(app=app) as client:
            demo = bearer(bakeries.demo_key)
            codes = [(await client.get("/v1/auth/me", headers=demo)).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            rival = await client.get("/v1/auth/me", headers=bearer(bakeries.rival_key))
            assert rival.status_code == 200  # another caller, its own budget
