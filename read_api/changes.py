"""``GET /v1/stream``: read-model changes and alerts of the caller's tenant, live (SSE).

Where the changes come from: the projectors move a read model's checkpoint in
the transaction that writes its rows, and ``projections.apply.move_checkpoints``
NOTIFYs ``"<model> <partition> <position>"`` on ``CHECKPOINT_CHANNEL`` (delivered
at commit only). One LISTEN connection per API process (``CheckpointWatch``)
wakes the streams of that partition; each stream then reads, for every model
whose checkpoint moved past its cursor, the tenant's events in between that the
model handles, and sends one message per model:

- ``event: change`` — ``{"model", "position", "keys": [{store_id, item_id, …}],
  "truncated"}``: the model now reflects the tenant's events up to ``position``;
  ``keys`` are the ids those events name (at most ``MAX_KEYS``; ``truncated``
  when more), so a client re-reads only what changed.
- ``event: alert`` — ``{"change": "raised" | "escalated" | "updated" | "resolved",
  "position", "alert": {…}}`` when the alerts model moved: the tenant's open
  alerts compared with the stream's last view of them.
- ``event: alerts`` — first message of every connection: ``{"position", "open":
  [...]}``, the open alerts now (a reconnecting client reconciles with it).

Every batch of messages ends with an ``id``: a global position up to which every
model's changes have been sent. ``Last-Event-ID`` (or ``?after=``) resumes there:
changes after it are sent again from the log (at least once: a model that was
ahead may repeat a change). Without it the stream starts from what each read
model holds at connection time.

A wake-up waits ``COALESCE_SECONDS`` for the other models' commits of the same
batch, so one read serves them. A stream also re-checks every ``POLL_SECONDS``
without a notification (a lost LISTEN connection delays, never loses), sends
``: keep-alive`` every ``KEEP_ALIVE_SECONDS``, holds no database connection
between reads, and unsubscribes when the client goes away
(``obrador_api_stream_clients``).
Store-scoped roles see only the changes and alerts of their stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Final, Literal

import msgspec
import psycopg
from litestar import Request, get
from litestar.datastructures import State
from litestar.response import ServerSentEvent, ServerSentEventMessage
from prometheus_client import Gauge

from domain.access import STORE_SCOPED_ROLES
from projections.apply import CHECKPOINT_CHANNEL
from projections.models import ALL_MODELS
from read_api.auth import can_read
from read_api.keys import Principal
from read_api.live import start_position
from streams.jetstream import partition_of

log = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS: Final = 15.0
POLL_SECONDS: Final = 2.0
#: After a wake-up, wait this long for the other models' commits of the same batch, so
#: that one read answers them all (each projector commits and notifies on its own).
COALESCE_SECONDS: Final = 0.02
BATCH: Final = 2000
MAX_KEYS: Final = 100
#: Payload fields that name what an event changed (the read models' keys).
KEY_FIELDS: Final = (
    "store_id",
    "producing_store_id",
    "destination_store_id",
    "item_id",
    "sku",
    "lot_id",
    "order_id",
    "po_id",
    "supplier_id",
    "equipment_id",
    "alert_id",
    "transfer_id",
)
_STORE_FIELDS: Final = ("store_id", "producing_store_id", "destination_store_id")
_MODELS: Final = {m.name: m for m in ALL_MODELS}

STREAM_CLIENTS: Final = Gauge(
    "obrador_api_stream_clients", "Open /v1/stream connections of this API process"
)

Stores = tuple[str, ...] | None


class _Keys(msgspec.Struct):
    store_id: str | None = None
    producing_store_id: str | None = None
    destination_store_id: str | None = None
    item_id: str | None = None
    sku: str | None = None
    lot_id: str | None = None
    order_id: str | None = None
    po_id: str | None = None
    supplier_id: str | None = None
    equipment_id: str | None = None
    alert_id: str | None = None
    transfer_id: str | None = None


_KEYS_DECODER: Final = msgspec.json.Decoder(_Keys)


def keys_of(payload: bytes) -> dict[str, str]:
    """The id fields a stored payload names (none when it is not such a JSON object)."""
    try:
        found = _KEYS_DECODER.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return {}
    return {f: v for f in KEY_FIELDS if (v := getattr(found, f)) is not None}


def _visible(keys: dict[str, str], stores: Stores) -> bool:
    return stores is None or any(keys.get(f) in stores for f in _STORE_FIELDS)


class Change(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    position: int
    keys: list[dict[str, str]]
    truncated: bool


class AlertView(msgspec.Struct, frozen=True, kw_only=True):
    alert_id: str
    type: str
    severity: str
    score: int
    escalation: int
    status: str
    occurrences: int
    title: str
    action: str
    store_id: str | None
    item_id: str | None
    deadline: datetime | None
    raised_at: datetime


class AlertChange(msgspec.Struct, frozen=True, kw_only=True):
    change: Literal["raised", "escalated", "updated", "resolved"]
    position: int
    alert: AlertView


class AlertSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    open: list[AlertView]


_ALERT_COLUMNS: Final = (
    "alert_id, type, severity, score, escalation, status, occurrences, title, action,"
    " store_id, item_id, deadline, raised_at"
)


class CheckpointWatch:
    """One LISTEN connection per process; wakes the streams of the partition that moved."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._waiting: dict[int, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    @property
    def clients(self) -> int:
        return sum(len(events) for events in self._waiting.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, partition: int) -> AsyncIterator[asyncio.Event]:
        """An event set whenever a read model's checkpoint of ``partition`` moves."""
        await self._ensure_listening()
        woken = asyncio.Event()
        self._waiting.setdefault(partition, set()).add(woken)
        STREAM_CLIENTS.inc()
        try:
            yield woken
        finally:
            STREAM_CLIENTS.dec()
            waiting = self._waiting.get(partition, set())
            waiting.discard(woken)
            if not waiting:
                self._waiting.pop(partition, None)

    async def _ensure_listening(self) -> None:
        async with self._lock:
            if self._task is not None and not self._task.done():
                return
            try:
                self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                await self._conn.execute(f"LISTEN {CHECKPOINT_CHANNEL}")
            except psycopg.Error as exc:  # the streams poll meanwhile; the next one retries
                log.warning("cannot LISTEN for read-model changes: %s", exc)
                return
            self._task = asyncio.create_task(self._listen(self._conn))

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            async for note in conn.notifies():
                parts = note.payload.split()
                if len(parts) == 3 and parts[1].isdigit():
                    for woken in self._waiting.get(int(parts[1]), ()):
                        woken.set()
        except psycopg.Error:
            for events in self._waiting.values():
                for woken in events:
                    woken.set()
        finally:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()


async def _open_alerts(conn: Any, tenant_id: str, stores: Stores) -> dict[str, AlertView]:
    scope = " AND store_id = ANY(%s)" if stores is not None else ""
    params: list[Any] = [tenant_id] + ([list(stores)] if stores is not None else [])
    cur = await conn.execute(
        f"SELECT {_ALERT_COLUMNS} FROM rm_alerts"
        f" WHERE tenant_id = %s AND status <> 'resolved'{scope}",
        params,
    )
    fields = AlertView.__struct_fields__
    return {
        row[0]: AlertView(**dict(zip(fields, row, strict=True))) for row in await cur.fetchall()
    }


async def _alerts_by_id(conn: Any, tenant_id: str, ids: Sequence[str]) -> list[AlertView]:
    cur = await conn.execute(
        f"SELECT {_ALERT_COLUMNS} FROM rm_alerts WHERE tenant_id = %s AND alert_id = ANY(%s)",
        [tenant_id, list(ids)],
    )
    fields = AlertView.__struct_fields__
    return [AlertView(**dict(zip(fields, row, strict=True))) for row in await cur.fetchall()]


def _alert_changes(
    before: dict[str, AlertView], now: dict[str, AlertView], gone: list[AlertView], position: int
) -> list[AlertChange]:
    changes: list[AlertChange] = []
    for alert in sorted(now.values(), key=lambda a: (-a.score, a.alert_id)):
        old = before.get(alert.alert_id)
        if old is None:
            changes.append(AlertChange(change="raised", position=position, alert=alert))
        elif alert.score > old.score or alert.escalation > old.escalation:
            changes.append(AlertChange(change="escalated", position=position, alert=alert))
        elif alert != old:
            changes.append(AlertChange(change="updated", position=position, alert=alert))
    changes += [
        AlertChange(change="resolved", position=position, alert=alert)
        for alert in gone
        if alert.status == "resolved"
    ]
    return changes


class TenantStream:
    """One client's stream: a cursor per read model and its last view of the open alerts."""

    def __init__(self, pool: Any, tenant_id: str, start: int | None, stores: Stores) -> None:
        """``start``: resume after this position; None: from what each model holds now."""
        self.pool, self.tenant_id, self.stores = pool, tenant_id, stores
        self.partition = partition_of(tenant_id)
        self.start = start
        self.cursors = dict.fromkeys(_MODELS, start or 0)
        self.alerts: dict[str, AlertView] = {}
        self._encoder = msgspec.json.Encoder()

    @property
    def position(self) -> int:
        """Every model's changes up to here have been sent."""
        return min(self.cursors.values())

    async def snapshot(self) -> ServerSentEventMessage:
        """The open alerts now (and, for a fresh stream, every model's cursor at its rows)."""
        async with self.pool.connection() as conn:
            if self.start is None:
                passed = await self._checkpoints(conn)
                head = max(passed.values(), default=0)
                self.cursors = {m: passed.get(m, head) for m in _MODELS}
            self.alerts = await _open_alerts(conn, self.tenant_id, self.stores)
        body = AlertSnapshot(
            position=self.position,
            open=sorted(self.alerts.values(), key=lambda a: (-a.score, a.alert_id)),
        )
        return ServerSentEventMessage(
            event="alerts", data=self._encoder.encode(body).decode(), id=self.position
        )

    async def advance(self) -> tuple[list[ServerSentEventMessage], bool]:
        """The messages for what the read models applied since the last call; True: more."""
        async with self.pool.connection() as conn:
            passed = await self._checkpoints(conn)
            targets = {m: max(c, passed.get(m, 0)) for m, c in self.cursors.items()}
            moving = [m for m in _MODELS if targets[m] > self.cursors[m]]
            if not moving:
                return [], False
            low = min(self.cursors[m] for m in moving)
            high = max(targets[m] for m in moving)
            cur = await conn.execute(
                "SELECT position, event_type, payload FROM events"
                " WHERE tenant_id = %s AND position > %s AND position <= %s"
                " ORDER BY position LIMIT %s",
                (self.tenant_id, low, high, BATCH),
            )
            rows = await cur.fetchall()
            more = len(rows) == BATCH
            if more:  # the rest next time: no model moves past what was read
                targets = {
                    m: min(t, int(rows[-1][0])) if m in moving else t for m, t in targets.items()
                }
            messages = [
                message
                for m in moving
                if (message := self._change(m, rows, self.cursors[m], targets[m])) is not None
            ]
            if "alerts" in moving and any(
                self.cursors["alerts"] < p <= targets["alerts"] and _MODELS["alerts"].handles(kind)
                for p, kind, _ in rows
            ):
                messages += await self._alerts(conn, targets["alerts"])
        self.cursors = targets
        if messages:
            last = messages[-1]
            messages[-1] = ServerSentEventMessage(
                event=last.event, data=last.data, id=self.position
            )
        return messages, more

    async def _checkpoints(self, conn: Any) -> dict[str, int]:
        cur = await conn.execute(
            "SELECT projection, position FROM projection_checkpoints"
            " WHERE partition = %s AND projection = ANY(%s)",
            (self.partition, list(_MODELS)),
        )
        return {str(name): int(pos) for name, pos in await cur.fetchall()}

    def _change(
        self, model: str, rows: Sequence[tuple[Any, ...]], after: int, upto: int
    ) -> ServerSentEventMessage | None:
        handles = _MODELS[model].handles
        keys: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        last = 0
        for position, kind, payload in rows:
            if not (after < position <= upto) or not handles(kind):
                continue
            named = keys_of(bytes(payload))
            if not _visible(named, self.stores):
                continue
            keys.setdefault(tuple(sorted(named.items())), named)
            last = int(position)
        if not last:
            return None
        body = Change(
            model=model,
            position=last,
            keys=list(keys.values())[:MAX_KEYS],
            truncated=len(keys) > MAX_KEYS,
        )
        return ServerSentEventMessage(event="change", data=self._encoder.encode(body).decode())

    async def _alerts(self, conn: Any, position: int) -> list[ServerSentEventMessage]:
        now = await _open_alerts(conn, self.tenant_id, self.stores)
        gone_ids = [a for a in self.alerts if a not in now]
        gone = await _alerts_by_id(conn, self.tenant_id, gone_ids) if gone_ids else []
        changes = _alert_changes(self.alerts, now, gone, position)
        self.alerts = now
        return [
            ServerSentEventMessage(event="alert", data=self._encoder.encode(c).decode())
            for c in changes
        ]


async def stream_messages(
    stream: TenantStream,
    watch: CheckpointWatch,
    *,
    keep_alive: float = KEEP_ALIVE_SECONDS,
    poll: float = POLL_SECONDS,
) -> AsyncIterator[ServerSentEventMessage]:
    """The alerts snapshot, then every change as the read models apply it, until cancelled."""
    async with watch.subscribe(stream.partition) as woken:
        yield await stream.snapshot()
        quiet = 0.0
        while True:
            woken.clear()  # before reading: a commit during the read wakes the next wait
            messages, more = await stream.advance()
            for message in messages:
                yield message
            if more:
                continue
            if messages:
                quiet = 0.0
            try:
                await asyncio.wait_for(woken.wait(), min(poll, keep_alive))
            except TimeoutError:
                quiet += min(poll, keep_alive)
                if quiet >= keep_alive:
                    quiet = 0.0
                    yield ServerSentEventMessage(comment="keep-alive")
            else:
                await asyncio.sleep(COALESCE_SECONDS)


@get(
    "/stream",
    operation_id="streamChanges",
    summary="Read-model changes and alerts of the tenant as Server-Sent Events",
    tags=["live"],
    guards=[can_read],
    # An endless stream: kept out of the OpenAPI document like /v1/events/stream
    # (a fuzzer would wait on it forever); docs/api.md describes it.
    include_in_schema=False,
)
async def stream_changes(request: Request[Principal, Any, Any], state: State) -> ServerSentEvent:
    principal = request.user
    start = start_position(request.headers.get("last-event-id"), request.query_params.get("after"))
    stores = principal.store_ids if principal.role in STORE_SCOPED_ROLES else None
    stream = TenantStream(state.pool, principal.tenant_id, start, stores)
    watch: CheckpointWatch = state.checkpoint_watch
    return ServerSentEvent(stream_messages(stream, watch), retry_duration=2000)
