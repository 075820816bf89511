"""Commands that name a tenant refuse one that was never created, and list the known ones;
a role outside the allowed list is refused with the list."""

from __future__ import annotations

import os
import subprocess
import sys

OBRADOR = [sys.executable, "-m", "deploy.cli"]


def run(args: list[str], pg_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": pg_url}
    return subprocess.run(
        OBRADOR + args, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_an_api_key_for_a_tenant_that_does_not_exist_is_refused(pg_url: str) -> None:
    done = run(["api-key", "create", "--tenant", "nadie", "--role", "owner"], pg_url)
    assert done.returncode == 2 and not done.stdout  # no key printed, none stored
    assert "'--tenant'" in done.stderr and "no tenant 'nadie'" in done.stderr
    assert "obrador tenant create" in done.stderr
    listed = run(["pos", "devices", "--tenant", "nadie"], pg_url)
    assert listed.returncode == 2 and "no tenant 'nadie'" in listed.stderr


def test_a_role_outside_the_list_is_refused_with_the_list(pg_url: str) -> None:
    done = run(["api-key", "create", "--tenant", "nadie", "--role", "boss"], pg_url)
    assert done.returncode == 2
    assert "'boss' is not one of" in done.stderr and "'owner'" in done.stderr
