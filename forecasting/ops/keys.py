"""What the forecasting service names: a series, and the error of a series it cannot serve."""

from __future__ import annotations

from dataclasses import dataclass


class RegistryError(Exception):
    """Nothing to promote, roll back to or train on; the message says which series."""


@dataclass(frozen=True, order=True)
class SeriesKey:
    tenant_id: str
    store_id: str
    sku: str

    def label(self) -> str:
        return f"{self.tenant_id}/{self.store_id}/{self.sku}"
