"""History import on a real PostgreSQL store: formats, mapping, checks, report, idempotency."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import polars as pl
import pytest
import xlsxwriter

from commands.handlers import handle
from commands.importer.run import ImportRefused
from commands.types import RecordSale
from deploy.sample_data import ddop_csv
from domain.events.sales import SaleLine, SaleSource
from tests.importer.kit import OWNER, Bakery

DDOP = ddop_csv()  # the repository copy of the real ddop file, as CSV

TRANSACTIONS = """date,time,store,product,quantity,price,ticket
2026-01-05,08:15,born,baguette,2,1.20,T-1
2026-01-05,08:15,born,croissant,1,1.50,T-1
2026-01-05,09:02:30,born,baguette,1,1.20,T-2
2026-01-06,10:00,gracia,croissant,3,1.50,T-1
"""


async def test_a_transaction_csv_becomes_one_sale_per_ticket(bakery: Bakery) -> None:
    result = await bakery.run(bakery.file(TRANSACTIONS))
    assert (result.total_rows, result.tickets, result.written, result.error_rows) == (4, 3, 3, 0)
    (t1,) = await bakery.sales("born", "T-1")
    assert t1.lines == (
        SaleLine(sku="baguette", quantity=Decimal(2), unit_price=Decimal("1.20")),
        SaleLine(sku="croissant", quantity=Decimal(1), unit_price=Decimal("1.50")),
    )
    assert t1.total == Decimal("3.90") and t1.source is SaleSource.IMPORT
    assert t1.sold_at.isoformat() == "2026-01-05T08:15:00+01:00"  # the store's zone
    (t2,) = await bakery.sales("born", "T-2")
    assert t2.sold_at.isoformat() == "2026-01-05T09:02:30+01:00"
    (gracia,) = await bakery.sales("gracia", "T-1")
    assert gracia.lines[0].quantity == 3
    assert bakery.report() == []


async def test_an_xlsx_with_spanish_headers_is_recognised(bakery: Bakery) -> None:
    path = bakery.tmp / "ventas.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("ventas")
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for col, header in enumerate(
        ["Fecha", "Hora", "Tienda", "Producto", "Cantidad", "Precio", "Importe", "Nº Ticket"]
    ):
        sheet.write(0, col, header)
    rows = [
        (datetime(2026, 3, 2), "07:45", "born", "baguette", 3, 1.2, 3.3, "A-100"),
        (datetime(2026, 3, 2), "07:45", "born", "croissant", 2, 1.5, 3.0, "A-100"),
    ]
    for r, (day, hour, store, sku, qty, price, amount, ticket) in enumerate(rows, start=1):
        sheet.write_datetime(r, 0, day, date_format)
        sheet.write(r, 1, hour)
        sheet.write(r, 2, store)
        sheet.write(r, 3, sku)
        sheet.write_number(r, 4, qty)
        sheet.write_number(r, 5, price)
        sheet.write_number(r, 6, amount)
        sheet.write(r, 7, ticket)
    book.close()
    result = await bakery.run(path)
    assert (result.written, result.error_rows) == (1, 0)
    (sale,) = await bakery.sales("born", "A-100")
    baguette, croissant = sale.lines
    # importe 3.30 for 3 × 1.20: the 0.30 difference is the line's discount
    assert (baguette.quantity, baguette.unit_price, baguette.discount) == (
        Decimal(3),
        Decimal("1.2"),
        Decimal("0.3"),
    )
    assert croissant.discount == 0
    assert sale.total == Decimal("6.3")
    assert sale.sold_at.isoformat() == "2026-03-02T07:45:00+01:00"


async def test_a_spanish_csv_with_semicolons_and_decimal_commas(bakery: Bakery) -> None:
    text = (
        "fecha;hora;tienda;producto;cantidad;importe;ticket\n"
        "05/01/2026;08:15;born;baguette;2;2,40;77\n"
        "05/01/2026;08:15;born;croissant;1;1,50;77\n"
    )
    result = await bakery.run(bakery.file(text, "ventas.csv"))
    assert (result.written, result.error_rows) == (1, 0)
    (sale,) = await bakery.sales("born", "77")
    assert [line.unit_price for line in sale.lines] == [Decimal("1.2000"), Decimal("1.5000")]
    assert sale.total == Decimal("3.90")


async def test_bad_rows_are_reported_by_row_column_and_reason(bakery: Bakery) -> None:
    text = (
        "date,time,store,product,quantity,price,ticket\n"
        "2026-01-05,08:15,born,baguette,2,1.20,T-1\n"  # row 2: fine
        "2026-13-05,08:15,born,baguette,2,1.20,T-2\n"  # row 3: no 13th month
        "2026-01-05,08:15,born,baguette,lots,1.20,T-3\n"  # row 4: quantity
        "2026-01-05,08:20,born,baguette,1,1.20,T-4\n"  # row 5: fine …
        "2026-01-05,08:20,born,croissant,1,-1,T-4\n"  # row 6: … but its ticket has a bad line
        "2026-01-05,08:25,born,ensaimada,1,2.00,T-5\n"  # row 7: unknown product
    )
    result = await bakery.run(bakery.file(text), max_errors="10")
    assert not result.aborted and result.error_rows == 4 and result.written == 1
    report = {(r["row"], r["column"]): r["reason"] for r in bakery.report()}
    assert report[("3", "date")].startswith("not a date")
    assert report[("4", "quantity")] == "not a number"
    assert report[("6", "price")] == "must be 0 or more"
    assert report[("5", "ticket")] == "ticket not imported: row 6 of it is invalid"
    assert report[("7", "product")].startswith("unknown product")
    assert await bakery.sales("born", "T-4") == []
    assert len(await bakery.sales("born", "T-1")) == 1


async def test_over_the_error_threshold_nothing_is_written(bakery: Bakery) -> None:
    text = TRANSACTIONS + "2026-01-05,08:15,born,baguette,0,1.20,T-9\n"
    before = await bakery.event_count()
    result = await bakery.run(bakery.file(text), max_errors="0")
    assert result.aborted and result.error_rows == 1 and result.written == 0
    assert await bakery.event_count() == before
    assert [r["reason"] for r in bakery.report()] == ["must be greater than 0"]
    # 1 bad row of 5 is within 20 %
    assert not (await bakery.run(bakery.file(text), max_errors="20%")).aborted


async def test_duplicates_within_the_file_are_refused(bakery: Bakery) -> None:
    text = TRANSACTIONS + "2026-01-05,08:15,born,croissant,1,1.50,T-1\n"  # row 6 = row 3
    text += "2026-01-05,11:00,born,baguette,5,1.20,T-2\n"  # row 7: T-2 at another time
    result = await bakery.run(bakery.file(text), max_errors="5")
    reasons = {(r["row"], r["reason"].split(" (")[0]) for r in bakery.report()}
    assert ("6", "duplicate of row 3") in reasons
    assert ("7", "row 4 of the same ticket is at another time") in reasons
    assert result.written == 1  # only gracia's T-1 is clean


async def test_importing_the_same_file_again_adds_nothing(bakery: Bakery) -> None:
    path = bakery.file(TRANSACTIONS)
    first = await bakery.run(path)
    count = await bakery.event_count()
    again = await bakery.run(path)
    assert (first.written, again.written, again.already_stored) == (3, 0, 3)
    assert await bakery.event_count() == count


async def test_a_stored_ticket_with_other_lines_is_an_error(bakery: Bakery) -> None:
    await bakery.run(bakery.file(TRANSACTIONS))
    changed = TRANSACTIONS.replace("born,baguette,1,1.20,T-2", "born,baguette,4,1.20,T-2")
    result = await bakery.run(bakery.file(changed), max_errors="0")
    assert result.aborted
    assert [(r["row"], r["reason"]) for r in bakery.report()] == [
        ("4", "this ticket is already recorded with different lines or time")
    ]


async def test_an_imported_ticket_resent_by_a_till_is_the_same_sale(bakery: Bakery) -> None:
    await bakery.run(bakery.file(TRANSACTIONS))
    (imported,) = await bakery.sales("born", "T-1")
    await handle(
        RecordSale(
            store_id="born", pos_txn_id="T-1", sold_at=imported.sold_at, lines=imported.lines
        ),
        bakery.store,
        tenant_id=bakery.tenant,
        actor=OWNER,
    )
    assert await bakery.sales("born", "T-1") == [imported]


async def test_the_store_must_match_the_chosen_store(bakery: Bakery) -> None:
    result = await bakery.run(bakery.file(TRANSACTIONS), store="born", max_errors="1")
    assert [(r["row"], r["column"]) for r in bakery.report()] == [("5", "store")]
    assert result.written == 2


async def test_unknown_products_are_created_when_asked(bakery: Bakery) -> None:
    text = "date,store,product,units\n2026-01-05,born,ensaimada,12\n2026-01-05,born,baguette,0\n"
    refused = await bakery.run(bakery.file(text))
    assert refused.aborted
    created = await bakery.run(bakery.file(text), create_products=True)
    assert created.new_products == ["ensaimada"] and created.written == 1
    assert created.skipped_zero == 1  # a day with nothing sold is not a sale
    (day,) = await bakery.sales("born", "daily-ensaimada-20260105")
    assert day.lines[0].quantity == 12 and day.sold_at.isoformat() == "2026-01-05T12:00:00+01:00"
    assert await bakery.store.stream_version(bakery.tenant, "product-ensaimada") == 1


async def test_a_file_without_store_column_needs_store(bakery: Bakery) -> None:
    path = bakery.file("fecha,producto,cantidad\n2026-01-05,baguette,3\n")
    with pytest.raises(ImportRefused, match="--store"):
        await bakery.run(path)
    assert (await bakery.run(path, store="gracia")).written == 1


async def test_a_sample_of_the_ddop_bakery_chain_imports_with_a_mapping(bakery: Bakery) -> None:
    sample = pl.read_csv(DDOP, infer_schema=False).filter(
        pl.col("store").is_in(["2", "5", "47"]) & (pl.col("date") < "2016-03-01")
    )
    path = bakery.tmp / "bakery_sample.csv"
    sample.write_csv(path)
    mapping = bakery.tmp / "ddop.json"
    mapping.write_text(
        json.dumps(
            {
                "format": "daily",
                "columns": {
                    "date": "date",
                    "store": "store",
                    "product": "product",
                    "quantity": "demand",
                },
            }
        )
    )
    result = await bakery.run(
        path,
        mapping_file=mapping,
        create_products=True,
        create_stores=True,
        timezone="Europe/Berlin",
        region="DE-BY",
    )
    sold = sample.filter(pl.col("demand").cast(pl.Float64) > 0)
    assert result.error_rows == 0 and not result.aborted
    assert result.written == sold.height and result.skipped_zero == sample.height - sold.height
    # store 5 was shut all that time (zero rows, see the data README): no sales, not created
    assert sorted(result.new_stores) == ["2", "47"]
    assert sorted(result.new_products) == ["101", "109", "110"]
    (first,) = await bakery.sales("2", "daily-101-20160102")  # the file's first row: 254.0
    assert first.lines[0].quantity == Decimal("254.0")
    assert first.sold_at.isoformat() == "2016-01-02T12:00:00+01:00"
    again = await bakery.run(path, mapping_file=mapping)
    assert again.written == 0 and again.already_stored == sold.height
