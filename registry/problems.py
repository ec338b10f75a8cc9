"""The one place that turns any failure into RFC 9457 problem+json.

Services, loaders and the policy raise the domain's errors (registry.domain.errors); aiohttp
raises its own `HTTPException`s (404 for an unknown route, 405, 413 for an oversized body); the
database may be away. `PROBLEMS` gives each kind of domain error its status, and the middleware
here answers every failure in one shape:
`{"type", "title", "status", "detail", "instance"[, "errors"]}`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler

from registry.auth.credentials import CHALLENGE
from registry.domain.errors import (
    RETRY_AFTER_SECONDS,
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PublisherRenamed,
    RequestTimeout,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)
from registry.domain.record import Record
from registry.http import REQUEST_ID, json_response

log = logging.getLogger("wharf.errors")

PROBLEM_JSON = "application/problem+json"


class Problem(Record):
    """How one kind of domain error reaches an HTTP client."""

    status: int
    slug: str
    title: str


# The one table from domain errors to problem types. A narrower error (e.g. VersionExists, a
# Conflict) takes the entry of its nearest listed ancestor; one absent here is a bug (500).
PROBLEMS: dict[type[DomainError], Problem] = {
    BadRequest: Problem(400, "bad-request", "Malformed request"),
    Unauthorized: Problem(401, "unauthorized", "Missing or invalid credentials"),
    Forbidden: Problem(403, "forbidden", "Not allowed"),
    NotFound: Problem(404, "not-found", "Not found"),
    MethodNotAllowed: Problem(405, "method-not-allowed", "Method not allowed"),
    RequestTimeout: Problem(408, "request-timeout", "Request body not received in time"),
    Conflict: Problem(409, "conflict", "Conflict"),
    PayloadTooLarge: Problem(413, "payload-too-large", "Request body too large"),
    UnsupportedMediaType: Problem(415, "unsupported-media-type", "Unsupported media type"),
    Unprocessable: Problem(422, "validation-failed", "Validation failed"),
    TooManyRequests: Problem(429, "too-many-requests", "Too many requests"),
    ServiceUnavailable: Problem(503, "service-unavailable", "Service unavailable"),
}
INTERNAL = Problem(500, "internal-error", "Internal server error")
_BY_STATUS: dict[int, type[DomainError]] = {problem.status: kind for kind, problem in PROBLEMS.items()}


def problem_of(error: DomainError) -> Problem:
    """The problem type of `error`: its own entry or its nearest listed ancestor's."""
    for kind in type(error).__mro__:
        problem = PROBLEMS.get(kind)
        if problem is not None:
            return problem
    return INTERNAL


def problem_headers(error: DomainError) -> dict[str, str]:
    """Headers a kind of error implies: the auth challenge on a 401, Retry-After when known."""
    headers: dict[str, str] = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = CHALLENGE
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return headers


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
        ServiceUnavailable("The database is unavailable; try again shortly.", retry_after=RETRY_AFTER_SECONDS),
    )


def problem_response(
    request: web.Request, error: DomainError, *, problem: Problem | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    """`error` as problem+json: its kind's status, type and title (or `problem`'s), its detail."""
    problem = problem or problem_of(error)
    body: dict[str, Any] = {
        "type": f"urn:wharf:problem:{problem.slug}",
        "title": problem.title,
        "status": problem.status,
        "detail": error.detail,
        "instance": request.path,
        "request_id": request.get(REQUEST_ID),
    }
    if error.errors:
        body["errors"] = error.errors
    body.update(error.extra)
    return json_response(
        body, status=problem.status, headers={**problem_headers(error), **(headers or {})}, content_type=PROBLEM_JSON
    )


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    kind = _BY_STATUS.get(exc.status, DomainError)
    detail = {
        404: "No route matches this path.",
        405: f"{exc.status} {exc.reason}: this route does not accept that method.",
    }.get(exc.status, exc.text or exc.reason)
    if exc.status == 413:
        detail = exc.text or "The request body exceeds the configured limit."
    headers = {name: exc.headers[name] for name in _HEADERS_KEPT_FROM_AIOHTTP if name in exc.headers}
    # a status without its own kind keeps aiohttp's status and reason
    problem = PROBLEMS[kind] if kind in PROBLEMS else Problem(exc.status, "http-error", exc.reason)
    return problem_response(request, kind(detail), problem=problem, headers=headers)


def renamed_publisher_redirect(
    request: web.Request, renamed: PublisherRenamed, *, key: str = "publisher", headers: dict[str, str] | None = None
) -> web.HTTPPermanentRedirect | None:
    """For a read of an id under a renamed publisher's old name: 308 to the same route under its
    current name (the query string kept; `key` names the route's publisher parameter). Writes are
    not redirected: they answer 404 (None here)."""
    resource = request.match_info.route.resource
    if request.method not in ("GET", "HEAD") or resource is None or key not in request.match_info:
        return None
    parts = {**request.match_info, key: renamed.current_name}
    location = resource.url_for(**parts).with_query(request.rel_url.query)
    return web.HTTPPermanentRedirect(location, headers=headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The only place that builds problem+json."""
    try:
        return await handler(request)
    except PublisherRenamed as renamed:
        if (redirect := renamed_publisher_redirect(request, renamed)) is not None:
            raise redirect from None
        return problem_response(request, renamed)
    except DomainError as error:
        return problem_response(request, error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and 304s are answers, not errors
        return _from_http_exception(request, exc)
    except DATABASE_UNAVAILABLE as exc:
        return _unavailable(request, exc)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if _caused_by_an_outage(exc):
            return _unavailable(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(
            request, DomainError("An unexpected error occurred; it has been logged."), problem=INTERNAL
        )
