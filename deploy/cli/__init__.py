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
from pathlib import Path
from types import FrameType

import click

from deploy import logs
from deploy.cli import (
    api,
    audit,
    backup,
    bench,
    chaos,
    forecast,
    gdpr,
    history,
    importing,
    pos,
    schema,
    stack,
    stock,
    streaming,
    tenant,
    workshop,
)
from deploy.settings import Settings, SettingsError


class _InOrder(click.Group):
    """Commands listed in the order they were added: the node first, then the tools."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(
    name="obrador",
    cls=_InOrder,
    help="Obrador: the servers, the processes and the tools of a bakery chain's backend.",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file of settings (default: $OBRADOR_CONFIG); the environment wins over it",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "human", "json"]),
    help="human lines, JSON lines, or auto: human on a terminal (default: $OBRADOR_LOG_FORMAT)",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="default: $OBRADOR_LOG_LEVEL or INFO",
)
@click.pass_context
def cli(
    ctx: click.Context, config: Path | None, log_format: str | None, log_level: str | None
) -> None:
    try:
        ctx.obj = settings = Settings.load(config, log_format=log_format, log_level=log_level)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    logs.configure(settings.log_format, settings.log_level)


for module in (
    stack,
    pos,
    importing,
    streaming,
    api,
    forecast,
    bench,
    chaos,
    schema,
    tenant,
    stock,
    workshop,
    audit,
    backup,
    history,
    gdpr,
):
    for command in module.COMMANDS:
        cli.add_command(command)


@cli.command("help-table", hidden=True)
def help_table() -> None:
    """Print the README's command table (markdown) from this command tree."""
    from deploy.cli.table import command_table

    print(command_table(cli))


def _terminate_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C, so every server started here is stopped cleanly."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (2 for a usage error, 130 after Ctrl-C)."""
    from deploy.node import PortBusy
    from deploy.stack import DataDirBusy, StackInUse
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
    except (StackInUse, DataDirBusy, PortBusy) as exc:  # one line, no traceback
        print(f"obrador: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — silence the flush at exit
        return 0
    return int(result or 0)
