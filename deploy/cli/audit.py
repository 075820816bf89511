"""``obrador audit verify`` / ``obrador audit seal``: tamper evidence (docs/audit.md)."""

from __future__ import annotations

import click

from deploy.cli.common import emit, json_option, tenant_option, with_stack
from deploy.stack import StackUrls


@click.group()
def audit() -> None:
    """Verify the event history's hash chains and seals; seal it."""


@audit.command()
@tenant_option(required=False, help="only this tenant (default: every tenant)")
@click.option(
    "--seal",
    "kept",
    multiple=True,
    metavar="HASH",
    help="a seal hash kept outside the database; it must still be in the seal chain",
)
@json_option
@with_stack(nats=False, quiet=True)
async def verify(urls: StackUrls, tenant: str | None, kept: tuple[str, ...], as_json: bool) -> int:
    """Walk every chain; report the first edited, deleted, inserted or reordered event.

    Exit 0 when the history verifies, 1 when anything was found.
    """
    from deploy.audit import verify as run_verify

    try:
        hashes = frozenset(bytes.fromhex(h) for h in kept)
    except ValueError as exc:
        msg = "a seal hash is 64 hexadecimal digits"
        raise click.BadParameter(msg, param_hint="--seal") from exc
    reports = await run_verify(urls.database_url, tenant=tenant, kept_seals=hashes)
    clean = all(not r.findings for r in reports)

    def text() -> str:
        lines = []
        for r in reports:
            head = f"{r.tenant_id}: {r.events} events in {r.streams} streams, {r.seals} seals" + (
                f" (latest through position {r.sealed_through})" if r.seals else ""
            )
            if not r.findings:
                lines.append(f"{head}: verified")
                continue
            lines.append(f"{head}: {len(r.findings)} problem(s); first: {r.findings[0].describe()}")
            lines.extend(f"  {f.describe()}" for f in r.findings[1:20])
        return "\n".join(lines) or "no tenants"

    emit({"clean": clean, "tenants": [r.as_dict() for r in reports]}, as_json, text)
    return 0 if clean else 1


@audit.command()
@tenant_option(required=False, help="only this tenant (default: every tenant)")
@json_option
@with_stack(nats=False, quiet=True)
async def seal(urls: StackUrls, tenant: str | None, as_json: bool) -> int:
    """Seal each tenant's stream heads up to now; print the seal hash to keep elsewhere."""
    from deploy.audit import seal_dict, seal_tenants

    made = await seal_tenants(urls.database_url, tenant=tenant)
    emit(
        [seal_dict(s) for s in made],
        as_json,
        lambda: (
            "\n".join(
                f"{s.tenant_id}: seal {s.seq} through position {s.through_position} "
                f"({s.event_count} events, {s.stream_count} streams): {s.seal_hash.hex()}"
                for s in made
            )
            or "no tenants"
        ),
    )
    return 0


COMMANDS = [audit]
