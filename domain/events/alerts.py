"""What people do with an alert that the alerts projection raised (``alert-<id>``)."""

from __future__ import annotations

from datetime import datetime

from domain.events.base import DomainEvent, Id


class AlertAcknowledged(DomainEvent, frozen=True, kw_only=True):
    alert_id: Id
    by: Id
    note: str | None = None


class AlertSnoozed(DomainEvent, frozen=True, kw_only=True):
    alert_id: Id
    by: Id
    until: datetime


class AlertResolved(DomainEvent, frozen=True, kw_only=True):
    alert_id: Id
    by: Id
    note: str
