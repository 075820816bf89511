"""Commands on alerts (raised by the alerts projection), the clock, and published forecasts."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

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


class Tick(Command, frozen=True, kw_only=True):
    """The scheduler's hourly "it is now ``at``": the clock of the time-dependent alert rules."""

    PERMISSION: ClassVar[Permission] = Permission.PUBLISH_FORECAST
    at: Timestamp


class SetAlertSettings(Command, frozen=True, kw_only=True):
    """A tenant's alert thresholds (see ``docs/alerts.md``)."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    expiry_warning_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 1
    delivery_due_soon_hours: Annotated[int, msgspec.Meta(ge=1, le=240)] = 24
    production_start_hour: Annotated[int, msgspec.Meta(ge=0, le=23)] = 5
    unconfirmed_plan_hours: Annotated[int, msgspec.Meta(ge=1, le=72)] = 12


class PublishForecast(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.PUBLISH_FORECAST
    forecast_id: Id
    store_id: Id
    sku: Id
    model: str
    model_version: str
    interval_level: float
    points: tuple[ForecastPoint, ...]
