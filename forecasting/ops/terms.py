"""What the plan takes from the catalogue: a product's money and how it is baked."""

from __future__ import annotations

from dataclasses import dataclass

from domain import catalogue
from domain.codec import decode_event
from domain.streams import product_stream
from forecasting.plan import Economics
from streams.store import EventStore

#: when the product is not in the catalogue: waste = cost, critical ratio 0.65
DEFAULT_ECONOMICS = Economics(price=1.0, unit_cost=0.35, waste_cost=0.35)


@dataclass(frozen=True)
class ProductTerms:
    """What the plan takes from the catalogue: money, and how the product is baked."""

    economics: Economics
    source: str
    batch_size: int | None = None
    minimum_batch: int = 0

    def batch(self, default: int) -> int:
        return self.batch_size or default


async def product_terms(
    store: EventStore, tenant_id: str, sku: str, default: Economics = DEFAULT_ECONOMICS
) -> ProductTerms:
    """Price, unit cost (waste cost = unit cost), batch size and minimum from
    ``product-<sku>``; ``default`` economics when the product has no price."""
    state = catalogue.fold_product(
        decode_event(rec.event_type, rec.schema_version, rec.payload)
        for rec in await store.read_stream(tenant_id, product_stream(sku))
    )
    batch, minimum = state.batch_size, state.minimum_batch
    if state.product is None or state.price <= 0:
        source = "default economics (product not in the catalogue)"
        return ProductTerms(default, source, batch, minimum)
    econ = Economics(float(state.price), float(state.unit_cost), float(state.unit_cost))
    return ProductTerms(econ, "catalogue price and unit cost", batch, minimum)
