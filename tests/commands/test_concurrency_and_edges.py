"""Conflicts retried only when safe, edge validation by field, old events read upcast."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from commands_kit import AT, OWNER, Run, Store, set_up_chain, stock_of

from commands.handlers import handle
from commands.runtime import ConcurrencyConflict
from commands.types import (
    AdjustStock,
    DefineIngredient,
    ReceiveStock,
    RecordSale,
    RegisterUser,
    TransferStock,
)
from commands.validation import InvalidCommand, parse_command
from domain.access import Actor
from domain.codec import decode_event, encode_event
from domain.errors import PermissionDenied
from domain.events import StockReceived, StoreOpened
from domain.events.inventory import ItemKind
from domain.events.organisation import Role
from domain.events.sales import SaleLine
from streams.envelope import AppendResult, NewEvent, RecordedEvent
from streams.store import EventStore

D = Decimal


def lot(lot_id: str, qty: int) -> StockReceived:
    return StockReceived(
        occurred_at=AT,
        store_id="born",
        item_id="baguette",
        item_kind=ItemKind.PRODUCT,
        lot_id=lot_id,
        quantity=D(qty),
        expires_on=date(2026, 1, 6),
        unit_cost=D("0.35"),
    )


class RacingStore:
    """Lets another writer slip one event into ``stream`` right after the handler reads it."""

    def __init__(self, inner: Store, tenant: str, stream: str, intruder: StockReceived) -> None:
        self.inner, self.tenant, self.stream, self.intruder = inner, tenant, stream, intruder
        self.raced = False

    async def read_stream(self, tenant_id: str, stream_id: str, **kw: Any) -> list[RecordedEvent]:
        records = await self.inner.read_stream(tenant_id, stream_id, **kw)
        if stream_id == self.stream and not self.raced:
            self.raced = True
            kind, version, payload = encode_event(self.intruder)
            await self.inner.append(
                self.tenant,
                self.stream,
                [NewEvent(event_type=kind, schema_version=version, payload=payload)],
            )
        return records

    async def append(
        self, tenant_id: str, stream_id: str, events: Sequence[NewEvent], **kw: Any
    ) -> AppendResult:
        return await self.inner.append(tenant_id, stream_id, events, **kw)


class TestConflicts:
    async def test_a_sale_racing_a_receipt_is_re_decided_on_the_fresh_lots(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await set_up_chain(run)
        racing = RacingStore(any_store, tenant, "stock-born-baguette", lot("late-delivery", 10))
        sale = RecordSale(
            store_id="born",
            pos_txn_id="T-1",
            sold_at=AT,
            lines=(SaleLine(sku="baguette", quantity=D(4), unit_price=D(1)),),
        )
        await handle(sale, racing, tenant_id=tenant, actor=OWNER, now=AT)
        assert racing.raced
        stock = await stock_of(any_store, tenant, "born", "baguette")
        assert stock.lots["late-delivery"].quantity == D(6)
        assert stock.shortfall == D(0)  # allocated from the lot that arrived meanwhile

    async def test_a_count_racing_a_receipt_is_not_replayed(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await set_up_chain(run)
        racing = RacingStore(any_store, tenant, "stock-born-baguette", lot("late-delivery", 10))
        count = AdjustStock(
            store_id="born", item_id="baguette", counted_quantity=D(3), reason="evening count"
        )
        with pytest.raises(ConcurrencyConflict):
            await handle(count, racing, tenant_id=tenant, actor=OWNER, now=AT)
        assert (await stock_of(any_store, tenant, "born", "baguette")).on_hand == D(10)

    async def test_a_transfer_moves_lots_out_of_central_and_into_the_outlet(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await set_up_chain(run)
        await run(
            ReceiveStock(
                store_id="central",
                item_id="baguette",
                item_kind=ItemKind.PRODUCT,
                lot_id="mo-7",
                quantity=D(50),
                expires_on=date(2026, 1, 6),
                unit_cost=D("0.35"),
            )
        )
        move = TransferStock(
            transfer_id="tr-1",
            store_id="central",
            to_store_id="born",
            item_id="baguette",
            item_kind=ItemKind.PRODUCT,
            quantity=D(30),
        )
        await run(move)
        again = await run(move)  # the same transfer id moves nothing more
        assert again.appended == ()
        central = await stock_of(any_store, tenant, "central", "baguette")
        born = await stock_of(any_store, tenant, "born", "baguette")
        assert (central.on_hand, born.on_hand) == (D(20), D(30))
        assert born.lots["mo-7"].expires_on == date(2026, 1, 6)


class TestEdgeValidation:
    def test_a_wrong_type_is_reported_at_its_path(self) -> None:
        raw = {
            "type": "RecordSale",
            "store_id": "born",
            "pos_txn_id": "T-1",
            "sold_at": "2026-01-05T07:00:00Z",
            "lines": [{"sku": "baguette", "quantity": "lots", "unit_price": 1}],
        }
        with pytest.raises(InvalidCommand) as refused:
            parse_command(json.dumps(raw))
        assert refused.value.field == "lines[0].quantity"

    def test_a_time_without_offset_is_refused(self) -> None:
        raw = {
            "type": "RecordSale",
            "store_id": "born",
            "pos_txn_id": "T-1",
            "sold_at": "2026-01-05T07:00:00",
            "lines": [{"sku": "baguette", "quantity": 1, "unit_price": "1.20"}],
        }
        with pytest.raises(InvalidCommand) as refused:
            parse_command(raw)
        assert (refused.value.field, "timezone" in refused.value.reason) == ("sold_at", True)

    def test_a_missing_field_is_named(self) -> None:
        with pytest.raises(InvalidCommand) as refused:
            parse_command({"type": "VoidSale", "store_id": "born", "pos_txn_id": "T-1"})
        assert (refused.value.field, "missing" in refused.value.reason) == ("reason", True)

    def test_an_unknown_field_is_refused_not_ignored(self) -> None:
        with pytest.raises(InvalidCommand) as refused:
            parse_command({"type": "CreateTenant", "name": "x", "kind": "chain", "tenant": "y"})
        assert refused.value.field == "tenant"

    def test_an_unknown_time_zone_is_refused(self) -> None:
        raw = {
            "type": "OpenStore",
            "store_id": "s",
            "name": "S",
            "kind": "shop",
            "timezone": "Europe/Atlantis",
            "region": "ES",
        }
        with pytest.raises(InvalidCommand) as refused:
            parse_command(raw)
        assert refused.value.field == "timezone"

    def test_ids_with_spaces_cannot_reach_a_stream_name(self) -> None:
        with pytest.raises(InvalidCommand) as refused:
            parse_command({"type": "VoidSale", "store_id": "b o", "pos_txn_id": "1", "reason": "x"})
        assert refused.value.field == "store_id"


class TestUpcastingThroughTheStore:
    async def test_a_v1_store_opening_in_the_log_is_read_as_v2(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await set_up_chain(run)
        old = {
            "type": "StoreOpened",
            "occurred_at": "2023-05-01T06:00:00Z",
            "store_id": "gracia",
            "name": "Gràcia",
            "tz": "Europe/Madrid",
        }
        await any_store.append(
            tenant,
            "tenant",
            [
                NewEvent(
                    event_type="StoreOpened", schema_version=1, payload=json.dumps(old).encode()
                )
            ],
        )
        stored = (await any_store.read_stream(tenant, "tenant"))[-1]
        assert stored.schema_version == 1  # history is never rewritten
        opened = decode_event(stored.event_type, stored.schema_version, stored.payload)
        assert isinstance(opened, StoreOpened)
        assert (opened.timezone, opened.region) == ("Europe/Madrid", "ES")
        # and the domain uses it: a store manager can be scoped to the upcast store
        await run(
            RegisterUser(
                user_id="jordi", name="Jordi", role=Role.STORE_MANAGER, store_ids=("gracia",)
            )
        )

    async def test_events_written_now_carry_the_current_schema_version(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await set_up_chain(run)
        opened = [
            r
            for r in await any_store.read_stream(tenant, "tenant")
            if r.event_type == "StoreOpened"
        ]
        assert {r.schema_version for r in opened} == {StoreOpened.SCHEMA_VERSION}
        assert all(r.actor == "user:olga" for r in opened)


async def test_a_store_manager_is_scoped_to_their_stores(run: Run) -> None:
    await set_up_chain(run)
    await run(
        DefineIngredient(
            ingredient_id="flour",
            name="Flour",
            unit="kg",
            unit_cost=D(1),
            shelf_life_days=180,
            reorder_point=D(0),
            reorder_quantity=D(0),
        )
    )
    manager = Actor(user_id="mar", role=Role.STORE_MANAGER, store_ids=frozenset({"born"}))
    receipt = ReceiveStock(
        store_id="central",
        item_id="flour",
        item_kind=ItemKind.INGREDIENT,
        lot_id="l1",
        quantity=D(1),
        unit_cost=D(1),
    )
    with pytest.raises(PermissionDenied, match="store 'central'"):
        await run(receipt, actor=manager)
    await run(
        ReceiveStock(
            store_id="born",
            item_id="flour",
            item_kind=ItemKind.INGREDIENT,
            lot_id="l1",
            quantity=D(1),
            unit_cost=D(1),
        ),
        actor=manager,
    )


async def test_tills_selling_one_product_at_once_all_get_their_sale_recorded(
    pg_store: EventStore, tenant: str
) -> None:
    """Twelve tills sell one item at the same instant, racing on its stock stream; none is refused.

    A sale is a fact: a version conflict is re-decided (with a jittered pause, so the
    racers spread out) until it lands, never answered as a 409 to the till.
    """
    import asyncio

    async def run(command: Any) -> Any:
        return await handle(command, pg_store, tenant_id=tenant, actor=OWNER, now=AT)

    await set_up_chain(run)
    await run(
        ReceiveStock(
            store_id="born",
            item_id="baguette",
            item_kind=ItemKind.PRODUCT,
            lot_id="morning",
            quantity=D(100),
            expires_on=date(2026, 1, 6),
            unit_cost=D("0.35"),
        )
    )
    sales = [
        RecordSale(
            store_id="born",
            pos_txn_id=f"T-{n}",
            sold_at=AT,
            lines=(SaleLine(sku="baguette", quantity=D(1), unit_price=D("1.20")),),
        )
        for n in range(12)
    ]
    done = await asyncio.gather(*(run(sale) for sale in sales), return_exceptions=True)
    assert [d for d in done if isinstance(d, BaseException)] == []
    assert (await stock_of(pg_store, tenant, "born", "baguette")).on_hand == D(88)
