"""A tenant's notification settings: channels (webhooks, e-mail recipients) and quiet hours.

``fold`` turns the ``notify-settings`` stream into :class:`NotifySettings`; the
decisions check a command against it and return the events to append. Pure: the
command handlers and the notifier (``streams.notify``) share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.events import Event
from domain.events.notify import (
    EmailRecipientAdded,
    NotificationChannelRemoved,
    QuietHoursSet,
    WebhookChannelAdded,
)
from domain.events.personal import SubjectErased
from domain.zones import known_zone

ChannelKind = Literal["webhook", "email"]
#: A webhook secret shorter than this is refused (it is an HMAC key).
MIN_SECRET_LENGTH = 16
_BLANK = re.compile(r"[\x00-\x20\x7f]")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True, slots=True)
class Channel:
    channel_id: str
    kind: ChannelKind
    #: The webhook URL or the e-mail address.
    target: str
    secret: str = ""


@dataclass(frozen=True, slots=True)
class QuietHours:
    start_hour: int = 0
    end_hour: int = 0
    timezone: str = "UTC"
    digest_hour: int = 7


@dataclass(slots=True)
class NotifySettings:
    channels: dict[str, Channel] = field(default_factory=dict)
    quiet: QuietHours = QuietHours()


def fold(events: Iterable[Event]) -> NotifySettings:
    state = NotifySettings()
    for event in events:
        match event:
            case WebhookChannelAdded():
                state.channels[event.channel_id] = Channel(
                    event.channel_id, "webhook", event.url, event.secret
                )
            case EmailRecipientAdded():
                state.channels[event.channel_id] = Channel(event.channel_id, "email", event.address)
            case NotificationChannelRemoved():
                state.channels.pop(event.channel_id, None)
            case SubjectErased(subject_id=subject) if subject.startswith("recipient:"):
                # the address is unreadable from now on (docs/gdpr.md): nothing goes there
                state.channels.pop(subject.removeprefix("recipient:"), None)
            case QuietHoursSet():
                state.quiet = QuietHours(
                    event.start_hour, event.end_hour, event.timezone, event.digest_hour
                )
    return state


def add_webhook(
    state: NotifySettings, *, channel_id: str, url: str, secret: str, by: str, at: datetime
) -> list[Event]:
    _new_channel(state, channel_id)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[" (an unclosed IPv6 address)
        raise InvalidValue("url", f"{url!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or _BLANK.search(url):
        raise InvalidValue("url", f"{url!r} is not an http(s) URL with a host")
    if len(secret) < MIN_SECRET_LENGTH:
        raise InvalidValue("secret", f"must be at least {MIN_SECRET_LENGTH} characters")
    return [
        WebhookChannelAdded(
            occurred_at=at, channel_id=channel_id, url=url, secret=secret, added_by=by
        )
    ]


def add_email(
    state: NotifySettings, *, channel_id: str, address: str, by: str, at: datetime
) -> list[Event]:
    _new_channel(state, channel_id)
    if not _ADDRESS.fullmatch(address):
        raise InvalidValue("address", f"{address!r} is not an e-mail address")
    return [
        EmailRecipientAdded(occurred_at=at, channel_id=channel_id, address=address, added_by=by)
    ]


def remove(state: NotifySettings, *, channel_id: str, by: str, at: datetime) -> list[Event]:
    if channel_id not in state.channels:
        raise NotFound("channel_id", f"no notification channel {channel_id!r}")
    return [NotificationChannelRemoved(occurred_at=at, channel_id=channel_id, removed_by=by)]


def set_quiet_hours(
    state: NotifySettings,
    *,
    start_hour: int,
    end_hour: int,
    timezone: str,
    digest_hour: int,
    by: str,
    at: datetime,
) -> list[Event]:
    if known_zone(timezone) is None:
        raise InvalidValue("timezone", f"{timezone!r} is not an IANA time zone")
    wanted = QuietHours(start_hour, end_hour, timezone, digest_hour)
    if wanted == state.quiet:
        return []
    return [
        QuietHoursSet(
            occurred_at=at,
            start_hour=start_hour,
            end_hour=end_hour,
            timezone=timezone,
            digest_hour=digest_hour,
            set_by=by,
        )
    ]


def _new_channel(state: NotifySettings, channel_id: str) -> None:
    if channel_id in state.channels:
        raise AlreadyExists("channel_id", f"channel {channel_id!r} exists; remove it first")
