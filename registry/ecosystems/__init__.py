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
from registry.ecosystems.base import LockParser, Parser


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

    def admits(self, declared_range: str, version: str) -> bool | None:
        """Does `declared_range` admit `version`? None when either cannot be evaluated."""
        return ranges.admits(self.read_range, declared_range, version)


# In the order the indexer has always run its parsers (and reports languages).
ECOSYSTEMS: tuple[Ecosystem, ...] = (
    Ecosystem(
        language=npm.LANGUAGE,
        manifests=("package.json",),
        lockfiles=npm_lock.LOCKFILES,
        matches=npm.matches,
        parse=npm.parse,
        matches_lockfile=npm_lock.matches_lockfile,
        parse_lock=npm_lock.parse_lock,
        normalise_name=_as_written,
        read_range=ranges.npm_range,
    ),
    Ecosystem(
        language=python.LANGUAGE,
        manifests=(
            "pyproject.toml",
            "setup.cfg",
            "Pipfile",
            "*requirements*.txt",
            "*requirements*.in",
            "requirements/*.txt",
        ),
        lockfiles=python_lock.LOCKFILES,
        matches=python.matches,
        parse=python.parse,
        matches_lockfile=python_lock.matches_lockfile,
        parse_lock=python_lock.parse_lock,
        normalise_name=python.normalise_name,
        read_range=ranges.python_range,
    ),
    Ecosystem(
        language=go.LANGUAGE,
        manifests=("go.mod",),
        lockfiles=go_lock.LOCKFILES,
        matches=go.matches,
        parse=go.parse,
        matches_lockfile=go_lock.matches_lockfile,
        parse_lock=go_lock.parse_lock,
        normalise_name=_as_written,
        read_range=ranges.go_range,
    ),
    Ecosystem(
        language=rust.LANGUAGE,
        manifests=("Cargo.toml",),
        lockfiles=rust_lock.LOCKFILES,
        matches=rust.matches,
        parse=rust.parse,
        matches_lockfile=rust_lock.matches_lockfile,
        parse_lock=rust_lock.parse_lock,
        normalise_name=_as_written,
        read_range=ranges.cargo_range,
    ),
    Ecosystem(
        language=php.LANGUAGE,
        manifests=("composer.json",),
        lockfiles=php_lock.LOCKFILES,
        matches=php.matches,
        parse=php.parse,
        matches_lockfile=php_lock.matches_lockfile,
        parse_lock=php_lock.parse_lock,
        normalise_name=php.normalise_name,
        read_range=ranges.composer_range,
    ),
    Ecosystem(
        language=ruby.LANGUAGE,
        manifests=("Gemfile", "gems.rb", "*.gemfile"),
        lockfiles=ruby_lock.LOCKFILES,
        matches=ruby.matches,
        parse=ruby.parse,
        matches_lockfile=ruby_lock.matches_lockfile,
        parse_lock=ruby_lock.parse_lock,
        normalise_name=_as_written,
        read_range=ranges.ruby_range,
    ),
    Ecosystem(
        language=java.LANGUAGE,
        manifests=("pom.xml",),
        lockfiles=java_lock.LOCKFILES,
        matches=java.matches,
        parse=java.parse,
        matches_lockfile=java_lock.matches_lockfile,
        parse_lock=java_lock.parse_lock,
        normalise_name=_as_written,
        read_range=ranges.maven_range,
    ),
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
