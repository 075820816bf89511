"""``obrador bench import``: a generated 1,000,000-line transaction CSV through ``import_sales``.

The file (10 stores, 40 products, tickets of 1–5 lines over a year) is written
to a temporary folder first; the import then runs in a child process on a
fresh schema, end to end (read, check, check against the store, bulk write),
and reports its own wall time and peak RSS. The whole ddop bakery file is
imported the same way with its mapping. Targets: ≥ 60,000 lines/s, < 1 GB.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import platform
import resource
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from queue import Empty
from typing import Any, Final

import numpy as np
import polars as pl
import psycopg
from psycopg.conninfo import make_conninfo

from commands.handlers import handle
from commands.importer.run import ImportOptions, import_sales
from commands.types import CreateTenant, DefineProduct, OpenStore
from domain.access import Actor
from domain.events.organisation import Role, StoreKind, TenantKind
from migrations.runner import migrate
from streams.store import EventStore

LINES: Final = 1_000_000
STORES: Final = 10
PRODUCTS: Final = 40
DDOP_MAPPING: Final = {
    "format": "daily",
    "columns": {"date": "date", "store": "store", "product": "product", "quantity": "demand"},
}
TENANT: Final = "bench-bakery"
OWNER: Final = Actor(user_id="bench", role=Role.OWNER)


def generate(path: Path, lines: int = LINES, seed: int = 7) -> int:
    """Write a transaction-level CSV of exactly ``lines`` ticket lines; return the tickets."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=lines)  # lines per ticket, 1..5 (mean 3)
    ends = np.cumsum(sizes)
    tickets = int(np.searchsorted(ends, lines) + 1)
    sizes = sizes[:tickets]
    sizes[-1] -= int(ends[tickets - 1] - lines)
    ticket = np.repeat(np.arange(tickets), sizes)
    store = np.repeat(rng.integers(0, STORES, size=tickets), sizes)
    # opening hours 07:00-21:00 (also keeps clear of the night the clocks change)
    days = rng.integers(0, 365, size=tickets) * 86_400
    seconds = np.repeat(days + rng.integers(7 * 3600, 21 * 3600, size=tickets), sizes)
    position = np.arange(lines) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    product = (np.repeat(rng.integers(0, PRODUCTS, size=tickets), sizes) + position) % PRODUCTS
    frame = pl.DataFrame(
        {
            "ticket": ticket,
            "store": store,
            "at": seconds,
            "product": product,
            "quantity": rng.integers(1, 7, size=lines),
            "price": rng.integers(80, 450, size=lines),
        }
    ).select(
        (pl.datetime(2025, 1, 1) + pl.duration(seconds=pl.col("at")))
        .dt.strftime("%Y-%m-%d")
        .alias("date"),
        (pl.datetime(2025, 1, 1) + pl.duration(seconds=pl.col("at")))
        .dt.strftime("%H:%M:%S")
        .alias("time"),
        pl.format("s{}", pl.col("store")).alias("store"),
        pl.format("t{}", pl.col("ticket")).alias("ticket"),
        pl.format("p{}", pl.col("product")).alias("product"),
        pl.col("quantity"),
        (pl.col("price") / 100).round(2).alias("price"),
    )
    frame.write_csv(path)
    return tickets


async def _setup(conninfo: str, stores: list[str], products: list[str], zone: str) -> None:
    store = await EventStore.open(conninfo)
    try:
        await handle(
            CreateTenant(name="Bench bakery", kind=TenantKind.CHAIN),
            store,
            tenant_id=TENANT,
            actor=OWNER,
        )
        for store_id in stores:
            await handle(
                OpenStore(
                    store_id=store_id,
                    name=store_id,
                    kind=StoreKind.OUTLET,
                    timezone=zone,
                    region="ES-CT" if zone == "Europe/Madrid" else "DE-BY",
                ),
                store,
                tenant_id=TENANT,
                actor=OWNER,
            )
        for sku in products:
            await handle(
                DefineProduct(
                    sku=sku,
                    name=sku,
                    category="bread",
                    price=Decimal("1.20"),
                    unit_cost=Decimal("0.30"),
                    shelf_life_days=1,
                ),
                store,
                tenant_id=TENANT,
                actor=OWNER,
            )
    finally:
        await store.close()


def _child(conninfo: str, path: str, mapping: str | None, report: str, queue: Any) -> None:
    async def run() -> dict[str, Any]:
        store = await EventStore.open(conninfo)
        try:
            options = ImportOptions(
                tenant_id=TENANT,
                mapping_file=Path(mapping) if mapping else None,
                report=Path(report),
                progress=False,
            )
            started = time.perf_counter()
            result = await import_sales(store, Path(path), options)
            elapsed = time.perf_counter() - started
        finally:
            await store.close()
        return {
            "rows": result.total_rows,
            "tickets": result.tickets,
            "written": result.written,
            "errors": result.error_rows,
            "aborted": result.aborted,
            "seconds": elapsed,
            "phases": result.details,
        }

    figures = asyncio.run(run())
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(figures)


def _import_in_child(
    conninfo: str, path: Path, mapping: Path | None, folder: Path
) -> dict[str, Any]:
    """Import in a fresh process; the report goes to ``folder`` (never beside a shared file)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    report = str(folder / f"{path.stem}.report.csv")
    child = context.Process(
        target=_child,
        args=(conninfo, str(path), str(mapping) if mapping else None, report, queue),
    )
    child.start()
    while True:  # a child that dies (killed, out of memory) must not leave us waiting
        try:
            figures: dict[str, Any] = queue.get(timeout=1.0)
            break
        except Empty:
            if not child.is_alive():
                raise RuntimeError(
                    f"the import process died (exit code {child.exitcode})"
                ) from None
    child.join()
    return figures


def run_bench(
    database_url: str,
    *,
    lines: int = LINES,
    ddop: Path | None = None,
    copy_reference: Callable[[str], tuple[int, float]] | None = None,
) -> dict[str, Any]:
    """Import ``lines`` generated lines (and the ddop sales CSV ``ddop``, if given); the figures.

    ``copy_reference(conninfo)``, when given, is called on the imported schema
    and returns (rows, seconds) of a raw COPY of the very events the import
    wrote; ``ratio_vs_copy`` is then COPY's time over the import's time.
    """
    out: dict[str, Any] = {"lines": lines}
    with tempfile.TemporaryDirectory(prefix="obrador-bench-import-") as tmp:
        folder = Path(tmp)
        csv_path = folder / "sales.csv"
        started = time.perf_counter()
        out["tickets"] = generate(csv_path, lines)
        out["generate_seconds"] = round(time.perf_counter() - started, 1)
        out["file_mb"] = round(csv_path.stat().st_size / 2**20, 1)
        conninfo, schema = _fresh_schema(database_url)
        try:
            stores = [f"s{i}" for i in range(STORES)]
            asyncio.run(
                _setup(conninfo, stores, [f"p{i}" for i in range(PRODUCTS)], "Europe/Madrid")
            )
            figures = _import_in_child(conninfo, csv_path, None, folder)
            if copy_reference is not None:
                copy_rows, copy_seconds = copy_reference(conninfo)
                out["copy_rows"] = copy_rows
                out["copy_seconds"] = round(copy_seconds, 3)
                out["copy_rows_per_s"] = round(copy_rows / copy_seconds) if copy_seconds else 0
                out["ratio_vs_copy"] = round(copy_seconds / figures["seconds"], 3)
        finally:
            _drop_schema(database_url, schema)
        if figures["aborted"] or figures["written"] != out["tickets"]:
            raise RuntimeError(f"bench import did not write every ticket: {figures}")
        out["seconds"] = round(figures["seconds"], 2)
        out["lines_per_s"] = round(lines / figures["seconds"])
        out["tickets_per_s"] = round(figures["written"] / figures["seconds"])
        out["peak_rss_mb"] = round(figures["peak_rss_mb"], 1)
        out["phases_s"] = figures["phases"]
        if ddop is not None:
            mapping = folder / "ddop.json"
            mapping.write_text(json.dumps(DDOP_MAPPING))
            conninfo, schema = _fresh_schema(database_url)
            try:
                asyncio.run(
                    _setup(conninfo, _ddop_stores(ddop), ["101", "109", "110"], "Europe/Berlin")
                )
                found = _import_in_child(conninfo, ddop, mapping, folder)
            finally:
                _drop_schema(database_url, schema)
            out["ddop_rows"] = found["rows"]
            out["ddop_sales"] = found["written"]
            out["ddop_errors"] = found["errors"]
            out["ddop_seconds"] = round(found["seconds"], 2)
            out["ddop_rows_per_s"] = round(found["rows"] / found["seconds"])
            out["ddop_peak_rss_mb"] = round(found["peak_rss_mb"], 1)
    out["machine"] = machine()
    return out


def _ddop_stores(ddop: Path) -> list[str]:
    column = pl.scan_csv(ddop, infer_schema=False).select("store").unique().collect()
    return sorted(column["store"].to_list())


def _fresh_schema(url: str) -> tuple[str, str]:
    schema = f"bench_import_{uuid.uuid4().hex[:8]}"
    migrate(url, schema=schema)
    return make_conninfo(url, options=f"-c search_path={schema}"), schema


def _drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores, {mem_gb:.0f} GB, {platform.system()} {platform.machine()}, "
        f"load {load:.1f} at end"
    )
