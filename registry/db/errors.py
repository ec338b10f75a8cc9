"""Driver errors become domain errors here, by constraint name, in exactly one place.

Every constraint of the schema has an explicit name (the seed's, kept exactly), so a unique,
exclusion or check violation says precisely what clashed. The store functions stay plain SQL;
handlers wrap their transaction in `translate_pg_errors()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from registry.domain.errors import Conflict, DomainError, NotFound, Unprocessable

_CONFLICTS: dict[str, str] = {
    "users_username": "That username is taken.",
    "names_pkey": "That name is taken by a user or an organization.",
    "orgs_name": "That organization name is taken.",
    "user_emails_no_duplicates_per_user": "That email address is already on this account.",
    "user_emails_unique_verified_email": "That email address is verified by another user.",
    "org_members_org_id_user_id_key": "That user is already a member of the organization.",
    "org_invitations_singleflight": "That user already has a pending invitation to the organization.",
    "users_billing_customer_id": "That billing customer id belongs to another user.",
    "registry_extensions_publisher_name": "The publisher already has an extension by that name.",
    "registry_extension_releases_version": "That version is already published.",
    "registry_published_versions_pkey": (
        "That version was published under this name before; a published version is never reused"
        " (not after a yank, a deletion, a rename or a re-creation)."
    ),
    "retired_names_pkey": (
        "That name was published under and stays reserved for its former owner; only a site admin may release it."
    ),
}

_INVALID: dict[str, tuple[str, str]] = {
    "users_username_valid_chars": ("/username", "must be letters, digits and single inner hyphens"),
    "users_username_max_length": ("/username", "must be at most 255 characters"),
    "users_display_name_max_length": ("/display_name", "must be at most 255 characters"),
    "orgs_name_valid_chars": ("/name", "must be letters, digits and single inner hyphens"),
    "orgs_name_max_length": ("/name", "must be at most 255 characters"),
    "orgs_display_name_max_length": ("/display_name", "must be at most 255 characters"),
    "registry_extensions_name_valid_chars": ("/name", "must be letters, digits and single inner . _ or -"),
    "registry_extensions_name_length": ("/name", "must be 1 to 128 characters"),
    "user_emails_email_one_line": ("/email", "must be one line, without spaces or control characters"),
    "survey_responses_email_one_line": ("/email", "must be one line, without spaces or control characters"),
    "check_atomic_response": ("", "an invitation is answered with a response"),
    "check_single_use": ("", "an invitation is answered or revoked, never both"),
    "registry_extension_releases_immutable": ("", "a published release never changes, and a yank is final"),
    "registry_extensions_fixed_id": ("", "an extension keeps its publisher and name"),
}


def error_for(exc: asyncpg.PostgresError) -> DomainError | None:
    """The domain error for a constraint violation, or None for anything else."""
    constraint = getattr(exc, "constraint_name", None) or ""
    if isinstance(exc, asyncpg.UniqueViolationError | asyncpg.ExclusionViolationError):
        return Conflict(_CONFLICTS.get(constraint, "That conflicts with an existing record."))
    if isinstance(exc, asyncpg.CheckViolationError):
        pointer, message = _INVALID.get(constraint, ("", f"violates {constraint or 'a check'}"))
        return Unprocessable(
            f"The request violates a data rule: {message}.", errors=[{"pointer": pointer, "message": message}]
        )
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return NotFound("Something the request refers to does not exist (any more).")
    return None


@contextmanager
def translate_pg_errors() -> Iterator[None]:
    """Re-raise integrity violations as domain errors (409, 422, 404), and values over
    PostgreSQL's size limits as 422; anything else unchanged."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        error = error_for(exc)
        if error is None:
            raise
        raise error from exc
    except asyncpg.ProgramLimitExceededError as exc:
        # A value longer than an index entry may be (about 2.7 kB in a btree): the schemas bound
        # characters, not the bytes PostgreSQL counts after compression, so a long enough text the
        # schema admits can still be refused here, and a client's input is never a 500.
        raise Unprocessable(
            "A value in the request is too long for the database to store or index.",
            errors=[{"pointer": "", "message": "a value is too long for the database to index"}],
        ) from exc
