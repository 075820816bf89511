"""Handlers for the end of a store's day: the expiry tick, a confirmed close, the automatic one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from commands.handlers.known import KnownItem, known_item, known_store
from commands.runtime import Writer
from commands.types import CloseDay, CloseDayFromBooks, ExpireStock
from domain import day_close, stock
from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.events import Event
from domain.streams import close_surplus_lot_id, stock_stream


async def expire_stock(cmd: ExpireStock, w: Writer) -> None:
    """Lots whose expiry is before the store-local day of ``as_of`` leave the books."""
    store = await known_store(w, cmd.store_id)
    day = day_close.local_day(cmd.as_of, store.timezone)
    for index, item_id in enumerate(cmd.item_ids):
        await known_item(w, item_id, f"item_ids[{index}]")
        await w.decide(
            stock_stream(cmd.store_id, item_id),
            stock.fold,
            lambda st, item_id=item_id: day_close.expire(  # type: ignore[misc]
                st, store_id=cmd.store_id, item_id=item_id, day=day, at=cmd.as_of
            ),
            retry=True,
        )


async def close_day(cmd: CloseDay, w: Writer) -> None:
    """Every line's stock closed together, or none (one atomic append)."""
    await known_store(w, cmd.store_id)
    seen: set[str] = set()
    items: list[KnownItem] = []
    for index, line in enumerate(cmd.lines):
        if line.item_id in seen:
            raise InvalidValue(f"lines[{index}].item_id", f"{line.item_id!r} is listed twice")
        seen.add(line.item_id)
        items.append(await known_item(w, line.item_id, f"lines[{index}].item_id"))
    if not cmd.lines:
        raise InvalidValue("lines", "a close needs at least one line")

    def decide(states: list[stock.StockState]) -> list[list[Event]]:
        out = []
        for index, (line, item, st) in enumerate(zip(cmd.lines, items, states, strict=True)):
            count = day_close.Count(
                waste=line.waste,
                donation=line.donation,
                markdown=line.markdown,
                carried=line.carried,
                counted=line.counted,
            )
            with _field_prefix(f"lines[{index}]."):
                out.append(
                    _close(
                        st,
                        count,
                        store_id=cmd.store_id,
                        item_id=line.item_id,
                        day=cmd.day,
                        item=item,
                        w=w,
                    )
                )
        return out

    await w.decide_together(
        [(stock_stream(cmd.store_id, line.item_id), stock.fold) for line in cmd.lines],
        decide,
        retry=True,  # the count stands; the books it is compared with are re-read
    )


async def close_day_from_books(cmd: CloseDayFromBooks, w: Writer) -> None:
    """The automatic close: items a person already closed that day are left as they are,
    and so are items whose books were closed for a later day (a late or repeated run must
    not judge a past day by today's books)."""
    await known_store(w, cmd.store_id)
    for index, item_id in enumerate(cmd.item_ids):
        item = await known_item(w, item_id, f"item_ids[{index}]")

        def decide(
            st: stock.StockState, item_id: str = item_id, item: KnownItem = item
        ) -> list[Event]:
            if any(day >= cmd.day for day in st.closed_days):
                return []
            if st.lot_quantity == 0 and st.shortfall == 0:
                return []
            return _close(
                st, None, store_id=cmd.store_id, item_id=item_id, day=cmd.day, item=item, w=w
            )

        await w.decide(stock_stream(cmd.store_id, item_id), stock.fold, decide, retry=True)


def _close(
    st: stock.StockState,
    count: day_close.Count | None,
    *,
    store_id: str,
    item_id: str,
    day: date,
    item: KnownItem,
    w: Writer,
) -> list[Event]:
    keeps = item.shelf_life_days
    return day_close.close_day(
        st,
        store_id=store_id,
        item_id=item_id,
        day=day,
        count=count,
        at=w.now,
        surplus_lot_id=close_surplus_lot_id(day),
        surplus_expires_on=None if not keeps else day + timedelta(days=keeps - 1),
    )


@contextmanager
def _field_prefix(prefix: str) -> Iterator[None]:
    """Name the line in a refusal: ``lines[2].carried`` rather than ``carried``."""
    try:
        yield
    except (InvalidValue, AlreadyExists, NotFound) as refused:
        raise type(refused)(prefix + refused.field, refused.reason) from refused
