"""Erasing a data subject (GDPR art. 17) by crypto-shredding, docs/gdpr.md.

The key goes first, then ``SubjectErased`` is appended to the stream that
registered the subject. Either step may be repeated: erasing twice shreds
nothing new and appends nothing new, and a crash between the two is finished by
running the erasure again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from commands.runtime import EventStoreLike, Writer
from domain.access import Actor
from domain.events import Event
from domain.personal import erase, parse_subject, subject_stream


class Erasure(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    subject: str
    #: the key was destroyed by this call (False: it was already gone)
    key_shredded: bool
    #: ``SubjectErased`` was appended by this call (False: it was already there)
    recorded: bool


def _events(events: Iterable[Event]) -> list[Event]:
    return list(events)


async def erase_subject(
    store: EventStoreLike, *, tenant_id: str, subject: str, actor: Actor
) -> Erasure:
    """Destroy ``subject``'s key and record it; NotFound (nothing done) for an unknown subject."""
    parse_subject(subject)
    writer = Writer(store, tenant_id=tenant_id, actor=actor, now=datetime.now(UTC), key=None)
    stream = subject_stream(subject)
    erase(await writer.load(stream, _events), subject, writer.now)  # NotFound before shredding
    shredded = await store.keyring.shred(tenant_id, subject)
    await writer.decide(stream, _events, lambda past: erase(past, subject, writer.now), retry=True)
    return Erasure(
        tenant_id=tenant_id,
        subject=subject,
        key_shredded=shredded,
        recorded=any(not a.duplicate for a in writer.appended),
    )
