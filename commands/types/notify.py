"""Commands on a tenant's notification channels and quiet hours (``docs/alerts.md``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from commands.types.base import Command
from domain.access import Permission
from domain.events.base import Id

Hour = Annotated[int, msgspec.Meta(ge=0, le=23)]


class AddWebhookChannel(Command, frozen=True, kw_only=True):
    """POST new and escalated alerts to ``url``, signed with ``secret`` (HMAC-SHA256)."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    channel_id: Id
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    secret: Annotated[str, msgspec.Meta(min_length=16, max_length=200)]


class AddEmailRecipient(Command, frozen=True, kw_only=True):
    """E-mail new and escalated alerts (and the daily digest) to ``address``."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    channel_id: Id
    address: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]


class RemoveNotificationChannel(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    channel_id: Id


class SetQuietHours(Command, frozen=True, kw_only=True):
    """Local ``[start_hour, end_hour)`` when only urgent alerts go out (equal: none)."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    start_hour: Hour
    end_hour: Hour
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "UTC"
    digest_hour: Hour = 7
