"""JSON Schemas of the event catalogue, for integrators (``obrador schema events``)."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.events import EVENT_TYPES

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_json_schemas() -> dict[str, dict[str, Any]]:
    """One self-contained JSON Schema per event type, keyed by type name.

    Each schema carries ``x-schema-version`` (the ``schema_version`` stored in the
    envelope) and its own ``$defs`` (nested value objects and enums).
    """
    schemas: dict[str, dict[str, Any]] = {}
    for name, cls in sorted(EVENT_TYPES.items()):
        schema = msgspec.json.schema(cls)
        body = schema["$defs"][name]
        defs = {key: value for key, value in schema["$defs"].items() if key != name}
        document: dict[str, Any] = {
            "$schema": _DIALECT,
            "$id": f"urn:obrador:event:{name}:v{cls.SCHEMA_VERSION}",
            **body,
            "x-schema-version": cls.SCHEMA_VERSION,
        }
        if defs:
            document["$defs"] = defs
        schemas[name] = document
    return schemas


def schema_file_name(event_type: str, version: int) -> str:
    """The file name ``obrador schema events --out DIR`` should use for one schema."""
    return f"{event_type}.v{version}.schema.json"
