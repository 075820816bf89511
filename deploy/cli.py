"""The ``obrador`` command line: one entry point for every process and tool."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from types import FrameType

from deploy.settings import Settings
from deploy.stack import StackUrls, running_stack


def _terminate_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C, so every server started here is stopped cleanly."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _serve_foreground(urls: StackUrls, settings: Settings, banner: list[str] | None = None) -> None:
    """Relay, every projector and the POS ingest until Ctrl-C / SIGTERM (then the stack stops)."""
    from deploy.services import serve
    from projections.registry import all_models

    models = all_models()
    lines = ["  relay       store → JetStream"]
    lines.append("  projectors  " + (", ".join(m.name for m in models) or "none yet"))
    from commands.pos.service import serve_ingest
    from read_api.app import serve_api

    port = int(os.environ.get("OBRADOR_API_PORT", "8000"))

    async def ingest(stop: asyncio.Event) -> None:
        await serve_ingest(urls.database_url, urls.nats_url, stop=stop)

    async def api(stop: asyncio.Event) -> None:
        await serve_api(urls.database_url, "127.0.0.1", port, stop)

    extra = [ingest, api]
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
            serve(urls.database_url, urls.nats_url, models=models, ready=ready, extra=extra)
        )
    print("stopping…", flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with running_stack(settings) as urls:
        _serve_foreground(urls, settings)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from migrations.runner import migrate

    settings = Settings.from_env()
    if settings.database_url:
        applied = migrate(settings.database_url)
    else:
        with running_stack(settings, need_nats=False):
            applied = []  # the stack migrates as it starts
    print("applied: " + (", ".join(applied) if applied else "nothing, already up to date"))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from deploy.demo import run_demo

    settings = Settings.from_env()
    with running_stack(settings) as urls:
        ok = asyncio.run(run_demo(urls.database_url, check=args.check))
        if args.check or not ok:
            return 0 if ok else 1
        print()
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


def cmd_bench(args: argparse.Namespace) -> int:
    if args.what == "store":
        from deploy.bench_store import main as bench_store

        return bench_store(json_output=args.json, quick=args.quick)
    if args.what in ("relay", "freshness", "rebuild"):
        from deploy.bench_pipeline import main as bench_pipeline

        return bench_pipeline(args.what, json_output=args.json, quick=args.quick)
    if args.what == "forecast":
        from forecasting.cli import bench_forecast

        bench_forecast(json=args.json)
        return 0
    from commands.cli import bench_import

    return bench_import(json_output=args.json)


def cmd_schema(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from domain.schema import event_json_schemas, schema_file_name

    schemas = event_json_schemas()
    if args.out is None:
        print(json.dumps(schemas, indent=2, ensure_ascii=False))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        path = out / schema_file_name(name, int(schema["x-schema-version"]))
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(schemas)} event schemas to {out}")
    return 0


def cmd_chaos(args: argparse.Namespace) -> int:
    from deploy.chaos import main as chaos

    return chaos(events=args.events, cycles=args.cycles, json_output=args.json)


def build_parser() -> argparse.ArgumentParser:
    from commands import cli as commands_cli
    from forecasting import cli as forecasting_cli
    from forecasting import ops_cli as forecasting_ops_cli
    from projections import cli as projections_cli
    from read_api import cli as read_api_cli

    parser = argparse.ArgumentParser(prog="obrador", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "up",
        help="start PostgreSQL + NATS (embedded unless env names them), "
        "apply migrations, run in the foreground",
    ).set_defaults(func=cmd_up)
    sub.add_parser("migrate", help="apply pending SQL migrations").set_defaults(func=cmd_migrate)
    demo = sub.add_parser("demo", help="up + load a demo bakery chain through the store")
    demo.add_argument(
        "--check", action="store_true", help="load, verify and exit 0 (non-zero on any mismatch)"
    )
    demo.set_defaults(func=cmd_demo)
    bench = sub.add_parser("bench", help="benchmarks (see docs/benchmarks.md)")
    bench.add_argument(
        "what", choices=["store", "relay", "freshness", "rebuild", "import", "forecast"]
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    bench.set_defaults(func=cmd_bench)
    chaos = sub.add_parser("chaos", help="kill -9 relay/projector under load, then verify")
    chaos.add_argument("--events", type=int, default=100_000)
    chaos.add_argument("--cycles", type=int, default=20)
    chaos.add_argument("--json", action="store_true")
    chaos.set_defaults(func=cmd_chaos)
    schema = sub.add_parser("schema", help="JSON Schemas for integrators")
    schema.add_argument("what", choices=["events"])
    schema.add_argument("--out", help="folder to write one file per event type (default: stdout)")
    schema.set_defaults(func=cmd_schema)
    for register in (  # each package owns its sub-commands
        commands_cli.register,
        forecasting_cli.register,
        forecasting_ops_cli.register,
        projections_cli.register,
        read_api_cli.register,
    ):
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    _terminate_as_interrupt()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — silence the flush at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
