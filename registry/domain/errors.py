"""The kinds of failure a client causes or must know about, named by what went wrong.

A service raises one of these (or a narrower error of its domain derived from one, such as
`publishing.VersionExists` from `Conflict`); `registry.problems.PROBLEMS` is the one table that
gives each kind its HTTP status, problem type and title. The kinds carry no status themselves so
that the rules stay readable without HTTP in mind, and the CLI can raise and report the same ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

RETRY_AFTER_SECONDS = 5  # what an outage or an overloaded step asks a client to wait


class DomainError(Exception):
    """A failure with a human `detail`, optional per-field `errors` (JSON pointer + message) and
    `extra` members for the problem body; `retry_after` (seconds) when trying again later helps."""

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[Mapping[str, str]] | None = None,
        extra: Mapping[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.extra = dict(extra or {})
        self.retry_after = retry_after


class BadRequest(DomainError):
    """The request cannot be read: malformed syntax, a foreign cursor, a NUL in a parameter."""


class Unauthorized(DomainError):
    """No credentials where some are needed, or credentials that are not valid."""


class Forbidden(DomainError):
    """The actor is known and may not do this (raised by registry.auth.policy only)."""


class NotFound(DomainError):
    """The named thing does not exist, or its existence is private to the actor."""


class PublisherRenamed(NotFound):
    """What a name names is not here because its publisher was renamed: a read may be pointed at
    `current_name` (the HTTP side answers 308, as code hosts do for renamed repositories); a write
    is refused as not found, so that nothing is written under a name the publisher gave up."""

    def __init__(self, detail: str, *, current_name: str) -> None:
        super().__init__(detail)
        self.current_name = current_name


class MethodNotAllowed(DomainError):
    """The resource exists and does not take this method."""


class RequestTimeout(DomainError):
    """The request body did not arrive in time."""


class Conflict(DomainError):
    """The change contradicts what is stored: a name taken, a version used, a stale read."""


class PayloadTooLarge(DomainError):
    """A body, bundle or document over its documented limit."""


class UnsupportedMediaType(DomainError):
    """A body in a format this operation does not read."""


class Unprocessable(DomainError):
    """A well-formed request whose content breaks a rule (schema, semver, a manifest field)."""

    @classmethod
    def at(cls, pointer: str, message: str, detail: str | None = None) -> Unprocessable:
        """One violation at a JSON pointer into the body, e.g. ("/version", "is required")."""
        summary = detail or f"The request is invalid: {pointer or '(body)'} {message}."
        return cls(summary, errors=[{"pointer": pointer, "message": message}])


class TooManyRequests(DomainError):
    """A rate or failure limit is spent; `retry_after` says when it frees up."""


class ServiceUnavailable(DomainError):
    """A dependency (the database, the worker pool) cannot answer now; trying again may work."""


def or_raise(found: T | None, missing: DomainError) -> T:
    """What a lookup found, or the error that says what was looked for."""
    if found is None:
        raise missing
    return found
