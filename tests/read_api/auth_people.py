"""People of the demo tenant who log in (module-scoped: argon2 hashing takes a moment)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from litestar import Litestar
from litestar.testing import AsyncTestClient

from commands.handlers import handle
from commands.types import OpenStore
from deploy.demo import TENANT
from domain.errors import AlreadyExists
from domain.events.organisation import Role, StoreKind
from read_api.users import SYSTEM, NewUser, create_user
from streams.store import EventStore

SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"
Client = AsyncTestClient[Litestar]


@dataclass(frozen=True)
class People:
    owner: NewUser
    store_manager: NewUser
    auditor: NewUser


async def add_people(url: str, tag: str) -> People:
    store = await EventStore.open(url)
    try:
        # The demo loader opens its stores outside the tenant stream; a store manager's
        # store must be open there (the RegisterUser rule), so open it the command's way.
        with contextlib.suppress(AlreadyExists):
            command = OpenStore(
                store_id="madrid-centro",
                name="Madrid Centro",
                kind=StoreKind.SHOP,
                timezone="Europe/Madrid",
                region="ES-MD",
            )
            await handle(command, store, tenant_id=TENANT, actor=SYSTEM)

        async def person(role: Role, stores: tuple[str, ...] = ()) -> NewUser:
            return await create_user(
                store,
                store.pool,
                tenant_id=TENANT,
                email=f"{role.value}.{tag}@demo.example",
                name=f"{role.value} {tag}",
                role=role,
                store_ids=stores,
                password=PASSWORD,
            )

        return People(
            owner=await person(Role.OWNER),
            store_manager=await person(Role.STORE_MANAGER, ("madrid-centro",)),
            auditor=await person(Role.AUDITOR),
        )
    finally:
        await store.close()


async def login(client: Client, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
