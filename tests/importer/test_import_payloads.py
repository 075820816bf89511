"""The column-wise ticket payloads equal the Struct path byte for byte; keys match handle()."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest

from commands.handlers import idempotency_key
from commands.importer.build import TicketBuilder, sale_key
from commands.importer.fastpath import ticket_payloads
from commands.importer.mapping import resolve
from commands.importer.validate import Context, check_rows
from commands.types import RecordSale
from deploy.sample_data import ddop_csv
from domain.codec import encode_event
from domain.events.sales import SaleLine

DDOP = ddop_csv()  # the repository copy of the real ddop file, as CSV
CTX = Context(
    store=None,
    store_zones={"born": "Europe/Madrid", "lon": "Europe/London"},
    products=frozenset({"baguette", "croissant", "101", "109", "110"}),
)


def both_ways(
    frame: pl.DataFrame, ctx: Context = CTX, **mapping: str
) -> tuple[list[bytes], list[bytes]]:
    checked = check_rows(frame, resolve(frame.columns, flags=mapping), ctx)
    assert checked.errors.height == 0, checked.errors
    fast = ticket_payloads(checked.rows)
    assert fast is not None
    slow = [encode_event(sale)[2] for sale in TicketBuilder().sales(checked.rows)]
    return [p.encode() for p in fast["payload"].to_list()], slow


def test_transaction_lines_with_prices_discounts_and_zones() -> None:
    frame = pl.DataFrame(
        {
            "date": ["2026-01-05", "2026-01-05", "2026-07-01", "2026-01-05", "2026-01-05"],
            "time": ["08:15", "08:15", "09:00:05", "10:00", "10:00"],
            "store": ["born", "born", "lon", "lon", "born"],
            "product": ["baguette", "croissant", "baguette", "croissant", "baguette"],
            "quantity": ["2", "1.5", "10", "0.250", "3"],
            "price": ["1.20", "1.5", "0", "2.125", "1"],
            "discount": ["0.40", "0", "0", "0.0625", "0.5"],
            "ticket": ["T1", "T1", "T2", "T3", "T4"],
        }
    )
    fast, slow = both_ways(frame)
    assert fast == slow
    assert b'"occurred_at":"2026-01-05T10:00:00Z"' in fast[2]  # London in winter: msgspec's Z


def test_a_sample_of_the_ddop_daily_file() -> None:
    frame = pl.read_csv(DDOP, infer_schema=False, n_rows=3000)
    ctx = Context(
        store=None, store_zones={"2": "Europe/Berlin", "3": "Europe/Berlin"}, products=CTX.products
    )
    fast, slow = both_ways(frame, ctx, quantity="demand")
    assert fast == slow and len(fast) > 2000


def test_amounts_that_need_arithmetic_take_the_struct_path() -> None:
    frame = pl.DataFrame(
        {
            "date": ["2026-01-05"],
            "store": ["born"],
            "product": ["baguette"],
            "quantity": ["3"],
            "importe": ["3.30"],
            "ticket": ["T"],
        }
    )
    checked = check_rows(frame, resolve(frame.columns), CTX)
    assert ticket_payloads(checked.rows) is None


@pytest.mark.parametrize(("store", "txn"), [("born", "T-1"), ("2", "daily-101-20160102")])
def test_the_import_keys_a_sale_as_record_sale_does(store: str, txn: str) -> None:
    command = RecordSale(
        store_id=store,
        pos_txn_id=txn,
        sold_at=datetime(2026, 1, 5, tzinfo=UTC),
        lines=(SaleLine(sku="x", quantity=Decimal(1), unit_price=Decimal(1)),),
    )
    assert sale_key(store, txn) == f"{idempotency_key(command)}@sale-{store}-{txn}"


def test_summed_repeated_lines_are_byte_identical_both_ways() -> None:
    frame = pl.DataFrame(
        {
            "date": ["2026-01-05"] * 5,
            "time": ["08:15"] * 5,
            "store": ["born"] * 5,
            "product": ["baguette", "croissant", "baguette", "baguette", "croissant"],
            "quantity": ["1", "1.5", "1", "0.25", "2"],
            "price": ["1.20", "1.5", "1.20", "1.20", "1.5"],
            "discount": ["0.1", "0", "0.05", "0", "0"],
            "ticket": ["T1"] * 5,
        }
    )
    ctx = Context(store=None, store_zones=CTX.store_zones, products=CTX.products, sum_repeated=True)
    fast, slow = both_ways(frame, ctx)
    assert fast == slow and len(fast) == 1
    assert b'"sku":"baguette","quantity":"2.25","unit_price":"1.20","discount":"0.15"' in fast[0]
    assert b'"sku":"croissant","quantity":"3.5"' in fast[0]
