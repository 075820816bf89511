"""An eventsourcing application on Obrador's store, seen from both sides.

The library's suites (test_eventsourcing_conformance.py) check the recorder
contract; these tests check what is specific to our store: the tenant/stream
mapping our own async API sees, the stream-version gate shared with it, gap
safety of the notification log, the reserve lock clean-up, and topics that do
not fit the event-type pattern.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.persistence import (
    ApplicationRecorder,
    DataError,
    IntegrityError,
    Notification,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.system import ProcessApplication, SingleThreadedRunner, System
from eventsourcing.utils import get_topic
from psycopg.conninfo import make_conninfo

from deploy.stack import StackUrls
from streams.envelope import NewEvent
from streams.errors import WrongExpectedVersion
from streams.es_base import ObradorRecorder
from streams.es_persistence import ObradorFactory
from streams.store import EventStore
from streams.validation import EVENT_TYPE_RE, MAX_PAYLOAD_BYTES

_RESERVE_LOCK = 7301746010  # the advisory lock key inside obrador_reserve_positions


class Account(Aggregate):
    class Opened(Aggregate.Created):
        owner: str

    class Credited(Aggregate.Event):
        amount: int

    @event(Opened)
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.balance = 0

    @event(Credited)
    def credit(self, amount: int) -> None:
        self.balance += amount


class Bank(Application[UUID]):
    def open_account(self, owner: str) -> UUID:
        account = Account(owner)
        self.save(account)
        return account.id

    def credit(self, account_id: UUID, amount: int) -> None:
        account: Account = self.repository.get(account_id)
        account.credit(amount)
        self.save(account)

    def balance(self, account_id: UUID) -> int:
        account: Account = self.repository.get(account_id)
        return account.balance


class Entry(Aggregate):
    class Written(Aggregate.Created):
        account_id: UUID
        amount: int

    @event(Written)
    def __init__(self, account_id: UUID, amount: int) -> None:
        self.account_id = account_id
        self.amount = amount


class Ledger(ProcessApplication[UUID]):
    """Follows Bank: one ledger entry per credit, written with its tracking record."""

    @singledispatchmethod
    def policy(
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        if isinstance(domain_event, Account.Credited):
            entry = Entry(domain_event.originator_id, domain_event.amount)
            processing_event.collect_events(entry)


def es_env(dsn: str, tenant: str = "bank", **extra: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "streams.es_persistence",
        "OBRADOR_ES_DSN": dsn,
        "OBRADOR_ES_TENANT": tenant,
        **extra,
    }


@pytest.fixture
def recorder(pg_url: str) -> Iterator[ApplicationRecorder]:
    factory = ObradorFactory(es_env(pg_url))
    try:
        yield factory.application_recorder()
    finally:
        factory.close()


def stored(originator_id: UUID | str, version: int, topic: str = "topic") -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version, topic=topic,
                       state=b'{"v":%d}' % version)


async def test_bank_application_runs_on_our_store_and_our_api_reads_it(pg_url: str) -> None:
    with Bank(env=es_env(pg_url)) as bank:
        account_id = bank.open_account("Ana")
        bank.credit(account_id, 30)
        bank.credit(account_id, 12)
        notifications = bank.recorder.select_notifications(start=None, limit=10)
    with Bank(env=es_env(pg_url)) as reopened:  # a new process would see the same
        assert reopened.balance(account_id) == 42

    store = await EventStore.open(pg_url)
    try:
        events = await store.read_stream("bank", str(account_id))
        assert [e.tenant_id for e in events] == ["bank"] * 3
        assert [e.stream_version for e in events] == [1, 2, 3]
        assert [e.event_type for e in events] == [
            get_topic(Account.Opened), get_topic(Account.Credited), get_topic(Account.Credited)
        ]
        assert all(EVENT_TYPE_RE.match(e.event_type) for e in events)
        assert json.loads(events[1].payload)["amount"] == 30
        assert [e.position for e in events] == [n.id for n in notifications]
        assert [e.position for e in await store.read_all(tenant_id="bank")] == [
            n.id for n in notifications
        ]
        # The streams gate moved with the library's writes: both sides see version 3.
        assert await store.stream_version("bank", str(account_id)) == 3
        with pytest.raises(WrongExpectedVersion) as stale:
            await store.append("bank", str(account_id), [NewEvent(event_type="X", payload=b"{}")],
                               expected_version=2)
        assert stale.value.actual == 3
    finally:
        await store.close()


def test_a_system_of_applications_keeps_each_app_in_its_own_tenant(pg_url: str) -> None:
    env = es_env(pg_url, BANK_OBRADOR_ES_TENANT="bank", LEDGER_OBRADOR_ES_TENANT="ledger")
    runner: SingleThreadedRunner[UUID] = SingleThreadedRunner(System([[Bank, Ledger]]), env=env)
    runner.start()
    try:
        bank = runner.get(Bank)
        ledger = runner.get(Ledger)
        account_id = bank.open_account("Ana")
        bank.credit(account_id, 5)
        bank.credit(account_id, 7)
        entries = ledger.recorder.select_notifications(start=None, limit=10)
        assert [n.topic for n in entries] == [get_topic(Entry.Written)] * 2
        assert ledger.recorder.max_tracking_id("Bank") == bank.recorder.max_notification_id()
        assert {n.topic for n in bank.recorder.select_notifications(None, 10)} == {
            get_topic(Account.Opened), get_topic(Account.Credited)
        }
    finally:
        runner.stop()


def _hold_an_append(dsn: str, tenant: str) -> psycopg.Connection[Any]:
    """Reserve a position and insert its row the way every writer does, without committing."""
    held = psycopg.connect(dsn)
    (first,) = held.execute("SELECT obrador_reserve_positions(1)").fetchone() or (0,)
    held.execute(
        "INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version,"
        " event_type, payload) VALUES (%s, %s, %s, %s, 1, 'topic', '\\x7b7d')",
        (first, uuid.uuid4(), tenant, str(uuid.uuid4())),
    )
    return held


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_notifications_never_pass_a_transaction_still_open(
    pg_url: str, recorder: ApplicationRecorder, outcome: str
) -> None:
    held = _hold_an_append(pg_url, "bank")
    try:
        assert recorder.insert_events([stored(uuid.uuid4(), 1)]) == [2]
        # Position 2 is committed, but 1 may still appear: readers must not move past it.
        assert recorder.select_notifications(start=None, limit=10) == []
        assert recorder.max_notification_id() is None
    finally:
        getattr(held, outcome)()
        held.close()
    seen = [n.id for n in recorder.select_notifications(start=None, limit=10)]
    assert seen == ([1, 2] if outcome == "commit" else [2])
    assert recorder.max_notification_id() == 2


def test_subscription_catches_up_when_an_older_transaction_ends_without_notify(
    pg_url: str, recorder: ApplicationRecorder
) -> None:
    older = psycopg.connect(pg_url)
    older.execute("SELECT pg_current_xact_id()")  # a transaction id, and no append to NOTIFY
    received: list[Notification] = []
    with recorder.subscribe(gt=0) as subscription:
        reader = threading.Thread(target=lambda: received.append(next(subscription)))
        reader.start()
        recorder.insert_events([stored(uuid.uuid4(), 1)])  # NOTIFY fires, row still hidden
        time.sleep(0.3)
        assert received == []
        older.commit()
        reader.join(timeout=5)
        subscription.stop()
    older.close()
    assert [n.id for n in received] == [1]


def test_a_failed_append_leaves_no_reserve_lock_on_its_connection(
    pg_url: str, recorder: ApplicationRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cancelled_inside_reserve(self: ObradorRecorder, conn: Any, *args: Any) -> None:
        conn.execute("SELECT pg_advisory_lock(%s)", (_RESERVE_LOCK,))  # as a cancel would leave
        raise KeyboardInterrupt

    monkeypatch.setattr(ObradorRecorder, "write_events", cancelled_inside_reserve)
    with pytest.raises(KeyboardInterrupt):
        recorder.insert_events([stored(uuid.uuid4(), 1)])
    monkeypatch.undo()

    with psycopg.connect(pg_url, autocommit=True) as other:
        (free,) = other.execute("SELECT pg_try_advisory_lock(%s)", (_RESERVE_LOCK,)).fetchone() or (
            False,
        )
        assert free, "the reserve lock leaked: every other writer would wait on it"
        other.execute("SELECT pg_advisory_unlock(%s)", (_RESERVE_LOCK,))
    assert recorder.insert_events([stored(uuid.uuid4(), 1)]) is not None


def test_duplicate_version_writes_nothing_not_even_the_stream_row(
    pg_url: str, recorder: ApplicationRecorder
) -> None:
    account = uuid.uuid4()
    recorder.insert_events([stored(account, 1)])
    with pytest.raises(IntegrityError):
        recorder.insert_events([stored(account, 2), stored(account, 1)])
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT version FROM streams WHERE stream_id = %s", (str(account),))
        assert row.fetchall() == [(1,)]
    assert [e.originator_version for e in recorder.select_events(account)] == [1]


def test_topics_outside_the_event_type_pattern_are_stored_verbatim(
    recorder: ApplicationRecorder,
) -> None:
    odd = "tests.module:make_app.<locals>.Account.Opened"
    long = "pkg." + "x" * 200 + ":Event"
    assert not EVENT_TYPE_RE.match(odd)
    assert not EVENT_TYPE_RE.match(long)
    account = uuid.uuid4()
    recorder.insert_events([stored(account, 1, odd), stored(account, 2, long)])
    assert [e.topic for e in recorder.select_events(account)] == [odd, long]
    assert [n.topic for n in recorder.select_notifications(None, 10, topics=[long])] == [long]


def test_tenants_do_not_see_each_other(pg_url: str) -> None:
    a = ObradorFactory(es_env(pg_url, "tenant-a"))
    b = ObradorFactory(es_env(pg_url, "tenant-b"))
    try:
        same_id = uuid.uuid4()
        a.application_recorder().insert_events([stored(same_id, 1)])
        b.application_recorder().insert_events([stored(same_id, 1)])  # no conflict across tenants
        assert [n.id for n in a.application_recorder().select_notifications(None, 10)] == [1]
        assert [n.id for n in b.application_recorder().select_notifications(None, 10)] == [2]
    finally:
        a.close()
        b.close()


def test_factory_refuses_bad_settings_and_an_unmigrated_database(
    pg_url: str, stack: StackUrls
) -> None:
    with pytest.raises(OSError, match="OBRADOR_ES_DSN"):
        ObradorFactory({"PERSISTENCE_MODULE": "streams.es_persistence"})
    with pytest.raises(OSError, match="not a tenant id"):
        ObradorFactory(es_env(pg_url, "Not A Tenant"))
    schema = f"empty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.database_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            empty = make_conninfo(stack.database_url, options=f"-c search_path={schema}")
            with pytest.raises(ProgrammingError, match="obrador migrate"):
                ObradorFactory(es_env(empty))
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def test_oversized_state_is_refused_before_anything_is_reserved(
    recorder: ApplicationRecorder,
) -> None:
    big = StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic="topic",
                      state=b"x" * (MAX_PAYLOAD_BYTES + 1))
    with pytest.raises(DataError, match="limit is 1048576 bytes"):
        recorder.insert_events([big])
    with pytest.raises(DataError, match="cannot be a stream id"):
        recorder.insert_events([stored("has space", 1)])
    assert recorder.insert_events([stored(uuid.uuid4(), 1)]) == [1]  # no position was used


def test_one_save_of_ten_thousand_events(recorder: ApplicationRecorder) -> None:
    """Reported to hang the stock PostgreSQL recorder (psycopg pipeline); ours is one INSERT."""
    account = uuid.uuid4()
    positions = recorder.insert_events([stored(account, v) for v in range(1, 10_001)])
    assert positions == list(range(1, 10_001))
    assert len(recorder.select_events(account)) == 10_000
