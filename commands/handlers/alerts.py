"""Handlers for alert actions (``alert-<id>``) and published forecasts."""

from __future__ import annotations

from commands.runtime import Writer
from commands.types import AcknowledgeAlert, PublishForecast, ResolveAlert, SnoozeAlert
from domain import alerts
from domain.events import Event, ForecastPublished
from domain.streams import alert_stream, forecast_stream


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
