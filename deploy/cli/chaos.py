"""``obrador chaos``: kill -9 relays/projectors (and NATS nodes, PostgreSQL) under load, verify."""

from __future__ import annotations

import click

from deploy.cli.common import current_settings, json_option, show_progress, working


@click.command()
@click.option("--events", type=int, default=100_000, show_default=True)
@click.option("--cycles", type=int, default=20, show_default=True)
@click.option("--relays", type=click.IntRange(1, 8), default=1, show_default=True)
@click.option("--projectors", type=click.IntRange(1, 8), default=1, show_default=True)
@click.option(
    "--nats-cluster",
    "nats_nodes",
    type=click.IntRange(0, 5),
    default=0,
    show_default=True,
    help="run a JetStream cluster of this many nodes and kill -9 them too (0: one server)",
)
@click.option(
    "--restart-postgres",
    is_flag=True,
    help="restart the (private) PostgreSQL among the faults",
)
@json_option
def chaos(  # noqa: PLR0917 (click passes options by name)
    events: int,
    cycles: int,
    relays: int,
    projectors: int,
    nats_nodes: int,
    restart_postgres: bool,
    as_json: bool,
) -> int:
    """Kill -9 relay/projector under load, then verify."""
    from deploy.chaos import main

    with working(
        f"chaos: {cycles} kills under {events:,} events, then verify", show_progress(as_json)
    ):
        return main(
            events=events,
            cycles=cycles,
            json_output=as_json,
            settings=current_settings(),
            relays=relays,
            projectors=projectors,
            nats_nodes=nats_nodes,
            restart_postgres=restart_postgres,
        )


COMMANDS = [chaos]
