"""``obrador chaos``: kill -9 the relay and the projector under load, then verify."""

from __future__ import annotations

import click

from deploy.cli.common import current_settings, json_option, show_progress, working


@click.command()
@click.option("--events", type=int, default=100_000, show_default=True)
@click.option("--cycles", type=int, default=20, show_default=True)
@json_option
def chaos(events: int, cycles: int, as_json: bool) -> int:
    """Kill -9 relay/projector under load, then verify."""
    from deploy.chaos import main

    with working(
        f"chaos: {cycles} kills under {events:,} events, then verify", show_progress(as_json)
    ):
        return main(events=events, cycles=cycles, json_output=as_json, settings=current_settings())


COMMANDS = [chaos]
