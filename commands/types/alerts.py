"""Commands on alerts (raised by the alerts projection) and on published forecasts."""

from __future__ import annotations

from typing import ClassVar

from commands.types.base import Command, Text
from domain.access import Permission
from domain.events.base import Id, Timestamp
from domain.events.forecasting import ForecastPoint


class AcknowledgeAlert(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.HANDLE_ALERTS
    alert_id: Id
    store_id: Id | None = None
    note: Text | None = None


class SnoozeAlert(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.HANDLE_ALERTS
    alert_id: Id
    store_id: Id | None = None
    until: Timestamp


class ResolveAlert(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.HANDLE_ALERTS
    alert_id: Id
    store_id: Id | None = None
    note: Text


class PublishForecast(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.PUBLISH_FORECAST
    forecast_id: Id
    store_id: Id
    sku: Id
    model: str
    model_version: str
    interval_level: float
    points: tuple[ForecastPoint, ...]
