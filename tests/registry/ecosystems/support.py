"""Shared plumbing for the parser tests: a `read` callback over a dict, and the manifest corpus.

The corpus is a byte-for-byte copy of `shared/corpus` (see its SOURCES.md for provenance and
licences) kept in `tests/fixtures/corpus`, so the tests run the same on a fresh clone.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from registry.ecosystems import ECOSYSTEMS
from registry.ecosystems.base import Dependency, LockParseResult, PackageDef, ParseResult, ReadFile, ResolvedDependency

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
# Where the corpus was copied from, when this checkout sits next to it (not on CI).
SHARED_CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"


def reader(files: Mapping[str, bytes | str]) -> ReadFile:
    """A `read` callback serving `files` (path -> content); anything else is missing."""

    def read(path: str) -> bytes | None:
        content = files.get(posixpath.normpath(path))
        return content.encode() if isinstance(content, str) else content

    return read


def corpus_reader(ecosystem: str, repo: str) -> ReadFile:
    """A `read` callback over one corpus repository; paths outside it are missing, like in the indexer."""
    root = (CORPUS / ecosystem / repo).resolve()

    def read(path: str) -> bytes | None:
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        return target.read_bytes()

    return read


def parse_corpus(parser: ModuleType, ecosystem: str, repo: str, path: str) -> ParseResult:
    """Parse `path` of a corpus repository the way the indexer would."""
    read = corpus_reader(ecosystem, repo)
    data = read(path)
    assert data is not None, f"corpus file missing: {ecosystem}/{repo}/{path}"
    result: ParseResult = parser.parse(path, data, read)
    return result


def parse_text(parser: ModuleType, path: str, text: str, files: Mapping[str, bytes | str] | None = None) -> ParseResult:
    """Parse an inline fixture; `files` are the other files of its (imaginary) repository."""
    result: ParseResult = parser.parse(path, text.encode(), reader(files or {}))
    return result


def assert_defines(result: ParseResult, language: str, packages: list[PackageDef]) -> None:
    """What a parse says first: the manifest's language, and the packages the manifest itself defines."""
    assert result.language == language
    assert result.packages == packages


def dep(result: ParseResult, package: str, dep_type: str | None = None) -> Dependency:
    """The single dependency on `package` (of `dep_type`, if given); fails loudly on none or several."""
    found = [d for d in result.dependencies if d.package == package and dep_type in (None, d.dep_type)]
    assert len(found) == 1, f"expected one {package} ({dep_type}), found {found}"
    return found[0]


def of_type(result: ParseResult, dep_type: str) -> list[Dependency]:
    return [d for d in result.dependencies if d.dep_type == dep_type]


def names(deps: list[Dependency]) -> list[str]:
    return [d.package for d in deps]


# Real lockfiles with their manifests, copied from `shared/lockcorpus` (see its SOURCES.md).
LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"


def parse_lock_fixture(ecosystem: str, repo: str, path: str) -> LockParseResult:
    """Parse a lockfile of the lockfile corpus through its ecosystem's record, as the indexer would."""
    root = LOCKS / ecosystem / repo

    def read(other: str) -> bytes | None:
        target = (root / other).resolve()
        return target.read_bytes() if target.is_relative_to(root) and target.is_file() else None

    data = read(path)
    assert data is not None, f"lockfile fixture missing: {ecosystem}/{repo}/{path}"
    [found] = [e for e in ECOSYSTEMS if e.matches_lockfile(path) and e.language == ecosystem]
    return found.parse_lock(path, data, read)


def parse_lock_text(
    ecosystem: str, path: str, text: str, files: Mapping[str, bytes | str] | None = None
) -> LockParseResult:
    """Parse an inline (hand-written) lockfile; `files` are the other files of its repository."""
    [found] = [e for e in ECOSYSTEMS if e.matches_lockfile(path) and e.language == ecosystem]
    return found.parse_lock(path, text.encode(), reader(files or {}))


def locked(result: LockParseResult, package: str, version: str | None = None) -> ResolvedDependency:
    """The single row for `package` (at `version`, if given); fails loudly on none or several."""
    found = [d for d in result.dependencies if d.package == package and version in (None, d.version)]
    assert len(found) == 1, f"expected one {package} {version or ''}, found {found}"
    return found[0]


def versions(result: LockParseResult, package: str) -> list[str]:
    return sorted(d.version for d in result.dependencies if d.package == package)


def shortest_path(result: LockParseResult, package: str, version: str) -> list[str]:
    """What the API will do with the rows alone: walk parents one depth up at a time, to a direct row."""
    rows = {d.key: d for d in result.dependencies}
    row = rows[f"{package}@{version}"]
    path = [row.key]
    while row.depth > 1:
        row = next(rows[p] for p in sorted(row.parents) if p in rows and rows[p].depth == row.depth - 1)
        path.append(row.key)
    return path[::-1]
