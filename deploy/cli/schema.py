"""``obrador schema events``: JSON Schemas for integrators."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.argument("what", type=click.Choice(["events"]))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="folder to write one file per event type (default: stdout)",
)
def schema(what: str, out: Path | None) -> None:
    """JSON Schemas for integrators."""
    from domain.schema import event_json_schemas, schema_file_name

    schemas = event_json_schemas()
    if out is None:
        print(json.dumps(schemas, indent=2, ensure_ascii=False))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, body in schemas.items():
        path = out / schema_file_name(name, int(body["x-schema-version"]))
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(schemas)} event schemas to {out}")


COMMANDS = [schema]
