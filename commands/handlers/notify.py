"""Handlers for the notification settings (one stream per tenant: ``notify-settings``)."""

from __future__ import annotations

from commands.runtime import Writer
from commands.types.notify import (
    AddEmailRecipient,
    AddWebhookChannel,
    RemoveNotificationChannel,
    SetQuietHours,
)
from domain import notify
from domain.streams import NOTIFY_SETTINGS_STREAM


async def add_webhook(cmd: AddWebhookChannel, w: Writer) -> None:
    await w.decide(
        NOTIFY_SETTINGS_STREAM,
        notify.fold,
        lambda s: notify.add_webhook(
            s,
            channel_id=cmd.channel_id,
            url=cmd.url,
            secret=cmd.secret,
            by=w.actor.user_id,
            at=w.now,
        ),
        retry=True,
    )


async def add_email(cmd: AddEmailRecipient, w: Writer) -> None:
    await w.decide(
        NOTIFY_SETTINGS_STREAM,
        notify.fold,
        lambda s: notify.add_email(
            s, channel_id=cmd.channel_id, address=cmd.address, by=w.actor.user_id, at=w.now
        ),
        retry=True,
    )


async def remove(cmd: RemoveNotificationChannel, w: Writer) -> None:
    await w.decide(
        NOTIFY_SETTINGS_STREAM,
        notify.fold,
        lambda s: notify.remove(s, channel_id=cmd.channel_id, by=w.actor.user_id, at=w.now),
        retry=True,
    )


async def set_quiet_hours(cmd: SetQuietHours, w: Writer) -> None:
    await w.decide(
        NOTIFY_SETTINGS_STREAM,
        notify.fold,
        lambda s: notify.set_quiet_hours(
            s,
            start_hour=cmd.start_hour,
            end_hour=cmd.end_hour,
            timezone=cmd.timezone,
            digest_hour=cmd.digest_hour,
            by=w.actor.user_id,
            at=w.now,
        ),
        retry=True,
    )
