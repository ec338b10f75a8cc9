"""The ecosystems Wharf indexes: one `Ecosystem` record per language, and the one list of them.

A record is everything that differs between languages: which files are its manifests (and
lockfiles), how a manifest is parsed, how a package name is normalised, and how a declared range
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
from registry.ecosystems import go, java, npm, php, python, ranges, ruby, rust
from registry.ecosystems.base import Parser


def _as_written(name: str) -> str:
    """npm, Go, Cargo, RubyGems and Maven names are case-sensitive: stored as written."""
    return name


class Ecosystem(Record):
    language: str
    manifests: tuple[str, ...]  # the file names `matches` accepts (patterns where it takes a family)
    lockfiles: tuple[str, ...]  # the package managers' lockfiles (not read yet)
    matches: Callable[[str], bool]  # is this repository path (POSIX, relative) one of its manifests?
    parse: Parser
    normalise_name: Callable[[str], str]  # a package name as the index stores and looks it up
    read_range: ranges.RangeReader  # a declared range as a predicate on versions

    def admits(self, declared_range: str, version: str) -> bool | None:
        """Does `declared_range` admit `version`? None when either cannot be evaluated."""
        return ranges.admits(self.read_range, declared_range, version)


# In the order the indexer has always run its parsers (and reports languages).
ECOSYSTEMS: tuple[Ecosystem, ...] = (
    Ecosystem(
        npm.LANGUAGE,
        ("package.json",),
        ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml"),
        npm.matches,
        npm.parse,
        _as_written,
        ranges.npm_range,
    ),
    Ecosystem(
        python.LANGUAGE,
        ("pyproject.toml", "setup.cfg", "Pipfile", "*requirements*.txt", "*requirements*.in", "requirements/*.txt"),
        ("poetry.lock", "Pipfile.lock", "pdm.lock", "uv.lock"),
        python.matches,
        python.parse,
        python.normalise_name,
        ranges.python_range,
    ),
    Ecosystem(go.LANGUAGE, ("go.mod",), ("go.sum",), go.matches, go.parse, _as_written, ranges.go_range),
    Ecosystem(
        rust.LANGUAGE, ("Cargo.toml",), ("Cargo.lock",), rust.matches, rust.parse, _as_written, ranges.cargo_range
    ),
    Ecosystem(
        php.LANGUAGE,
        ("composer.json",),
        ("composer.lock",),
        php.matches,
        php.parse,
        php.normalise_name,
        ranges.composer_range,
    ),
    Ecosystem(
        ruby.LANGUAGE,
        ("Gemfile", "gems.rb", "*.gemfile"),
        ("Gemfile.lock", "gems.locked"),
        ruby.matches,
        ruby.parse,
        _as_written,
        ranges.ruby_range,
    ),
    Ecosystem(java.LANGUAGE, ("pom.xml",), (), java.matches, java.parse, _as_written, ranges.maven_range),
)
LANGUAGES: tuple[str, ...] = tuple(ecosystem.language for ecosystem in ECOSYSTEMS)


def ecosystem_named(language: str) -> Ecosystem | None:
    return next((ecosystem for ecosystem in ECOSYSTEMS if ecosystem.language == language), None)


def ecosystems_for(path: str) -> list[Ecosystem]:
    """The ecosystems whose parser reads the file at `path` (repository-relative, POSIX); usually zero or one."""
    return [ecosystem for ecosystem in ECOSYSTEMS if ecosystem.matches(path)]
