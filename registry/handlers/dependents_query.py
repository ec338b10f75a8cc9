"""The dependents filters as the API and the web page both take them from a query string."""

from __future__ import annotations

from collections.abc import Mapping

from registry.domain.errors import BadRequest
from registry.services.package_index import DECLARATIONS_PER_REPO, MAX_DECLARATIONS_PER_REPO

MAX_VERSION = 256


def version_of(query: Mapping[str, str], *, blank_is_none: bool = False) -> str | None:
    """`version`: keep the ranges admitting it. The web page's form sends an empty field when the
    filter is unused, which means no filter there (`blank_is_none`); the API refuses it."""
    version = query.get("version")
    if blank_is_none and version is not None and not version.strip():
        return None
    if version is not None and not 0 < len(version) <= MAX_VERSION:
        raise BadRequest(f"version must be 1 to {MAX_VERSION} characters.")
    return version


def advisory_of(query: Mapping[str, str]) -> str | None:
    """`advisory`: an OSV id or alias (its shape is checked by the service); empty means none."""
    return query.get("advisory", "").strip() or None


def per_repo_of(query: Mapping[str, str], default: int = DECLARATIONS_PER_REPO) -> int:
    """`per_repo`: how many of each repository's declarations to show (the rest are counted)."""
    text = query.get("per_repo")
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= MAX_DECLARATIONS_PER_REPO:
        raise BadRequest(f"per_repo must be an integer from 1 to {MAX_DECLARATIONS_PER_REPO}.")
    return int(text)
