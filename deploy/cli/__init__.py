"""The ``obrador`` command line: one entry point for every process and tool.

One file per group (``stack``, ``pos``, ``importing``, ``streaming``, ``api``, ``forecast``,
``bench``, ``chaos``, ``schema``); :mod:`deploy.cli.common` holds what they share. The
packages below ``deploy/`` expose plain functions; this is the roof that parses arguments.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

import click

from deploy.cli import (
    api,
    bench,
    chaos,
    forecast,
    history,
    importing,
    pos,
    schema,
    stack,
    streaming,
)
from deploy.settings import Settings


@click.group(
    name="obrador",
    help="Obrador: the servers, the processes and the tools of a bakery chain's backend.",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    ctx.obj = Settings.from_env()


for module in (stack, pos, importing, streaming, api, forecast, bench, chaos, schema, history):
    for command in module.COMMANDS:
        cli.add_command(command)


def _terminate_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C, so every server started here is stopped cleanly."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (2 for a usage error, 130 after Ctrl-C)."""
    from domain.errors import DomainError

    _terminate_as_interrupt()
    try:
        result = cli.main(
            args=sys.argv[1:] if argv is None else argv, prog_name="obrador", standalone_mode=False
        )
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        return 130
    except KeyboardInterrupt:
        return 130
    except DomainError as exc:
        print(f"refused: {exc.field}: {exc.reason}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — silence the flush at exit
        return 0
    return int(result or 0)
