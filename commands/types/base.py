"""The base of every command: imperative name, tagged by class name, unknown fields refused."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from domain.access import Permission
from domain.events.base import Timestamp

#: A client-chosen key: the same key on the same command type is applied once, forever.
IdempotencyKey = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]


class Command(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    tag=True,
    forbid_unknown_fields=True,
):
    """Something a user asks for; the handler decides which events (if any) it causes.

    ``occurred_at`` is when it happened in the bakery (defaults to now);
    ``PERMISSION`` is what the actor's role must grant, in ``scope()`` when that
    names a store.
    """

    PERMISSION: ClassVar[Permission]
    #: True when the store is only known once the stream is loaded (the handler checks it).
    SCOPE_FROM_STATE: ClassVar[bool] = False
    #: Fields holding when it happened in the bakery: checked against the entry's window.
    BUSINESS_TIME: ClassVar[tuple[str, ...]] = ("occurred_at",)

    idempotency_key: IdempotencyKey | None = None
    occurred_at: Timestamp | None = None

    def scope(self) -> str | None:
        """The store this command acts in, for store-scoped roles."""
        store_id = getattr(self, "store_id", None)
        return store_id if isinstance(store_id, str) else None
