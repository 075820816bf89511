"""The local stack: the servers a command needs, started for you unless the environment names them.

With ``DATABASE_URL`` / ``NATS_URL`` set, those are used as they are. Otherwise a
real PostgreSQL and a real nats-server are started in ``OBRADOR_DATA_DIR``. If
another ``obrador`` process already runs the stack for that folder, its servers
are reused (their addresses are in ``stack.json``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from deploy.embedded.nats import EmbeddedNats
from deploy.embedded.postgres import EmbeddedPostgres
from deploy.embedded.process import process_cmdline
from deploy.settings import Settings
from migrations.runner import migrate


class DataDirBusy(RuntimeError):
    """Another process owns the data folder but published no running stack."""


class StackInUse(RuntimeError):
    """``exclusive=True`` and another obrador process already runs this data folder's stack."""


@dataclass(frozen=True)
class StackUrls:
    database_url: str
    nats_url: str
    owned: bool  # True when this process started the servers


@contextlib.contextmanager
def running_stack(
    settings: Settings,
    *,
    need_nats: bool = True,
    log: IO[str] | None = sys.stderr,
    exclusive: bool = False,
) -> Iterator[StackUrls]:
    """Yield the addresses of a migrated database and (optionally) a NATS server.

    ``exclusive=True`` (``up``, ``demo``) refuses with :class:`StackInUse` when another
    obrador process already runs the stack of this data folder, instead of reusing it.
    """
    if settings.database_url and (settings.nats_url or not need_nats):
        migrate(settings.database_url)
        yield StackUrls(settings.database_url, settings.nats_url or "", owned=False)
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = _try_lock(settings.data_dir)
    if lock is None and exclusive:
        raise StackInUse(_in_use_message(settings.data_dir))
    if lock is None:
        shared = _published(settings.data_dir)
        if shared is None:
            raise DataDirBusy(
                f"{settings.data_dir} is used by another obrador process that has not "
                "published its servers yet; wait for it or set OBRADOR_DATA_DIR"
            )
        urls = StackUrls(
            settings.database_url or shared.database_url,
            settings.nats_url or shared.nats_url,
            owned=False,
        )
        migrate(urls.database_url)
        yield urls
        return
    with lock, _owned_servers(settings, need_nats, log) as urls:
        yield urls


def refuse_second_node(settings: Settings) -> None:
    """Raise :class:`StackInUse` when another obrador already runs this data folder's stack.

    Nothing to check when the settings name both servers: nodes on shared servers are
    how a deployment scales out.
    """
    if settings.database_url and settings.nats_url:
        return
    if not settings.data_dir.is_dir():
        return
    lock = _try_lock(settings.data_dir)
    if lock is None:
        raise StackInUse(_in_use_message(settings.data_dir))
    lock.close()


@contextlib.contextmanager
def _owned_servers(settings: Settings, need_nats: bool, log: IO[str] | None) -> Iterator[StackUrls]:
    pg = EmbeddedPostgres(settings.data_dir, log) if not settings.database_url else None
    nats = EmbeddedNats(settings.data_dir, log) if need_nats and not settings.nats_url else None
    stack_file = settings.data_dir / "stack.json"
    try:
        if pg is not None:
            pg.start()
        if nats is not None:
            nats.start()
        urls = StackUrls(
            settings.database_url or (pg.url if pg else ""),
            settings.nats_url or (nats.url if nats else ""),
            owned=True,
        )
        migrate(urls.database_url)
        stack_file.write_text(
            json.dumps(
                {"database_url": urls.database_url, "nats_url": urls.nats_url, "pid": os.getpid()}
            )
        )
        yield urls
    finally:
        stack_file.unlink(missing_ok=True)
        if nats is not None:
            nats.stop()
        if pg is not None:
            pg.stop()


def _try_lock(data_dir: Path) -> IO[str] | None:
    handle = (data_dir / "obrador.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _in_use_message(data_dir: Path) -> str:
    pid = _published_pid(data_dir)
    who = "a process that is still starting"
    if pid is not None:
        command = " ".join(process_cmdline(pid).split()[-3:])
        who = f"pid {pid}" + (f": …{command}" if command else "")
    return (
        f"OBRADOR_DATA_DIR: {data_dir} is already run by another obrador ({who}); stop it first"
        " or set OBRADOR_DATA_DIR to another folder (one-shot commands such as"
        " `obrador pos status` work beside it)"
    )


def _published_pid(data_dir: Path) -> int | None:
    try:
        return int(json.loads((data_dir / "stack.json").read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _published(data_dir: Path) -> StackUrls | None:
    try:
        raw = json.loads((data_dir / "stack.json").read_text())
    except (OSError, ValueError):
        return None
    return StackUrls(raw["database_url"], raw["nats_url"], owned=False)
