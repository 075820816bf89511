"""``obrador gdpr export|erase SUBJECT``: a person's data, and crypto-shredding it."""

from __future__ import annotations

import json

import click

from deploy.cli import common
from deploy.cli.common import tenant_option, with_stack
from deploy.stack import StackUrls


@click.group()
def gdpr() -> None:
    """Personal data: export everything held about a person, or erase them."""


@gdpr.command()
@tenant_option()
@click.argument("subject", metavar="SUBJECT")
@with_stack(nats=False, quiet=True)
async def export(urls: StackUrls, *, tenant: str, subject: str) -> None:
    """Print (JSON) everything held about SUBJECT: user:, supplier: or recipient:<id>."""
    from read_api.personal import export_subject
    from streams.store import EventStore

    store = await EventStore.open(urls.database_url, min_size=1, max_size=2)
    try:
        found = await export_subject(store, tenant, subject)
    finally:
        await store.close()
    print(json.dumps(found, indent=2, ensure_ascii=False))


@gdpr.command()
@tenant_option()
@click.argument("subject", metavar="SUBJECT")
@common.json_option
@with_stack(nats=False, quiet=True)
async def erase(urls: StackUrls, *, tenant: str, subject: str, as_json: bool) -> None:
    """Erase SUBJECT: delete its key (a user's login too), record SubjectErased.

    The events stay as they were (the hash chain still verifies); their
    personal fields read "[erased]" from now on, and read models rebuild so.
    """
    from commands.personal import erase_subject
    from domain.personal import parse_subject
    from read_api.personal import forget_login, forget_recipient
    from read_api.users import SYSTEM
    from streams.store import EventStore

    kind, entity = parse_subject(subject)
    store = await EventStore.open(urls.database_url, min_size=1, max_size=2)
    try:
        ended = await forget_login(store.pool, tenant, entity) if kind == "user" else 0
        if kind == "recipient":
            await forget_recipient(store.pool, tenant, entity)
        done = await erase_subject(store, tenant_id=tenant, subject=subject, actor=SYSTEM)
    finally:
        await store.close()
    common.emit(
        {**{k: getattr(done, k) for k in done.__struct_fields__}, "sessions_ended": ended},
        as_json,
        f"{subject} erased in {tenant!r}"
        + ("" if done.key_shredded else " (its key was already gone)")
        + (f"; {ended} session(s) ended" if ended else ""),
    )


COMMANDS = [gdpr]
