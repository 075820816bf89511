"""``obrador import sales FILE``: read, check everything, then write through ``bulk_append``.

Nothing is written until the whole file has been checked — rows, known stores
and products, duplicates in the file and against the store — and the errors
are within the threshold. Then missing stores/products are created (when
asked) and the tickets go to the store in large chunks. Every ticket has a
deterministic event id and idempotency key, so importing the same file again
writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import polars as pl
from tqdm import tqdm

from commands.handlers import handle
from commands.importer.build import TicketBuilder, append_request, sale_request
from commands.importer.fastpath import ticket_payloads
from commands.importer.mapping import ColumnMap, Field, detect, load_mapping_file, resolve
from commands.importer.reader import read_table
from commands.importer.report import skus_path, write_report, write_skus
from commands.importer.skus import map_products
from commands.importer.validate import ROW, Checked, Context, check_rows
from commands.types import CreateTenant, DefineProduct, OpenStore
from domain import organisation
from domain import streams as stream_ids
from domain.access import Actor
from domain.codec import decode_event
from domain.errors import AlreadyExists, InvalidValue
from domain.events import SaleRecorded
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.limits import check_quantity
from streams.envelope import AppendRequest, AppendResult
from streams.errors import WrongExpectedVersion
from streams.store import EventStore

#: every sale stream id starts so (``domain.streams.sale_stream``)
_SALE_PREFIX: Final = stream_ids.stream_type(stream_ids.sale_stream("s", "t")) + "-"
#: rows per part whose ticket payloads are built at once (bounds the write phase's memory)
PART_ROWS: Final = 100_000
_ZERO: Final = Decimal(0)


class ImportRefused(Exception):
    """The import cannot start (no tenant, unmappable file…); nothing was written."""


@dataclass
class ImportOptions:
    tenant_id: str
    kind: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    mapping_file: Path | None = None
    store: str | None = None
    create_products: bool = False
    create_stores: bool = False
    #: create the tenant (a chain with this name) when it does not exist yet
    new_tenant: str | None = None
    timezone: str = "Europe/Madrid"
    region: str = "ES"
    max_errors: str = "0"
    report: Path | None = None
    actor: str = "import"
    progress: bool = True
    dry_run: bool = False
    #: the CSV's text encoding; None detects it (BOM, UTF-8, else cp1252/latin-1)
    encoding: str | None = None
    #: files with one row per unit sold: each row is this many units (implies summing repeats)
    quantity_per_row: Decimal | None = None
    #: the same product at the same price twice on a ticket is more units, summed
    sum_repeated_lines: bool = False
    #: product name in the file -> SKU (wins over the mapping file's ``products`` and slugs)
    products: dict[str, str] = field(default_factory=dict)
    #: events per bulk_append transaction (20,000 measured no faster on a loaded machine
    #: since migration 0010 made the batch function linear; docs/import.md)
    chunk_events: int = 4_000
    workers: int = 2
    #: build ticket payloads column-wise when the file allows it (byte-identical)
    fast_path: bool = True


@dataclass
class ImportResult:
    total_rows: int
    tickets: int = 0  # tickets in the file that passed every check
    written: int = 0  # new sales stored by this run
    already_stored: int = 0
    error_rows: int = 0
    skipped_zero: int = 0
    aborted: bool = False
    dry_run: bool = False
    report: Path | None = None
    #: unknown in the tenant and needed by the file (created only if something is written)
    new_products: list[str] = field(default_factory=list)
    new_stores: list[str] = field(default_factory=list)
    #: what this run did create
    created_products: list[str] = field(default_factory=list)
    created_stores: list[str] = field(default_factory=list)
    #: product names that are not SKUs -> the SKU they were imported as
    product_skus: dict[str, str] = field(default_factory=dict)
    skus_report: str | None = None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


async def import_sales(store: EventStore, path: Path, options: ImportOptions) -> ImportResult:
    started = time.perf_counter()
    table = read_table(path, encoding=options.encoding)
    frame, plan = _plan(table.frame, options)
    cmap = plan.cmap
    if cmap.column(Field.STORE) is None and options.store is None:
        raise ImportRefused("the file has no store column: say which store with --store")
    tenant = await _tenant(store, options.tenant_id, create=options.new_tenant is not None)
    zones = {s: tenant.stores[s].timezone for s in tenant.open_store_ids()}
    skus = map_products(_product_names(frame, cmap), plan.products)
    ctx = Context(
        store=options.store,
        store_zones=zones,
        products=await _known_products(store, options.tenant_id, frame, cmap, skus.skus),
        create_products=options.create_products,
        create_stores=options.create_stores,
        default_timezone=options.timezone,
        closed_stores=frozenset(tenant.closed),
        product_skus=skus.skus,
        product_errors=skus.errors,
        sum_repeated=plan.sum_repeated,
    )
    checked = check_rows(frame, cmap, ctx)
    del frame
    checked_at = time.perf_counter()
    already = await _against_store(store, options.tenant_id, checked)
    compared_at = time.perf_counter()
    result = ImportResult(
        total_rows=checked.total_rows,
        tickets=checked.rows["stream"].n_unique(),
        already_stored=len(already),
        error_rows=checked.error_rows,
        skipped_zero=checked.skipped_zero,
        dry_run=options.dry_run,
        new_products=checked.new_products,
        new_stores=[s for s in checked.new_stores if s not in tenant.stores],
        details={
            "encoding": table.encoding,
            "read_and_check_s": round(checked_at - started, 2),
            "against_store_s": round(compared_at - checked_at, 2),
        },
    )
    limit = error_limit(options.max_errors, checked.total_rows)
    result.report = write_report(options.report or default_report_path(path), checked.errors)
    result.product_skus = dict(skus.skus)
    if skus.skus:
        result.skus_report = str(write_skus(skus_path(result.report), skus.skus, skus.how))
    if result.error_rows > limit:
        result.aborted = True
        result.seconds = time.perf_counter() - started
        return result
    if options.dry_run:
        result.seconds = time.perf_counter() - started
        return result
    to_write = checked.rows
    if already:
        to_write = to_write.filter(~pl.col("stream").is_in(pl.Series(sorted(already)).implode()))
    if to_write.height == 0:  # nothing to import: no tenant, store or product either
        result.seconds = time.perf_counter() - started
        return result
    names = {sku: name for name, sku in skus.skus.items()}
    await _create_missing(store, options, result, zones, names)
    del checked  # the report is written; only the rows to write are needed from here
    writing_at = time.perf_counter()
    handed = [to_write]
    del to_write
    result.written, conflicts = await _write(store, options, handed)
    result.details["write_s"] = round(time.perf_counter() - writing_at, 2)
    if conflicts:  # someone recorded one of these tickets while we were importing
        result.details["conflicts"] = conflicts
    result.seconds = time.perf_counter() - started
    return result


@dataclass(frozen=True)
class _Plan:
    cmap: ColumnMap
    sum_repeated: bool
    products: dict[str, str]  # explicit product name -> SKU


#: the column a ``quantity_per_row`` file gets (named so in the report)
PER_ROW: Final = "--quantity-per-row"


def _plan(frame: pl.DataFrame, options: ImportOptions) -> tuple[pl.DataFrame, _Plan]:
    """The column map and the import's options, from flags over the mapping file over defaults."""
    mapping = dict(load_mapping_file(options.mapping_file)) if options.mapping_file else {}
    products = {**_text_map(mapping.pop("products", {})), **options.products}
    per_row = mapping.pop("quantity_per_row", None)
    if options.quantity_per_row is not None:
        per_row = options.quantity_per_row
    sum_repeated = bool(mapping.pop("sum_repeated_lines", False)) or options.sum_repeated_lines
    flags = dict(options.columns)
    if per_row is not None:
        file_columns = mapping.get("columns") or {}
        chosen = flags.get(
            "quantity", file_columns.get("quantity", detect(frame.columns).get(Field.QUANTITY))
        )
        if chosen:
            raise ImportRefused(
                f"the file has a quantity column ({chosen}): --quantity-per-row is for files"
                " without one (un-map it with --map quantity= to ignore it)"
            )
        frame = frame.with_columns(pl.lit(str(_units(per_row))).alias(PER_ROW))
        flags["quantity"] = PER_ROW
        sum_repeated = True  # one row per unit: a product twice on a ticket is 2 units
    cmap = resolve(frame.columns, kind=options.kind, flags=flags, mapping_file=mapping)
    return frame, _Plan(cmap=cmap, sum_repeated=sum_repeated, products=products)


def _units(value: object) -> Decimal:
    try:
        return check_quantity(PER_ROW, Decimal(str(value)))
    except (InvalidOperation, InvalidValue) as exc:
        reason = exc.reason if isinstance(exc, InvalidValue) else "not a number"
        raise ImportRefused(f"{PER_ROW} {value}: {reason}") from exc


def _text_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ImportRefused("products in the mapping file: an object of name -> SKU")
    return dict(value)


def _product_names(frame: pl.DataFrame, cmap: ColumnMap) -> list[str]:
    column = cmap.column(Field.PRODUCT)
    assert column is not None
    values = pl.col(column).cast(pl.String).str.strip_chars()
    names = frame.select(values.filter(values != "").unique().drop_nulls()).to_series()
    return sorted(names.to_list())


def error_limit(spec: str, total_rows: int) -> int:
    """``"25"`` rows or ``"1%"`` of the rows."""
    text = spec.strip()
    try:
        if text.endswith("%"):
            return int(float(text[:-1]) / 100 * total_rows)
        return int(text)
    except ValueError as exc:
        raise ImportRefused(f"--max-errors {spec!r}: a number of rows or a percentage") from exc


def default_report_path(path: Path) -> Path:
    return Path.cwd() / f"{path.stem}.import-report.csv"


async def _tenant(store: EventStore, tenant_id: str, *, create: bool) -> organisation.TenantState:
    records = await store.read_stream(tenant_id, stream_ids.TENANT_STREAM)
    state = organisation.fold(
        decode_event(r.event_type, r.schema_version, r.payload) for r in records
    )
    if state.tenant is None and not create:
        raise ImportRefused(f"tenant {tenant_id!r} does not exist (--new-tenant NAME creates it)")
    return state


async def _known_products(
    store: EventStore,
    tenant_id: str,
    frame: pl.DataFrame,
    cmap: ColumnMap,
    skus: dict[str, str],
) -> frozenset[str]:
    """The SKUs of the file (after mapping names) that the tenant has defined."""
    wanted = {skus.get(name, name) for name in _product_names(frame, cmap)}
    streams = {stream_ids.product_stream(sku): sku for sku in wanted}
    return frozenset(streams[s] for s in await store.existing_streams(tenant_id, streams))


async def _against_store(store: EventStore, tenant_id: str, checked: Checked) -> set[str]:
    """Streams already holding this very ticket (skipped); a different one is an error."""
    ids = checked.rows["stream"].unique()
    if not ids.len() or not await store.has_streams(tenant_id, prefix=_SALE_PREFIX):
        return set()
    stored: dict[str, SaleRecorded] = {}
    for stream_id, first in (await store.first_events(tenant_id, ids.to_list())).items():
        event = decode_event(first.event_type, first.schema_version, first.payload)
        if isinstance(event, SaleRecorded):
            stored[stream_id] = event
    if not stored:
        return set()
    ours = checked.rows.filter(pl.col("stream").is_in(pl.Series(list(stored)).implode()))
    same, different = set(), set()
    for sale in TicketBuilder().sales(ours):
        stream = stream_ids.sale_stream(sale.store_id, sale.pos_txn_id)
        earlier = stored[stream]
        if earlier.lines == sale.lines and earlier.sold_at == sale.sold_at:
            same.add(stream)
        else:
            different.add(stream)
    if different:
        clash = ours.filter(pl.col("stream").is_in(pl.Series(sorted(different)).implode()))
        notes = clash.select(
            pl.col(ROW),
            pl.lit("ticket").alias("column"),
            pl.col("txn").alias("value"),
            pl.lit("this ticket is already recorded with different lines or time").alias("reason"),
        )
        checked.errors = pl.concat([checked.errors, notes]).sort(ROW, "column")
        checked.rows = checked.rows.filter(
            ~pl.col("stream").is_in(pl.Series(sorted(different)).implode())
        )
    return same


async def _create_missing(
    store: EventStore,
    options: ImportOptions,
    result: ImportResult,
    zones: dict[str, str],
    names: dict[str, str],
) -> None:
    actor = Actor(user_id=options.actor, role=Role.OWNER)
    if options.new_tenant is not None:
        with contextlib.suppress(AlreadyExists):
            await handle(
                CreateTenant(name=options.new_tenant, kind=TenantKind.CHAIN),
                store,
                tenant_id=options.tenant_id,
                actor=actor,
            )
    for store_id in result.new_stores:
        await handle(
            OpenStore(
                store_id=store_id,
                name=f"Store {store_id}",
                kind=StoreKind.SHOP,
                timezone=zones.get(store_id, options.timezone),
                region=options.region,
                idempotency_key=stream_ids.import_store_key(store_id),
            ),
            store,
            tenant_id=options.tenant_id,
            actor=actor,
        )
        result.created_stores.append(store_id)
    for sku in result.new_products:
        await handle(
            DefineProduct(
                sku=sku,
                name=names.get(sku, sku),
                category="imported",
                price=_ZERO,
                unit_cost=_ZERO,
                shelf_life_days=1,
                idempotency_key=stream_ids.import_product_key(sku),
            ),
            store,
            tenant_id=options.tenant_id,
            actor=actor,
        )
        result.created_products.append(sku)


async def _write(
    store: EventStore, options: ImportOptions, handed: list[pl.DataFrame]
) -> tuple[int, list[str]]:
    """``bulk_append`` from ``options.workers`` coroutines, each on its own share of tickets.

    While one waits for its chunk to commit, the next builds its own, so Python
    and PostgreSQL work at the same time. The rows are cut into parts by ticket
    (a ticket never spans two parts) and each part's payloads are built only
    when its turn comes, so memory holds the rows plus one part's payloads.
    ``handed`` is emptied: this function owns the rows from here on.
    """
    rows = handed.pop()
    causation = uuid.uuid4()
    actor = f"user:{options.actor}"
    workers = max(1, options.workers)
    count = workers * max(1, rows.height // PART_ROWS)
    bar = tqdm(
        total=rows["stream"].n_unique(),
        unit="ticket",
        desc="importing",
        disable=not options.progress,
        leave=False,
    )
    parts = (
        rows.with_columns((pl.col("stream").hash(seed=7) % count).alias("_part")).partition_by(
            "_part", include_key=False
        )
        if rows.height
        else []
    )
    del rows

    def requests(mine: list[pl.DataFrame]) -> Iterator[AppendRequest]:
        while mine:
            part = mine.pop()
            payloads = ticket_payloads(part) if options.fast_path else None
            if payloads is None:
                for sale in TicketBuilder().sales(part):
                    yield append_request(
                        sale, tenant_id=options.tenant_id, actor=actor, causation_id=causation
                    )
                continue
            del part
            for store_id, txn, payload in zip(
                payloads["store"].to_list(),
                payloads["txn"].to_list(),
                payloads["payload"].to_list(),
                strict=True,
            ):
                yield sale_request(
                    store_id,
                    txn,
                    payload.encode(),
                    tenant_id=options.tenant_id,
                    actor=actor,
                    causation_id=causation,
                )

    shares = [parts[k::workers] for k in range(workers)]
    del parts
    try:
        results = await asyncio.gather(
            *(
                store.bulk_append(
                    requests(share), chunk_events=options.chunk_events, on_progress=bar.update
                )
                for share in shares
                if share
            )
        )
    finally:
        bar.close()
    written, conflicts = 0, []
    for outcomes in results:
        for outcome in outcomes:
            if isinstance(outcome, AppendResult):
                written += not outcome.duplicate
            elif isinstance(outcome, WrongExpectedVersion):
                conflicts.append(outcome.stream_id)
            else:
                raise outcome
    return written, conflicts
