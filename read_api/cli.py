"""``obrador api`` (serve the read API) and ``obrador api-key create|revoke``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import TypeAlias

from deploy.settings import Settings
from deploy.stack import running_stack
from read_api.keys import READ_ROLES, create_api_key, revoke_api_key

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: SubParsers) -> None:
    api = sub.add_parser("api", help="serve the read API and dashboard, forever")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(func=cmd_api)
    keys = sub.add_parser("api-key", help="read API keys (the key names its tenant and role)")
    verbs = keys.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="a new key for TENANT; prints it once")
    create.add_argument("tenant")
    create.add_argument("--role", required=True, choices=sorted(READ_ROLES))
    create.add_argument("--label", default="", help="who or what holds it")
    create.set_defaults(func=cmd_create_key)
    revoke = verbs.add_parser("revoke", help="the key stops working at once")
    revoke.add_argument("tenant")
    revoke.add_argument("key_id", help="the part after 'obrkey_' and before the next '_'")
    revoke.set_defaults(func=cmd_revoke_key)


def cmd_create_key(args: argparse.Namespace) -> int:
    with running_stack(Settings.from_env(), need_nats=False, log=None) as urls:
        key = create_api_key(urls.database_url, args.tenant, args.role, args.label)
    print(key)
    print(
        f"(shown once; tenant {args.tenant!r}, role {args.role}; "
        "send it as 'Authorization: Bearer <key>' or open /login?key=<key>)",
        file=sys.stderr,
    )
    return 0


def cmd_revoke_key(args: argparse.Namespace) -> int:
    with running_stack(Settings.from_env(), need_nats=False, log=None) as urls:
        revoked = revoke_api_key(urls.database_url, args.tenant, args.key_id)
    print("revoked" if revoked else f"no live key {args.key_id!r} for {args.tenant!r}")
    return 0 if revoked else 1


def cmd_api(args: argparse.Namespace) -> int:
    from read_api.app import serve_api  # noqa: PLC0415 — keep the CLI fast to start

    async def run(database_url: str) -> None:
        await serve_api(database_url, args.host, args.port, asyncio.Event())

    with running_stack(Settings.from_env(), need_nats=False) as urls:
        print(f"read API on http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(urls.database_url))
    return 0
