"""One error base for the read API, mapped once to RFC 9457 / 7807 problem details.

Handlers raise ``ApiError`` subclasses; Litestar's own exceptions (401 from the
auth middleware, 400 from parameter parsing, 404 for unknown routes) and any
unexpected exception are converted here too, so every error is a problem
document (``application/problem+json``) with ``status``, ``title`` and
``detail``; bad parameters add ``errors: [{field, source, reason}]``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, ClassVar

from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from psycopg_pool import PoolTimeout

log = logging.getLogger("read_api")


class ApiError(Exception):
    """A request the API refuses; ``status`` says how."""

    status: ClassVar[int] = 400

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(ApiError):
    status = 404


class InvalidQuery(ApiError):
    """Well-formed parameters that do not make sense together (e.g. ``from`` after ``to``)."""

    status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            f"invalid query parameter {field!r}: {reason}",
            errors=[{"field": field, "source": "query", "reason": reason}],
        )


def _problem(
    status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status,
        title=HTTPStatus(status).phrase,
        detail=detail,
        headers=headers,
        extra=extra or None,
    )


def _from_api_error(exc: ApiError) -> ProblemDetailsException:
    if exc.errors:
        return _problem(exc.status, exc.detail, errors=exc.errors)
    return _problem(exc.status, exc.detail)


def _from_validation(exc: ValidationException) -> ProblemDetailsException:
    errors: list[dict[str, str]] = []
    for found in exc.extra if isinstance(exc.extra, list) else []:
        source = found.get("source", "query")
        errors.append(
            {
                "field": str(found.get("key", "")).removesuffix("_"),  # `from_` is `from`
                "source": str(getattr(source, "value", source)),
                "reason": str(found.get("message", "invalid value")),
            }
        )
    names = ", ".join(e["field"] for e in errors) or "the request"
    return _problem(exc.status_code, f"invalid parameter(s): {names}", errors=errors)


def _from_http(exc: HTTPException) -> ProblemDetailsException:
    return _problem(exc.status_code, exc.detail, headers=exc.headers)


def _from_pool_timeout(exc: PoolTimeout) -> ProblemDetailsException:
    log.warning("read API: no database connection within the pool timeout")
    return _problem(503, "database unavailable, try again shortly", headers={"Retry-After": "5"})


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    log.exception("unexpected error in the read API", exc_info=exc)
    return _problem(500, "the server could not answer; the error is logged")


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                ApiError: _from_api_error,
                ValidationException: _from_validation,
                HTTPException: _from_http,
                PoolTimeout: _from_pool_timeout,
                Exception: _from_unexpected,
            }
        )
    )
