"""Personal fields sealed per subject: what the store holds, who can read it, what erasure does.

Each behaviour runs on the in-memory store and on PostgreSQL (``any_store``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from commands.handlers import handle
from commands.personal import erase_subject
from commands.runtime import Writer
from commands.types import AddEmailRecipient, CreateTenant, RegisterUser
from domain.access import Actor
from domain.codec import encode_event
from domain.errors import AlreadyExists, NotFound
from domain.events import UserRegistered
from domain.events.organisation import Role, TenantKind
from domain.organisation import fold
from domain.personal import ERASED
from domain.streams import NOTIFY_SETTINGS_STREAM, TENANT_STREAM
from streams.envelope import NewEvent
from streams.memory import InMemoryEventStore
from streams.notify.tenants import _fold
from streams.personal import PersonalDataError, open_records
from streams.store import EventStore
from streams.subject_keys import SubjectErasedError

Store = EventStore | InMemoryEventStore
TENANT = "forn"
OWNER = Actor(user_id="olga", role=Role.OWNER)
AT = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)


async def _register(store: Store, user_id: str, name: str, email: str) -> None:
    command = RegisterUser(user_id=user_id, name=name, role=Role.PLANNER, email=email)
    await handle(command, store, tenant_id=TENANT, actor=OWNER, now=AT)


async def _tenant_with_ana(store: Store) -> None:
    await handle(
        CreateTenant(name="Forn", kind=TenantKind.SINGLE_SHOP),
        store,
        tenant_id=TENANT,
        actor=OWNER,
        now=AT,
    )
    await _register(store, "u-ana", "Ana Puig", "ana@forn.example")


async def _stored_users(store: Store) -> list[dict[str, str]]:
    records = await store.read_stream(TENANT, TENANT_STREAM)
    return [msgspec.json.decode(r.payload) for r in records if r.event_type == "UserRegistered"]


async def _opened_users(store: Store) -> list[UserRegistered]:
    records = await open_records(
        store.keyring.keys_for_reading, await store.read_stream(TENANT, TENANT_STREAM)
    )
    return [
        msgspec.json.decode(r.payload, type=UserRegistered)
        for r in records
        if r.event_type == "UserRegistered"
    ]


class TestSealing:
    async def test_the_store_holds_tokens_and_readers_with_the_key_see_the_values(
        self, any_store: Store
    ) -> None:
        await _tenant_with_ana(any_store)
        (stored,) = await _stored_users(any_store)
        assert stored["name"].startswith("pii1:") and stored["email"].startswith("pii1:")
        assert stored["user_id"] == "u-ana" and stored["role"] == "planner"  # not personal
        (opened,) = await _opened_users(any_store)
        assert (opened.name, opened.email) == ("Ana Puig", "ana@forn.example")

    async def test_the_write_side_folds_the_opened_values(self, any_store: Store) -> None:
        await _tenant_with_ana(any_store)
        with pytest.raises(AlreadyExists, match="email"):
            await _register(any_store, "u-other", "Otra", "ana@forn.example")

    async def test_a_token_moved_to_another_subject_does_not_open(
        self, memory_store: InMemoryEventStore
    ) -> None:
        await _tenant_with_ana(memory_store)
        await _register(memory_store, "u-bo", "Bo", "bo@forn.example")
        ana, bo = await _stored_users(memory_store)
        forged = {**bo, "email": ana["email"]}
        await memory_store.append(
            TENANT,
            TENANT_STREAM,
            [NewEvent(event_type="UserRegistered", payload=msgspec.json.encode(forged))],
        )
        with pytest.raises(PersonalDataError):
            await _opened_users(memory_store)


class TestErasure:
    async def test_erasure_blanks_every_personal_field_and_is_recorded_once(
        self, any_store: Store
    ) -> None:
        await _tenant_with_ana(any_store)
        first = await erase_subject(any_store, tenant_id=TENANT, subject="user:u-ana", actor=OWNER)
        again = await erase_subject(any_store, tenant_id=TENANT, subject="user:u-ana", actor=OWNER)
        assert (first.key_shredded, first.recorded) == (True, True)
        assert (again.key_shredded, again.recorded) == (False, False)
        (opened,) = await _opened_users(any_store)
        assert (opened.name, opened.email, opened.user_id) == (ERASED, ERASED, "u-ana")
        types = [r.event_type for r in await any_store.read_stream(TENANT, TENANT_STREAM)]
        assert types.count("SubjectErased") == 1

    async def test_an_erased_address_may_belong_to_a_new_user(self, any_store: Store) -> None:
        await _tenant_with_ana(any_store)
        await erase_subject(any_store, tenant_id=TENANT, subject="user:u-ana", actor=OWNER)
        await _register(any_store, "u-ana2", "Ana P.", "ana@forn.example")
        writer = Writer(any_store, tenant_id=TENANT, actor=OWNER, now=AT, key=None)
        state = await writer.load(TENANT_STREAM, fold)
        assert state.emails == {"ana@forn.example": "u-ana2"}

    async def test_an_unknown_subject_is_refused_before_anything_is_shredded(
        self, any_store: Store
    ) -> None:
        await _tenant_with_ana(any_store)
        with pytest.raises(NotFound, match="subject"):
            await erase_subject(any_store, tenant_id=TENANT, subject="user:nobody", actor=OWNER)
        assert await any_store.keyring.keys_for_reading(TENANT, ["user:nobody"]) == {}

    async def test_no_new_personal_data_for_an_erased_subject(self, any_store: Store) -> None:
        await _tenant_with_ana(any_store)
        await erase_subject(any_store, tenant_id=TENANT, subject="user:u-ana", actor=OWNER)
        with pytest.raises(SubjectErasedError):
            await any_store.keyring.keys_for_writing(TENANT, ["user:u-ana"])


class TestOlderEvents:
    async def test_plaintext_written_before_sealing_reads_as_is_until_erased(
        self, any_store: Store
    ) -> None:
        await _tenant_with_ana(any_store)
        legacy = UserRegistered(
            occurred_at=AT, user_id="u-old", name="Pere Vell", role=Role.AUDITOR, email=""
        )
        kind, version, payload = encode_event(legacy)  # as stored before migration 0042
        await any_store.append(
            TENANT,
            TENANT_STREAM,
            [NewEvent(event_type=kind, schema_version=version, payload=payload)],
        )
        assert [u.name for u in await _opened_users(any_store)] == ["Ana Puig", "Pere Vell"]
        await erase_subject(any_store, tenant_id=TENANT, subject="user:u-old", actor=OWNER)
        assert [u.name for u in await _opened_users(any_store)] == ["Ana Puig", ERASED]


class TestAlertRecipients:
    async def test_a_recipient_address_is_sealed_and_erasing_it_removes_the_channel(
        self, pg_store: EventStore
    ) -> None:
        await _tenant_with_ana(pg_store)
        add = AddEmailRecipient(channel_id="jefa", address="jefa@forn.example")
        await handle(add, pg_store, tenant_id=TENANT, actor=OWNER, now=AT)
        records = await pg_store.read_stream(TENANT, NOTIFY_SETTINGS_STREAM)
        assert b"jefa@forn.example" not in b"".join(r.payload for r in records)
        async with pg_store.pool.connection() as conn:
            folded = await _fold(conn, TENANT)
        assert folded.channels["jefa"].target == "jefa@forn.example"  # the notifier reads it

        await erase_subject(pg_store, tenant_id=TENANT, subject="recipient:jefa", actor=OWNER)
        async with pg_store.pool.connection() as conn:
            folded = await _fold(conn, TENANT)
        assert "jefa" not in folded.channels

    async def test_a_webhook_secret_is_sealed_yet_the_notifier_signs_with_it(
        self, pg_store: EventStore
    ) -> None:
        from commands.types import AddWebhookChannel

        await _tenant_with_ana(pg_store)
        secret = "s3cret-hmac-key-of-the-forn"
        add = AddWebhookChannel(channel_id="ops", url="https://ops.example/hook", secret=secret)
        await handle(add, pg_store, tenant_id=TENANT, actor=OWNER, now=AT)
        records = await pg_store.read_stream(TENANT, NOTIFY_SETTINGS_STREAM)
        assert secret.encode() not in b"".join(r.payload for r in records)  # export shows none
        async with pg_store.pool.connection() as conn:
            folded = await _fold(conn, TENANT)
        assert folded.channels["ops"].secret == secret

        await erase_subject(pg_store, tenant_id=TENANT, subject="recipient:ops", actor=OWNER)
        async with pg_store.pool.connection() as conn:
            folded = await _fold(conn, TENANT)
        assert "ops" not in folded.channels
