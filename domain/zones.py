"""Store time zones by IANA name: the one place that knows which names are not zones."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def known_zone(name: str) -> ZoneInfo | None:
    """The zone called ``name``, or None when it is none (unknown, malformed, "Europe").

    ``ZoneInfo`` raises ``ZoneInfoNotFoundError`` for an unknown name, ``ValueError`` for
    a malformed one and ``OSError`` for a folder of the zone database or too long a name.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_or_utc(name: str) -> ZoneInfo:
    """The zone called ``name``; UTC for a name that is no zone (read models never fail on it)."""
    return known_zone(name) or ZoneInfo("UTC")
