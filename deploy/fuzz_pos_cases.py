"""The messages of the POS fuzzer: random and boundary tickets, each with what must happen to it.

``cases(rng, count, now)`` yields groups of messages; a group is published at
once (a conflicting pair races). Each message says whether it must be recorded
(with exactly its lines), refused (dead-lettered), or ``either`` (one of a
conflicting pair wins).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from domain.limits import (
    LIVE_FUTURE,
    LIVE_PAST,
    MAX_JSON_DEPTH,
    MAX_LINES_PER_TICKET,
    MAX_MESSAGE_BYTES,
    MAX_QUANTITY,
    MAX_UNIT_PRICE,
)

Expect = Literal["recorded", "refused", "either"]
Line = tuple[str, Decimal, Decimal, Decimal]
SKUS = ("baguette", "croissant", "ensaimada", "coca", "pa-de-pages", "magdalena")
STORES = ("born", "gracia")


@dataclass(frozen=True)
class Message:
    kind: str
    store: str  # the subject's store
    token: str | None  # a store whose token to send, "forged", or None (no header)
    body: bytes
    expect: Expect
    txn: str | None = None
    lines: tuple[Line, ...] = ()
    foreign_tenant: bool = False  # published under another tenant's subject


def cases(rng: random.Random, count: int, now: datetime) -> Iterator[list[Message]]:
    made = 0
    sent: list[Message] = []
    while made < count:
        kind = rng.choices(list(_KINDS), weights=[w for w, _ in _KINDS.values()])[0]
        group = _KINDS[kind][1](rng, f"F{made}", now, sent)
        sent.extend(m for m in group if m.expect == "recorded")
        made += len(group)
        yield group


def _ticket(rng: random.Random, txn: str, now: datetime, **changes: Any) -> dict[str, Any]:
    lines = [_line(rng) for _ in range(rng.randint(1, 5))]
    body: dict[str, Any] = {
        "schema_version": 1,
        "pos_txn_id": txn,
        "sold_at": _when(now - timedelta(seconds=rng.randint(0, 6 * 3600))),
        "channel": rng.choice(["counter", "delivery", "online", "wholesale"]),
        "lines": lines,
    }
    body.update(changes)
    return body


def _line(rng: random.Random) -> dict[str, Any]:
    quantity = Decimal(rng.randint(1, 20_000)).scaleb(-rng.choice([0, 0, 1, 3]))
    price = Decimal(rng.randint(0, 500_000)).scaleb(-rng.choice([2, 2, 4]))
    line: dict[str, Any] = {
        "sku": rng.choice(SKUS),
        "quantity": _number(rng, quantity),
        "unit_price": _number(rng, price),
    }
    if rng.random() < 0.3:
        line["discount"] = str((quantity * price / 2).quantize(Decimal("0.01")))
    if rng.random() < 0.2:
        line["promotion"] = rng.choice(["2x1", "breakfast", "dia del pare", "ñam ñam"])
    return line


def _number(rng: random.Random, value: Decimal) -> Any:
    """Tills send decimals as strings or as JSON numbers."""
    return str(value) if rng.random() < 0.6 else float(value) if value < 1000 else str(value)


def _when(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _lines_of(body: dict[str, Any]) -> tuple[Line, ...]:
    return tuple(
        (
            line["sku"],
            Decimal(str(line["quantity"])),
            Decimal(str(line["unit_price"])),
            Decimal(str(line.get("discount", "0"))),
        )
        for line in body["lines"]
    )


def _ok(kind: str, body: dict[str, Any], store: str = "born") -> Message:
    return Message(
        kind,
        store,
        store,
        json.dumps(body).encode(),
        "recorded",
        body["pos_txn_id"],
        _lines_of(body),
    )


def _bad(kind: str, body: bytes | dict[str, Any], **fields: Any) -> Message:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Message(
        kind, fields.pop("store", "born"), fields.pop("token", "born"), raw, "refused", **fields
    )


Maker = Callable[[random.Random, str, datetime, list[Message]], list[Message]]


def _valid(rng: random.Random, txn: str, now: datetime, sent: list[Message]) -> list[Message]:
    store = rng.choice(STORES)
    return [_ok("valid", _ticket(rng, txn, now), store)]


def _boundary_valid(rng: random.Random, txn: str, now: datetime, _: list[Message]) -> list[Message]:
    pick = rng.randrange(5)
    if pick == 4:  # a ticket padded with JSON whitespace to exactly MAX_MESSAGE_BYTES
        valid = _ok("boundary_valid", _ticket(rng, txn, now))
        padded = valid.body[:-1] + b" " * (MAX_MESSAGE_BYTES - len(valid.body)) + b"}"
        return [Message("size_limit_valid", "born", "born", padded, "recorded", txn, valid.lines)]
    if pick == 0:
        line = {"sku": "coca", "quantity": str(MAX_QUANTITY - Decimal("0.001")), "unit_price": "0"}
        return [_ok("boundary_valid", _ticket(rng, txn, now, lines=[line]))]
    if pick == 1:
        line = {
            "sku": "coca",
            "quantity": "0.001",
            "unit_price": str(MAX_UNIT_PRICE - Decimal("0.0001")),
        }
        return [_ok("boundary_valid", _ticket(rng, txn, now, lines=[line]))]
    if pick == 2:
        lines = [{"sku": "coca", "quantity": "1", "unit_price": "1"}] * MAX_LINES_PER_TICKET
        return [_ok("boundary_valid", _ticket(rng, txn, now, lines=lines))]
    edge = (
        now - LIVE_PAST + timedelta(hours=1)
        if rng.random() < 0.5
        else now + LIVE_FUTURE - timedelta(hours=1)
    )
    return [_ok("boundary_valid", _ticket(rng, txn, now, sold_at=_when(edge)))]


def _resend(rng: random.Random, txn: str, now: datetime, sent: list[Message]) -> list[Message]:
    if not sent:
        return _valid(rng, txn, now, sent)
    earlier = rng.choice(sent)
    return [
        Message(
            "resend",
            earlier.store,
            earlier.store,
            earlier.body,
            "recorded",
            earlier.txn,
            earlier.lines,
        )
    ]


def _conflict(rng: random.Random, txn: str, now: datetime, _: list[Message]) -> list[Message]:
    body = _ticket(rng, txn, now)
    other = {**body, "lines": [*body["lines"], {"sku": "coca", "quantity": "1", "unit_price": "9"}]}
    return [
        Message(
            "conflict_pair", "born", "born", json.dumps(b).encode(), "either", txn, _lines_of(b)
        )
        for b in (body, other)
    ]


_HUGE_AND_TINY = (
    "1E+999999",
    "1E-999999",
    "1e12",
    "1e308",
    "-1",
    "NaN",
    "Infinity",
    "1e99999999999999999999",
    "9" * 5000,
)
_POISON: dict[str, tuple[str, ...]] = {
    "quantity": (*_HUGE_AND_TINY, "0", "0.0001", "1000000"),
    "unit_price": (*_HUGE_AND_TINY, "0.00001", "100000"),
    "discount": (*_HUGE_AND_TINY, "0.00001"),
}


def _bad_number(rng: random.Random, txn: str, now: datetime, _: list[Message]) -> list[Message]:
    """One number of one line poisoned, written as a JSON number or as a string."""
    body = _ticket(rng, txn, now)
    field = rng.choice(list(_POISON))
    poison = rng.choice(_POISON[field])
    body["lines"][rng.randrange(len(body["lines"]))][field] = "@@"
    as_number = rng.random() < 0.5 and poison not in ("NaN", "Infinity")
    text = json.dumps(body).replace('"@@"', poison if as_number else f'"{poison}"')
    return [_bad("bad_number", text.encode(), txn=txn)]


def _bad_time(rng: random.Random, txn: str, now: datetime, _: list[Message]) -> list[Message]:
    value = rng.choice(
        [
            "9999-12-31T23:59:59+00:00",
            "0001-01-01T00:00:00+00:00",
            "2026-13-45T00:00:00+00:00",
            _when(now).split("+")[0],  # no offset
            _when(now - LIVE_PAST - timedelta(days=1)),
            _when(now + LIVE_FUTURE + timedelta(hours=2)),
            "yesterday",
        ]
    )
    return [_bad("bad_time", _ticket(rng, txn, now, sold_at=value), txn=txn)]


def _bad_shape(rng: random.Random, txn: str, now: datetime, _: list[Message]) -> list[Message]:
    pick = rng.randrange(7)
    if pick == 0:
        depth = rng.choice([MAX_JSON_DEPTH + 1, 100, 10_000])
        return [_bad("deep_json", b"[" * depth + b"]" * depth)]
    if pick == 1:
        body = _ticket(rng, txn, now)
        body["lines"][0]["promotion"] = "two\x00for one"
        return [_bad("nul", body, txn=txn)]
    if pick == 2:
        lines = [{"sku": "coca", "quantity": "1", "unit_price": "1"}] * (MAX_LINES_PER_TICKET + 1)
        return [_bad("too_many_lines", _ticket(rng, txn, now, lines=lines), txn=txn)]
    if pick == 3:
        return [_bad("long_text", _ticket(rng, txn, now, pos_txn_id="T" * 129))]
    if pick == 4:
        return [_bad("garbage", rng.randbytes(rng.randint(0, 300)))]
    if pick == 5:
        return [_bad("no_lines", _ticket(rng, txn, now, lines=[]), txn=txn)]
    return [_bad("unknown_field", _ticket(rng, txn, now, tenant_id="someone"), txn=txn)]


def _big(rng: random.Random, txn: str, now: datetime, _: list[Message]) -> list[Message]:
    size = rng.choice([MAX_MESSAGE_BYTES + 1, MAX_MESSAGE_BYTES + 1000, 1024 * 1024 - 2048])
    body = b'{"pad": "' + b"x" * (size - 11) + b'"}'
    return [_bad("too_large", body, token=rng.choice(["born", None]))]


def _bad_token(rng: random.Random, txn: str, now: datetime, _: list[Message]) -> list[Message]:
    body = _ticket(rng, txn, now)
    pick = rng.randrange(4)
    if pick == 0:
        return [_bad("token_missing", body, token=None, txn=txn)]
    if pick == 1:
        return [_bad("token_unknown", body, token="forged", txn=txn)]
    if pick == 2:
        return [_bad("store_mismatch", body, store="gracia", token="born", txn=txn)]
    return [_bad("tenant_mismatch", body, foreign_tenant=True, txn=txn)]


_KINDS: dict[str, tuple[float, Maker]] = {
    "valid": (30, _valid),
    "boundary_valid": (5, _boundary_valid),
    "resend": (8, _resend),
    "conflict": (8, _conflict),
    "bad_number": (15, _bad_number),
    "bad_time": (8, _bad_time),
    "bad_shape": (12, _bad_shape),
    "big": (2, _big),
    "bad_token": (8, _bad_token),
}
