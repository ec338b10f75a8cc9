"""Does a declared range admit a version? One range grammar per ecosystem, each by its own rules.

Evaluated with the best-kept libraries for each, after comparing `univers`, `node-semver` and
`packaging`: `packaging` (PyPA's own) for PEP 440 specifiers; `univers` (AboutCode's
multi-ecosystem range library, maintained, the one that also covers RubyGems and Maven) for npm,
RubyGems and Maven ranges. `univers` cannot read Cargo, Composer or Go requirements natively, so
those are translated into the npm grammar they share their semantics with, rule by rule below;
`node-semver` (a port of node's resolver, last released years ago) was not needed.

Each `*_range` function reads a declared range into a predicate on versions (raising RangeError
when it cannot); `registry.ecosystems` names which one each ecosystem uses. `admits` answers True
or False, or None when the range (or the version) cannot be evaluated — the API reports those
rather than silently dropping them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import semver
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from univers.version_range import GemVersionRange, MavenVersionRange, NpmVersionRange
from univers.versions import ComposerVersion, MavenVersion, RubygemsVersion, SemverVersion

Matcher = Callable[[str], bool]
_ANY = frozenset({"", "*", "x", "X", "latest"})
_CARGO_BARE = re.compile(r"^\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?\Z")
_COMPOSER_TILDE = re.compile(r"^~\s*v?(\d+)\.(\d+)(?:\.(\d+))?(-[0-9A-Za-z.-]+)?\Z")
_COMPOSER_STABILITY = re.compile(r"@(dev|alpha|beta|RC|rc|stable)\b")
_GO_VERSION = re.compile(r"^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)\Z")


class RangeError(ValueError):
    pass


def _semver(version: str) -> SemverVersion:
    return SemverVersion(version.removeprefix("v"))


def npm_range(declared_range: str) -> Matcher:
    text = declared_range.strip()
    if text in _ANY:
        return lambda _version: True
    try:
        parsed = NpmVersionRange.from_native(text)
    except Exception as exc:  # univers raises a variety of its own errors for bad input
        raise RangeError(str(exc)) from exc
    return lambda version: _semver(version) in parsed


def python_range(declared_range: str) -> Matcher:
    try:
        specifiers = SpecifierSet(declared_range)
    except InvalidSpecifier as exc:
        raise RangeError(str(exc)) from exc
    return lambda version: specifiers.contains(Version(version), prereleases=True)


def cargo_range(declared_range: str) -> Matcher:
    """Cargo: comparators separated by commas; a bare version means a caret requirement
    (`1.2` is `^1.2`); `^`, `~`, `*` and wildcards mean what they mean in npm."""
    parts = [part.strip() for part in declared_range.split(",") if part.strip()]
    if not parts:
        return lambda _version: True
    translated = " ".join("^" + part if _CARGO_BARE.match(part) else part for part in parts)
    return npm_range(translated)


def _composer_part(part: str) -> str:
    """One Composer constraint in npm's grammar: `~1.2` allows >=1.2 <2.0 (the last given part
    may grow), unlike npm's tilde; stability flags (`@dev`) only widen what is allowed."""
    part = _COMPOSER_STABILITY.sub("", part).strip()
    tilde = _COMPOSER_TILDE.match(part)
    if tilde:
        major, minor, patch, pre = tilde.groups()
        low = f"{major}.{minor}.{patch or 0}{pre or ''}"
        high = f"{int(major) + 1}.0.0" if patch is None else f"{major}.{int(minor) + 1}.0"
        return f">={low} <{high}"
    return re.sub(r"(?<![\w.])v(?=\d)", "", part)


def composer_range(declared_range: str) -> Matcher:
    if declared_range.strip().startswith("dev-"):
        raise RangeError("a branch (dev-…) is not a version range")
    alternatives = [alt for alt in re.split(r"\s*\|\|?\s*", declared_range.strip()) if alt]
    translated = " || ".join(
        " ".join(_composer_part(part) for part in re.split(r"\s*,\s*|\s+(?![<>=!^~]*\s)", alt) if part)
        for alt in alternatives
    )
    return npm_range(translated)


def go_range(declared_range: str) -> Matcher:
    """Go modules: a requirement is a minimum (minimal version selection); a version admits it
    when it is at least that and of the same major version (v2+ are other module paths)."""
    match = _GO_VERSION.match(declared_range.strip())
    if match is None:
        raise RangeError(f"not a Go module version: {declared_range!r}")
    minimum = semver.Version.parse(match[1])

    def admits(version: str) -> bool:
        candidate = semver.Version.parse(version.removeprefix("v"))
        return candidate.major == minimum.major and candidate >= minimum

    return admits


def ruby_range(declared_range: str) -> Matcher:
    """RubyGems: every comma-separated requirement must hold (`~> 2.1, >= 2.1.3`)."""
    try:
        ranges = [GemVersionRange.from_native(part.strip()) for part in declared_range.split(",") if part.strip()]
    except Exception as exc:
        raise RangeError(str(exc)) from exc
    return lambda version: all(RubygemsVersion(version) in r for r in ranges)


def maven_range(declared_range: str) -> Matcher:
    """Maven: bracket ranges by Maven's rules; a bare version is what resolution would pick
    absent conflicts, so it admits exactly itself."""
    text = declared_range.strip()
    if not text.startswith(("[", "(")):
        if not text or "${" in text:
            raise RangeError(f"not a resolvable Maven version: {declared_range!r}")
        return lambda version: MavenVersion(version) == MavenVersion(text)
    try:
        parsed = MavenVersionRange.from_native(text)
    except Exception as exc:
        raise RangeError(str(exc)) from exc
    return lambda version: MavenVersion(version) in parsed


RangeReader = Callable[[str], Matcher]


@lru_cache(maxsize=65536)
def _matcher(read_range: RangeReader, declared_range: str) -> Matcher | None:
    """Parsed once per (ecosystem, range): a popular package has few distinct ranges."""
    try:
        return read_range(declared_range)
    except RangeError:
        return None


def readable(read_range: RangeReader, declared_range: str) -> bool:
    """Can the ecosystem's rules read `declared_range` at all?"""
    return _matcher(read_range, declared_range) is not None


def admits(read_range: RangeReader, declared_range: str, version: str) -> bool | None:
    """True/False, or None when the range or the version cannot be evaluated."""
    matcher = _matcher(read_range, declared_range)
    if matcher is None:
        return None
    try:
        return matcher(version)
    except (ValueError, TypeError, InvalidVersion):
        return None


# -- orderings ------------------------------------------------------------------------------------
# A version as a sortable key, by the same library that reads the ecosystem's ranges (so that "is
# 4.17.11 below 4.17.12" is answered here the way `admits` answers it). Each raises ValueError
# (univers' InvalidVersion, packaging's InvalidVersion, semver's ValueError) for what it cannot read.

VersionOrder = Callable[[str], Any]


def semver_order(version: str) -> Any:
    """Semantic Versioning 2.0 (npm, Cargo, Go modules, OSV's SEMVER ranges): a leading `v` is
    dropped and build metadata (`+incompatible`) does not order."""
    return _semver(version)


def python_order(version: str) -> Any:
    return Version(version)


def composer_order(version: str) -> Any:
    return ComposerVersion(version.removeprefix("v"))


def ruby_order(version: str) -> Any:
    return RubygemsVersion(version)


def maven_order(version: str) -> Any:
    return MavenVersion(version)
