"""Personal data: the erasure of a person (crypto-shredding, docs/gdpr.md)."""

from __future__ import annotations

from domain.events.base import DomainEvent, Id


class SubjectErased(DomainEvent, frozen=True, kw_only=True):
    """A person's key was destroyed: their personal fields in every event are unreadable.

    ``subject_id`` is pseudonymous (``user:<user id>``, ``supplier:<supplier id>``);
    the event itself carries no personal data.
    """

    subject_id: Id
