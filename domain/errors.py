"""Errors the domain raises when a command would break a rule.

Every error names the ``field`` that is wrong and the ``reason`` in words, so the
HTTP layer can map one base class to a problem detail and the POS ingest can put
the same pair on its dead-letter message.
"""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the command; nothing was recorded."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidValue(DomainError):
    """A value is well-typed but not acceptable (negative quantity, unknown unit...)."""


class NotFound(DomainError):
    """The command refers to something that was never defined."""


class AlreadyExists(DomainError):
    """The command would create something that already exists."""


class IllegalTransition(DomainError):
    """The command is not allowed from the current status (e.g. completing a cancelled order)."""

    def __init__(self, field: str, current: str, action: str) -> None:
        super().__init__(field, f"cannot {action} when status is {current!r}")
        self.current = current
        self.action = action


class InsufficientStock(DomainError):
    """More was asked of a lot or a stock than it holds (where that is refused, not recorded)."""


class PermissionDenied(DomainError):
    """The actor's role or store scope does not allow the action."""
