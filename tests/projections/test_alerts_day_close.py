"""The alerts see a lot leave the books when it expires or a day close takes it, as the
inventory does (``domain.alert_fold`` folds ``StockExpired`` and ``DayClosed``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from test_models_alerts import STOCK, History, at, product, received

from domain.events import DayClosed, StockExpired
from domain.events.inventory import ClosedQuantity, CloseOutcome, LotAllocation

D = Decimal
LAST_DAY = date(2026, 3, 2)


async def test_an_expired_lot_alert_clears_when_the_expiry_tick_takes_it(pg_url: str) -> None:
    h = History(pg_url).add("product-croissant", product())
    h.add(STOCK, received(10, expires=LAST_DAY)).tick(1)
    assert await h.open_types() == ["lot_expiring"]  # its last day
    h.tick(25)
    h.add(
        STOCK,
        StockExpired(
            occurred_at=at(25),
            store_id="centro",
            item_id="croissant",
            day=date(2026, 3, 3),
            allocations=(LotAllocation(lot_id="L1", quantity=D(10)),),
            value=D(4),
        ),
    )
    assert await h.open_types() == []
    [alert] = await h.alerts()
    assert alert["status"] == "resolved" and alert["auto_resolved"]


async def test_the_automatic_close_wastes_the_lot_and_carries_the_rest(pg_url: str) -> None:
    h = History(pg_url).add("product-croissant", product())
    h.add(STOCK, received(10, expires=LAST_DAY), received(5, lot="L2", expires=date(2026, 3, 3)))
    h.tick(1)
    assert await h.open_types() == ["lot_expiring"]
    h.add(
        STOCK,
        DayClosed(
            occurred_at=at(19),
            store_id="centro",
            item_id="croissant",
            day=LAST_DAY,
            automatic=True,
            book_quantity=D(15),
            counted_quantity=D(15),
            outcomes=(
                ClosedQuantity(
                    outcome=CloseOutcome.WASTE,
                    quantity=D(10),
                    allocations=(LotAllocation(lot_id="L1", quantity=D(10)),),
                    value=D(4),
                ),
                ClosedQuantity(outcome=CloseOutcome.CARRIED, quantity=D(5)),
            ),
        ),
    )
    h.tick(19.5)  # 23:30 on 2 March
    assert await h.open_types() == []  # L2 has a day left: no warning yet
    h.tick(24)  # 3 March: L2's last day (the same condition back within 24 h: merged)
    [carried] = await h.alerts("status <> 'resolved'")
    assert carried["type"] == "lot_expiring" and carried["occurrences"] == 2
    assert carried["lot_id"] == "L2" and carried["units"] == D(5)
