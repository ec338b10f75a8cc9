"""Writing repositories' indexes atomically, one repository or a batch at a time.

In one transaction: upsert and lock the repositories' rows, load the new rows with COPY into
temporary tables, replace each repository's rows for the indexed languages, and record the
revisions. Readers see the old index until the commit and the new one after it, never a mix;
a repository whose revision is already recorded is left as it is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import orjson

from indexer.scan import Scan


@dataclass(frozen=True)
class WriteOutcome:
    repo_id: int
    written: bool  # False: the revision was already indexed
    packages: int
    dependencies: int


@dataclass
class WriteStats:
    """Where a batch's time went (filled in by write_batch when given): the bulk load of the
    new rows, and the replacement in the tables with their indexes."""

    rows: int = 0
    copy_seconds: float = 0.0
    replace_seconds: float = 0.0


@dataclass(frozen=True)
class RepoIndex:
    uri: str
    revision: str | None
    scan: Scan


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


_STATEMENTS = (
    "-- source: indexer/writer.py:write_batch (replace)\n"
    "DELETE FROM global_dep WHERE repo_id = ANY($1::int[]) AND language = ANY($2::text[])",
    "-- source: indexer/writer.py:write_batch (replace)\n"
    "DELETE FROM pkgs WHERE repo_id = ANY($1::int[]) AND language = ANY($2::text[])",
    "-- source: indexer/writer.py:write_batch (replace)\n"
    "INSERT INTO global_dep (language, dep_data, repo_id, hints)"
    " SELECT language, dep_data::jsonb, repo_id, hints::jsonb FROM incoming_dep"
    " WHERE repo_id = ANY($1::int[]) AND language = ANY($2::text[])",
    "-- source: indexer/writer.py:write_batch (replace)\n"
    "INSERT INTO pkgs (repo_id, language, pkg)"
    " SELECT repo_id, language, pkg::jsonb FROM incoming_pkg"
    " WHERE repo_id = ANY($1::int[]) AND language = ANY($2::text[])",
)


async def _lock_repos(conn: asyncpg.Connection, uris: list[str]) -> dict[str, tuple[int, str | None]]:
    """Upsert the repositories and lock their rows (in URI order, so batches never deadlock)."""
    await conn.execute(
        "-- source: indexer/writer.py:lock_repos\n"
        "INSERT INTO repo (uri) SELECT DISTINCT unnest($1::text[]) ON CONFLICT (uri) DO NOTHING",
        uris,
    )
    locked = await conn.fetch(
        "-- source: indexer/writer.py:lock_repos\n"
        "SELECT id, uri::text, indexed_revision FROM repo WHERE uri = ANY($1::citext[]) ORDER BY uri FOR UPDATE",
        uris,
    )
    return {row["uri"].lower(): (row["id"], row["indexed_revision"]) for row in locked}


async def write_batch(
    conn: asyncpg.Connection, batch: Sequence[RepoIndex], languages: Sequence[str], stats: WriteStats | None = None
) -> list[WriteOutcome]:
    """Replace each repository's rows for `languages`, all in one transaction."""
    stats = stats if stats is not None else WriteStats()
    async with conn.transaction():
        ids = await _lock_repos(conn, sorted({item.uri for item in batch}))
        outcomes: list[WriteOutcome] = []
        changed: list[tuple[int, RepoIndex]] = []
        for item in batch:
            repo_id, indexed = ids[item.uri.lower()]
            if item.revision is not None and indexed == item.revision:
                outcomes.append(WriteOutcome(repo_id, False, 0, 0))
            else:
                changed.append((repo_id, item))
                outcomes.append(WriteOutcome(repo_id, True, len(item.scan.packages), len(item.scan.dependencies)))
        if not changed:
            return outcomes
        await conn.execute(
            "CREATE TEMPORARY TABLE incoming_dep (repo_id int, language text, dep_data text, hints text)"
            " ON COMMIT DROP;"
            "CREATE TEMPORARY TABLE incoming_pkg (repo_id int, language text, pkg text) ON COMMIT DROP"
        )
        started = time.perf_counter()
        dep_records = [
            (repo_id, lang, _json(dep.dep_data()), _json(dep.hint_data()))
            for repo_id, item in changed
            for lang, dep in item.scan.dependencies
        ]
        pkg_records = [
            (repo_id, lang, _json(pkg.as_row())) for repo_id, item in changed for lang, pkg in item.scan.packages
        ]
        await conn.copy_records_to_table("incoming_dep", records=dep_records)
        await conn.copy_records_to_table("incoming_pkg", records=pkg_records)
        copied = time.perf_counter()
        repo_ids = [repo_id for repo_id, _ in changed]
        for statement in _STATEMENTS:
            await conn.execute(statement, repo_ids, list(languages))
        await conn.execute(
            "-- source: indexer/writer.py:write_batch (revisions)\n"
            "UPDATE repo SET indexed_revision = r.revision, updated_at = now()"
            " FROM unnest($1::int[], $2::text[]) AS r(id, revision) WHERE repo.id = r.id",
            repo_ids,
            [item.revision for _, item in changed],
        )
        stats.rows += len(dep_records) + len(pkg_records)
        stats.copy_seconds += copied - started
        stats.replace_seconds += time.perf_counter() - copied
        return outcomes


async def write_index(
    conn: asyncpg.Connection, uri: str, revision: str | None, scan: Scan, languages: Sequence[str]
) -> WriteOutcome:
    """One repository (see write_batch)."""
    [outcome] = await write_batch(conn, [RepoIndex(uri, revision, scan)], languages)
    return outcome
