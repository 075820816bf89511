"""``obrador backup FILE`` / ``obrador restore FILE``: PostgreSQL's own tools (docs/backup.md)."""

from __future__ import annotations

from pathlib import Path

import click

from deploy.cli.common import current_settings, emit, fail, json_option, with_stack
from deploy.stack import StackUrls


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@with_stack(nats=False, quiet=True)
def backup(urls: StackUrls, file: Path, as_json: bool) -> int:
    """Dump the whole store (events, seals, read models) to FILE while it keeps running."""
    from deploy.backup import BackupError
    from deploy.backup import backup as run_backup

    external = current_settings().database_url is not None
    try:
        size = run_backup(urls.database_url, file, external=external)
    except BackupError as exc:
        return fail(f"backup refused: {exc}")
    emit({"file": str(file), "bytes": size}, as_json, f"backed up to {file} ({size:,} bytes)")
    return 0


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--replace", is_flag=True, help="overwrite a store that already holds events")
@json_option
@with_stack(nats=False, quiet=True)
def restore(urls: StackUrls, file: Path, replace: bool, as_json: bool) -> int:
    """Restore FILE into the store (an empty one unless --replace); then run `audit verify`."""
    from deploy.backup import BackupError
    from deploy.backup import restore as run_restore

    external = current_settings().database_url is not None
    try:
        events = run_restore(urls.database_url, file, external=external, replace=replace)
    except BackupError as exc:
        return fail(f"restore refused: {exc}")
    emit(
        {"file": str(file), "events": events},
        as_json,
        f"restored {events:,} events from {file}; check them with `obrador audit verify`",
    )
    return 0


COMMANDS = [backup, restore]
