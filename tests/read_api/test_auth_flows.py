"""People log in: access tokens, rotating refresh tokens, revocation, no enumeration."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from auth_people import PASSWORD, SECRET, Client, People, add_people, bearer, login
from litestar.testing import AsyncTestClient
from read_api_kit import NOW, Bakeries

from deploy.demo import TENANT
from domain.codec import decode_event
from domain.events import SessionRevoked, SessionStarted, UserPasswordSet, UserRegistered
from domain.events.organisation import SessionRevocationReason
from domain.streams import TENANT_STREAM, session_stream
from read_api.app import create_app
from read_api.ratelimit import RateLimits
from read_api.tokens import AuthConfig
from read_api.users import check_credentials
from streams.personal import open_records
from streams.store import EventStore

PROBLEM = "application/problem+json"
NO_LIMITS = RateLimits(per_address=None, per_caller=None, login_per_address=None)


@pytest.fixture(scope="module")
async def people(bakeries: Bakeries) -> People:
    return await add_people(bakeries.url, "flows")


@pytest.fixture(scope="module")
async def app_client(bakeries: Bakeries) -> AsyncIterator[Client]:
    app = create_app(
        bakeries.url, clock=lambda: NOW, auth=AuthConfig(secret=SECRET), rate_limits=NO_LIMITS
    )
    async with AsyncTestClient(app=app) as client:
        yield client


async def _events(url: str, stream: str) -> list[object]:
    store = await EventStore.open(url)
    try:
        # Personal fields are sealed in the store (docs/gdpr.md); readers open them.
        records = await open_records(
            store.keyring.keys_for_reading, await store.read_stream(TENANT, stream)
        )
    finally:
        await store.close()
    return [decode_event(r.event_type, r.schema_version, r.payload) for r in records]


class TestLogin:
    async def test_a_login_gives_an_access_token_that_reads_its_tenant(
        self, app_client: Client, people: People
    ) -> None:
        tokens = await login(app_client, people.owner.email)
        assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 15 * 60
        me = await app_client.get("/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.json() == {
            "tenant_id": TENANT,
            "role": "owner",
            "kind": "user",
            "user_id": people.owner.user_id,
            "key_id": None,
            "store_ids": [],
        }
        stock = await app_client.get("/v1/inventory", headers=bearer(tokens["access_token"]))
        assert stock.status_code == 200 and stock.json()["items"]

    async def test_the_email_is_not_case_sensitive(
        self, app_client: Client, people: People
    ) -> None:
        await login(app_client, people.owner.email.upper())

    async def test_wrong_password_and_unknown_email_get_the_same_answer(
        self, app_client: Client, people: People
    ) -> None:
        wrong = await app_client.post(
            "/v1/auth/login", json={"email": people.owner.email, "password": "not it at all"}
        )
        unknown = await app_client.post(
            "/v1/auth/login", json={"email": "nobody@demo.example", "password": PASSWORD}
        )
        for response in (wrong, unknown):
            assert response.status_code == 401
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert wrong.json() == unknown.json()
        assert wrong.json()["detail"] == "wrong e-mail or password"

    async def test_an_unknown_email_takes_as_long_as_a_wrong_password(
        self, bakeries: Bakeries, people: People
    ) -> None:
        store = await EventStore.open(bakeries.url)
        try:

            async def median(email: str) -> float:
                times = []
                for _ in range(5):
                    started = time.perf_counter()
                    assert await check_credentials(store.pool, email, "wrong password") is None
                    times.append(time.perf_counter() - started)
                return statistics.median(times)

            wrong = await median(people.owner.email)
            unknown = await median("nobody@demo.example")
        finally:
            await store.close()
        # Both verify an argon2 hash; without the dummy hash an unknown e-mail is ~100x faster.
        assert unknown > 0.4 * wrong, (unknown, wrong)

    async def test_users_and_logins_are_events_without_the_password_hash(
        self, bakeries: Bakeries, app_client: Client, people: People
    ) -> None:
        tenant = await _events(bakeries.url, TENANT_STREAM)
        registered = [e for e in tenant if isinstance(e, UserRegistered)]
        assert any(
            e.user_id == people.owner.user_id and e.email == people.owner.email for e in registered
        )
        assert any(
            isinstance(e, UserPasswordSet) and e.user_id == people.owner.user_id for e in tenant
        )
        assert "argon2" not in repr(tenant)
        await login(app_client, people.auditor.email)
        sessions = await _events(bakeries.url, session_stream(people.auditor.user_id))
        assert any(isinstance(e, SessionStarted) for e in sessions)


class TestRefresh:
    async def test_a_refresh_token_is_spent_for_a_new_pair(
        self, app_client: Client, people: People
    ) -> None:
        first = await login(app_client, people.owner.email)
        response = await app_client.post(
            "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert response.status_code == 200
        second = response.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        me = await app_client.get("/v1/auth/me", headers=bearer(second["access_token"]))
        assert me.json()["user_id"] == people.owner.user_id

    async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
        self, bakeries: Bakeries, app_client: Client, people: People
    ) -> None:
        first = await login(app_client, people.store_manager.email)
        second = (
            await app_client.post(
                "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
            )
        ).json()
        reuse = await app_client.post(
            "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert reuse.status_code == 401 and "already used" in reuse.json()["detail"]
        # The thief's copy is dead, and so is everything the session handed out since.
        later = await app_client.post(
            "/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
        )
        assert later.status_code == 401
        for token in (first["access_token"], second["access_token"]):
            gone = await app_client.get("/v1/inventory", headers=bearer(token))
            assert gone.status_code == 401
            assert gone.headers["content-type"] == PROBLEM
        revoked = [
            e
            for e in await _events(bakeries.url, session_stream(people.store_manager.user_id))
            if isinstance(e, SessionRevoked)
        ]
        assert [e.reason for e in revoked] == [SessionRevocationReason.REFRESH_REUSED]

    async def test_an_unknown_refresh_token_is_refused(self, app_client: Client) -> None:
        for token in ("obrrt_nothing", "eyJhbGciOi.not.one", "x" * 200):
            response = await app_client.post("/v1/auth/refresh", json={"refresh_token": token})
            assert response.status_code == 401, token
            assert response.headers["content-type"] == PROBLEM


class TestExpiryAndLogout:
    async def test_an_expired_access_token_is_refused(
        self, app_client: Client, people: People
    ) -> None:
        live = await login(app_client, people.owner.email)
        claims = jwt.decode(live["access_token"], SECRET, algorithms=["HS256"])
        past = datetime.now(UTC) - timedelta(minutes=1)
        claims["exp"] = int(past.timestamp())
        claims["iat"] = int((past - timedelta(minutes=15)).timestamp())
        expired = jwt.encode(claims, SECRET, algorithm="HS256")
        response = await app_client.get("/v1/inventory", headers=bearer(expired))
        assert response.status_code == 401
        assert "expired" in response.json()["detail"]

    async def test_a_token_signed_with_another_key_is_refused(
        self, app_client: Client, people: People
    ) -> None:
        live = await login(app_client, people.owner.email)
        claims = jwt.decode(live["access_token"], SECRET, algorithms=["HS256"])
        claims["extras"]["tenant"] = "rival-bakery"
        forged = jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256")
        response = await app_client.get("/v1/inventory", headers=bearer(forged))
        assert response.status_code == 401

    async def test_logout_ends_the_session(
        self, bakeries: Bakeries, app_client: Client, people: People
    ) -> None:
        tokens = await login(app_client, people.auditor.email)
        response = await app_client.post(
            "/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
        )
        assert response.status_code == 204
        me = await app_client.get("/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 401
        again = await app_client.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert again.status_code == 401
        events = await _events(bakeries.url, session_stream(people.auditor.user_id))
        assert SessionRevocationReason.LOGOUT in [
            e.reason for e in events if isinstance(e, SessionRevoked)
        ]


async def test_api_keys_still_work_beside_tokens(app_client: Client, bakeries: Bakeries) -> None:
    me = await app_client.get("/v1/auth/me", headers=bearer(bakeries.demo_key))
    body = me.json()
    assert (body["tenant_id"], body["kind"], body["role"]) == (TENANT, "key", "owner")
    assert body["key_id"] and body["user_id"] is None


async def test_an_expired_refresh_token_is_refused(bakeries: Bakeries, people: People) -> None:
    config = AuthConfig(secret=SECRET, refresh_ttl=timedelta(0))
    app = create_app(bakeries.url, auth=config, rate_limits=RateLimits.off())
    async with AsyncTestClient(app=app) as client:
        tokens = await login(client, people.owner.email)
        response = await client.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert response.status_code == 401 and "expired" in response.json()["detail"]


async def test_openapi_documents_how_to_log_in(app_client: Client) -> None:
    schema = (await app_client.get("/schema/openapi.json")).json()
    scheme = schema["components"]["securitySchemes"]["apiKey"]
    assert scheme["scheme"] == "bearer" and "login" in scheme["description"]
    login_op = schema["paths"]["/v1/auth/login"]["post"]
    assert login_op.get("security", []) == []  # no credential needed
    assert {"401", "429"} <= set(login_op["responses"])
    body = login_op["requestBody"]["content"]["application/json"]["schema"]
    assert body  # the Login struct (email, password), by reference
    me = schema["paths"]["/v1/auth/me"]["get"]
    assert me["security"] == [{"apiKey": []}]
