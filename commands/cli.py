# ruff: noqa: PLC0415  — sub-commands import lazily so `obrador --help` starts fast
"""Sub-commands of the write side's entry adapters: POS ingest and history import.

``deploy/cli.py`` calls :func:`register` when this module is present:

    obrador ingest                                  the POS consumer, until Ctrl-C
    obrador pos register-device TENANT STORE DEVICE prints the device's token once
    obrador pos revoke-device TENANT DEVICE
    obrador pos devices TENANT
    obrador pos replay FILE --tenant T --store S [--token TOKEN] [--rate N]
    obrador pos status [--json]
    obrador pos asyncapi [--out FILE]
    obrador import sales FILE --tenant T [...]
    obrador bench import [--json]                   (deploy/cli.py routes it to ``bench_import``)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeAlias

from deploy.settings import Settings
from deploy.stack import running_stack

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: SubParsers) -> None:
    ingest = sub.add_parser("ingest", help="run the POS ingest (JetStream → commands), forever")
    ingest.add_argument("--batch", type=int, default=64, help="tickets fetched per pull")
    ingest.set_defaults(func=cmd_ingest)
    _register_pos(sub)
    _register_import(sub)


def _register_pos(sub: SubParsers) -> None:
    pos = sub.add_parser("pos", help="POS devices, ticket replay, ingest status, AsyncAPI")
    verbs = pos.add_subparsers(dest="verb", required=True)
    reg = verbs.add_parser("register-device", help="register a till; prints its token once")
    reg.add_argument("tenant")
    reg.add_argument("store")
    reg.add_argument("device")
    reg.set_defaults(func=cmd_register_device)
    revoke = verbs.add_parser("revoke-device", help="the device's token stops working")
    revoke.add_argument("tenant")
    revoke.add_argument("device")
    revoke.set_defaults(func=cmd_revoke_device)
    devices = verbs.add_parser("devices", help="a tenant's devices")
    devices.add_argument("tenant")
    devices.set_defaults(func=cmd_devices)
    replay = verbs.add_parser("replay", help="publish a CSV of tickets as a till would")
    replay.add_argument("file", type=Path)
    replay.add_argument("--tenant", required=True)
    replay.add_argument("--store", required=True)
    replay.add_argument(
        "--token",
        default=os.environ.get("OBRADOR_DEVICE_TOKEN"),
        help="device token (default: $OBRADOR_DEVICE_TOKEN)",
    )
    replay.add_argument("--rate", type=float, help="tickets per second (default: as fast as acks)")
    replay.set_defaults(func=cmd_replay)
    status = verbs.add_parser("status", help="tickets received, ingest lag, dead letters")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_pos_status)
    asyncapi = verbs.add_parser("asyncapi", help="the AsyncAPI 3.0 document of the POS ingest")
    asyncapi.add_argument("--out", type=Path, help="write to this file (default: stdout)")
    asyncapi.add_argument("--server", default="nats://localhost:4222")
    asyncapi.set_defaults(func=cmd_asyncapi)


def _register_import(sub: SubParsers) -> None:
    imp = sub.add_parser("import", help="import history files")
    what = imp.add_subparsers(dest="what", required=True)
    sales = what.add_parser(
        "sales",
        help="a CSV or .xlsx of ticket lines or daily totals",
        description="Checks the whole file first; writes nothing if the errors pass"
        " --max-errors. See docs/import.md.",
    )
    sales.add_argument("file", type=Path)
    sales.add_argument("--tenant", required=True)
    sales.add_argument("--store", help="every row is of this store (needed without a store column)")
    sales.add_argument("--format", choices=["auto", "transactions", "daily"], default=None)
    sales.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="e.g. --map quantity=demand (fields: date time store product quantity"
        " unit_price amount discount ticket channel)",
    )
    sales.add_argument("--mapping", type=Path, help="JSON mapping file (docs/import.md)")
    sales.add_argument("--unknown-products", choices=["refuse", "create"], default="refuse")
    sales.add_argument("--unknown-stores", choices=["refuse", "create"], default="refuse")
    sales.add_argument("--new-tenant", metavar="NAME", help="create the tenant if missing")
    sales.add_argument("--timezone", default="Europe/Madrid", help="for stores created here")
    sales.add_argument("--region", default="ES", help="for stores created here")
    sales.add_argument(
        "--max-errors", default="0", help="rows (e.g. 25) or share (e.g. 1%%) before aborting"
    )
    sales.add_argument("--report", type=Path, help="default: ./<file>.import-report.csv")
    sales.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    sales.add_argument(
        "--encoding", default="auto", help="CSV text encoding (default: detected; docs/import.md)"
    )
    sales.add_argument(
        "--quantity-per-row",
        type=Decimal,
        metavar="UNITS",
        help="no quantity column: every row is UNITS units (e.g. 1); repeats are summed",
    )
    sales.add_argument(
        "--sum-repeated-lines",
        action="store_true",
        help="the same product at the same price twice on a ticket is more units: sum them",
    )
    sales.add_argument(
        "--sku",
        action="append",
        default=[],
        metavar="NAME=SKU",
        help="import product NAME as SKU (names that are not SKUs are slugified otherwise)",
    )
    sales.add_argument("--actor", default="import", help="user id recorded on the events")
    sales.add_argument("--json", action="store_true", help="print the summary as JSON")
    sales.set_defaults(func=cmd_import_sales)


# -- POS ----------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    import logging

    from commands.pos.service import serve_ingest

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with running_stack(Settings.from_env()) as urls:

        def ready(_: object) -> None:
            print(f"ingest: pos.*.*.sales on {urls.nats_url} → {urls.database_url}", flush=True)

        with contextlib.suppress(KeyboardInterrupt):
            processor = asyncio.run(
                serve_ingest(urls.database_url, urls.nats_url, ready=ready, batch_size=args.batch)
            )
            print(f"ingest stopped: {processor.counters}")
    return 0


def cmd_register_device(args: argparse.Namespace) -> int:
    from commands.pos.devices import DeviceRegistry, register_device
    from domain.access import Actor
    from domain.events.organisation import Role
    from streams.store import EventStore

    async def run(url: str) -> str:
        async with await EventStore.open(url) as store:
            return await register_device(
                store,
                DeviceRegistry(store.pool),
                tenant_id=args.tenant,
                store_id=args.store,
                device_id=args.device,
                actor=Actor(user_id="cli", role=Role.OWNER),
            )

    with running_stack(Settings.from_env(), need_nats=False) as urls:
        token = _domain_errors(lambda: asyncio.run(run(urls.database_url)))
    if token is None:
        return 1
    print(token)
    print(
        f"device {args.device} of {args.tenant}/{args.store}: this token is shown once; publish"
        f" with header Obrador-Device-Token to pos.{args.tenant}.{args.store}.sales",
        file=sys.stderr,
    )
    return 0


def cmd_revoke_device(args: argparse.Namespace) -> int:
    from commands.pos.devices import DeviceRegistry
    from streams.store import EventStore

    async def run(url: str) -> bool:
        async with await EventStore.open(url) as store:
            return await DeviceRegistry(store.pool).revoke(args.tenant, args.device)

    with running_stack(Settings.from_env(), need_nats=False) as urls:
        done = asyncio.run(run(urls.database_url))
    print("revoked" if done else f"no active device {args.device!r} in {args.tenant!r}")
    return 0 if done else 1


def cmd_devices(args: argparse.Namespace) -> int:
    from commands.pos.devices import DeviceRegistry
    from streams.store import EventStore

    async def run(url: str) -> list[tuple[str, str, bool]]:
        async with await EventStore.open(url) as store:
            return await DeviceRegistry(store.pool).list(args.tenant)

    with running_stack(Settings.from_env(), need_nats=False) as urls:
        for device, store_id, active in asyncio.run(run(urls.database_url)):
            print(f"{device:24} {store_id:16} {'active' if active else 'revoked'}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from commands.pos.replay import replay

    if not args.token:
        print("a device token is needed: --token or $OBRADOR_DEVICE_TOKEN", file=sys.stderr)
        return 2
    with running_stack(Settings.from_env()) as urls:
        result = asyncio.run(
            replay(
                urls.nats_url,
                args.file,
                tenant_id=args.tenant,
                store_id=args.store,
                token=args.token,
                rate=args.rate,
            )
        )
    print(
        f"{result.published} tickets published to pos.{args.tenant}.{args.store}.sales"
        f" in {result.seconds:.1f}s ({result.duplicates} dropped as resends by JetStream)"
    )
    return 0


def cmd_pos_status(args: argparse.Namespace) -> int:
    from commands.pos.status import pos_status

    with running_stack(Settings.from_env()) as urls:
        status = asyncio.run(pos_status(urls.nats_url))
    if args.json:
        print(json.dumps(status))
        return 0
    print(f"tickets received   {status['tickets_received']}")
    ingest = status["ingest"]
    if ingest is None:
        print("ingest             never started")
    else:
        print(
            f"ingest             waiting {ingest['waiting']}, in progress"
            f" {ingest['in_progress']}, redelivered {ingest['redelivered']}"
        )
    dead = status["dead_letters"]
    print(f"dead letters       {dead['total']}")
    for key, count in dead["by_store_and_rule"].items():
        print(f"  {key:40} {count}")
    return 0


def cmd_asyncapi(args: argparse.Namespace) -> int:
    from commands.pos.asyncapi import asyncapi_document

    text = json.dumps(asyncapi_document(args.server), indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")
    return 0


# -- import -------------------------------------------------------------------


def cmd_import_sales(args: argparse.Namespace) -> int:
    from commands.importer.mapping import MappingError
    from commands.importer.reader import ReadError
    from commands.importer.run import ImportOptions, ImportRefused, import_sales
    from streams.store import EventStore

    columns = {}
    for item in args.map:
        field, sep, column = item.partition("=")
        if not sep:
            print(f"--map {item!r}: write FIELD=COLUMN", file=sys.stderr)
            return 2
        columns[field.strip()] = column.strip()
    products = {}
    for item in args.sku:
        name, sep, sku = item.rpartition("=")
        if not sep or not name.strip():
            print(f"--sku {item!r}: write NAME=SKU", file=sys.stderr)
            return 2
        products[name.strip()] = sku.strip()
    options = ImportOptions(
        tenant_id=args.tenant,
        kind=args.format,
        columns=columns,
        mapping_file=args.mapping,
        store=args.store,
        create_products=args.unknown_products == "create",
        create_stores=args.unknown_stores == "create",
        new_tenant=args.new_tenant,
        timezone=args.timezone,
        region=args.region,
        max_errors=args.max_errors,
        report=args.report,
        actor=args.actor,
        progress=sys.stderr.isatty(),
        dry_run=args.dry_run,
        encoding=args.encoding,
        quantity_per_row=args.quantity_per_row,
        sum_repeated_lines=args.sum_repeated_lines,
        products=products,
    )

    async def run(url: str) -> Any:
        async with await EventStore.open(url) as store:
            return await import_sales(store, args.file, options)

    with running_stack(Settings.from_env(), need_nats=False) as urls:
        try:
            result = asyncio.run(run(urls.database_url))
        except (ImportRefused, MappingError, ReadError) as exc:
            print(f"import refused, nothing written: {exc}", file=sys.stderr)
            return 2
    summary = asdict(result)
    summary["report"] = str(result.report) if result.report else None
    if args.json:
        print(json.dumps(summary))
    else:
        _print_import(summary)
    return 1 if result.aborted else 0


def _print_import(s: dict[str, Any]) -> None:
    if s["aborted"]:
        print(f"ABORTED, nothing written: {s['error_rows']} bad rows is over --max-errors")
    elif s["dry_run"]:
        print("dry run, nothing written")
    print(f"rows               {s['total_rows']:,}")
    print(f"rows with errors   {s['error_rows']:,}   (report: {s['report']})")
    print(f"zero-unit days     {s['skipped_zero']:,}   (not sales)")
    print(f"tickets checked    {s['tickets']:,}")
    print(f"already stored     {s['already_stored']:,}")
    if s["aborted"] or s["dry_run"]:
        print(f"would write        {s['tickets'] - s['already_stored']:,} sales")
    else:
        print(f"written            {s['written']:,} sales in {s['seconds']:.1f}s")
    if s["product_skus"]:
        print(f"product names      {len(s['product_skus'])} imported as SKUs ({s['skus_report']})")
    if s["created_stores"] or s["created_products"]:
        print(f"created            stores {s['created_stores']}, products {s['created_products']}")
    elif s["new_stores"] or s["new_products"]:
        verb = "would have created" if s["aborted"] else "would create"
        print(f"{verb:<19}stores {s['new_stores']}, products {s['new_products']}")


def _domain_errors(call: Callable[[], Any]) -> Any:
    from domain.errors import DomainError

    try:
        return call()
    except DomainError as exc:
        print(f"refused: {exc.field}: {exc.reason}", file=sys.stderr)
        return None


# -- bench --------------------------------------------------------------------


def bench_import(json_output: bool) -> int:
    """``obrador bench import``: 1,000,000 generated lines, then the whole ddop file."""
    from commands.importer.bench import run_bench

    lines = int(os.environ.get("OBRADOR_BENCH_IMPORT_LINES", "1000000"))
    with running_stack(Settings.from_env(), need_nats=False, log=None) as urls:
        figures = run_bench(urls.database_url, lines=lines)
    if json_output:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:20} {value}")
    return 0
