"""SemVer rules: what a version is, how releases order, which is a tag's latest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from registry.domain.errors import Unprocessable
from registry.versions import by_precedence, latest, parse_version

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class R:
    id: int
    version: str | None
    created_at: datetime = T0


@pytest.mark.parametrize("text", ["1.0.0", "0.0.1", "1.2.3-beta.1", "1.0.0-alpha+001", "10.20.30", "1.0.0+build.7"])
def test_semver_versions_are_accepted(text: str) -> None:
    assert str(parse_version(text)) == text


@pytest.mark.parametrize("text", ["1.0", "v1.0.0", "1.0.0.0", "01.0.0", "latest", "", "1.0.0-", "1" * 300])
def test_anything_else_is_422_at_version(text: str) -> None:
    with pytest.raises(Unprocessable) as invalid:
        parse_version(text)
    assert invalid.value.errors and invalid.value.errors[0]["pointer"] == "/version"


def test_releases_order_by_precedence_not_time() -> None:
    releases = [
        R(1, "1.10.0"),
        R(2, "1.9.0", T0 + timedelta(days=9)),
        R(3, "2.0.0-rc.1"),
        R(4, "2.0.0-beta.2"),
        R(5, "2.0.0-beta.10"),
    ]
    assert [r.version for r in by_precedence(releases)] == [
        "2.0.0-rc.1",
        "2.0.0-beta.10",
        "2.0.0-beta.2",
        "1.10.0",
        "1.9.0",
    ]


def test_the_latest_is_the_highest_stable_version() -> None:
    assert latest([R(1, "1.10.0"), R(2, "1.9.0"), R(3, "2.0.0-rc.1")]) == R(1, "1.10.0")


def test_a_prerelease_is_latest_only_without_a_stable_version() -> None:
    assert latest([R(1, "0.1.0-alpha.1"), R(2, "0.1.0-beta.1")]) == R(2, "0.1.0-beta.1")


def test_legacy_unversioned_releases_fall_back_to_the_newest() -> None:
    old, new = R(1, None, T0), R(2, None, T0 + timedelta(hours=1))
    assert latest([old, new]) == new
    assert latest([old, new, R(3, "0.1.0-rc.1")]) == R(3, "0.1.0-rc.1"), "any version outranks none"
    assert [r.id for r in by_precedence([old, R(3, "1.0.0"), new])] == [3, 2, 1]
    assert latest([]) is None
