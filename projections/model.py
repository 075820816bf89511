"""What a read model is, for the projector runtime and for rebuilds.

A read model owns a few plain SQL tables (created by a migration) and turns
batches of events into changes of those tables. The runtime calls ``apply``
inside the transaction that also moves the projection's checkpoint, so the
model never deals with redelivery, ordering or crashes: it sees each event
exactly once, in global-log order per tenant.

``tables`` maps each logical table name to the physical one to write: the live
table when following the stream, a shadow copy during a rebuild. Models must
always go through it (``psycopg.sql.Identifier(tables["rm_sales_daily"])``) and
must be deterministic — the same events always give the same rows — so a
rebuild equals the live model byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

from psycopg import AsyncConnection

from domain.events import DomainEvent
from streams.envelope import RecordedEvent

#: One event as a read model receives it: the envelope and the decoded domain event.
Decoded = tuple[RecordedEvent, DomainEvent]


class ReadModel(Protocol):
    #: Projection name used by the CLI, checkpoints and status ("inventory", "sales", …).
    name: ClassVar[str]
    #: Logical names of the tables this model owns, in creation order.
    tables: ClassVar[tuple[str, ...]]

    def handles(self, event_type: str) -> bool:
        """Cheap filter: events of other types are never decoded for this model."""
        ...

    async def apply(
        self,
        conn: AsyncConnection[tuple[Any, ...]],
        events: Sequence[Decoded],
        tables: Mapping[str, str],
    ) -> None:
        """Apply a batch (already filtered by ``handles``) inside the caller's transaction."""
        ...
