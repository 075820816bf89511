"""``obrador up``, ``migrate`` and ``demo``: the stack and everything a node runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import click

from deploy.cli.common import current_settings, emit, json_option, with_stack
from deploy.node import NAMES
from deploy.settings import Settings, mask_secrets
from deploy.stack import StackUrls, refuse_second_node, running_stack


def run_node(
    urls: StackUrls, settings: Settings, names: list[str], banner: list[str] | None = None
) -> None:
    """Run the named components under one supervisor until Ctrl-C / SIGTERM."""
    from deploy.node import DESCRIPTIONS, components
    from deploy.supervisor import Supervisor

    lines = []
    for name in names:
        what = DESCRIPTIONS[name]
        if name == "projector":
            from projections.registry import all_models

            what = ", ".join(m.name for m in all_models()) or "none yet"
        if name == "api":
            base = f"http://{settings.api_host}:{settings.api_port}"
            what = f"{base}/  (OpenAPI: /schema, metrics: /metrics; docs/api.md)"
        lines.append(f"  {name:11} {what}")
    if "api" not in names:
        metrics = f"http://{settings.api_host}:{settings.metrics_port}/metrics"
        lines.append(f"  {'metrics':11} {metrics}")

    def ready() -> None:
        print("Obrador is up")
        print(f"  PostgreSQL  {mask_secrets(urls.database_url)}")
        print(f"  NATS        {mask_secrets(urls.nats_url)}")
        print(f"  data folder {settings.data_dir}")
        print("\n".join(lines + (banner or [])))
        print("Ctrl-C stops everything.", flush=True)

    supervisor = Supervisor(components(names, urls.database_url, urls.nats_url, settings))
    asyncio.run(supervisor.run(ready))


def start_node(
    names: list[str], banner: Callable[[StackUrls, Settings], list[str]] | None = None
) -> int:
    """Checks first (a second node on this data folder, a busy API port), then the stack."""
    from deploy.node import check_ports

    settings = current_settings()
    refuse_second_node(settings)
    check_ports(names, settings)
    with running_stack(settings, exclusive=True) as urls:
        run_node(urls, settings, names, banner(urls, settings) if banner else None)
    return 0


@click.command()
@click.option(
    "--only",
    metavar="NAMES",
    help=f"comma-separated subset of: {', '.join(NAMES)} (default: all of them)",
)
def up(only: str | None) -> int:
    """Run a node: the servers, then relay, projectors, POS ingest, API, forecast jobs.

    PostgreSQL and NATS are embedded in the data folder unless the settings name them;
    migrations are applied first.

    A node runs the relay, the projectors, the POS ingest, the read API, the forecast
    scheduler and a forecast worker under one supervisor that restarts a crashed
    component with backoff. Scale out by starting `obrador up --only ...` on more
    machines with DATABASE_URL/NATS_URL naming shared servers.
    """
    from deploy.node import parse_only

    try:
        names = parse_only(only)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    return start_node(names)


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
def demo(check: bool) -> int:
    """Up, with a demo bakery chain loaded (--check: load, verify and exit)."""
    if check:
        return _demo_check()
    return start_node(list(NAMES), banner=_load_demo)


@with_stack()
def _demo_check(urls: StackUrls) -> int:
    from deploy.demo import run_demo

    return 0 if asyncio.run(run_demo(urls.database_url, check=True)) else 1


def _load_demo(urls: StackUrls, settings: Settings) -> list[str]:
    from deploy.demo import run_demo

    if not asyncio.run(run_demo(urls.database_url, check=False)):
        raise click.ClickException("the demo did not load; see the lines above")
    print()
    return _demo_banner(urls, settings)


def _demo_banner(urls: StackUrls, settings: Settings) -> list[str]:
    """A dashboard link for the demo tenant (its key is kept in the data folder)."""
    from deploy.demo import TENANT, last_day
    from read_api.keys import create_api_key

    key_file = settings.data_dir / "demo-api-key"
    if not key_file.exists():  # keys are stored hashed: keep the plain one for the next demo
        key_file.write_text(create_api_key(urls.database_url, TENANT, "owner", "demo"))
        key_file.chmod(0o600)
    base = f"http://{settings.api_host}:{settings.api_port}"
    key = key_file.read_text().strip()
    password = _demo_password(urls, settings)
    return [
        f"  dashboard   {base}/login?key={key}",
        f"              then {base}/?date={last_day()} (the demo's last day)",
        f"  API key     {key}  (curl -H 'Authorization: Bearer {key}' {base}/v1/inventory)",
        f"  log in      {DEMO_OWNER} / {password}  (POST {base}/v1/auth/login; docs/auth.md)",
    ]


#: The demo tenant's owner: a person's login beside the machine key.
DEMO_OWNER = "owner@demo-obrador.example"


def _demo_password(urls: StackUrls, settings: Settings) -> str:
    """Created once (the store keeps only its hash); the plain one is kept in the data folder."""
    from deploy.demo import TENANT
    from read_api.users import create_login

    login_file = settings.data_dir / "demo-login"
    if not login_file.exists():
        user = create_login(urls.database_url, tenant_id=TENANT, email=DEMO_OWNER, name="Demo")
        login_file.write_text(user.password)
        login_file.chmod(0o600)
    return login_file.read_text().strip()


@click.command()
@json_option
def config(as_json: bool) -> None:
    """Print the effective settings (env, --config file, defaults), secrets masked."""
    from deploy.settings import env_name

    values = current_settings().masked()
    emit(
        values,
        as_json,
        lambda: "\n".join(
            f"{name:13} {'(unset)' if value is None else value!s:50} {env_name(name)}"
            for name, value in values.items()
        ),
    )


COMMANDS = [up, migrate, demo, config]
