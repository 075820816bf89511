"""``python -m deploy.fuzz_api``: schemathesis over the whole read API, on real servers.

A scratch schema on the stack's PostgreSQL gets the demo chain (real sales,
every read model rebuilt from the store) and an owner's API key; the read API
is served by uvicorn on a free port behind a tally that sees every answer; the
schemathesis CLI runs with ``--checks all`` over the app's own OpenAPI document,
authenticated with the key, until it has sent the requests asked for or its
time is up. Printed (and written to ``docs/benchmarks.md`` unless ``--quick``):
requests, answers by class, 5xx (must be 0), schemathesis check failures,
error answers that are not conformant problem documents, and whether the API
still answers ``/health`` and a keyed read at the end. Exit 1 if any is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import uvicorn

from read_api.app import create_app
from read_api.keys import create_api_key
from read_api.ratelimit import RateLimits

#: Statuses a request the schema allows may still get: 404 (an id the tenant does not
#: have) and 422 (``from`` after ``to``: not expressible in OpenAPI).
ACCEPTED_FOR_VALID: Final = ("200", "404", "409", "422")
PROBLEM: Final = "application/problem+json"
_TALLY_BODY: Final = 64 * 1024


@dataclass
class Tally:
    """Every answer the server sent: status counts and non-conformant error bodies."""

    statuses: Counter[int] = field(default_factory=Counter)
    bad_problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def record(self, method: str, path: str, status: int, ctype: str, body: bytes) -> None:
        why = _problem_fault(method, status, ctype, body) if status >= 400 else None
        with self.lock:
            self.statuses[status] += 1
            if why is not None and len(self.bad_problems) < 20:
                self.bad_problems.append(f"{method} {path} → {status}: {why}")
            elif why is not None:
                self.bad_problems.append("…")


def _problem_fault(method: str, status: int, ctype: str, body: bytes) -> str | None:
    """Why an error answer is not an RFC 9457 problem document (None when it is)."""
    if ctype.split(";", maxsplit=1)[0].strip() != PROBLEM:
        return f"content-type {ctype!r}"
    if method == "HEAD":
        return None if body == b"" else "a body on HEAD"
    try:
        doc = json.loads(body)
    except ValueError:
        return "body is not JSON"
    if not isinstance(doc, dict):
        return "body is not an object"
    missing = [k for k in ("type", "title", "status", "detail") if not doc.get(k)]
    if missing:
        return f"missing {', '.join(missing)}"
    if doc["status"] != status:
        return f"status {doc['status']} in the body"
    return None


def tallied(app: Any, tally: Tally) -> Any:
    """``app`` as an ASGI callable that records each HTTP answer in ``tally``."""

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        seen: dict[str, Any] = {"status": 0, "ctype": "", "body": b""}

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for key, value in message.get("headers", []):
                    if key.lower() == b"content-type":
                        seen["ctype"] = value.decode("latin-1")
            elif message["type"] == "http.response.body" and len(seen["body"]) < _TALLY_BODY:
                seen["body"] += message.get("body", b"")
            await send(message)

        try:
            await app(scope, receive, watch)
        finally:
            tally.record(
                scope["method"], scope["path"], seen["status"] or 500, seen["ctype"], seen["body"]
            )

    return wrapper


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def projecting(conninfo: str, folder: Path) -> Any:
    """The relay and every projector on ``conninfo`` (a private nats-server), in a thread.

    The fuzzer's commands then reach the read models as in a running node, so a read
    with ``min_position`` waits for them instead of answering 503.
    """
    from deploy.scratch import scratch_nats
    from projections.registry import all_models
    from projections.runtime import Projector
    from streams.relay import Relay
    from streams.store import EventStore

    with scratch_nats(folder) as nats_url:
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()

        async def run() -> None:
            store = await EventStore.open(conninfo)
            try:
                await asyncio.gather(
                    Relay(store, nats_url).run(stop),
                    Projector(conninfo, nats_url, all_models()).run(stop),
                )
            finally:
                await store.close()

        thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
        thread.start()
        try:
            yield
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(30)


@contextlib.contextmanager
def serving(conninfo: str, tally: Tally) -> Any:
    """The read API on a free local port (uvicorn in a thread), yielding its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        tallied(create_app(conninfo, rate_limits=RateLimits.off()), tally),
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fuzz-api", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the read API did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)


async def load_demo(conninfo: str) -> int:
    """The demo chain loaded through the handlers and every read model rebuilt; commands run."""
    from deploy.demo import load_demo as load_demo_chain
    from projections.rebuild import rebuild
    from projections.registry import all_models
    from streams.store import EventStore

    store = await EventStore.open(conninfo)
    try:
        report = await load_demo_chain(store)
        if report.failed:
            raise RuntimeError(f"demo data refused: {report.failed[0]}")
        for model in all_models():
            await rebuild(store, model)
        return report.commands
    finally:
        await store.close()


@dataclass
class FuzzFigures:
    requests: int
    target: int
    seconds: float
    answers: dict[str, int]
    server_errors: int
    check_failures: dict[str, int]
    problems_checked: int
    bad_problems: list[str]
    healthy_at_end: bool
    schemathesis_exit: int

    @property
    def ok(self) -> bool:
        return (
            self.server_errors == 0
            and not self.check_failures
            and not self.bad_problems
            and self.healthy_at_end
            and self.requests >= self.target
        )


def _schemathesis(
    base: str,
    key: str,
    *,
    examples: int,
    max_seconds: int,
    seed: int,
    report: Path,
    phases: str | None = None,
) -> tuple[int, dict[str, int]]:
    """Run the CLI; its exit code and failures per check (from its JSON report)."""
    config = report.parent / "schemathesis.toml"
    config.write_text(
        "[checks.positive_data_acceptance]\n"
        f"expected-statuses = {json.dumps(list(ACCEPTED_FOR_VALID))}\n"
        # A well-formed login with made-up credentials is refused (401), and login is
        # rate-limited per address (429): both are right answers to valid data there.
        "[[operations]]\n"
        'include-path-regex = "^/v1/auth/(login|refresh|logout)$"\n'
        'checks.positive_data_acceptance.expected-statuses = ["200", "204", "401", "429"]\n'
        # Changing a password needs a person's token: the fuzzer's API key is refused (403),
        # a made-up current password is a 422, and wrong ones lock the account (429).
        "[[operations]]\n"
        'include-path-regex = "^/v1/auth/password$"\n'
        'checks.positive_data_acceptance.expected-statuses = ["200", "403", "422", "429"]\n'
    )
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base}/schema/openapi.json",
        "--checks",
        "all",
        "--exclude-operation-id",
        "exportHistory",
        "--header",
        f"Authorization: Bearer {key}",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        # One worker: with two, hypothesis describes its JSON-body strategies from two
        # threads at once and CPython 3.11.7's ast.parse is not thread-safe ("AST
        # constructor recursion depth mismatch", a Runtime Error in the report).
        "--workers",
        "1",
        "--no-shrink",
        *(["--phases", phases] if phases else []),
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    try:
        done = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            timeout=max_seconds,
            cwd=report.parent,  # its own cache folder (.schemathesis/) goes there too
            env={**os.environ, "NO_COLOR": "1"},
        )
    except subprocess.TimeoutExpired:
        return -1, {f"error: schemathesis still running after {max_seconds} s": 1}
    failures = _failures(report)
    if done.returncode != 0 and not failures:
        tail = (done.stdout + done.stderr)[-2000:]
        raise RuntimeError(f"schemathesis exited {done.returncode} without failures:\n{tail}")
    if failures:
        print((done.stdout + done.stderr)[-6000:], file=sys.stderr)
    return done.returncode, failures


def _failures(report: Path) -> dict[str, int]:
    """Failures per check title, and errors of the run itself, from the JSON report."""
    if not report.exists():
        return {}
    data = json.loads(report.read_text())
    found: Counter[str] = Counter()
    for group in data.get("failures") or []:
        found[str(group.get("title") or group.get("type"))] += int(group.get("count", 1))
    for error in data.get("errors") or []:
        found[f"error: {error.get('title')}"] += int(error.get("count", 1))
    return dict(found)


def _healthy(base: str, key: str) -> bool:
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            health = http.get("/health")
            read = http.get("/v1/inventory?limit=1", headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError:
        return False
    return health.status_code == 200 and read.status_code == 200


def fuzz(
    database_url: str,
    *,
    target: int,
    max_seconds: int,
    seed: int = 20261129,
    min_examples: int = 8,
    phases: str | None = None,
) -> FuzzFigures:
    """Fuzz the read API over a fresh schema of ``database_url`` until ``target`` requests.

    ``phases`` picks schemathesis's phases (``examples,coverage,fuzzing,stateful``; all when
    ``None``): the coverage and stateful phases take minutes whatever ``--max-examples`` is.
    """
    from deploy.demo import TENANT
    from deploy.scratch import scratch_schema

    tally = Tally()
    started = time.monotonic()
    with (
        scratch_schema(database_url, "fuzz") as conninfo,
        tempfile.TemporaryDirectory(prefix="obrador-fuzz-") as folder,
    ):
        asyncio.run(load_demo(conninfo))
        key = create_api_key(conninfo, TENANT, "owner", "fuzz_api")
        with projecting(conninfo, Path(folder)), serving(conninfo, tally) as base:
            operations = len(httpx.get(f"{base}/schema/openapi.json").json()["paths"])
            failures: dict[str, int] = {}
            exit_code = 0
            rounds = 0
            # Each round is a full schemathesis run with its own seed; more until the target.
            while tally.requests < target and time.monotonic() - started < max_seconds:
                left = max(30, int(max_seconds - (time.monotonic() - started)))
                examples = max(min_examples, (target - tally.requests) // max(1, operations))
                code, found = _schemathesis(
                    base,
                    key,
                    examples=examples,
                    max_seconds=left,
                    seed=seed + rounds,
                    report=Path(folder) / f"report-{rounds}.json",
                    phases=phases,
                )
                exit_code = exit_code or code
                for check, count in found.items():
                    failures[check] = failures.get(check, 0) + count
                rounds += 1
            healthy = _healthy(base, key)
    answers: Counter[str] = Counter()
    for status, count in tally.statuses.items():
        answers[f"{status // 100}xx"] += count
    return FuzzFigures(
        requests=tally.requests,
        target=target,
        seconds=round(time.monotonic() - started, 1),
        answers=dict(sorted(answers.items())),
        server_errors=sum(c for s, c in tally.statuses.items() if s >= 500),
        check_failures=failures,
        problems_checked=sum(c for s, c in tally.statuses.items() if s >= 400),
        bad_problems=tally.bad_problems,
        healthy_at_end=healthy,
        schemathesis_exit=exit_code,
    )


def record(figures: FuzzFigures, machine: str) -> None:
    path = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    marker = "<!-- fuzz-api-rows -->"
    if not path.exists() or marker not in path.read_text():
        return
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    checks = ", ".join(f"{k} {v}" for k, v in figures.check_failures.items()) or "0"
    line = (
        f"| {stamp} | {machine} | {figures.requests:,} | {figures.seconds} | "
        f"{' · '.join(f'{k} {v:,}' for k, v in figures.answers.items())} | "
        f"{figures.server_errors} | {checks} | "
        f"{figures.problems_checked - len(figures.bad_problems):,} of "
        f"{figures.problems_checked:,} | {'yes' if figures.healthy_at_end else 'NO'} |"
    )
    text = path.read_text()
    path.write_text(text.replace(marker, marker + "\n" + line, 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.fuzz_api", description=__doc__)
    parser.add_argument("--requests", type=int, default=5000, help="at least this many")
    parser.add_argument("--max-seconds", type=int, default=900, help="time budget")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quick", action="store_true", help="do not record in benchmarks.md")
    args = parser.parse_args(argv)

    from deploy.bench_store import machine
    from deploy.settings import Settings
    from deploy.stack import running_stack

    where = machine()
    with running_stack(Settings.from_env(), need_nats=False, log=None) as urls:
        figures = fuzz(
            urls.database_url, target=args.requests, max_seconds=args.max_seconds, seed=args.seed
        )
    data = {**asdict(figures), "ok": figures.ok}
    if args.json:
        print(json.dumps(data))
    else:
        for name, value in data.items():
            print(f"{name:18} {value}")
    if not args.quick:
        record(figures, where)
    return 0 if figures.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
