"""``obrador history export``: a tenant's events as NDJSON, offline (no API server needed).

Writes what ``GET /v1/history`` streams (``read_api.export.history_lines``: the
same lines, the same filters, flat memory) to ``--out`` or stdout.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import click

from deploy.cli.common import fail, tenant_option, with_stack
from deploy.stack import StackUrls


@click.group()
def history() -> None:
    """The event history of a tenant, for auditors and integrators."""


@history.command("export")
@tenant_option()
@click.option("--after", type=click.IntRange(min=0), default=0, help="only after this position")
@click.option("--until", type=click.IntRange(min=0), help="only up to this position")
@click.option("--stream", help="only this stream id")
@click.option("--event-type", "event_types", multiple=True, help="only this type (repeatable)")
@click.option("--from", "recorded_from", type=click.DateTime(), help="recorded at or after (UTC)")
@click.option("--to", "recorded_to", type=click.DateTime(), help="recorded before (UTC)")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)"
)
@with_stack(nats=False, quiet=True)
async def export(
    urls: StackUrls,
    *,
    tenant: str,
    after: int,
    until: int | None,
    stream: str | None,
    event_types: tuple[str, ...],
    recorded_from: datetime | None,
    recorded_to: datetime | None,
    out: Path | None,
) -> int:
    """Every event of TENANT in global order, one JSON line each (envelope + payload)."""
    from datetime import UTC

    from psycopg_pool import AsyncConnectionPool

    from read_api.export import HistoryFilter, history_lines
    from streams.pool_check import check_connection

    wanted = HistoryFilter(
        after=after,
        until=until,
        stream_id=stream,
        event_types=event_types,
        recorded_from=recorded_from.replace(tzinfo=UTC) if recorded_from else None,
        recorded_to=recorded_to.replace(tzinfo=UTC) if recorded_to else None,
    )
    pool: AsyncConnectionPool = AsyncConnectionPool(
        urls.database_url,
        min_size=1,
        max_size=1,
        open=False,
        kwargs={"autocommit": True},
        check=check_connection,
    )
    await pool.open()
    lines = 0
    try:
        sink: BinaryIO = out.open("wb") if out else sys.stdout.buffer
        try:
            async for line in history_lines(pool, tenant, wanted):
                sink.write(line)
                lines += 1
        finally:
            if out:
                sink.close()
            else:
                sink.flush()
    finally:
        await pool.close()
    if lines == 0:
        return fail(f"no events of tenant {tenant!r} match", code=0)
    print(f"exported {lines} events of {tenant}", file=sys.stderr)
    return 0


COMMANDS = [history]
