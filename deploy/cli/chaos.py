"""``obrador chaos``: kill -9 the relay and the projector under load, then verify."""

from __future__ import annotations

import click

from deploy.cli.common import json_option


@click.command()
@click.option("--events", type=int, default=100_000, show_default=True)
@click.option("--cycles", type=int, default=20, show_default=True)
@json_option
def chaos(events: int, cycles: int, as_json: bool) -> int:
    """Kill -9 relay/projector under load, then verify."""
    from deploy.chaos import main

    return main(events=events, cycles=cycles, json_output=as_json)


COMMANDS = [chaos]
