"""What every command shares: the settings, the stack, ``--tenant``, ``--json``, exit codes.

A command that needs the servers is decorated with :func:`with_stack`: it receives the
addresses as its first argument, may be ``async`` (it is run on a fresh event loop while
the stack is up) and returns an exit code (``None`` means 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec

import click

from deploy.settings import Settings
from deploy.stack import StackUrls, running_stack

P = ParamSpec("P")
Command = Callable[..., Any]


def current_settings() -> Settings:
    """The settings of this invocation (the root group puts them on the click context)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Settings) if ctx is not None else None
    return found if found is not None else Settings.from_env()


def with_stack(
    *, nats: bool = True, quiet: bool = False
) -> Callable[[Callable[Concatenate[StackUrls, P], Any]], Callable[P, int]]:
    """Run the command with the servers up (embedded unless the settings name them).

    ``nats=False`` starts no broker; ``quiet=True`` keeps the servers' start-up lines off
    stderr (for commands whose output is read by programs).
    """

    def decorate(fn: Callable[Concatenate[StackUrls, P], Any]) -> Callable[P, int]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> int:
            log = None if quiet else sys.stderr
            with running_stack(current_settings(), need_nats=nats, log=log) as urls:
                result = fn(urls, *args, **kwargs)
                if inspect.iscoroutine(result):
                    result = asyncio.run(result)
            return int(result or 0)

        return wrapper

    return decorate


def tenant_option(
    *, required: bool = True, help: str = "tenant id"
) -> Callable[[Command], Command]:
    """``--tenant``: the one spelling of "which tenant" in every command."""
    return click.option("--tenant", "tenant", required=required, metavar="TENANT", help=help)


def store_option(*, required: bool = False, help: str = "store id") -> Callable[[Command], Command]:
    return click.option("--store", "store", required=required, metavar="STORE", help=help)


def json_option(fn: Command) -> Command:
    """``--json``: one JSON document on stdout instead of the text for people."""
    return click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")(fn)


def emit(obj: Any, as_json: bool, text: str | Callable[[], str]) -> None:
    """Print ``obj`` as one line of JSON, or ``text`` (called lazily when it is a function)."""
    if as_json:
        print(json.dumps(obj, default=str))
    else:
        print(text() if callable(text) else text)


def fail(message: str, code: int = 1) -> int:
    """One line on stderr; the exit code to return."""
    print(message, file=sys.stderr)
    return code


def show_progress(as_json: bool = False) -> bool:
    """Progress bars only for a person: on a terminal, and never under ``--json``."""
    return sys.stderr.isatty() and not as_json


@contextlib.contextmanager
def working(description: str, enabled: bool) -> Iterator[None]:
    """A ticking "description… 1:23" line on stderr while long work without steps runs."""
    if not enabled:
        yield
        return
    from tqdm import tqdm

    done = threading.Event()
    bar = tqdm(desc=description, file=sys.stderr, bar_format="{desc}… {elapsed}", leave=False)

    def tick() -> None:
        while not done.wait(0.5):
            bar.refresh()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        bar.close()
