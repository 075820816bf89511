"""The entry points as a user types them: `obrador import sales`, `obrador pos ...`."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from commands.handlers import handle
from commands.types import CreateTenant, DefineProduct, OpenStore
from deploy.cli import main
from deploy.sample_data import ddop_csv
from domain.access import Actor
from domain.events.organisation import Role, StoreKind, TenantKind
from streams.store import EventStore

OWNER = Actor(user_id="olga", role=Role.OWNER)
DDOP = ddop_csv()  # the repository copy of the real ddop file, as CSV


@pytest.fixture
async def tenant(pg_store: EventStore, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    name = f"forn-{uuid.uuid4().hex[:8]}"
    await handle(
        CreateTenant(name="Forn", kind=TenantKind.CHAIN), pg_store, tenant_id=name, actor=OWNER
    )
    await handle(
        OpenStore(
            store_id="born",
            name="Born",
            kind=StoreKind.OUTLET,
            timezone="Europe/Madrid",
            region="ES-CT",
        ),
        pg_store,
        tenant_id=name,
        actor=OWNER,
    )
    await handle(
        DefineProduct(
            sku="baguette",
            name="Baguette",
            category="bread",
            price=Decimal("1.2"),
            unit_cost=Decimal("0.3"),
            shelf_life_days=1,
        ),
        pg_store,
        tenant_id=name,
        actor=OWNER,
    )
    return name


def test_import_sales_from_the_command_line(
    tenant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ventas.csv"
    path.write_text("fecha;tienda;producto;cantidad\n05/01/2026;born;baguette;40\n")
    args = [
        "import",
        "sales",
        str(path),
        "--tenant",
        tenant,
        "--json",
        "--report",
        str(tmp_path / "r.csv"),
    ]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 1 and summary["error_rows"] == 0
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["already_stored"] == 1


def test_register_device_prints_a_token_once(
    tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pos", "register-device", "--tenant", tenant, "--store", "born", "till-1"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("obrpos_") and len(token) > 40
    assert (
        main(["pos", "register-device", "--tenant", tenant, "--store", "nowhere", "till-2"]) == 1
    )  # no such store


def test_asyncapi_is_written_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "pos-asyncapi.json"
    assert main(["pos", "asyncapi", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["info"]["title"] == "Obrador POS ingest"


def test_a_ddop_sample_into_a_new_tenant_from_the_command_line(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    sample = tmp_path / "bakery_sample.csv"
    with DDOP.open() as source:
        sample.write_text("".join(line for _, line in zip(range(401), source, strict=False)))
    mapping = tmp_path / "ddop.json"
    mapping.write_text(json.dumps({"format": "daily", "columns": {"quantity": "demand"}}))
    args = [
        "import",
        "sales",
        str(sample),
        "--tenant",
        "ddop",
        "--new-tenant",
        "ddop chain",
        "--mapping",
        str(mapping),
        "--unknown-stores",
        "create",
        "--unknown-products",
        "create",
        "--timezone",
        "Europe/Berlin",
        "--region",
        "DE-BY",
        "--json",
        "--report",
        str(tmp_path / "r.csv"),
    ]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total_rows"] == 400 and summary["error_rows"] == 0
    assert summary["written"] + summary["skipped_zero"] == 400
    assert summary["new_stores"] == ["2"] and summary["new_products"] == ["101"]
