"""Notifications: where a tenant's new and escalated alerts are delivered, and when not.

Every event lives on the tenant's ``notify-settings`` stream; the notifier folds it
(``domain.notify``) to know the channels and the quiet hours.
"""

from __future__ import annotations

from domain.events.base import DomainEvent, Id


class WebhookChannelAdded(DomainEvent, frozen=True, kw_only=True):
    """Alerts are POSTed as signed JSON to ``url`` (HMAC-SHA256 with ``secret``)."""

    channel_id: Id
    url: str
    #: The shared secret the receiver verifies signatures with (chosen by the tenant).
    secret: str
    added_by: Id


class EmailRecipientAdded(DomainEvent, frozen=True, kw_only=True):
    """Alerts are e-mailed to ``address`` over the node's SMTP server."""

    channel_id: Id
    address: str
    added_by: Id


class NotificationChannelRemoved(DomainEvent, frozen=True, kw_only=True):
    """Nothing more goes to this channel (messages already composed are still sent)."""

    channel_id: Id
    removed_by: Id


class QuietHoursSet(DomainEvent, frozen=True, kw_only=True):
    """Local hours ``[start_hour, end_hour)`` when only urgent alerts go out; the digest hour.

    ``start_hour == end_hour`` means no quiet hours. ``timezone`` is an IANA name.
    """

    start_hour: int
    end_hour: int
    timezone: str = "UTC"
    #: Local hour of the daily digest of low and medium alerts.
    digest_hour: int = 7
    set_by: Id
