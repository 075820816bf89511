"""Common real exports import without a script: one row per unit, product names, repeats, limits."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from commands.importer.run import ImportRefused
from deploy.cli import main
from tests.importer.kit import Bakery

PER_UNIT = """fecha,hora,tienda,producto,ticket
2026-01-05,08:15,born,baguette,T-1
2026-01-05,08:15,born,baguette,T-1
2026-01-05,08:15,born,croissant,T-1
2026-01-05,09:00,born,baguette,T-2
"""


class TestOneRowPerUnit:
    async def test_each_row_is_one_unit_and_repeats_add_up(self, bakery: Bakery) -> None:
        result = await bakery.run(bakery.file(PER_UNIT), quantity_per_row=Decimal(1))
        assert (result.written, result.error_rows) == (2, 0)
        (t1,) = await bakery.sales("born", "T-1")
        assert [(line.sku, line.quantity) for line in t1.lines] == [
            ("baguette", Decimal(2)),
            ("croissant", Decimal(1)),
        ]

    async def test_a_file_with_a_quantity_column_is_refused(self, bakery: Bakery) -> None:
        path = bakery.file("date,store,product,units\n2026-01-05,born,baguette,3\n")
        with pytest.raises(ImportRefused, match=r"quantity column \(units\)"):
            await bakery.run(path, quantity_per_row=Decimal(1))

    async def test_the_quantity_must_be_a_valid_quantity(self, bakery: Bakery) -> None:
        with pytest.raises(ImportRefused, match="--quantity-per-row"):
            await bakery.run(bakery.file(PER_UNIT), quantity_per_row=Decimal(0))


class TestRepeatedLines:
    TEXT = """date,time,store,product,quantity,price,ticket
2026-01-05,08:15,born,baguette,1,1.20,T-1
2026-01-05,08:15,born,croissant,1,1.50,T-1
2026-01-05,08:15,born,baguette,1,1.20,T-1
2026-01-05,08:15,born,baguette,0.5,1.20,T-1
"""

    async def test_without_the_flag_the_error_says_what_to_pass(self, bakery: Bakery) -> None:
        result = await bakery.run(bakery.file(self.TEXT))
        assert result.aborted
        reasons = {(r["row"], r["reason"]) for r in bakery.report()}
        assert any(
            row == "4" and "duplicate of row 2" in why and "--sum-repeated-lines" in why
            for row, why in reasons
        )

    async def test_with_the_flag_they_are_summed(self, bakery: Bakery) -> None:
        result = await bakery.run(bakery.file(self.TEXT), sum_repeated_lines=True)
        assert (result.written, result.error_rows) == (1, 0)
        (sale,) = await bakery.sales("born", "T-1")
        assert [(line.sku, line.quantity, line.unit_price) for line in sale.lines] == [
            ("baguette", Decimal("2.5"), Decimal("1.20")),
            ("croissant", Decimal(1), Decimal("1.50")),
        ]
        assert sale.total == Decimal("4.50")
        again = await bakery.run(bakery.file(self.TEXT), sum_repeated_lines=True)
        assert (again.written, again.already_stored) == (0, 1)

    async def test_a_daily_file_sums_the_same_store_product_and_day(self, bakery: Bakery) -> None:
        text = "date,store,product,units\n2026-01-05,born,baguette,3\n2026-01-05,born,baguette,4\n"
        refused = await bakery.run(bakery.file(text))
        assert refused.aborted
        result = await bakery.run(bakery.file(text), sum_repeated_lines=True)
        assert result.written == 1
        (day,) = await bakery.sales("born", "daily-baguette-20260105")
        assert day.lines[0].quantity == 7


class TestProductNames:
    TEXT = """date,store,product,quantity,ticket
2026-01-05,born,Pan de Molde,1,T-1
2026-01-05,born,Café & Croissant,2,T-1
2026-01-05,born,Ensaïmada gr.,1,T-2
2026-01-05,born,baguette,1,T-2
"""

    async def test_names_become_slugs_and_the_mapping_is_reported(self, bakery: Bakery) -> None:
        result = await bakery.run(bakery.file(self.TEXT), create_products=True)
        assert (result.written, result.error_rows) == (2, 0)
        assert result.product_skus == {
            "Pan de Molde": "pan-de-molde",
            "Café & Croissant": "cafe-croissant",
            "Ensaïmada gr.": "ensaimada-gr",
        }
        (t1,) = await bakery.sales("born", "T-1")
        assert [line.sku for line in t1.lines] == ["pan-de-molde", "cafe-croissant"]
        assert sorted(result.created_products) == ["cafe-croissant", "ensaimada-gr", "pan-de-molde"]
        with (bakery.tmp / "report.skus.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        assert {"name": "Pan de Molde", "sku": "pan-de-molde", "how": "slug"} in rows
        product = await bakery.store.read_stream(bakery.tenant, "product-pan-de-molde")
        assert json.loads(product[0].payload)["name"] == "Pan de Molde"

    async def test_two_names_with_one_slug_are_an_error_naming_both(self, bakery: Bakery) -> None:
        text = "date,store,product,quantity\n2026-01-05,born,Pan Molde,1\n"
        text += "2026-01-06,born,pan-molde,1\n"
        result = await bakery.run(bakery.file(text), create_products=True)
        assert result.aborted
        reasons = [r["reason"] for r in bakery.report()]
        assert reasons and all("'Pan Molde'" in r and "'pan-molde'" in r for r in reasons)

    async def test_an_explicit_mapping_wins(self, bakery: Bakery) -> None:
        mapping = bakery.tmp / "map.json"
        mapping.write_text(json.dumps({"products": {"Pan de Molde": "croissant"}}))
        text = "date,store,product,quantity\n2026-01-05,born,Pan de Molde,1\n"
        result = await bakery.run(bakery.file(text), mapping_file=mapping)
        assert result.written == 1 and result.product_skus == {"Pan de Molde": "croissant"}
        flagged = await bakery.run(bakery.file(text), products={"Pan de Molde": "baguette"})
        assert flagged.product_skus == {"Pan de Molde": "baguette"}


class TestLimits:
    async def test_each_limit_is_a_row_error_with_field_and_reason(self, bakery: Bakery) -> None:
        text = (
            "date,time,store,product,quantity,price,ticket\n"
            "2026-01-05,08:15,born,baguette,1000000,1.20,T-1\n"  # 2: quantity too big
            "2026-01-05,08:15,born,baguette,1,100000,T-2\n"  # 3: price too big
            "2026-01-05,08:15,born,baguette,1.0001,1.20,T-3\n"  # 4: quantity places
            "2026-01-05,08:15,born,baguette,1,1.00001,T-4\n"  # 5: price places
            "1899-01-05,08:15,born,baguette,1,1.20,T-5\n"  # 6: before the window
            "2999-01-05,08:15,born,baguette,1,1.20,T-6\n"  # 7: in the future
            "2026-01-05,08:15,born,baguette,0,1.20,T-7\n"  # 8: zero units
            "2026-01-05,08:15,born\x00x,baguette,1,1.20,T-8\n"  # 9: NUL
            "2026-01-05,08:15,born,baguette,1,1.20,T-9\n"  # 10: fine
        )
        result = await bakery.run(bakery.file(text), max_errors="100%")
        assert result.written == 1
        got: dict[str, set[tuple[str, str]]] = {}
        for r in bakery.report():
            got.setdefault(r["row"], set()).add((r["column"], r["reason"]))
        assert ("quantity", "must be less than 1000000") in got["2"]
        assert ("price", "must be less than 100000") in got["3"]
        assert ("quantity", "at most 3 decimal places") in got["4"]
        assert ("price", "at most 4 decimal places") in got["5"]
        assert ("date", "before 1990") in got["6"]
        assert ("date", "more than 1 day in the future") in got["7"]
        assert ("quantity", "must be greater than 0") in got["8"]
        assert ("store", "contains a NUL character") in got["9"]
        assert "10" not in got


class TestFlagsOnTheCommandLine:
    def test_quantity_per_row_sum_and_sku_flags(
        self,
        bakery: Bakery,
        pg_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("DATABASE_URL", pg_url)
        text = PER_UNIT + "2026-01-05,09:30,born,Pan de Molde,T-3\n"
        path = bakery.file(text)
        args = ["import", "sales", str(path), "--tenant", bakery.tenant, "--json"]
        args += ["--report", str(bakery.tmp / "r.csv"), "--quantity-per-row", "1"]
        args += ["--sku", "Pan de Molde=croissant"]
        assert main(args) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["written"] == 3 and summary["product_skus"] == {"Pan de Molde": "croissant"}
        text = "date,store,product,units\n" + "2026-01-05,born,baguette,3\n" * 2
        daily = bakery.file(text, "d.csv")
        args = ["import", "sales", str(daily), "--tenant", bakery.tenant, "--json"]
        args += ["--report", str(bakery.tmp / "r.csv"), "--sum-repeated-lines"]
        assert main(args) == 0
        assert json.loads(capsys.readouterr().out)["written"] == 1


def test_report_path_of_the_sku_mapping(tmp_path: Path) -> None:
    from commands.importer.report import skus_path

    assert skus_path(tmp_path / "x.import-report.csv") == tmp_path / "x.import-report.skus.csv"


async def test_a_float_written_out_in_full_is_read_to_15_digits(bakery: Bakery) -> None:
    """ddop's row 62823 has demand 219.00400000000002: binary-float noise, not 17 digits."""
    text = "date,store,product,units\n2018-05-07,born,baguette,219.00400000000002\n"
    result = await bakery.run(bakery.file(text))
    assert (result.written, result.error_rows) == (1, 0)
    (day,) = await bakery.sales("born", "daily-baguette-20180507")
    assert str(day.lines[0].quantity) == "219.004"


async def test_a_ticket_of_more_than_500_lines_is_refused(bakery: Bakery) -> None:
    rows = "".join(f"2026-01-05,08:15,born,baguette,1,{i / 100:.2f},T-1\n" for i in range(501))
    text = "date,time,store,product,quantity,price,ticket\n" + rows
    text += "2026-01-05,08:16,born,baguette,1,1.20,T-2\n"
    result = await bakery.run(bakery.file(text), max_errors="100%")
    assert result.written == 1
    own = [r for r in bakery.report() if not r["reason"].startswith("ticket not imported")]
    assert [(r["row"], r["column"], r["reason"]) for r in own] == [
        ("2", "ticket", "the ticket has 501 lines, at most 500")
    ]
