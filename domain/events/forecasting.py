"""Forecasts published back into the history, so plans and their reasons are auditable."""

from __future__ import annotations

from datetime import date

from domain.events.base import DomainEvent, Id, NonNegative, Value


class ForecastPoint(Value, frozen=True, kw_only=True):
    day: date
    mean: NonNegative
    lower: NonNegative  # prediction interval
    upper: NonNegative


class ForecastPublished(DomainEvent, frozen=True, kw_only=True):
    forecast_id: Id
    store_id: Id
    sku: Id
    model: str
    model_version: str
    interval_level: float  # e.g. 0.8 for an 80 % interval
    points: tuple[ForecastPoint, ...]
