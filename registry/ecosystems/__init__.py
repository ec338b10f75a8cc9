"""The ecosystems Wharf indexes: one `Ecosystem` record per language, and the one list of them.

A record is everything that differs between languages: which files are its manifests and
lockfiles, how each is parsed, how a package name is normalised, and how a declared range
is read. The indexer finds parsers here and the server validates languages, normalises names and
evaluates ranges here, so adding an ecosystem is a parser module, a range reader and one record.

It lives in `registry` because that is the lower layer: the indexer already imports the server's
config, database and stores, and the server never imports the indexer. Loading every parser
costs the server ~35 ms once per process (stdlib TOML/XML readers and `packaging`), and the range
libraries cost the indexer about as much; neither is worth a lazy-import scheme.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from registry.domain.record import Record
from registry.ecosystems import (
    go,
    go_lock,
    java,
    java_lock,
    npm,
    npm_lock,
    php,
    php_lock,
    python,
    python_lock,
    ranges,
    ruby,
    ruby_lock,
    rust,
    rust_lock,
)
from registry.ecosystems.base import LockParser, LockParseResult, Parser, ParseResult, ReadFile


def _as_written(name: str) -> str:
    """npm, Go, Cargo, RubyGems and Maven names are case-sensitive: stored as written."""
    return name


class Ecosystem(Record, kw_only=True):
    language: str
    manifests: tuple[str, ...]  # the file names `matches` accepts (patterns where it takes a family)
    lockfiles: tuple[str, ...]  # the file names `matches_lockfile` accepts (patterns likewise)
    matches: Callable[[str], bool]  # is this repository path (POSIX, relative) one of its manifests?
    parse: Parser
    matches_lockfile: Callable[[str], bool]  # is this path one of its lockfiles? (go.mod is both)
    parse_lock: LockParser  # the versions a lockfile resolved, with depth and parents (base.ResolvedDependency)
    normalise_name: Callable[[str], str]  # a package name as the index stores and looks it up
    read_range: ranges.RangeReader  # a declared range as a predicate on versions
    order: ranges.VersionOrder  # a version as a sort key, by the library `read_range` uses
    osv_ecosystem: str  # the ecosystem's name in OSV advisories ("PyPI", "crates.io", …)

    def admits(self, declared_range: str, version: str) -> bool | None:
        """Does `declared_range` admit `version`? None when either cannot be evaluated."""
        return ranges.admits(self.read_range, declared_range, version)


class ManifestModule(Protocol):
    """What a language's manifest module provides (`npm`, `python`, …)."""

    LANGUAGE: str

    def matches(self, path: str) -> bool: ...
    def parse(self, path: str, data: bytes, read: ReadFile) -> ParseResult: ...


class LockModule(Protocol):
    """What a language's lockfile module provides (`npm_lock`, `python_lock`, …)."""

    @property
    def LOCKFILES(self) -> tuple[str, ...]: ...
    def matches_lockfile(self, path: str) -> bool: ...
    def parse_lock(self, path: str, data: bytes, read: ReadFile) -> LockParseResult: ...


def _ecosystem(
    manifest: ManifestModule,
    lock: LockModule,
    manifests: tuple[str, ...],
    normalise_name: Callable[[str], str],
    read_range: ranges.RangeReader,
    order: ranges.VersionOrder,
    osv_ecosystem: str,
) -> Ecosystem:
    """A language's record from its two parser modules, its manifest names and its name and range rules."""
    return Ecosystem(
        language=manifest.LANGUAGE,
        manifests=manifests,
        lockfiles=lock.LOCKFILES,
        matches=manifest.matches,
        parse=manifest.parse,
        matches_lockfile=lock.matches_lockfile,
        parse_lock=lock.parse_lock,
        normalise_name=normalise_name,
        read_range=read_range,
        order=order,
        osv_ecosystem=osv_ecosystem,
    )


_PYTHON_MANIFESTS = (
    "pyproject.toml",
    "setup.cfg",
    "Pipfile",
    "*requirements*.txt",
    "*requirements*.in",
    "requirements/*.txt",
)

# In the order the indexer has always run its parsers (and reports languages).
ECOSYSTEMS: tuple[Ecosystem, ...] = (
    _ecosystem(npm, npm_lock, ("package.json",), _as_written, ranges.npm_range, ranges.semver_order, "npm"),
    _ecosystem(
        python, python_lock, _PYTHON_MANIFESTS, python.normalise_name, ranges.python_range, ranges.python_order, "PyPI"
    ),
    _ecosystem(go, go_lock, ("go.mod",), _as_written, ranges.go_range, ranges.semver_order, "Go"),
    _ecosystem(rust, rust_lock, ("Cargo.toml",), _as_written, ranges.cargo_range, ranges.semver_order, "crates.io"),
    _ecosystem(
        php, php_lock, ("composer.json",), php.normalise_name, ranges.composer_range, ranges.composer_order, "Packagist"
    ),
    _ecosystem(
        ruby,
        ruby_lock,
        ("Gemfile", "gems.rb", "*.gemfile"),
        _as_written,
        ranges.ruby_range,
        ranges.ruby_order,
        "RubyGems",
    ),
    _ecosystem(java, java_lock, ("pom.xml",), _as_written, ranges.maven_range, ranges.maven_order, "Maven"),
)
LANGUAGES: tuple[str, ...] = tuple(ecosystem.language for ecosystem in ECOSYSTEMS)


def ecosystem_named(language: str) -> Ecosystem | None:
    return next((ecosystem for ecosystem in ECOSYSTEMS if ecosystem.language == language), None)


def ecosystems_for(path: str) -> list[Ecosystem]:
    """The ecosystems whose parser reads the file at `path` (repository-relative, POSIX); usually zero or one."""
    return [ecosystem for ecosystem in ECOSYSTEMS if ecosystem.matches(path)]


def lock_ecosystems_for(path: str) -> list[Ecosystem]:
    """The ecosystems whose lockfile parser reads the file at `path`; zero or one."""
    return [ecosystem for ecosystem in ECOSYSTEMS if ecosystem.matches_lockfile(path)]


def osv_ecosystem_named(name: str) -> Ecosystem | None:
    """The ecosystem an OSV `affected[].package.ecosystem` names; OSV may add a suffix after a
    colon (`"Debian:11"`, `"Alpine:v3.16"`), which none of Wharf's ecosystems uses, so the name
    must match whole."""
    return next((ecosystem for ecosystem in ECOSYSTEMS if ecosystem.osv_ecosystem == name), None)
