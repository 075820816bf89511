"""Crypto-shredding: personal fields sealed with their subject's key on the way in, opened on read.

The write side calls :func:`seal_events` before appending; every field listed in
``domain.personal.PERSONAL_FIELDS`` becomes ``pii1:<base64url(nonce ‖ AES-GCM
ciphertext)>``, bound (associated data) to the tenant, subject, event type and
field, so a token copied into another event or field does not open. The stored
event, the relay's messages, the history export and the hash chain only ever
hold the token.

Readers that need the values (the command side's folds, the projections, the
GDPR export) call :func:`open_records`: a token opens with the subject's key;
once the key is shredded every personal field of that subject, token or
plaintext written before encryption existed, reads ``ERASED``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.personal import ERASED, PERSONAL_FIELDS, subject_of
from streams.envelope import NewEvent, RecordedEvent
from streams.subject_keys import Keys

TOKEN_PREFIX: Final = "pii1:"
NONCE_BYTES: Final = 12
#: (tenant, subjects) -> their keys (None: erased); ``Keyring.keys_for_reading`` or ``read_keys``
KeyReader = Callable[[str, Collection[str]], Awaitable[Keys]]
#: (tenant, subjects) -> their keys, made when new; ``Keyring.keys_for_writing``
KeyMaker = Callable[[str, Collection[str]], Awaitable[dict[str, bytes]]]


class PersonalDataError(ValueError):
    """A sealed field does not open with its subject's key: edited, moved or corrupt."""


def _aad(tenant_id: str, subject: str, event_type: str, field: str) -> bytes:
    return f"{tenant_id}|{subject}|{event_type}|{field}".encode()


def seal_value(key: bytes, value: str, aad: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + AESGCM(key).encrypt(nonce, value.encode(), aad)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(sealed).decode()


def open_value(key: bytes, token: str, aad: bytes) -> str:
    try:
        sealed = base64.urlsafe_b64decode(token.removeprefix(TOKEN_PREFIX))
        plain = AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as exc:
        raise PersonalDataError("a personal field does not open with its subject's key") from exc
    return plain.decode()


async def seal_events(
    make_keys: KeyMaker, tenant_id: str, events: Sequence[NewEvent]
) -> list[NewEvent]:
    """``events`` with their personal fields sealed; events without any pass unchanged."""
    found: list[tuple[int, dict[str, Any], str]] = []
    for index, event in enumerate(events):
        if event.event_type in PERSONAL_FIELDS:
            data = msgspec.json.decode(event.payload)
            subject = subject_of(event.event_type, data)
            assert subject is not None
            found.append((index, data, subject))
    if not found:
        return list(events)
    keys = await make_keys(tenant_id, {subject for _, _, subject in found})
    sealed = list(events)
    for index, data, subject in found:
        event_type = events[index].event_type
        for field in PERSONAL_FIELDS[event_type].fields:
            value = data.get(field)
            if isinstance(value, str) and value and not value.startswith(TOKEN_PREFIX):
                aad = _aad(tenant_id, subject, event_type, field)
                data[field] = seal_value(keys[subject], value, aad)
        sealed[index] = msgspec.structs.replace(events[index], payload=msgspec.json.encode(data))
    return sealed


async def open_records(
    read_keys: KeyReader, records: Sequence[RecordedEvent]
) -> list[RecordedEvent]:
    """``records`` with personal fields readable, or ``ERASED`` where the subject was erased."""
    found: dict[str, list[tuple[int, dict[str, Any], str]]] = {}
    for index, record in enumerate(records):
        if record.event_type in PERSONAL_FIELDS:
            data = msgspec.json.decode(record.payload)
            subject = subject_of(record.event_type, data)
            assert subject is not None
            found.setdefault(record.tenant_id, []).append((index, data, subject))
    if not found:
        return list(records)
    opened = list(records)
    for tenant_id, items in found.items():
        keys = await read_keys(tenant_id, {subject for _, _, subject in items})
        for index, data, subject in items:
            record = records[index]
            _open_fields(data, record.event_type, tenant_id, subject, keys)
            opened[index] = msgspec.structs.replace(record, payload=msgspec.json.encode(data))
    return opened


async def open_payloads(
    read_keys: KeyReader, tenant_id: str, rows: Sequence[tuple[str, bytes]]
) -> list[bytes]:
    """:func:`open_records` for bare ``(event_type, payload)`` rows of one tenant."""
    found = [
        (i, data, subject)
        for i, (event_type, payload) in enumerate(rows)
        if event_type in PERSONAL_FIELDS
        for data in [msgspec.json.decode(payload)]
        for subject in [subject_of(event_type, data)]
        if subject is not None
    ]
    opened = [payload for _, payload in rows]
    if found:
        keys = await read_keys(tenant_id, {subject for _, _, subject in found})
        for i, data, subject in found:
            _open_fields(data, rows[i][0], tenant_id, subject, keys)
            opened[i] = msgspec.json.encode(data)
    return opened


def _open_fields(
    data: dict[str, Any], event_type: str, tenant_id: str, subject: str, keys: Keys
) -> None:
    key = keys.get(subject)
    erased = subject in keys and key is None
    for field in PERSONAL_FIELDS[event_type].fields:
        value = data.get(field)
        if not isinstance(value, str) or not value:
            continue
        if erased:
            data[field] = ERASED
        elif value.startswith(TOKEN_PREFIX):
            aad = _aad(tenant_id, subject, event_type, field)
            data[field] = ERASED if key is None else open_value(key, value, aad)
        # else: plaintext written before encryption existed (docs/gdpr.md, "Older events")
