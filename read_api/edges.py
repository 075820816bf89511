"""Plain ASGI wrappers around the Litestar app: HEAD and CORS.

- ``HeadAsGet``: a ``HEAD`` is routed as the ``GET`` of the same URL (same auth,
  status and headers) and answered without the body; every ``Allow`` header that
  lists ``GET`` lists ``HEAD`` too (the 204 of ``OPTIONS``, the 405).
- ``Cors``: for an ``Origin`` in the configured set, responses carry
  ``Access-Control-Allow-Origin`` (and a preflight its methods, headers and max
  age). Any other origin, or none configured, gets the same answer as without
  CORS: a browser then refuses to share it. Never an error of its own.

Both sit outside Litestar's router, so they see every request, routed or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

CORS_METHODS: Final = "GET, HEAD, OPTIONS, POST"
CORS_HEADERS: Final = "Authorization, Content-Type, Idempotency-Key"
CORS_EXPOSED: Final = "Retry-After, WWW-Authenticate, Idempotent-Replayed"
CORS_MAX_AGE: Final = "600"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _with_head(allow: bytes) -> bytes:
    methods = {m.strip().upper() for m in allow.decode("latin-1").split(",") if m.strip()}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)).encode()


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:  # a copy: the server's own scope (its access log) still says HEAD
            scope = cast("HTTPScope", {**scope, "method": "GET"})

        async def send_edge(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, _with_head(v) if k.lower() == b"allow" else v)
                    for k, v in message.get("headers", [])
                ]
            elif head and message["type"] == "http.response.body":
                message["body"] = b""
            await send(message)

        await self.app(scope, receive, send_edge)


class Cors:
    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(o.rstrip("/") for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = _header(scope, b"origin")
        if scope["type"] != ScopeType.HTTP or origin is None or origin not in self.origins:
            await self.app(scope, receive, send)
            return
        preflight = (
            scope["method"] == "OPTIONS"
            and _header(scope, b"access-control-request-method") is not None
        )
        added = [(b"access-control-allow-origin", origin.encode("latin-1"))]
        if preflight:
            added += [
                (b"access-control-allow-methods", CORS_METHODS.encode()),
                (b"access-control-allow-headers", CORS_HEADERS.encode()),
                (b"access-control-max-age", CORS_MAX_AGE.encode()),
            ]
        else:
            added.append((b"access-control-expose-headers", CORS_EXPOSED.encode()))

        async def send_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept, vary = [], [b"Origin"]
                for k, v in message.get("headers", []):
                    if k.lower() == b"vary":
                        vary.insert(0, v)
                    elif not k.lower().startswith(b"access-control-"):
                        kept.append((k, v))
                message["headers"] = [*kept, (b"vary", b", ".join(vary)), *added]
            await send(message)

        await self.app(scope, receive, send_cors)
