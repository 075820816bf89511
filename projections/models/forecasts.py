"""forecasts: the latest published forecast per tenant × store × product × day.

A later ``ForecastPublished`` for the same day replaces the earlier one (the
nightly publish re-forecasts the overlapping days); rows keep the forecast id,
model and version they came from, so every number on a plan can be traced to
its event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

from psycopg import AsyncConnection, sql

from domain.events.forecasting import ForecastPublished
from projections.model import Decoded

Conn = AsyncConnection[tuple[Any, ...]]
_COLUMNS = (
    "tenant_id",
    "store_id",
    "sku",
    "day",
    "mean",
    "lower",
    "upper",
    "interval_level",
    "forecast_id",
    "model",
    "model_version",
    "published_at",
    "position",
)


class ForecastsModel:
    name: ClassVar[str] = "forecasts"
    tables: ClassVar[tuple[str, ...]] = ("rm_forecasts",)

    def handles(self, event_type: str) -> bool:
        return event_type == "ForecastPublished"

    async def apply(self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str]) -> None:
        rows: dict[tuple[str, str, str, date], tuple[Any, ...]] = {}
        for envelope, event in events:  # in log order: a later forecast of a day wins
            if not isinstance(event, ForecastPublished):
                continue
            for point in event.points:
                key = (envelope.tenant_id, event.store_id, event.sku, point.day)
                rows[key] = (
                    *key,
                    point.mean,
                    point.lower,
                    point.upper,
                    event.interval_level,
                    event.forecast_id,
                    event.model,
                    event.model_version,
                    event.occurred_at,
                    envelope.position,
                )
        if not rows:
            return
        table = sql.Identifier(tables["rm_forecasts"])
        updates = sql.SQL(", ").join(
            sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
            for c in _COLUMNS[4:]
        )
        query = sql.SQL(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (tenant_id, store_id, sku, day)"
            " DO UPDATE SET {}"
        ).format(
            table,
            sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)),
            sql.SQL(", ").join(sql.Placeholder() * len(_COLUMNS)),
            updates,
        )
        async with conn.cursor() as cur:
            await cur.executemany(query, [rows[k] for k in sorted(rows)])
