"""Accounts over HTTP: one's own password, an owner's role changes and removals, lockouts."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from auth_people import PASSWORD, SECRET, Client, bearer, login
from eventually import eventually
from http_kit import NORTH, Tenants, scratch, tenants_on
from litestar.testing import AsyncTestClient

from deploy.stack import StackUrls
from domain.codec import decode_event
from domain.events import SessionRevoked, UserDeactivated, UserPasswordSet
from domain.events.organisation import Role, SessionRevocationReason
from domain.streams import TENANT_STREAM, session_stream
from read_api.app import create_app
from read_api.lockout import Lockout, LockoutPolicy
from read_api.ratelimit import RateLimits
from read_api.tokens import AuthConfig
from read_api.users import NewUser, create_user
from streams.store import EventStore

PROBLEM = "application/problem+json"
NEW_PASSWORD = "a brand new passphrase"
_serial = itertools.count()


TENANT = NORTH


@pytest.fixture(scope="module")
async def tenants(stack: StackUrls) -> AsyncIterator[Tenants]:
    for made in scratch(stack.database_url):
        yield await tenants_on(made.url)


@pytest.fixture(scope="module")
async def app_client(tenants: Tenants) -> AsyncIterator[Client]:
    app = create_app(tenants.url, auth=AuthConfig(secret=SECRET), rate_limits=RateLimits.off())
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture(scope="module")
async def store(tenants: Tenants) -> AsyncIterator[EventStore]:
    opened = await EventStore.open(tenants.url)
    yield opened
    await opened.close()


@pytest.fixture(scope="module")
async def owner(store: EventStore) -> dict[str, str]:
    return {"email": (await _person(store, Role.OWNER)).email}


async def _person(store: EventStore, role: Role) -> NewUser:
    n = next(_serial)
    return await create_user(
        store,
        store.pool,
        tenant_id=TENANT,
        email=f"{role.value}.accounts{n}@north.example",
        name=f"{role.value} {n}",
        role=role,
        password=PASSWORD,
    )


async def _owner_headers(client: Client, owner: dict[str, str]) -> dict[str, str]:
    return bearer((await login(client, owner["email"]))["access_token"])


async def _events(store: EventStore, stream: str) -> list[object]:
    records = await store.read_stream(TENANT, stream)
    return [decode_event(r.event_type, r.schema_version, r.payload) for r in records]


class TestOwnPassword:
    async def test_a_new_password_ends_every_session_and_answers_a_fresh_pair(
        self, app_client: Client, store: EventStore
    ) -> None:
        person = await _person(store, Role.PLANNER)
        first = await login(app_client, person.email)
        second = await login(app_client, person.email)  # another device
        answer = await app_client.post(
            "/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(first["access_token"]),
        )
        assert answer.status_code == 200, answer.text
        for old in (first, second):
            me = await app_client.get("/v1/auth/me", headers=bearer(old["access_token"]))
            assert me.status_code == 401
            refreshed = await app_client.post(
                "/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
            )
            assert refreshed.status_code == 401
        me = await app_client.get("/v1/auth/me", headers=bearer(answer.json()["access_token"]))
        assert me.json()["user_id"] == person.user_id
        await login(app_client, person.email, NEW_PASSWORD)
        refused = await app_client.post(
            "/v1/auth/login", json={"email": person.email, "password": PASSWORD}
        )
        assert refused.status_code == 401
        tenant = await _events(store, TENANT_STREAM)
        noted = [e for e in tenant if isinstance(e, UserPasswordSet)]
        assert [e.user_id for e in noted].count(person.user_id) == 2  # created, changed
        ended = [
            e
            for e in await _events(store, session_stream(person.user_id))
            if isinstance(e, SessionRevoked)
        ]
        assert len(ended) == 2
        assert {e.reason for e in ended} == {SessionRevocationReason.PASSWORD_CHANGED}
        assert "argon2" not in repr(tenant)

    async def test_the_current_password_is_required_and_the_new_one_checked(
        self, app_client: Client, store: EventStore
    ) -> None:
        person = await _person(store, Role.AUDITOR)  # read-only roles may change theirs
        headers = bearer((await login(app_client, person.email))["access_token"])
        wrong = await app_client.post(
            "/v1/auth/password",
            json={"current_password": "not the one", "new_password": NEW_PASSWORD},
            headers=headers,
        )
        assert wrong.status_code == 422 and wrong.headers["content-type"] == PROBLEM
        assert [e["field"] for e in wrong.json()["errors"]] == ["current_password"]
        short = await app_client.post(
            "/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "short"},
            headers=headers,
        )
        assert short.status_code == 422
        assert [e["field"] for e in short.json()["errors"]] == ["new_password"]
        # Nothing changed: the session and the old password still work.
        assert (await app_client.get("/v1/auth/me", headers=headers)).status_code == 200
        await login(app_client, person.email)

    async def test_an_api_key_has_no_password(self, app_client: Client, tenants: Tenants) -> None:
        answer = await app_client.post(
            "/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=tenants.north,
        )
        assert answer.status_code == 403


class TestOwnerManagesPeople:
    async def test_a_role_change_stops_the_old_tokens_at_once(
        self, app_client: Client, store: EventStore, owner: dict[str, str]
    ) -> None:
        person = await _person(store, Role.PLANNER)
        tokens = await login(app_client, person.email)
        headers = bearer(tokens["access_token"])
        assert (await app_client.get("/v1/auth/me", headers=headers)).json()["role"] == "planner"
        changed = await app_client.post(
            "/v1/users/role",
            json={"user_id": person.user_id, "role": "auditor"},
            headers=await _owner_headers(app_client, owner),
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["position"] > 0
        assert (await app_client.get("/v1/auth/me", headers=headers)).status_code == 401
        fresh = await app_client.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert fresh.status_code == 200  # the session lives on, with the new role
        me = await app_client.get("/v1/auth/me", headers=bearer(fresh.json()["access_token"]))
        assert me.json()["role"] == "auditor"

    async def test_a_removed_user_is_locked_out_at_once(
        self, app_client: Client, store: EventStore, owner: dict[str, str]
    ) -> None:
        person = await _person(store, Role.PRODUCTION_MANAGER)
        tokens = await login(app_client, person.email)
        owner_headers = await _owner_headers(app_client, owner)
        removed = await app_client.post(
            "/v1/users/deactivate",
            json={"user_id": person.user_id, "reason": "left"},
            headers=owner_headers,
        )
        assert removed.status_code == 200, removed.text
        me = await app_client.get("/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 401
        refreshed = await app_client.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 401
        again = await app_client.post(
            "/v1/auth/login", json={"email": person.email, "password": PASSWORD}
        )
        assert again.status_code == 401
        people = (await app_client.get("/v1/users", headers=owner_headers)).json()["items"]
        assert person.user_id not in {p["user_id"] for p in people}
        assert any(
            isinstance(e, UserDeactivated) and e.user_id == person.user_id and e.reason == "left"
            for e in await _events(store, TENANT_STREAM)
        )
        ended = await _events(store, session_stream(person.user_id))
        assert any(
            isinstance(e, SessionRevoked) and e.reason is SessionRevocationReason.USER_DEACTIVATED
            for e in ended
        )
        gone = await app_client.post(
            "/v1/users/deactivate", json={"user_id": person.user_id}, headers=owner_headers
        )
        assert gone.status_code == 404

    async def test_the_list_shows_logins_roles_and_stores(
        self, app_client: Client, owner: dict[str, str]
    ) -> None:
        headers = await _owner_headers(app_client, owner)
        made = await app_client.post(
            "/v1/users",
            json={"user_id": f"u-listed-{next(_serial)}", "name": "Listed", "role": "planner"},
            headers=headers,
        )
        assert made.status_code == 200, made.text
        people = await app_client.get("/v1/users", headers=headers)
        assert people.status_code == 200
        mine = [p for p in people.json()["items"] if p["email"] == owner["email"]]
        assert len(mine) == 1 and mine[0]["role"] == "owner" and mine[0]["store_ids"] == []
        listed = [p for p in people.json()["items"] if p["user_id"].startswith("u-listed-")]
        assert listed and listed[0]["email"] == "" and listed[0]["role"] == "planner"
        allow = (await app_client.options("/v1/users")).headers["allow"]
        assert {"GET", "POST"} <= {m.strip() for m in allow.split(",")}

    async def test_only_an_owner_manages_people(
        self, app_client: Client, store: EventStore
    ) -> None:
        planner = await _person(store, Role.PLANNER)
        victim = await _person(store, Role.AUDITOR)
        headers = bearer((await login(app_client, planner.email))["access_token"])
        attempts = [
            await app_client.get("/v1/users", headers=headers),
            await app_client.post(
                "/v1/users/role", json={"user_id": victim.user_id, "role": "owner"}, headers=headers
            ),
            await app_client.post(
                "/v1/users/deactivate", json={"user_id": victim.user_id}, headers=headers
            ),
        ]
        assert [a.status_code for a in attempts] == [403, 403, 403]
        await login(app_client, victim.email)  # still there

    async def test_another_tenants_owner_finds_no_such_user(
        self, app_client: Client, tenants: Tenants, store: EventStore
    ) -> None:
        victim = await _person(store, Role.AUDITOR)
        rival = tenants.south
        attempts = [
            await app_client.post(
                "/v1/users/role", json={"user_id": victim.user_id, "role": "planner"}, headers=rival
            ),
            await app_client.post(
                "/v1/users/deactivate", json={"user_id": victim.user_id}, headers=rival
            ),
        ]
        assert [a.status_code for a in attempts] == [404, 404]
        assert victim.user_id not in (await app_client.get("/v1/users", headers=rival)).text
        await login(app_client, victim.email)

    async def test_the_last_owner_stays(self, app_client: Client, tenants: Tenants) -> None:
        # A tenant of its own with one owner, so other tests' owners do not count.
        tenant = f"solo-{next(_serial)}"
        opened = await EventStore.open(tenants.url)
        try:
            from commands.handlers import handle
            from commands.types import CreateTenant
            from domain.events.organisation import TenantKind
            from read_api.users import SYSTEM

            await handle(
                CreateTenant(name="Solo", kind=TenantKind.SINGLE_SHOP),
                opened,
                tenant_id=tenant,
                actor=SYSTEM,
            )
            solo = await create_user(
                opened,
                opened.pool,
                tenant_id=tenant,
                email=f"{tenant}@solo.example",
                name="solo",
                role=Role.OWNER,
                password=PASSWORD,
            )
        finally:
            await opened.close()
        headers = bearer((await login(app_client, solo.email))["access_token"])
        refused = await app_client.post(
            "/v1/users/deactivate", json={"user_id": solo.user_id}, headers=headers
        )
        assert refused.status_code == 422, refused.text
        assert (await app_client.get("/v1/auth/me", headers=headers)).status_code == 200


class TestFailedLogins:
    async def test_five_failures_lock_the_account_known_or_not_alike(
        self, app_client: Client, store: EventStore
    ) -> None:
        person = await _person(store, Role.PLANNER)
        answers: dict[str, list[int]] = {}
        locked = {}
        for email in (person.email, f"nobody{next(_serial)}@north.example"):
            body = {"email": email, "password": "wrong password"}
            statuses = [
                (await app_client.post("/v1/auth/login", json=body)).status_code for _ in range(5)
            ]
            # The right password does not open a locked account (nor reveals it exists).
            locked[email] = await app_client.post(
                "/v1/auth/login", json={"email": email, "password": PASSWORD}
            )
            answers[email] = [*statuses, locked[email].status_code]
        assert list(answers.values()) == [[401] * 5 + [429]] * 2
        known, unknown = locked.values()
        assert known.json() == unknown.json()
        assert known.headers["content-type"] == PROBLEM
        assert 290 <= int(known.headers["retry-after"]) <= 300  # the first lock: 5 minutes
        assert known.headers["retry-after"] == unknown.headers["retry-after"]
        # Per account: another account from the same address is not affected.
        await login(app_client, (await _person(store, Role.PLANNER)).email)

    async def test_locks_double_and_a_success_clears_the_count(self, store: EventStore) -> None:
        policy = LockoutPolicy(
            max_failures=2,
            first_lock=timedelta(milliseconds=200),
            max_lock=timedelta(milliseconds=500),
        )
        lockout = Lockout(store.pool, policy)
        email = f"backoff{next(_serial)}@north.example"
        locks = []
        for _ in range(3):
            assert await lockout.failed(email) is None
            locks.append(await lockout.failed(email))

            async def open_again() -> bool:
                try:
                    await lockout.check(email)
                except Exception:
                    return False
                return True

            await eventually(open_again, timeout=5)
        assert locks == [0.2, 0.4, 0.5]  # doubling, capped
        assert await lockout.failed(email) is None
        await lockout.succeeded(email)
        assert await lockout.failed(email) is None  # counting starts again
