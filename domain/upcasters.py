"""Upcasters: one function per (event type, old version), never edited once released.

``StoreOpened`` v1 (the first pilot, single-shop bakeries) carried ``tz`` and no
``kind`` or ``region``. v2 names the field ``timezone``, says what kind of
store it is and which region's holidays apply. A v1 store was always a shop,
and its region is unknown beyond the country, so it gets national holidays.
"""

from __future__ import annotations

from domain.codec import Payload, upcaster


@upcaster("StoreOpened", from_version=1)
def store_opened_v1_to_v2(data: Payload) -> Payload:
    upgraded = {key: value for key, value in data.items() if key != "tz"}
    upgraded["timezone"] = data.get("tz", "Europe/Madrid")
    upgraded.setdefault("kind", "shop")
    upgraded.setdefault("region", "ES")
    return upgraded
