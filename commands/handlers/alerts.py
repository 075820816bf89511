"""Handlers for alert actions (``alert-<id>``), the clock, alert settings and forecasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from commands.runtime import CommandResult, EventStoreLike, Writer
from commands.types import (
    AcknowledgeAlert,
    PublishForecast,
    ResolveAlert,
    SetAlertSettings,
    SnoozeAlert,
    Tick,
)
from domain import alerts
from domain.access import Actor
from domain.errors import InvalidValue
from domain.events import AlertSettingsChanged, ClockTicked, Event, ForecastPublished
from domain.events.organisation import Role
from domain.streams import (
    ALERT_SETTINGS_STREAM,
    alert_stream,
    clock_stream,
    forecast_stream,
    tick_key,
)

#: How far ahead of the command's own time a tick may be (clock skew between machines).
TICK_TOLERANCE: Final = timedelta(minutes=5)
#: Who the scheduler acts as when it ticks the clock.
SCHEDULER = Actor(user_id="scheduler", role=Role.PLANNER)


async def acknowledge(cmd: AcknowledgeAlert, w: Writer) -> None:
    await w.decide(
        alert_stream(cmd.alert_id),
        alerts.fold,
        lambda s: alerts.acknowledge(
            s, alert_id=cmd.alert_id, by=w.actor.user_id, note=cmd.note, at=w.now
        ),
        retry=True,
    )


async def snooze(cmd: SnoozeAlert, w: Writer) -> None:
    await w.decide(
        alert_stream(cmd.alert_id),
        alerts.fold,
        lambda s: alerts.snooze(
            s, alert_id=cmd.alert_id, by=w.actor.user_id, until=cmd.until, at=w.now
        ),
        retry=True,
    )


async def resolve(cmd: ResolveAlert, w: Writer) -> None:
    await w.decide(
        alert_stream(cmd.alert_id),
        alerts.fold,
        lambda s: alerts.resolve(
            s, alert_id=cmd.alert_id, by=w.actor.user_id, note=cmd.note, at=w.now
        ),
        retry=True,
    )


async def publish_forecast(cmd: PublishForecast, w: Writer) -> None:
    event = ForecastPublished(
        occurred_at=w.now,
        forecast_id=cmd.forecast_id,
        store_id=cmd.store_id,
        sku=cmd.sku,
        model=cmd.model,
        model_version=cmd.model_version,
        interval_level=cmd.interval_level,
        points=cmd.points,
    )

    def decide(past: list[Event]) -> list[Event]:
        published = {e.forecast_id for e in past if isinstance(e, ForecastPublished)}
        return [] if cmd.forecast_id in published else [event]

    await w.decide(forecast_stream(cmd.store_id, cmd.sku), list, decide, retry=True)


async def tick(cmd: Tick, w: Writer) -> None:
    """Append ``ClockTicked(at)`` unless the clock already reached ``at`` that day.

    A tick from the future is refused: the alerts' clock never runs backwards,
    so one wrong tick would expire and escalate everything until it is reached.
    """
    at = cmd.at.astimezone(UTC)
    if at > w.now + TICK_TOLERANCE:
        raise InvalidValue("at", f"{at.isoformat()} is ahead of the clock ({w.now.isoformat()})")

    def decide(past: list[Event]) -> list[Event]:
        if any(e.occurred_at >= at for e in past):
            return []  # a retried or late tick: time never runs backwards
        return [ClockTicked(occurred_at=at)]

    await w.decide(clock_stream(at.date()), list, decide, retry=True)


async def set_settings(cmd: SetAlertSettings, w: Writer) -> None:
    event = AlertSettingsChanged(
        occurred_at=w.now,
        expiry_warning_days=cmd.expiry_warning_days,
        delivery_due_soon_hours=cmd.delivery_due_soon_hours,
        production_start_hour=cmd.production_start_hour,
        unconfirmed_plan_hours=cmd.unconfirmed_plan_hours,
        changed_by=w.actor.user_id,
    )
    await w.decide(ALERT_SETTINGS_STREAM, list, lambda _: [event], retry=True)


async def tick_now(
    store: EventStoreLike, tenant_id: str, at: datetime | None = None
) -> CommandResult:
    """What the scheduler runs every hour for each tenant (``at`` defaults to the hour now)."""
    from commands.handlers import handle  # noqa: PLC0415 - the registry imports this module

    at = at or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return await handle(
        Tick(at=at, idempotency_key=tick_key(at)),
        store,
        tenant_id=tenant_id,
        actor=SCHEDULER,
        now=at,
    )
