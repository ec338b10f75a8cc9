"""Writing repositories' indexes atomically, one repository or a batch at a time (the SQL is
registry.store.package_index's, which the API reads through too).

In one transaction: upsert and lock the repositories' rows, read the rows they have for the
indexed languages, delete the ones the new revision no longer has and COPY the ones it adds
straight into the tables (a row the revision still has stays as it is), and record the revisions.
Readers see the old index until the commit and the new one after it, never a mix; a repository
whose revision is already recorded is left as it is. One function per table
(`_replace_dependencies`, `_replace_packages`, `_replace_resolved`): a table the writer also fills
gets its own.

What makes it fast (each measured against the alternative by bench/bench_writer.py): a re-index
rewrites only the rows that changed (a new revision usually changes few dependencies, and every
row rewritten costs a delete and an insert in the table and each of its six indexes); one COPY per
table instead of staging tables and INSERT … SELECT; rows in (language, package) order, so that
the package-keyed btrees take them as runs on neighbouring pages; each row's JSON built once, as
text; asynchronous commit and a larger `work_mem` for the writer's own transactions
(registry.store.package_index.tune_for_bulk_writes says what a crash can lose).
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg
import orjson

from indexer.scan import Scan
from registry.domain.record import Record
from registry.ecosystems.base import ResolvedDependency
from registry.store import package_index as index_store
from registry.store.package_index import IndexedRow


class WriteOutcome(Record):
    repo_id: int
    written: bool  # False: the revision was already indexed
    packages: int
    dependencies: int
    resolved: int = 0


@dataclass
class WriteStats:
    """Where a batch's time went (filled in by write_batch when given): the rows of the revisions
    written (`rows`) and of those the rows actually deleted and inserted (`changed`, fewer on a
    re-index); building the new rows' text and comparing them with the old ones in Python, and the
    SQL (reading the old rows, deleting, copying; the commit is the caller's)."""

    rows: int = 0
    changed: int = 0
    prepare_seconds: float = 0.0
    write_seconds: float = 0.0


class RepoIndex(Record):
    uri: str
    revision: str | None
    scan: Scan


def _json(value: object) -> str:
    """The row's JSON with its keys sorted: the one text of its value that a re-index compares the
    rows it finds with (see _canonical), and what COPY sends."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _exact(value: object) -> bool:
    """Whether orjson read a JSON value exactly: it reads a number with a fraction or exponent, or
    an integer past 64 bits, as a float, which may have lost digits the jsonb kept."""
    if isinstance(value, dict):
        return all(_exact(item) for item in value.values())
    if isinstance(value, list):
        return all(_exact(item) for item in value)
    return not isinstance(value, float)


# Where PostgreSQL's rendering of a jsonb value can hold a number: at the start, after ": ", "[" or
# ", ". Text without a match has none (the rows' own JSON has none: names, ranges, paths); a match
# (a number, or a string such as "a, 1") sends the value through _exact.
_MAYBE_NUMBER = re.compile(r"(?:^|: |\[|, )[-0-9]")


def _canonical(text: str | None) -> str | None:
    """A found row's JSON (as PostgreSQL renders jsonb) in the form _json writes, so that equal
    values compare equal as text; "" for SQL NULL (hints may be); None when it cannot be compared
    exactly (the row is then rewritten, which is never wrong)."""
    if text is None:
        return ""
    value = orjson.loads(text)
    return _json(value) if _MAYBE_NUMBER.search(text) is None or _exact(value) else None


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Building a batch's rows allocates hundreds of thousands of tuples and strings, and no cycle:
    the cyclic collector would walk them (and all the process holds) again and again meanwhile, a
    third of the Python time of a re-index (bench/bench_writer.py). Only around code that does not
    await, so no other task runs while it waits; it runs again at the first allocations after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_Key = tuple[int, str, str, str]  # (repo_id, language, data JSON, hints JSON or "" for SQL NULL)


class _Found:
    """The rows a re-index finds, by what they hold: a new row equal to one of them takes it (the
    row stays as it is, id included); the rows no new row took are the ones to delete."""

    def __init__(self, rows: Sequence[IndexedRow]) -> None:
        self._ids: dict[_Key, list[tuple[int, int]]] = {}
        self._incomparable: list[tuple[int, int]] = []
        # Many rows hold the same JSON (hints such as {"path": "package.json"}, a popular package's
        # usual range): each distinct text is read once per batch.
        seen: dict[str | None, str | None] = {}
        for row in rows:
            data = seen[row.data] if row.data in seen else seen.setdefault(row.data, _canonical(row.data))
            hints = seen[row.hints] if row.hints in seen else seen.setdefault(row.hints, _canonical(row.hints))
            if data is None or hints is None:
                self._incomparable.append((row.repo_id, row.id))
            else:
                self._ids.setdefault((row.repo_id, row.language, data, hints), []).append((row.repo_id, row.id))

    def take(self, key: _Key) -> bool:
        ids = self._ids.get(key)
        if not ids:
            return False
        ids.pop()
        return True

    def untaken(self) -> list[tuple[int, int]]:
        return self._incomparable + [found for ids in self._ids.values() for found in ids]


_DEPTH_MAX = 32767  # the column is a smallint; no real lock is this deep


def _resolved_record(repo_id: int, language: str, dep: ResolvedDependency) -> tuple[int | str, ...]:
    """A `resolved_dep` row in RESOLVED_COLUMNS' order, led by (language, package, version) so that
    sorting the batch puts rows in the dependents index's order (as for global_dep)."""
    row = (
        repo_id,
        language,
        dep.package,
        dep.version,
        min(dep.depth, _DEPTH_MAX),
        "t" if dep.dev else "f",
        "t" if dep.optional else "f",
        dep.path,
        index_store.array_text(dep.parents),
        index_store.array_text(dep.via),
        _json(dep.hints),
    )
    return (language, dep.package, dep.version, *row)


async def write_batch(
    conn: asyncpg.Connection, batch: Sequence[RepoIndex], languages: Sequence[str], stats: WriteStats | None = None
) -> list[WriteOutcome]:
    """Replace each repository's rows for `languages`, all in one transaction."""
    stats = stats if stats is not None else WriteStats()
    async with conn.transaction():
        # One item per repository (a URI is case-insensitive): the revision a new one is created with.
        first: dict[str, RepoIndex] = {}
        for item in batch:
            first.setdefault(item.uri.lower(), item)
        created = await index_store.register_repos(
            conn, [item.uri for item in first.values()], [item.revision for item in first.values()]
        )
        recorded = {repo.id: repo.indexed_revision for repo in created}  # created with it: nothing indexed before
        ids: dict[str, tuple[int, str | None]] = {repo.uri.lower(): (repo.id, None) for repo in created}
        known = sorted(item.uri for key, item in first.items() if key not in ids)
        ids.update(
            {repo.uri.lower(): (repo.id, repo.indexed_revision) for repo in await index_store.lock_repos(conn, known)}
        )
        outcomes: list[WriteOutcome] = []
        changed: list[tuple[int, RepoIndex]] = []
        for item in batch:
            repo_id, indexed = ids[item.uri.lower()]
            if item.revision is not None and indexed == item.revision:
                outcomes.append(WriteOutcome(repo_id, False, 0, 0))
            else:
                changed.append((repo_id, item))
                scanned = item.scan
                outcomes.append(
                    WriteOutcome(repo_id, True, len(scanned.packages), len(scanned.dependencies), len(scanned.resolved))
                )
        if not changed:
            return outcomes
        await index_store.tune_for_bulk_writes(conn)
        await _replace_dependencies(conn, changed, languages, stats)
        await _replace_packages(conn, changed, languages, stats)
        await _replace_resolved(conn, changed, languages, stats)
        # A repository created above already records its revision: updating it again would write
        # a second version of its row (and of its index entries) for nothing.
        to_record = [
            (repo_id, item.revision)
            for repo_id, item in changed
            if repo_id not in recorded or recorded[repo_id] != item.revision
        ]
        if to_record:
            await index_store.record_revisions(conn, [r for r, _ in to_record], [v for _, v in to_record])
        return outcomes


async def _replace_dependencies(
    conn: asyncpg.Connection, changed: Sequence[tuple[int, RepoIndex]], languages: Sequence[str], stats: WriteStats
) -> None:
    """`global_dep`: the new rows, in (language, package) order, against the ones found."""
    started = time.perf_counter()
    wanted = set(languages)
    with _cyclic_gc_paused():
        # (language, package, …) tuples sort natively, in the order of the package-keyed indexes
        ordered = sorted(
            (lang, dep.package, repo_id, _json(dep.dep_data()), _json(dep.hint_data()))
            for repo_id, item in changed
            for lang, dep in item.scan.dependencies
            if lang in wanted
        )
        new = [(repo_id, lang, data, hints) for lang, _, repo_id, data, hints in ordered]
    stats.prepare_seconds += time.perf_counter() - started
    inserted, deleted = await _compare(conn, index_store.indexed_dependencies, changed, languages, new, stats)
    started = time.perf_counter()
    await index_store.delete_dependencies_by_id(conn, deleted)
    await index_store.copy_dependencies(conn, inserted)
    stats.write_seconds += time.perf_counter() - started


async def _replace_packages(
    conn: asyncpg.Connection, changed: Sequence[tuple[int, RepoIndex]], languages: Sequence[str], stats: WriteStats
) -> None:
    """`pkgs`, as _replace_dependencies does `global_dep` (a package row has no hints)."""
    started = time.perf_counter()
    wanted = set(languages)
    new = [
        (repo_id, lang, _json(pkg.as_row()), "")
        for repo_id, item in changed
        for lang, pkg in item.scan.packages
        if lang in wanted
    ]
    stats.prepare_seconds += time.perf_counter() - started
    inserted, deleted = await _compare(conn, index_store.indexed_packages, changed, languages, new, stats)
    started = time.perf_counter()
    await index_store.delete_packages_by_id(conn, deleted)
    await index_store.copy_packages(conn, [(repo_id, lang, data) for repo_id, lang, data, _ in inserted])
    stats.write_seconds += time.perf_counter() - started


async def _replace_resolved(
    conn: asyncpg.Connection, changed: Sequence[tuple[int, RepoIndex]], languages: Sequence[str], stats: WriteStats
) -> None:
    """`resolved_dep`: the repositories' rows deleted and the new ones COPied, in (language, package,
    version) order. Not compared row by row yet (as _replace_dependencies does): measure it with
    bench/bench_writer.py's re-index workload first."""
    started = time.perf_counter()
    wanted = set(languages)
    with _cyclic_gc_paused():
        keyed = sorted(
            _resolved_record(repo_id, lang, dep)
            for repo_id, item in changed
            for lang, dep in item.scan.resolved
            if lang in wanted
        )
        records = [keyed_row[3:] for keyed_row in keyed]
    prepared = time.perf_counter()
    await index_store.delete_resolved(conn, [repo_id for repo_id, _ in changed], languages)
    await index_store.copy_resolved(conn, records)
    stats.rows += len(records)
    stats.changed += len(records)
    stats.prepare_seconds += prepared - started
    stats.write_seconds += time.perf_counter() - prepared


ReadIndexed = Callable[[asyncpg.Connection, Sequence[int], Sequence[str]], Awaitable[list[IndexedRow]]]


async def _compare(
    conn: asyncpg.Connection,
    read: ReadIndexed,
    changed: Sequence[tuple[int, RepoIndex]],
    languages: Sequence[str],
    new: list[_Key],
    stats: WriteStats,
) -> tuple[list[_Key], list[tuple[int, int]]]:
    """The new rows to insert (those not found, in their order) and the (repo_id, id) of the found
    rows to delete (those no new row took). Repositories indexed for the first time have no rows:
    everything is inserted."""
    started = time.perf_counter()
    indexed = await read(conn, [repo_id for repo_id, _ in changed], languages)
    compared = time.perf_counter()
    if indexed:
        with _cyclic_gc_paused():
            found = _Found(indexed)
            inserted = [key for key in new if not found.take(key)]
            deleted = found.untaken()
    else:
        inserted, deleted = new, []
    stats.write_seconds += compared - started
    stats.prepare_seconds += time.perf_counter() - compared
    stats.rows += len(new)
    stats.changed += len(inserted) + len(deleted)
    return inserted, deleted


async def write_index(
    conn: asyncpg.Connection, uri: str, revision: str | None, scan: Scan, languages: Sequence[str]
) -> WriteOutcome:
    """One repository (see write_batch)."""
    [outcome] = await write_batch(conn, [RepoIndex(uri, revision, scan)], languages)
    return outcome
