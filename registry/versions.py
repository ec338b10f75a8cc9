"""Release versions: SemVer 2.0, ordered by precedence, and which release is a tag's latest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import semver

from registry.domain.errors import Unprocessable

MAX_VERSION_LENGTH = 256


class Versioned(Protocol):
    @property
    def version(self) -> str | None: ...

    @property
    def created_at(self) -> datetime: ...


V = TypeVar("V", bound=Versioned)


def parse_version(text: str, pointer: str = "/version") -> semver.Version:
    """A strict SemVer 2.0 version (no leading `v`, no missing parts), else 422."""
    if len(text) > MAX_VERSION_LENGTH:
        raise Unprocessable.at(pointer, f"must be at most {MAX_VERSION_LENGTH} characters")
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError):
        message = "must be a SemVer 2.0 version such as 1.4.0 or 2.0.0-beta.1"
        raise Unprocessable(
            f"The version is invalid: {pointer} {message}.", errors=[{"pointer": pointer, "message": message}]
        ) from None


def _key(release: Versioned) -> semver.Version | None:
    if release.version is None:
        return None
    try:
        return semver.Version.parse(release.version)
    except ValueError:
        return None  # a legacy row with a non-SemVer version orders like an unversioned one


def precedence_key(release: Versioned, release_id: int) -> tuple[Any, ...]:
    """A key whose descending order is release order: versioned releases by SemVer precedence
    (ties, which differ only in build metadata, by id), then unversioned ones by creation time."""
    version = _key(release)
    if version is not None:
        return (1, version, release_id)
    return (0, release.created_at, release_id)


def by_precedence(releases: Sequence[V]) -> list[V]:
    """Newest first: versioned releases by SemVer precedence, then the rest by creation time."""
    return sorted(releases, key=lambda r: precedence_key(r, getattr(r, "id", 0)), reverse=True)


def latest(releases: Sequence[V]) -> V | None:
    """The highest stable version; a pre-release only when there is no stable one; legacy
    unversioned releases only when nothing has a version (then the newest)."""
    ordered = by_precedence(releases)
    stable = [r for r in ordered if (key := _key(r)) is not None and key.prerelease is None]
    if stable:
        return stable[0]
    return ordered[0] if ordered else None
