"""``obrador tenant create`` (a tenant and its owner) and ``obrador user add|list``."""

from __future__ import annotations

import os
import re
import sys

import click

from deploy.cli import common
from deploy.cli.common import tenant_option, with_stack
from deploy.stack import StackUrls
from domain.events.organisation import Role, TenantKind

PASSWORD_ENV = "OBRADOR_PASSWORD"
PEOPLE_ROLES = [r.value for r in Role if r is not Role.POS_DEVICE]


def require_tenant(database_url: str, tenant: str) -> None:
    """Refuse a ``--tenant`` that was never created (the message lists the known ones)."""
    import psycopg

    from domain.streams import TENANT_STREAM

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT tenant_id FROM streams WHERE stream_id = %s ORDER BY tenant_id",
            (TENANT_STREAM,),
        ).fetchall()
    known = [str(row[0]) for row in rows]
    if tenant not in known:
        shown = ", ".join(known[:20]) + (" …" if len(known) > 20 else "") or "none yet"
        raise click.BadParameter(
            f"no tenant {tenant!r} (known: {shown}; create one with 'obrador tenant create')",
            param_hint="'--tenant'",
        )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "tenant"


def _password(from_stdin: bool) -> str | None:
    """From stdin (one line), else ``$OBRADOR_PASSWORD``, else None (one is generated)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return os.environ.get(PASSWORD_ENV) or None


def _how_to_log_in(email: str, password: str, generated: bool) -> str:
    shown = password if generated else "<the password you gave>"
    lines = [
        f"  login     {email}",
        f"  password  {shown}" + ("  (generated, shown once)" if generated else ""),
        "  curl -s -X POST http://127.0.0.1:8000/v1/auth/login -H 'Content-Type: application/json'"
        f' -d \'{{"email": "{email}", "password": "{shown}"}}\'',
    ]
    return "\n".join(lines)


password_stdin = click.option(
    "--password-stdin", is_flag=True, help=f"read the password from stdin (else ${PASSWORD_ENV})"
)


@click.group()
def tenant() -> None:
    """Tenants (a bakery business) and their first login."""


@tenant.command()
@click.argument("name")
@click.option("--owner", "owner_email", required=True, metavar="EMAIL", help="the owner's login")
@click.option("--id", "tenant_id", default=None, help="tenant id (default: NAME in lower case)")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in TenantKind]),
    default=TenantKind.SINGLE_SHOP.value,
    show_default=True,
)
@password_stdin
@common.json_option
@with_stack(nats=False, quiet=True)
async def create(
    urls: StackUrls,
    *,
    name: str,
    owner_email: str,
    tenant_id: str | None,
    kind: str,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Create tenant NAME (the CreateTenant command) and its owner; print how to log in."""
    from commands.handlers import handle
    from commands.types import CreateTenant
    from read_api.users import SYSTEM, create_user
    from streams.store import EventStore

    tenant_id = tenant_id or _slug(name)
    password = _password(password_stdin)
    store = await EventStore.open(urls.database_url)
    try:
        command = CreateTenant(name=name, kind=TenantKind(kind))
        await handle(command, store, tenant_id=tenant_id, actor=SYSTEM)
        owner = await create_user(
            store,
            store.pool,
            tenant_id=tenant_id,
            email=owner_email,
            name=owner_email.split("@", maxsplit=1)[0],
            role=Role.OWNER,
            password=password,
        )
    finally:
        await store.close()
    common.emit(
        {"tenant_id": tenant_id, "user_id": owner.user_id, "email": owner.email}
        | ({"password": owner.password} if password is None else {}),
        as_json,
        lambda: (
            f"tenant {tenant_id!r} created; its owner logs in with\n"
            + _how_to_log_in(owner.email, owner.password, password is None)
        ),
    )


@click.group()
def user() -> None:
    """People who log in to a tenant."""


@user.command("add")
@tenant_option()
@click.argument("email")
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role if r.value != "pos_device"])
)
@click.option(
    "--store", "stores", multiple=True, metavar="STORE", help="a store manager's store (repeat)"
)
@click.option("--name", default=None, help="display name (default: the part before @)")
@password_stdin
@with_stack(nats=False, quiet=True)
async def add(
    urls: StackUrls,
    *,
    tenant: str,
    email: str,
    role: str,
    stores: tuple[str, ...],
    name: str | None,
    password_stdin: bool,
) -> None:
    """Register a person (the RegisterUser command) who can log in."""
    from read_api.users import create_user
    from streams.store import EventStore

    require_tenant(urls.database_url, tenant)
    password = _password(password_stdin)
    store = await EventStore.open(urls.database_url)
    try:
        person = await create_user(
            store,
            store.pool,
            tenant_id=tenant,
            email=email,
            name=name or email.split("@", maxsplit=1)[0],
            role=Role(role),
            store_ids=stores,
            password=password,
        )
    finally:
        await store.close()
    print(f"user {person.user_id} ({role}) added to {tenant!r}")
    print(_how_to_log_in(person.email, person.password, password is None))


@user.command("list")
@tenant_option()
@with_stack(nats=False, quiet=True)
async def list_(urls: StackUrls, tenant: str) -> None:
    """The tenant's logins: e-mail and user id."""
    from read_api.users import list_users
    from streams.store import EventStore

    require_tenant(urls.database_url, tenant)
    store = await EventStore.open(urls.database_url)
    try:
        for email, user_id in await list_users(store.pool, tenant):
            print(f"{email}\t{user_id}")
    finally:
        await store.close()


COMMANDS = [tenant, user]
