"""Which column of a sales file holds what: flags, a JSON mapping file, or the headers.

Headers are recognised in English and Spanish after normalising (lower case,
accents and punctuation removed): ``fecha``, ``hora``, ``tienda``,
``producto``, ``cantidad``, ``precio``, ``importe``, ``ticket``… A mapping file
or ``--map field=column`` flags override what was detected.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Final


class Field(StrEnum):
    DATE = "date"
    TIME = "time"
    STORE = "store"
    PRODUCT = "product"
    QUANTITY = "quantity"
    UNIT_PRICE = "unit_price"
    AMOUNT = "amount"
    DISCOUNT = "discount"
    TICKET = "ticket"
    CHANNEL = "channel"


class FileKind(StrEnum):
    TRANSACTIONS = "transactions"  # one row per ticket line
    DAILY = "daily"  # one row per store x product x day: units sold


SYNONYMS: Final[dict[Field, tuple[str, ...]]] = {
    Field.DATE: ("date", "fecha", "dia", "day", "sale_date", "fecha_venta"),
    Field.TIME: ("time", "hora", "sale_time", "hora_venta"),
    Field.STORE: ("store", "store_id", "shop", "tienda", "local", "establecimiento", "sucursal"),
    Field.PRODUCT: ("product", "sku", "item", "producto", "articulo", "referencia", "codigo"),
    Field.QUANTITY: ("quantity", "qty", "units", "cantidad", "unidades", "uds"),
    Field.UNIT_PRICE: ("unit_price", "price", "precio", "precio_unitario", "pvp"),
    Field.AMOUNT: ("amount", "line_total", "total", "importe", "importe_linea"),
    Field.DISCOUNT: ("discount", "descuento", "dto"),
    Field.TICKET: (
        "ticket",
        "ticket_id",
        "receipt",
        "pos_txn_id",
        "transaction",
        "transaction_id",
        "num_ticket",
        "n_ticket",
        "no_ticket",
        "nro_ticket",
        "numero_ticket",
    ),
    Field.CHANNEL: ("channel", "canal"),
}
REQUIRED: Final[dict[FileKind, tuple[Field, ...]]] = {
    FileKind.TRANSACTIONS: (Field.DATE, Field.PRODUCT, Field.QUANTITY, Field.TICKET),
    FileKind.DAILY: (Field.DATE, Field.PRODUCT, Field.QUANTITY),
}


class MappingError(ValueError):
    """The file cannot be mapped: a required column is missing or a mapping names nothing."""


@dataclass(frozen=True)
class ColumnMap:
    kind: FileKind
    columns: dict[Field, str]
    #: strptime formats tried in order for the date (and time) columns.
    date_formats: tuple[str, ...] = ()
    #: "file": the ticket id is the POS transaction id; "day": ids restart every day.
    ticket_scope: str = "file"
    extra: dict[str, Any] = field(default_factory=dict)

    def column(self, name: Field) -> str | None:
        return self.columns.get(name)


def normalise(header: str) -> str:
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def detect(headers: Iterable[str]) -> dict[Field, str]:
    """Columns recognised by name (the first header matching each field)."""
    found: dict[Field, str] = {}
    by_name = {normalise(h): h for h in reversed(list(headers))}
    for fld, names in SYNONYMS.items():
        for name in names:
            if name in by_name:
                found[fld] = by_name[name]
                break
    return found


def load_mapping_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MappingError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file is a JSON object")
    return data


def resolve(
    headers: list[str],
    *,
    kind: str | None = None,
    flags: Mapping[str, str] | None = None,
    mapping_file: Mapping[str, Any] | None = None,
) -> ColumnMap:
    """Detected headers, overridden by the mapping file, overridden by flags."""
    columns = detect(headers)
    options: dict[str, Any] = dict(mapping_file or {})
    for source in (options.pop("columns", {}), dict(flags or {})):
        for name, column in source.items():
            fld = _field(name)
            if column in (None, ""):
                columns.pop(fld, None)
                continue
            if column not in headers:
                raise MappingError(
                    f"{fld.value} is mapped to {column!r}, which is not a column of the file"
                    f" ({', '.join(headers)})"
                )
            columns[fld] = column
    chosen = kind or options.pop("format", None) or options.pop("kind", None)
    file_kind = _kind(chosen, columns)
    missing = [f.value for f in REQUIRED[file_kind] if f not in columns]
    if missing:
        raise MappingError(
            f"no column for {', '.join(missing)} in a {file_kind.value} file; map it with"
            f" --map {missing[0]}=COLUMN or a mapping file (columns: {', '.join(headers)})"
        )
    formats = options.pop("date_format", None)
    ticket_scope = str(options.pop("ticket_scope", "file"))
    if ticket_scope not in ("file", "day"):
        raise MappingError("ticket_scope is 'file' or 'day'")
    result = ColumnMap(kind=file_kind, columns=columns, ticket_scope=ticket_scope, extra=options)
    if formats:
        result = replace(result, date_formats=(formats,) if isinstance(formats, str) else formats)
    return result


def _field(name: str) -> Field:
    try:
        return Field(name)
    except ValueError:
        known = ", ".join(f.value for f in Field)
        raise MappingError(f"unknown field {name!r}; fields are {known}") from None


def _kind(chosen: object, columns: Mapping[Field, str]) -> FileKind:
    if chosen in (None, "auto"):
        return FileKind.TRANSACTIONS if Field.TICKET in columns else FileKind.DAILY
    try:
        return FileKind(str(chosen))
    except ValueError:
        raise MappingError(f"format {chosen!r}: use transactions, daily or auto") from None
