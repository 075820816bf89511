"""Issue 8, defect 5: each import defect seen in use, against the real store and the CLI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from commands.importer.reader import ReadError
from commands.pos.devices import DeviceRegistry, register_device
from deploy.cli import main
from domain import organisation
from domain.codec import decode_event
from streams.store import EventStore
from tests.importer.kit import OWNER, Bakery

SPANISH = "Fecha;Tienda;Artículo;Cantidad\n05/01/2026;born;baguette;3\n"


async def tenant_stream(store: EventStore, tenant: str) -> organisation.TenantState:
    records = await store.read_stream(tenant, "tenant")
    return organisation.fold(
        decode_event(r.event_type, r.schema_version, r.payload) for r in records
    )


class TestNothingWrittenWhenNothingIsImported:
    async def test_a_header_only_file_does_not_create_the_tenant(self, bakery: Bakery) -> None:
        new = f"new-{uuid.uuid4().hex[:8]}"
        bakery.tenant = new
        path = bakery.file("date,store,product,quantity\n")
        result = await bakery.run(path, new_tenant="New bakery", create_stores=True)
        assert (result.total_rows, result.written) == (0, 0)
        assert await bakery.store.stream_version(new, "tenant") == 0

    async def test_an_empty_file_is_refused_and_creates_nothing(self, bakery: Bakery) -> None:
        new = f"new-{uuid.uuid4().hex[:8]}"
        bakery.tenant = new
        with pytest.raises(ReadError, match="empty"):
            await bakery.run(bakery.file(""), new_tenant="New bakery")
        assert await bakery.store.stream_version(new, "tenant") == 0

    async def test_an_aborted_import_into_a_new_tenant_creates_nothing(
        self, bakery: Bakery
    ) -> None:
        new = f"new-{uuid.uuid4().hex[:8]}"
        bakery.tenant = new
        path = bakery.file("date,store,product,quantity\n2026-01-05,nou,pa,lots\n")
        result = await bakery.run(path, new_tenant="New", create_stores=True, create_products=True)
        assert result.aborted and await bakery.store.stream_version(new, "tenant") == 0
        assert await bakery.store.stream_version(new, "product-pa") == 0


class TestACreatedStoreIsOpenedAsOpenStoreOpensIt:
    async def test_store_flag_with_unknown_stores_create_opens_the_store(
        self, bakery: Bakery
    ) -> None:
        path = bakery.file("fecha,producto,cantidad\n2026-01-05,baguette,3\n")
        result = await bakery.run(path, store="nou", create_stores=True, region="ES-CT")
        assert result.written == 1 and result.created_stores == ["nou"]
        state = await tenant_stream(bakery.store, bakery.tenant)
        assert "nou" in state.open_store_ids()
        assert (state.stores["nou"].timezone, state.stores["nou"].region) == (
            "Europe/Madrid",
            "ES-CT",
        )
        token = await register_device(
            bakery.store,
            DeviceRegistry(bakery.store.pool),
            tenant_id=bakery.tenant,
            store_id="nou",
            device_id="till-nou",
            actor=OWNER,
        )
        assert token.startswith("obrpos_")


class TestEncodings:
    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
    async def test_common_encodings_are_detected(self, bakery: Bakery, encoding: str) -> None:
        path = bakery.tmp / f"ventas-{encoding}.csv"
        path.write_bytes(SPANISH.encode(encoding))
        result = await bakery.run(path)
        assert (result.written, result.error_rows) == (1, 0)
        assert result.details["encoding"] == {"latin-1": "cp1252"}.get(encoding, encoding)

    async def test_mixed_encodings_name_the_file_line_offset_and_encoding(
        self, bakery: Bakery
    ) -> None:
        path = bakery.tmp / "mixed.csv"
        good = SPANISH.encode("utf-8")
        bad = "06/01/2026;born;croissant;2 ñ\n".encode("cp1252")
        path.write_bytes(good + bad)
        with pytest.raises(ReadError) as caught:
            await bakery.run(path)
        message = str(caught.value)
        offset = len(good) + bad.index(b"\xf1")
        assert str(path) in message and f"byte {offset}" in message and "line 3" in message
        assert "utf-8" in message and "--encoding" in message
        assert "not a SKU" not in message

    async def test_utf16_without_a_bom_is_refused_clearly(self, bakery: Bakery) -> None:
        path = bakery.tmp / "nobom.csv"
        path.write_bytes(SPANISH.encode("utf-16-le"))
        with pytest.raises(ReadError, match="UTF-16 without a byte order mark"):
            await bakery.run(path)

    async def test_an_explicit_encoding_that_does_not_fit_says_where(self, bakery: Bakery) -> None:
        path = bakery.tmp / "latin.csv"
        path.write_bytes(SPANISH.encode("cp1252"))
        at = SPANISH.encode("cp1252").index(b"\xed")
        with pytest.raises(ReadError, match=rf"not utf-8 at byte {at} \(line 1\)"):
            await bakery.run(path, encoding="utf-8")


class TestDryAndAbortedRunsSayWouldCreate:
    def _args(self, bakery: Bakery, path: Path, *extra: str) -> list[str]:
        return [
            "import",
            "sales",
            str(path),
            "--tenant",
            bakery.tenant,
            "--unknown-products",
            "create",
            "--unknown-stores",
            "create",
            "--report",
            str(bakery.tmp / "r.csv"),
            *extra,
        ]

    def test_a_dry_run_says_what_it_would_create(
        self,
        bakery: Bakery,
        pg_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("DATABASE_URL", pg_url)
        path = bakery.file("date,store,product,quantity\n2026-01-05,nou,ensaimada,2\n")
        assert main(self._args(bakery, path, "--dry-run")) == 0
        out = capsys.readouterr().out
        assert "would create" in out and "created" not in out.replace("would create", "")
        assert "nou" in out and "ensaimada" in out
        assert "dry run" in out
        assert main(self._args(bakery, path, "--dry-run", "--json")) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["created_products"] == [] and summary["new_products"] == ["ensaimada"]

    def test_an_aborted_run_says_nothing_was_created(
        self,
        bakery: Bakery,
        pg_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("DATABASE_URL", pg_url)
        text = "date,store,product,quantity\n2026-01-05,nou,ensaimada,2\n2026-01-05,nou,pa,x\n"
        assert main(self._args(bakery, bakery.file(text))) == 1
        out = capsys.readouterr().out
        assert "ABORTED" in out and "would have created" in out
        assert "created  " not in out


async def test_a_closed_store_is_neither_imported_into_nor_reopened(bakery: Bakery) -> None:
    from commands.handlers import handle
    from commands.types import CloseStore

    await handle(
        CloseStore(store_id="gracia", reason="moved"),
        bakery.store,
        tenant_id=bakery.tenant,
        actor=OWNER,
    )
    path = bakery.file("date,store,product,quantity\n2026-01-05,gracia,baguette,3\n")
    result = await bakery.run(path, create_stores=True)
    assert result.aborted and result.new_stores == []
    assert [r["reason"] for r in bakery.report()] == [
        "the store is closed (its sales cannot be imported; it is not reopened)"
    ]
    state = await tenant_stream(bakery.store, bakery.tenant)
    assert "gracia" in state.closed


def test_encoding_from_the_command_line(
    bakery: Bakery,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    path = bakery.tmp / "latin.csv"
    path.write_bytes(SPANISH.encode("cp1252"))
    args = ["import", "sales", str(path), "--tenant", bakery.tenant, "--json"]
    args += ["--report", str(bakery.tmp / "r.csv")]
    assert main([*args, "--encoding", "utf-8"]) == 2
    err = capsys.readouterr().err
    assert "import refused, nothing written" in err and "not utf-8 at byte" in err
    assert main([*args, "--encoding", "cp1252"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 1 and summary["details"]["encoding"] == "cp1252"
