"""``obrador relay``, ``obrador projector`` and ``obrador projections status|rebuild|verify``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from deploy.settings import Settings
from deploy.stack import running_stack
from projections.registry import model_named, select


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    relay = sub.add_parser("relay", help="publish the store's log to JetStream, forever")
    relay.set_defaults(func=cmd_relay)
    projector = sub.add_parser("projector", help="run read-model projectors, forever")
    projector.add_argument("--models", help="comma-separated names (default: all)")
    projector.set_defaults(func=cmd_projector)
    proj = sub.add_parser("projections", help="inspect, rebuild and verify read models")
    verbs = proj.add_subparsers(dest="verb", required=True)
    status = verbs.add_parser("status", help="state, checkpoint and lag of every partition")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    rebuild = verbs.add_parser("rebuild", help="rebuild NAME from the store, swap atomically")
    rebuild.add_argument("name")
    rebuild.set_defaults(func=cmd_rebuild)
    verify = verbs.add_parser("verify", help="compare NAME with a rebuild from scratch")
    verify.add_argument("name")
    verify.set_defaults(func=cmd_verify)


def cmd_relay(args: argparse.Namespace) -> int:
    from deploy.services import serve  # noqa: PLC0415

    with running_stack(Settings.from_env()) as urls:
        print(f"relay: {urls.database_url} → {urls.nats_url}", flush=True)
        asyncio.run(serve(urls.database_url, urls.nats_url, relay=True))
    return 0


def cmd_projector(args: argparse.Namespace) -> int:
    from deploy.services import serve  # noqa: PLC0415

    models = select(args.models)
    with running_stack(Settings.from_env()) as urls:
        print("projector: " + ", ".join(m.name for m in models), flush=True)
        asyncio.run(serve(urls.database_url, urls.nats_url, relay=False, models=models))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    import psycopg  # noqa: PLC0415

    from projections.status import read_status  # noqa: PLC0415

    async def run(url: str, nats_url: str) -> tuple[list[dict[str, object]], dict[str, object]]:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            rows = await read_status(conn)
            relay = await relay_lag(conn, nats_url)
        return [row.__dict__ for row in rows], relay

    with running_stack(Settings.from_env(), log=None) as urls:
        rows, relay = asyncio.run(run(urls.database_url, urls.nats_url))
    if args.json:
        print(json.dumps({"relay": relay, "projections": rows}, default=str))
        return 1 if any(r["state"] == "failed" for r in rows) else 0
    print(
        f"relay: published up to position {relay['position']}, "
        f"{relay['lag_events']} events / {relay['lag_seconds']:.1f} s behind the store"
    )
    print(f"{'projection':18} {'part':>4} {'state':8} {'position':>10} {'behind':>8} {'lag s':>7}")
    for r in rows:
        print(
            f"{r['projection']!s:18} {r['partition']!s:>4} {r['state']!s:8} "
            f"{r['position']!s:>10} {r['lag_events']!s:>8} {float(str(r['lag_seconds'])):>7.1f}"
        )
        if r["error"]:
            print(f"{'':24}{r['state']}: {r['error']}")
        if r["parked"]:
            print(
                f"{'':24}{r['parked']} parked, the first at position "
                f"{r['first_parked_position']}: {r['first_parked_error']}"
            )
    return 1 if any(r["state"] == "failed" for r in rows) else 0


async def relay_lag(conn: object, nats_url: str) -> dict[str, object]:
    """How far JetStream is behind the store: events and seconds."""
    import nats  # noqa: PLC0415
    import psycopg  # noqa: PLC0415

    from streams.jetstream import ensure_event_stream, last_relayed  # noqa: PLC0415

    assert isinstance(conn, psycopg.AsyncConnection)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_event_stream(js)
        position, _ = await last_relayed(js)
    finally:
        await nc.close()
    cur = await conn.execute(
        "SELECT count(*), min(recorded_at) FROM events"
        " WHERE position > %s AND tx_id < obrador_visible_horizon()",
        (position,),
    )
    row = await cur.fetchone()
    behind, oldest = (int(row[0]), row[1]) if row else (0, None)
    from datetime import UTC, datetime  # noqa: PLC0415

    lag = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return {"position": position, "lag_events": behind, "lag_seconds": max(0.0, lag)}


def cmd_rebuild(args: argparse.Namespace) -> int:
    from tqdm import tqdm  # noqa: PLC0415

    from projections.rebuild import rebuild  # noqa: PLC0415
    from streams.store import EventStore  # noqa: PLC0415

    model = model_named(args.name)

    async def run(url: str) -> None:
        store = await EventStore.open(url)
        head = await store.head_position()
        bar = tqdm(total=head, unit="pos", desc=f"rebuild {model.name}", file=sys.stderr)
        try:
            result = await rebuild(store, model, progress=lambda n, p: bar.update(p - bar.n))
        finally:
            bar.close()
            await store.close()
        print(
            f"rebuilt {result.projection}: {result.events} events, swapped at "
            f"position {result.position}, {result.parked} parked"
        )

    with running_stack(Settings.from_env(), need_nats=False, log=None) as urls:
        asyncio.run(run(urls.database_url))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from projections.rebuild import Verification, check  # noqa: PLC0415
    from streams.store import EventStore  # noqa: PLC0415

    model = model_named(args.name)

    async def run(url: str) -> Verification:
        store = await EventStore.open(url)
        try:
            return await check(store, model)
        finally:
            await store.close()

    with running_stack(Settings.from_env(), need_nats=False, log=None) as urls:
        report = asyncio.run(run(urls.database_url))
    for table, (live_only, rebuilt_only) in report.differences.items():
        verdict = "identical" if live_only == rebuilt_only == 0 else "DIFFERENT"
        print(f"{table:32} {verdict}: {live_only} rows only live, {rebuilt_only} only rebuilt")
    for position, tenant, event_type, error in report.parked:
        print(f"PARKED position {position} ({event_type}, tenant {tenant}): {error}")
    print(f"{len(report.parked)} events parked")
    return 0 if report.identical and not report.parked else 1
