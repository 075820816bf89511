"""``obrador import sales``: history files into the store (docs/import.md)."""

from __future__ import annotations

import sys
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from deploy.cli.common import emit, fail, json_option, tenant_option, with_stack
from deploy.stack import StackUrls


@click.group("import")
def import_() -> None:
    """Import history files."""


@import_.command(
    epilog="Checks the whole file first; writes nothing if the errors pass --max-errors."
    " See docs/import.md."
)
@click.argument("file", type=click.Path(path_type=Path))
@tenant_option()
@click.option("--store", help="every row is of this store (needed without a store column)")
@click.option("--format", "kind", type=click.Choice(["auto", "transactions", "daily"]))
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="e.g. --map quantity=demand (fields: date time store product quantity"
    " unit_price amount discount ticket channel)",
)
@click.option("--mapping", type=click.Path(path_type=Path), help="JSON mapping file")
@click.option(
    "--unknown-products",
    type=click.Choice(["refuse", "create"]),
    default="refuse",
    show_default=True,
)
@click.option(
    "--unknown-stores", type=click.Choice(["refuse", "create"]), default="refuse", show_default=True
)
@click.option("--new-tenant", metavar="NAME", help="create the tenant if missing")
@click.option("--timezone", default="Europe/Madrid", show_default=True, help="for new stores")
@click.option("--region", default="ES", show_default=True, help="for stores created here")
@click.option(
    "--max-errors", default="0", show_default=True, help="rows (e.g. 25) or share (e.g. 1%)"
)
@click.option(
    "--report", type=click.Path(path_type=Path), help="default: ./<file>.import-report.csv"
)
@click.option("--dry-run", is_flag=True, help="check and report, write nothing")
@click.option(
    "--encoding", default="auto", show_default=True, help="CSV text encoding (auto: detected)"
)
@click.option(
    "--quantity-per-row",
    metavar="UNITS",
    help="no quantity column: every row is UNITS units (e.g. 1); repeats are summed",
)
@click.option(
    "--sum-repeated-lines",
    is_flag=True,
    help="the same product at the same price twice on a ticket is more units: sum them",
)
@click.option(
    "--sku",
    "skus",
    multiple=True,
    metavar="NAME=SKU",
    help="import product NAME as SKU (names that are not SKUs are slugified otherwise)",
)
@click.option("--actor", default="import", show_default=True, help="user id on the events")
@json_option
def sales(
    *,
    file: Path,
    tenant: str,
    store: str | None,
    kind: str | None,
    maps: tuple[str, ...],
    mapping: Path | None,
    unknown_products: str,
    unknown_stores: str,
    new_tenant: str | None,
    timezone: str,
    region: str,
    max_errors: str,
    report: Path | None,
    dry_run: bool,
    encoding: str,
    quantity_per_row: str | None,
    sum_repeated_lines: bool,
    skus: tuple[str, ...],
    actor: str,
    as_json: bool,
) -> int:
    """A CSV or .xlsx of ticket lines or daily totals."""
    from commands.importer.run import ImportOptions

    columns = {}
    for item in maps:
        field, sep, column = item.partition("=")
        if not sep:
            return fail(f"--map {item!r}: write FIELD=COLUMN", 2)
        columns[field.strip()] = column.strip()
    units = None
    if quantity_per_row is not None:
        try:
            units = Decimal(quantity_per_row)
        except InvalidOperation:
            return fail(f"--quantity-per-row {quantity_per_row!r}: a number of units, e.g. 1", 2)
    products = {}
    for item in skus:
        name, sep, sku = item.rpartition("=")
        if not sep or not name.strip():
            return fail(f"--sku {item!r}: write NAME=SKU", 2)
        products[name.strip()] = sku.strip()
    options = ImportOptions(
        tenant_id=tenant,
        kind=kind,
        columns=columns,
        mapping_file=mapping,
        store=store,
        create_products=unknown_products == "create",
        create_stores=unknown_stores == "create",
        new_tenant=new_tenant,
        timezone=timezone,
        region=region,
        max_errors=max_errors,
        report=report,
        actor=actor,
        progress=sys.stderr.isatty() and not as_json,
        dry_run=dry_run,
        encoding=encoding,
        quantity_per_row=units,
        sum_repeated_lines=sum_repeated_lines,
        products=products,
    )
    return _run(file, options, as_json)


@with_stack(nats=False)
async def _run(urls: StackUrls, file: Path, options: Any, as_json: bool) -> int:
    from commands.importer.mapping import MappingError
    from commands.importer.reader import ReadError
    from commands.importer.run import ImportRefused, import_sales
    from streams.store import EventStore

    try:
        async with await EventStore.open(urls.database_url) as store:
            result = await import_sales(store, file, options)
    except (ImportRefused, MappingError, ReadError) as exc:
        return fail(f"import refused, nothing written: {exc}", 2)
    summary = asdict(result)
    summary["report"] = str(result.report) if result.report else None
    emit(summary, as_json, lambda: _summary_text(summary))
    return 1 if result.aborted else 0


def _summary_text(s: dict[str, Any]) -> str:
    lines = []
    if s["aborted"]:
        lines.append(f"ABORTED, nothing written: {s['error_rows']} bad rows is over --max-errors")
    elif s["dry_run"]:
        lines.append("dry run, nothing written")
    lines += [
        f"rows               {s['total_rows']:,}",
        f"rows with errors   {s['error_rows']:,}   (report: {s['report']})",
        f"zero-unit days     {s['skipped_zero']:,}   (not sales)",
        f"tickets checked    {s['tickets']:,}",
        f"already stored     {s['already_stored']:,}",
    ]
    if s["aborted"] or s["dry_run"]:
        lines.append(f"would write        {s['tickets'] - s['already_stored']:,} sales")
    else:
        lines.append(f"written            {s['written']:,} sales in {s['seconds']:.1f}s")
    if s["product_skus"]:
        lines.append(
            f"product names      {len(s['product_skus'])} imported as SKUs ({s['skus_report']})"
        )
    if s["created_stores"] or s["created_products"]:
        lines.append(
            f"created            stores {s['created_stores']}, products {s['created_products']}"
        )
    elif s["new_stores"] or s["new_products"]:
        verb = "would have created" if s["aborted"] else "would create"
        lines.append(f"{verb:<19}stores {s['new_stores']}, products {s['new_products']}")
    return "\n".join(lines)


COMMANDS = [import_]
