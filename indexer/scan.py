"""From a repository to index rows: run every parser that claims a file, collect, report.

Manifests give what a repository declares and defines; lockfiles (go.mod is both) give the
versions its package managers resolved. Everything here runs on repository content, so every
failure is a `Problem` on one file, never a failed repository, and every lockfile is bounded
(`ScanLimits`): in bytes, in rows per lockfile (a lock past it is refused whole: a partial lock
would quietly miss packages) and in rows per repository (lockfiles are taken in path order, and
one that would pass the bound is refused with the rest after it). A row PostgreSQL could not
store — a NUL or a lone surrogate in a name, a name too long for the dependents index — is
dropped with a Problem, so that it cannot fail the whole revision's COPY.

Scanning is blocking (files, git, parsing): callers run it in a thread (indexer.worker,
indexer.remotes, the CLI), off the event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import orjson

from indexer.reader import MAX_FILE_BYTES, ManifestFile, Repository
from registry.domain.record import Record
from registry.ecosystems import Ecosystem, ecosystems_for, lock_ecosystems_for
from registry.ecosystems.base import Dependency, ManifestError, PackageDef, ReadFile, ResolvedDependency

log = logging.getLogger("wharf.indexer")

MAX_PACKAGE_CHARS = 512  # as the API takes a package name (registry.handlers.package_index)
MAX_VERSION_CHARS = 256  # and a version: what cannot be asked for is not stored


class Problem(Record):
    path: str
    message: str


class ScanLimits(Record):
    """How much of a repository's lockfiles the index takes (WHARF_INDEX_MAX_* settings)."""

    max_lockfile_bytes: int = 16 * 1024 * 1024
    max_resolved_per_lockfile: int = 50_000
    max_resolved_per_repo: int = 200_000


@dataclass
class Scan:
    """What one repository defines and depends on, by language, and the files that failed."""

    packages: list[tuple[str, PackageDef]] = field(default_factory=list)
    dependencies: list[tuple[str, Dependency]] = field(default_factory=list)
    resolved: list[tuple[str, ResolvedDependency]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    def report(self, path: str, message: str) -> None:
        log.warning("skipped %s: %s", path, message)
        self.problems.append(Problem(path, message))


def scan(repository: Repository, limits: ScanLimits | None = None) -> Scan:
    """Parse every manifest and lockfile in `repository`. A malformed file is reported and skipped."""
    limits = limits or ScanLimits()
    result = Scan()

    def wanted(path: str) -> bool:
        return bool(ecosystems_for(path) or lock_ecosystems_for(path))

    def limit(path: str) -> int:
        return max(MAX_FILE_BYTES if ecosystems_for(path) else 0, _lock_bound(path, limits))

    for file in repository.manifests(wanted, limit):
        result.files += 1
        if file.oversized:
            result.report(file.path, f"{file.oversized} bytes, over the limit of {limit(file.path)} bytes")
            continue
        if len(file.data) <= MAX_FILE_BYTES:
            _scan_manifest(result, file, repository.read)
        elif ecosystems_for(file.path):  # a go.mod read as a lockfile, too large to read as a manifest
            result.report(file.path, f"{len(file.data)} bytes, over the manifest limit of {MAX_FILE_BYTES} bytes")
        for ecosystem in lock_ecosystems_for(file.path):
            _scan_lock(result, ecosystem, file, repository.read, limits)
    return result


def _lock_bound(path: str, limits: ScanLimits) -> int:
    return limits.max_lockfile_bytes if lock_ecosystems_for(path) else 0


def _scan_manifest(result: Scan, manifest: ManifestFile, read: ReadFile) -> None:
    for ecosystem in ecosystems_for(manifest.path):
        try:
            parsed = ecosystem.parse(manifest.path, manifest.data, read)
        except ManifestError as exc:
            result.report(manifest.path, str(exc))
            continue
        result.packages += [(parsed.language, package) for package in parsed.packages]
        result.dependencies += [(parsed.language, dependency) for dependency in parsed.dependencies]


def _scan_lock(result: Scan, ecosystem: Ecosystem, lock: ManifestFile, read: ReadFile, limits: ScanLimits) -> None:
    """One lockfile's rows into `result`, or a Problem saying why none were taken."""
    path = lock.path
    if len(lock.data) > limits.max_lockfile_bytes:
        result.report(path, f"lockfile of {len(lock.data)} bytes, over the limit of {limits.max_lockfile_bytes}")
        return
    try:
        parsed = ecosystem.parse_lock(path, lock.data, read)
    except ManifestError as exc:
        result.report(path, str(exc))
        return
    except (ValueError, LookupError, TypeError, AttributeError, RecursionError) as exc:
        # A parser that fails on input nobody foresaw fails this file, not the repository's index.
        log.exception("lockfile parser for %s failed on %s", ecosystem.language, path)
        result.report(path, f"{path}: unreadable lockfile ({type(exc).__name__})")
        return
    rows = _storable(result, path, parsed.dependencies)
    if len(rows) > limits.max_resolved_per_lockfile:
        bound = limits.max_resolved_per_lockfile
        result.report(path, f"{len(rows)} resolved dependencies, over the limit of {bound} per lockfile")
        return
    if len(result.resolved) + len(rows) > limits.max_resolved_per_repo:
        result.report(
            path,
            f"{len(rows)} resolved dependencies would pass the limit of {limits.max_resolved_per_repo} per "
            f"repository ({len(result.resolved)} taken from the lockfiles before it)",
        )
        return
    result.resolved += [(parsed.language, row) for row in rows]


def _storable(result: Scan, path: str, rows: list[ResolvedDependency]) -> list[ResolvedDependency]:
    """The rows PostgreSQL can hold; the others dropped with one Problem for the lockfile."""
    kept: list[ResolvedDependency] = []
    dropped: list[str] = []
    for row in rows:
        reason = unstorable(row)
        if reason is None:
            kept.append(row)
        else:
            dropped.append(reason)
    if dropped:
        first = dropped[0]
        result.report(path, f"dropped {len(dropped)} resolved dependencies PostgreSQL cannot store, first: {first}")
    return kept


def unstorable(row: ResolvedDependency) -> str | None:
    """Why `row` cannot be a `resolved_dep` row, or None. PostgreSQL's text holds no NUL, its
    UTF-8 no lone surrogate (a Python string may: a git path read with surrogateescape, a JSON
    `\\ud800`), jsonb no `\\u0000`; the dependents index no key past a btree page's third."""
    if not row.package or len(row.package) > MAX_PACKAGE_CHARS:
        return f"a package name of {len(row.package)} characters ({row.package[:40]!r})"
    if len(row.version) > MAX_VERSION_CHARS:
        return f"{row.package[:80]!r}: a version of {len(row.version)} characters"
    for text in (row.package, row.version, row.path, *row.parents, *row.via):
        if not _storable_text(text):
            return f"{text[:80]!r} holds a NUL or a lone surrogate"
    try:
        hints = orjson.dumps(row.hints)
    except orjson.JSONEncodeError as exc:
        return f"{row.package[:80]!r}: hints that are not JSON ({exc})"
    if b"\\u0000" in hints:
        return f"{row.package[:80]!r}: hints holding a NUL"
    return None


def _storable_text(text: str) -> bool:
    if text.isascii():
        return "\0" not in text
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\0" not in text
