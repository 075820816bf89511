"""What people do with an alert that the alerts projection raised (``alert-<id>``)."""

from __future__ import annotations

from domain.events.base import DomainEvent, Id, Timestamp


class AlertAcknowledged(DomainEvent, frozen=True, kw_only=True):
    alert_id: Id
    by: Id
    note: str | None = None


class AlertSnoozed(DomainEvent, frozen=True, kw_only=True):
    alert_id: Id
    by: Id
    until: Timestamp


class AlertResolved(DomainEvent, frozen=True, kw_only=True):
    alert_id: Id
    by: Id
    note: str
