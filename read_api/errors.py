"""One error base for the read API, mapped once to RFC 9457 / 7807 problem details.

Handlers raise ``ApiError`` subclasses; Litestar's own exceptions (401 from the
auth middleware, 400 from parameter parsing, 404/405 from routing, 413 from a
body over the limit) and any unexpected exception are converted here too, so
every error is a problem document (``application/problem+json``) with ``type``,
``title``, ``status`` and ``detail``; refused inputs add
``errors: [{field, source, reason}]`` (``schemas.Problem``, in the OpenAPI
document of every operation through ``PROBLEM_RESPONSES``).
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any, ClassVar, Final

import psycopg
from litestar import Litestar
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.routes import HTTPRoute
from psycopg_pool import PoolTimeout

from read_api.schemas import Problem
from streams.errors import StoreUnavailable

log = logging.getLogger("read_api")

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
#: The ``type`` of each kind of problem, by status (docs/api.md); others are ``about:blank``.
PROBLEM_TYPES: Final[dict[int, str]] = {
    400: "urn:obrador:problem:invalid-parameter",
    401: "urn:obrador:problem:unauthenticated",
    403: "urn:obrador:problem:forbidden",
    404: "urn:obrador:problem:not-found",
    405: "urn:obrador:problem:method-not-allowed",
    409: "urn:obrador:problem:conflict",
    413: "urn:obrador:problem:body-too-large",
    422: "urn:obrador:problem:invalid-query",
    429: "urn:obrador:problem:rate-limited",
    500: "urn:obrador:problem:internal-error",
    503: "urn:obrador:problem:unavailable",
}
_WHEN: Final[dict[int, str]] = {
    400: "a parameter is malformed, out of range or not allowed (`errors` names it)",
    401: "no, unknown, expired or revoked credential (API key or access token)",
    403: "the credential's role may not do this (or not in this store)",
    404: "no such route, or nothing of the key's tenant with that id",
    405: "the route does not take this method (`Allow` lists those it takes)",
    409: "the command conflicts with the current state (`current_version` on a version conflict)",
    413: "the request body is larger than the limit",
    422: "parameters that parse but contradict each other (`errors` names them)",
    429: "too many requests from this address or caller; retry after `Retry-After` seconds",
    500: "an unexpected failure: logged, answered without internals",
    503: "the database did not answer in time; retry after `Retry-After` seconds",
}


class ApiError(Exception):
    """A request the API refuses; ``status`` says how."""

    status: ClassVar[int] = 400

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(ApiError):
    status = 404


class InvalidParameter(ApiError):
    """One parameter the API cannot take as it is (e.g. a date outside the window)."""

    status = 400

    def __init__(self, field: str, reason: str, *, source: str = "query") -> None:
        super().__init__(
            f"invalid parameter: {field}",
            errors=[{"field": field, "source": source, "reason": reason}],
        )


class InvalidQuery(ApiError):
    """Well-formed parameters that do not make sense together (e.g. ``from`` after ``to``)."""

    status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            f"invalid query parameter {field!r}: {reason}",
            errors=[{"field": field, "source": "query", "reason": reason}],
        )


def problem(
    status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> ProblemDetailsException:
    """The problem document answered for ``status`` (typed, titled by the reason phrase)."""
    return ProblemDetailsException(
        status_code=status,
        type_=PROBLEM_TYPES.get(status, "about:blank"),
        title=HTTPStatus(status).phrase,
        detail=detail,
        headers=headers,
        extra=extra or None,
    )


def _from_api_error(exc: ApiError) -> ProblemDetailsException:
    if exc.errors:
        return problem(exc.status, exc.detail, errors=exc.errors)
    return problem(exc.status, exc.detail)


# msgspec's wording for the constraints a parameter can break, in plain words.
_REASONS: Final = [
    (re.compile(r"matching regex"), "contains a character other than letters, digits, _ . : @ -"),
    (re.compile(r"length <= (\d+)"), r"longer than \1 characters"),
    (re.compile(r"length >= (\d+)"), r"shorter than \1 character(s)"),
]


def _reason(message: str) -> str:
    for pattern, plain in _REASONS:
        if found := pattern.search(message):
            return found.expand(plain)
    return message


def _from_validation(exc: ValidationException) -> ProblemDetailsException:
    errors: list[dict[str, str]] = []
    for found in exc.extra if isinstance(exc.extra, list) else []:
        source = found.get("source", "query")
        errors.append(
            {
                "field": str(found.get("key", "")).removesuffix("_"),  # `from_` is `from`
                "source": str(getattr(source, "value", source)),
                "reason": _reason(str(found.get("message", "invalid value"))),
            }
        )
    if not errors:
        return problem(400, "the request could not be read")
    names = ", ".join(e["field"] for e in errors)
    return problem(400, f"invalid parameter(s): {names}", errors=errors)


def _from_http(exc: HTTPException) -> ProblemDetailsException:
    if exc.status_code >= 500 and exc.status_code != 503:
        return _from_unexpected(exc)
    return problem(exc.status_code, exc.detail, headers=exc.headers)


def _from_pool_timeout(exc: PoolTimeout) -> ProblemDetailsException:
    log.warning("read API: no database connection within the pool timeout")
    return problem(503, "database unavailable, try again shortly", headers={"Retry-After": "5"})


def _from_database_down(exc: psycopg.OperationalError) -> ProblemDetailsException:
    # The connection broke under the query (a check at checkout catches most cuts first).
    log.warning("read API: database connection lost: %s", exc)
    return problem(503, "database unavailable, try again shortly", headers={"Retry-After": "5"})


def _from_store_unavailable(exc: StoreUnavailable) -> ProblemDetailsException:
    # The database went away between the command's read and its append: nothing was
    # acknowledged, and a resend with the same Idempotency-Key is stored at most once.
    log.warning("read API: the store could not append: %s", exc)
    return problem(503, "database unavailable, try again shortly", headers={"Retry-After": "5"})


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    log.error("unexpected error in the read API", exc_info=exc)
    return problem(500, "the server could not answer; the error is logged")


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                ApiError: _from_api_error,
                ValidationException: _from_validation,
                HTTPException: _from_http,
                PoolTimeout: _from_pool_timeout,
                psycopg.OperationalError: _from_database_down,
                StoreUnavailable: _from_store_unavailable,
                Exception: _from_unexpected,
            }
        )
    )


def document_problems(app: Litestar) -> None:
    """Give every operation of ``app`` its problem responses in OpenAPI, once for all.

    ``COMMON_PROBLEMS`` everywhere, ``KEY_PROBLEMS`` where the operation needs the
    key; a handler's own ``responses`` win. Runs before the schema is first built
    (Litestar builds it lazily), so a route added later is documented without a
    line of its own.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema() or "OPTIONS" in handler.http_methods:
                continue
            statuses = COMMON_PROBLEMS + (KEY_PROBLEMS if handler.resolve_security() else ())
            handler.responses = {**problem_responses(*statuses), **(handler.responses or {})}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI ``responses`` of an operation: each status with the ``Problem`` schema."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=f"{HTTPStatus(status).phrase}: {_WHEN[status]}",
            generate_examples=False,
        )
        for status in statuses
    }


#: Every operation can answer these (a route with no parameter still gets a 400 for a
#: hostile path, and a 405/422 from the edges).
COMMON_PROBLEMS: Final = (400, 404, 405, 422, 429, 500, 503)
#: Operations behind the API key add these.
KEY_PROBLEMS: Final = (401, 403)
