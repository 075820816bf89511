"""``obrador up``, ``migrate`` and ``demo``: the stack and everything a node runs."""

from __future__ import annotations

import asyncio
import contextlib
import os

import click

from deploy.cli.common import current_settings, with_stack
from deploy.settings import Settings
from deploy.stack import StackUrls, running_stack


def _serve_foreground(urls: StackUrls, settings: Settings, banner: list[str] | None = None) -> None:
    """Relay, every projector, the POS ingest and the API until Ctrl-C / SIGTERM."""
    from commands.pos.service import serve_ingest
    from deploy.services import serve
    from projections.registry import all_models
    from read_api.app import serve_api

    models = all_models()
    lines = ["  relay       store → JetStream"]
    lines.append("  projectors  " + (", ".join(m.name for m in models) or "none yet"))
    port = int(os.environ.get("OBRADOR_API_PORT", "8000"))

    async def ingest(stop: asyncio.Event) -> None:
        await serve_ingest(urls.database_url, urls.nats_url, stop=stop)

    async def api(stop: asyncio.Event) -> None:
        await serve_api(urls.database_url, "127.0.0.1", port, stop)

    lines.append("  POS ingest  pos.<tenant>.<store>.sales → commands (docs/pos.md)")
    lines.append(f"  read API    http://127.0.0.1:{port}/  (OpenAPI: /schema; docs/api.md)")

    def ready() -> None:
        print("Obrador is up")
        print(f"  PostgreSQL  {urls.database_url}")
        print(f"  NATS        {urls.nats_url}")
        print(f"  data folder {settings.data_dir}")
        print("\n".join(lines + (banner or [])))
        print("Ctrl-C stops everything.", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(urls.database_url, urls.nats_url, models=models, ready=ready, extra=[ingest, api])
        )
    print("stopping…", flush=True)


@click.command()
def up() -> int:
    """Start PostgreSQL + NATS (embedded unless the settings name them), migrate, run a node."""
    settings = current_settings()
    with running_stack(settings) as urls:
        _serve_foreground(urls, settings)
    return 0


@click.command()
def migrate() -> int:
    """Apply pending SQL migrations."""
    from migrations.runner import migrate as apply

    settings = current_settings()
    if settings.database_url:
        applied = apply(settings.database_url)
    else:
        with running_stack(settings, need_nats=False):
            applied = []  # the stack migrates as it starts
    print("applied: " + (", ".join(applied) if applied else "nothing, already up to date"))
    return 0


@click.command()
@click.option("--check", is_flag=True, help="load, verify and exit 0 (non-zero on any mismatch)")
@with_stack()
def demo(urls: StackUrls, check: bool) -> int:
    """Up + load a demo bakery chain through the store."""
    from deploy.demo import run_demo

    ok = asyncio.run(run_demo(urls.database_url, check=check))
    if check or not ok:
        return 0 if ok else 1
    print()
    settings = current_settings()
    _serve_foreground(urls, settings, banner=_demo_banner(urls, settings))
    return 0


def _demo_banner(urls: StackUrls, settings: Settings) -> list[str]:
    """A dashboard link for the demo tenant (its key is kept in the data folder)."""
    from deploy.demo import TENANT, last_day
    from read_api.keys import create_api_key

    key_file = settings.data_dir / "demo-api-key"
    if not key_file.exists():  # keys are stored hashed: keep the plain one for the next demo
        key_file.write_text(create_api_key(urls.database_url, TENANT, "owner", "demo"))
        key_file.chmod(0o600)
    port = os.environ.get("OBRADOR_API_PORT", "8000")
    key = key_file.read_text().strip()
    return [
        f"  dashboard   http://127.0.0.1:{port}/login?key={key}",
        f"              then http://127.0.0.1:{port}/?date={last_day()} (the demo's last day)",
        f"  API key     {key}  (curl -H 'Authorization: Bearer {key}' "
        f"http://127.0.0.1:{port}/v1/inventory)",
    ]


COMMANDS = [up, migrate, demo]
