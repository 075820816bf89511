"""Which event fields are personal data, whose they are, and the rules of erasure.

Pure declarations: the write side encrypts exactly these fields with the key of
their data subject (``streams.personal``) and the read side shows ``ERASED``
once that key is gone. A subject is spelled ``<kind>:<id>`` with a
pseudonymous id (``user:u-3f2a…``, ``supplier:flour-co``, ``recipient:<channel id>``
for an e-mail recipient of alerts): ids, roles, amounts
and everything else stay in clear, because folds, the hash chain and the
projections need them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from domain.errors import InvalidValue, NotFound
from domain.events import (
    EmailRecipientAdded,
    Event,
    SupplierRegistered,
    UserRegistered,
    WebhookChannelAdded,
)
from domain.events.personal import SubjectErased
from domain.streams import NOTIFY_SETTINGS_STREAM, TENANT_STREAM, supplier_stream

#: What a personal field reads once its subject has been erased.
ERASED: Final = "[erased]"


@dataclass(frozen=True)
class PersonalFields:
    """The personal fields of one event type and the field naming their subject."""

    kind: str  # "user" | "supplier"
    id_field: str
    fields: tuple[str, ...]


#: Event type -> its personal fields. A new event with personal data is listed here.
PERSONAL_FIELDS: Final[Mapping[str, PersonalFields]] = {
    "UserRegistered": PersonalFields("user", "user_id", ("name", "email")),
    "SupplierRegistered": PersonalFields(
        "supplier", "supplier_id", ("contact_name", "contact_email", "contact_phone")
    ),
    "EmailRecipientAdded": PersonalFields("recipient", "channel_id", ("address",)),
    # Not personal data but a secret (the webhook's HMAC key): sealed the same way so that
    # the history export, JetStream and backups never show it; the notifier opens it.
    "WebhookChannelAdded": PersonalFields("recipient", "channel_id", ("secret",)),
}
SUBJECT_KINDS: Final = frozenset(p.kind for p in PERSONAL_FIELDS.values())
_SUBJECT = re.compile(r"^(user|supplier|recipient):([A-Za-z0-9_.:@-]{1,128})$")


def subject_of(event_type: str, payload: Mapping[str, Any]) -> str | None:
    """The data subject whose fields ``payload`` carries, or None (no personal fields)."""
    personal = PERSONAL_FIELDS.get(event_type)
    if personal is None:
        return None
    return f"{personal.kind}:{payload[personal.id_field]}"


def parse_subject(subject: str) -> tuple[str, str]:
    """``(kind, id)`` of ``user:<id>`` / ``supplier:<id>``; InvalidValue otherwise."""
    match = _SUBJECT.match(subject)
    if match is None:
        raise InvalidValue(
            "subject", f"{subject[:80]!r} is not user:<id>, supplier:<id> or recipient:<id>"
        )
    return match.group(1), match.group(2)


def subject_stream(subject: str) -> str:
    """The stream that registered the subject; its erasure is recorded there too."""
    kind, entity = parse_subject(subject)
    if kind == "recipient":
        return NOTIFY_SETTINGS_STREAM
    return TENANT_STREAM if kind == "user" else supplier_stream(entity)


def _registers(event: Event, subject: str) -> bool:
    kind, entity = parse_subject(subject)
    if kind == "user":
        return isinstance(event, UserRegistered) and event.user_id == entity
    if kind == "recipient":
        return (
            isinstance(event, EmailRecipientAdded | WebhookChannelAdded)
            and event.channel_id == entity
        )
    return isinstance(event, SupplierRegistered) and event.supplier_id == entity


def erase(past: Iterable[Event], subject: str, now: datetime) -> list[Event]:
    """``SubjectErased`` once; nothing when already erased; NotFound for an unknown subject."""
    events = list(past)
    if not any(_registers(e, subject) for e in events):
        raise NotFound("subject", f"no {subject!r} in this tenant")
    if any(isinstance(e, SubjectErased) and e.subject_id == subject for e in events):
        return []
    return [SubjectErased(occurred_at=now, subject_id=subject)]
