"""``obrador api`` (serve the read API) and ``obrador api-key create|revoke``."""

from __future__ import annotations

import asyncio
import sys

import click

from deploy.cli.common import current_settings, tenant_option, with_stack
from deploy.stack import StackUrls
from read_api.keys import KEY_ROLES


@click.command()
@click.option("--host", help="default: $OBRADOR_API_HOST or 127.0.0.1")
@click.option("--port", type=int, help="default: $OBRADOR_API_PORT or 8000")
@with_stack(nats=False)
def api(urls: StackUrls, host: str | None, port: int | None) -> None:
    """Serve the read API and dashboard, until Ctrl-C."""
    from read_api.app import serve_api

    settings = current_settings()
    host = host or settings.api_host
    port = settings.api_port if port is None else port

    from deploy.node import check_api_port
    from deploy.supervisor import Component, Supervisor

    settings = settings.model_copy(update={"api_host": host, "api_port": port})
    check_api_port(settings)

    async def run(stop: asyncio.Event) -> None:
        await serve_api(urls.database_url, host, port, stop, nats_url=settings.nats_url)

    print(f"read API on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    asyncio.run(Supervisor([Component("api", run)]).run())


@click.group("api-key")
def api_key() -> None:
    """API keys for machines (the key names its tenant, role and, if scoped, stores)."""


@api_key.command()
@tenant_option()
@click.option("--role", required=True, type=click.Choice(sorted(role.value for role in KEY_ROLES)))
@click.option(
    "--store",
    "stores",
    multiple=True,
    metavar="STORE",
    help="a store of a store_manager or pos_device key (repeat; open in the tenant)",
)
@click.option("--label", default="", help="who or what holds it")
@with_stack(nats=False, quiet=True)
async def create(
    urls: StackUrls, tenant: str, role: str, stores: tuple[str, ...], label: str
) -> int:
    """A new key for the tenant; prints it once."""
    from deploy.cli.tenant import require_tenant
    from read_api.keys import check_key_scope, create_api_key, unknown_stores

    require_tenant(urls.database_url, tenant)
    try:
        check_key_scope(role, stores)
        unknown = await unknown_stores(urls.database_url, tenant, stores)
        if unknown:
            raise ValueError(f"no open store {', '.join(unknown)} in tenant {tenant!r}")
        key = create_api_key(urls.database_url, tenant, role, label, stores)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(key)
    scope = f", stores {', '.join(stores)}" if stores else ""
    print(
        f"(shown once; tenant {tenant!r}, role {role}{scope}; "
        "send it as 'Authorization: Bearer <key>' or open /login?key=<key>)",
        file=sys.stderr,
    )
    return 0


@api_key.command()
@tenant_option()
@click.argument("key_id")
@with_stack(nats=False, quiet=True)
def revoke(urls: StackUrls, tenant: str, key_id: str) -> int:
    """The key stops working at once (KEY_ID: the part after 'obrkey_' and before the next '_')."""
    from deploy.cli.tenant import require_tenant
    from read_api.keys import revoke_api_key

    require_tenant(urls.database_url, tenant)
    revoked = revoke_api_key(urls.database_url, tenant, key_id)
    print("revoked" if revoked else f"no live key {key_id!r} for {tenant!r}")
    return 0 if revoked else 1


COMMANDS = [api, api_key]
