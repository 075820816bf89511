"""``obrador bench …``: the benchmarks of docs/benchmarks.md."""

from __future__ import annotations

import json
import os

import click

from deploy.cli.common import current_settings, emit, json_option, with_stack
from deploy.sample_data import DDOP_EXOG, ddop_csv
from deploy.stack import StackUrls

WHAT = ["store", "relay", "freshness", "rebuild", "import", "forecast", "api"]


@click.command()
@click.argument("what", type=click.Choice(WHAT))
@json_option
@click.option("--quick", is_flag=True, help="small sizes, for smoke tests")
def bench(what: str, as_json: bool, quick: bool) -> int:
    """Benchmarks (see docs/benchmarks.md)."""
    if what == "store":
        from deploy.bench_store import main as bench_store

        return bench_store(json_output=as_json, quick=quick, settings=current_settings())
    if what in ("relay", "freshness", "rebuild"):
        from deploy.bench_pipeline import main as bench_pipeline

        return bench_pipeline(what, json_output=as_json, quick=quick, settings=current_settings())
    if what == "api":
        from deploy.bench_api import main as bench_api

        return bench_api(json_output=as_json, quick=quick, settings=current_settings())
    if what == "forecast":
        bench_forecast(as_json)
        return 0
    return _bench_import(as_json, quick)


@with_stack(nats=False, quiet=True)
def _bench_import(urls: StackUrls, as_json: bool, quick: bool) -> None:
    """1,000,000 generated lines (``OBRADOR_BENCH_IMPORT_LINES``), then the whole ddop file.

    ``--quick``: 20,000 lines and no ddop file.
    """
    from commands.importer.bench import run_bench
    from deploy.ceilings import copy_stored_events

    lines = int(os.environ.get("OBRADOR_BENCH_IMPORT_LINES", "20000" if quick else "1000000"))
    figures = run_bench(
        urls.database_url,
        lines=lines,
        ddop=None if quick else ddop_csv(),
        copy_reference=copy_stored_events,
    )
    emit(figures, as_json, lambda: "\n".join(f"{k:20} {v}" for k, v in figures.items()))
    if not quick:
        from deploy.bench_store import record_rows

        record_rows(
            [
                (
                    f"import {figures['lines']:,} lines",
                    f"{figures['lines_per_s']:,} lines/s, {figures['peak_rss_mb']} MB peak",
                    f"COPY of its {figures['copy_rows']:,} events: {figures['copy_seconds']} s",
                    f"{figures['ratio_vs_copy']}×",
                )
            ],
            str(figures["machine"]),
            "`obrador bench import`",
        )


def bench_forecast(
    as_json: bool, csv_path: str | None = None, workers: int = 2
) -> dict[str, object]:
    """The full ddop backtest (the repository's copy unless ``csv_path``), timed (``seconds``)."""
    from deploy.cli.forecast import clean_json, format_table
    from forecasting.backtest import run_backtest

    out: dict[str, object] = run_backtest(
        csv_path or str(ddop_csv()),
        "date",
        ["store", "product"],
        "demand",
        list(DDOP_EXOG),
        horizons=(1, 7, 28),
        origins=182,
        workers=workers,
    )
    print(json.dumps(clean_json(out)) if as_json else format_table(out))
    return out


COMMANDS = [bench]
