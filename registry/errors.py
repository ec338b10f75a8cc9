"""Domain errors and the one place that turns any failure into RFC 9457 problem+json.

Handlers and stores raise `AppError` subclasses; aiohttp raises its own `HTTPException`s (404 for
an unknown route, 405, 413 for an oversized body); the database may be away. The middleware here
maps each to a status, so every error a client sees has one shape:
`{"type", "title", "status", "detail", "instance"[, "errors"]}`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler

from registry.http import REQUEST_ID, json_response

log = logging.getLogger("wharf.errors")

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "5"


class AppError(Exception):
    """An error a client caused or must know about; `status` and `slug` name its problem type."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class BadRequest(AppError):
    status, slug, title = 400, "bad-request", "Malformed request"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Missing or invalid credentials"


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(AppError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class RequestTimeout(AppError):
    status, slug, title = 408, "request-timeout", "Request body not received in time"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(AppError):
    status, slug, title = 422, "validation-failed", "Validation failed"

    @classmethod
    def at(cls, pointer: str, message: str, detail: str | None = None) -> Unprocessable:
        """One violation at a JSON pointer into the body, e.g. ("/version", "is required")."""
        summary = detail or f"The request is invalid: {pointer or '(body)'} {message}."
        return cls(summary, errors=[{"pointer": pointer, "message": message}])


class TooManyRequests(AppError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


_BY_STATUS: dict[int, type[AppError]] = {
    cls.status: cls
    for cls in (
        BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, RequestTimeout, Conflict,
        PayloadTooLarge, UnsupportedMediaType, Unprocessable, TooManyRequests, ServiceUnavailable,
    )
}  # fmt: skip

_HEADERS_KEPT_FROM_AIOHTTP = ("Allow", "Retry-After", "WWW-Authenticate")

# The database being away is an outage to report (503, try again), not a bug (500).
DATABASE_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    # A connection whose server went away mid-conversation ("cannot switch to state 12; another
    # operation (2) is in progress"): the pool discards it on release; the next one reconnects.
    asyncpg.InternalClientError,
)


def _caused_by_an_outage(exc: BaseException) -> bool:
    """Whether `exc` was raised while handling the database going away: asyncpg's pool, releasing
    a connection whose server shut down mid-query, raises `InternalClientError: cannot switch to
    state …` with the real `AdminShutdownError`/`ConnectionDoesNotExistError` as its context."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, DATABASE_UNAVAILABLE):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _unavailable(request: web.Request, exc: BaseException) -> web.Response:
    log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
    return problem_response(
        request,
        ServiceUnavailable(
            "The database is unavailable; try again shortly.",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        ),
    )


def problem_response(request: web.Request, error: AppError) -> web.Response:
    body: dict[str, Any] = {
        "type": f"urn:wharf:problem:{error.slug}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "instance": request.path,
        "request_id": request.get(REQUEST_ID),
    }
    if error.errors:
        body["errors"] = error.errors
    body.update(error.extra)
    return json_response(body, status=error.status, headers=error.headers, content_type=PROBLEM_JSON)


def _from_http_exception(exc: web.HTTPException) -> AppError:
    cls = _BY_STATUS.get(exc.status, AppError)
    detail = {
        404: "No route matches this path.",
        405: f"{exc.status} {exc.reason}: this route does not accept that method.",
    }.get(exc.status, exc.text or exc.reason)
    if exc.status == 413:
        detail = exc.text or "The request body exceeds the configured limit."
    headers = {name: exc.headers[name] for name in _HEADERS_KEPT_FROM_AIOHTTP if name in exc.headers}
    error = cls(detail, headers=headers)
    if cls is AppError:  # a status without its own class keeps aiohttp's status and reason
        error.status, error.title = exc.status, exc.reason
    return error


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The only place that builds problem+json."""
    try:
        return await handler(request)
    except AppError as error:
        return problem_response(request, error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and 304s are answers, not errors
        return problem_response(request, _from_http_exception(exc))
    except DATABASE_UNAVAILABLE as exc:
        return _unavailable(request, exc)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if _caused_by_an_outage(exc):
            return _unavailable(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(request, AppError("An unexpected error occurred; it has been logged."))
