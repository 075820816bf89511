"""``obrador relay``, ``obrador projector`` and ``obrador projections status|rebuild|verify``."""

from __future__ import annotations

import sys
from typing import Any

import click

from deploy.cli.common import (
    current_settings,
    emit,
    json_option,
    show_progress,
    with_stack,
    working,
)
from deploy.stack import StackUrls


@click.command()
@with_stack()
def relay(urls: StackUrls) -> None:
    """Run the relay alone (store → JetStream) until Ctrl-C."""
    from deploy.cli.stack import run_node

    run_node(urls, current_settings(), ["relay"])


@click.command()
@click.option("--models", help="comma-separated names (default: all)")
def projector(models: str | None) -> int:
    """Run projectors alone (all or --models) until Ctrl-C."""
    from projections.registry import select

    return _project([m.name for m in select(models)])


@with_stack()
def _project(urls: StackUrls, models: list[str]) -> None:
    import asyncio

    from deploy.node import projector
    from deploy.supervisor import Supervisor

    print("projector: " + ", ".join(models), flush=True)
    component = projector(urls.database_url, urls.nats_url, models)
    asyncio.run(Supervisor([component]).run())


@click.group()
def projections() -> None:
    """Inspect, rebuild and verify read models."""


@projections.command()
@json_option
@with_stack(quiet=True)
async def status(urls: StackUrls, as_json: bool) -> int:
    """State, checkpoint and lag of every partition."""
    import psycopg

    from projections.status import read_status
    from streams.relay_lag import relay_lag

    async with await psycopg.AsyncConnection.connect(urls.database_url) as conn:
        rows = [row.__dict__ for row in await read_status(conn)]
        lag = await relay_lag(conn, urls.nats_url)
    emit({"relay": lag, "projections": rows}, as_json, lambda: _status_text(lag, rows))
    return 1 if any(r["state"] == "failed" for r in rows) else 0


def _status_text(relay: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = [
        f"relay: published up to position {relay['position']}, "
        f"{relay['lag_events']} events / {relay['lag_seconds']:.1f} s behind the store",
        f"{'projection':18} {'part':>4} {'state':8} {'position':>10} {'behind':>8} {'lag s':>7}",
    ]
    for r in rows:
        lines.append(
            f"{r['projection']!s:18} {r['partition']!s:>4} {r['state']!s:8} "
            f"{r['position']!s:>10} {r['lag_events']!s:>8} {float(str(r['lag_seconds'])):>7.1f}"
        )
        if r["error"]:
            lines.append(f"{'':24}{r['state']}: {r['error']}")
        if r["parked"]:
            lines.append(
                f"{'':24}{r['parked']} parked, the first at position "
                f"{r['first_parked_position']}: {r['first_parked_error']}"
            )
    return "\n".join(lines)


@projections.command()
@click.argument("name")
def rebuild(name: str) -> int:
    """Rebuild NAME from the store, swap atomically."""
    from projections.registry import model_named

    return _rebuild(model_named(name))


@with_stack(nats=False, quiet=True)
async def _rebuild(urls: StackUrls, model: Any) -> None:
    from tqdm import tqdm

    from projections.rebuild import rebuild as run
    from streams.store import EventStore

    async with await EventStore.open(urls.database_url) as store:
        head = await store.head_position()
        bar = tqdm(
            total=head,
            unit="pos",
            desc=f"rebuild {model.name}",
            file=sys.stderr,
            disable=not show_progress(),
        )
        try:
            result = await run(store, model, progress=lambda n, p: bar.update(p - bar.n))
        finally:
            bar.close()
    print(
        f"rebuilt {result.projection}: {result.events} events,"
        f" swapped at position {result.position}, {result.parked} parked"
    )


@projections.command()
@click.argument("name")
def verify(name: str) -> int:
    """Compare NAME with a rebuild from scratch; exit 1 on a difference or a parked event."""
    from projections.registry import model_named

    return _verify(model_named(name))


@with_stack(nats=False, quiet=True)
async def _verify(urls: StackUrls, model: Any) -> int:
    from projections.rebuild import check
    from streams.store import EventStore

    async with await EventStore.open(urls.database_url) as store:
        with working(f"verify {model.name}: rebuilding to compare", show_progress()):
            report = await check(store, model)
    for table, (live_only, rebuilt_only) in report.differences.items():
        verdict = "identical" if live_only == rebuilt_only == 0 else "DIFFERENT"
        print(f"{table:32} {verdict}: {live_only} rows only live, {rebuilt_only} only rebuilt")
    for position, tenant, event_type, error in report.parked:
        print(f"PARKED position {position} ({event_type}, tenant {tenant}): {error}")
    print(f"{len(report.parked)} events parked")
    return 0 if report.identical and not report.parked else 1


COMMANDS = [relay, projector, projections]
