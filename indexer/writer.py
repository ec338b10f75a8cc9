"""Writing repositories' indexes atomically, one repository or a batch at a time (the SQL is
registry.store.package_index's, which the API reads through too).

In one transaction: upsert and lock the repositories' rows, delete their rows for the indexed
languages, COPY the new ones straight into the tables, and record the revisions. Readers see the
old index until the commit and the new one after it, never a mix; a repository whose revision is
already recorded is left as it is.

What makes it fast (each measured against the alternative by bench/bench_writer.py): one COPY
per table instead of staging tables and INSERT … SELECT; rows in (language, package) order, so
that the package-keyed btrees take them as runs on neighbouring pages; each row's JSON built once,
as text; asynchronous commit and a larger `work_mem` for the writer's own transactions
(registry.store.package_index.tune_for_bulk_writes says what a crash can lose).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import orjson

from indexer.scan import Scan
from registry.domain.record import Record
from registry.ecosystems.base import ResolvedDependency
from registry.store import package_index as index_store


class WriteOutcome(Record):
    repo_id: int
    written: bool  # False: the revision was already indexed
    packages: int
    dependencies: int
    resolved: int = 0


@dataclass
class WriteStats:
    """Where a batch's time went (filled in by write_batch when given): building the new rows' text
    in Python, and replacing the old rows with them in the tables and their indexes (the commit is
    the caller's)."""

    rows: int = 0
    prepare_seconds: float = 0.0
    write_seconds: float = 0.0


class RepoIndex(Record):
    uri: str
    revision: str | None
    scan: Scan


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


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
        locked = await index_store.lock_repos(conn, sorted({item.uri for item in batch}))
        ids = {repo.uri.lower(): (repo.id, repo.indexed_revision) for repo in locked}
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
        started = time.perf_counter()
        wanted = set(languages)
        # (language, package, …) tuples sort natively, in the order of the package-keyed indexes
        keyed = [
            (lang, dep.package, repo_id, _json(dep.dep_data()), _json(dep.hint_data()))
            for repo_id, item in changed
            for lang, dep in item.scan.dependencies
            if lang in wanted
        ]
        keyed.sort()
        dep_records = [(repo_id, lang, data, hints) for lang, _, repo_id, data, hints in keyed]
        pkg_records = [
            (repo_id, lang, _json(pkg.as_row()))
            for repo_id, item in changed
            for lang, pkg in item.scan.packages
            if lang in wanted
        ]
        resolved_keyed = sorted(
            _resolved_record(repo_id, lang, dep)
            for repo_id, item in changed
            for lang, dep in item.scan.resolved
            if lang in wanted
        )
        resolved_records = [keyed_row[3:] for keyed_row in resolved_keyed]
        prepared = time.perf_counter()
        repo_ids = [repo_id for repo_id, _ in changed]
        await index_store.tune_for_bulk_writes(conn)
        await index_store.delete_rows(conn, repo_ids, languages)
        await index_store.copy_rows(conn, dep_records, pkg_records, resolved_records)
        await index_store.record_revisions(conn, repo_ids, [item.revision for _, item in changed])
        stats.rows += len(dep_records) + len(pkg_records) + len(resolved_records)
        stats.prepare_seconds += prepared - started
        stats.write_seconds += time.perf_counter() - prepared
        return outcomes


async def write_index(
    conn: asyncpg.Connection, uri: str, revision: str | None, scan: Scan, languages: Sequence[str]
) -> WriteOutcome:
    """One repository (see write_batch)."""
    [outcome] = await write_batch(conn, [RepoIndex(uri, revision, scan)], languages)
    return outcome
