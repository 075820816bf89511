"""The base of every domain event: frozen, keyword-only, tagged by class name."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar

import msgspec

# msgspec cannot put bounds on Decimal, so these aliases document intent; the
# command edge (``commands.validation``) enforces them with field-level errors.
#: A non-negative decimal amount (units, kilograms, euros).
NonNegative = Decimal
#: A strictly positive decimal amount.
Positive = Decimal
#: A point in time with its UTC offset (naive times are refused: a bakery has a time zone).
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
#: An identifier chosen by the writer: short, no spaces, safe inside a stream id.
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True):
    """A fact that happened, in the past tense.

    ``occurred_at`` is business time (when the baker did it, when the ticket was
    printed); the store adds its own ``recorded_at`` in the envelope.
    ``SCHEMA_VERSION`` rises whenever the payload shape changes; the codec
    upcasts older payloads before decoding (see ``domain.codec``).
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    occurred_at: Timestamp


class Value(msgspec.Struct, frozen=True, kw_only=True):
    """A value object nested inside events (a ticket line, a lot allocation)."""
