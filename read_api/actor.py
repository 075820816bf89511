"""The caller as the write side sees it: an API-key ``Principal`` → a ``domain.access.Actor``.

One function, so the login work (JWT users, ``actor_of(principal)``) replaces it
in one place. A key acts tenant-wide with its role; its ``user_id`` is
``key-<key id>``, so the envelope's actor reads ``user:key-<key id>``.
"""

from __future__ import annotations

from domain.access import Actor
from domain.events.organisation import Role
from read_api.keys import Principal


def actor_of(principal: Principal) -> Actor:
    return Actor(user_id=f"key-{principal.key_id}", role=Role(principal.role))
