"""The package index: repositories (`repo`), what they define (`pkgs`) and depend on (`global_dep`).

The API reads it, the indexer writes it, both through this module. Dependents of a package with
few of them are found with `dep_data @> {"package": …}`, which the seed's `global_dep_idxgin`
(jsonb_path_ops) answers; a popular package's pages come from the ordered `global_dep_dependents`
btree instead, which can stop after one page (migration 3 says why). Pages are keyset on
(repo_id, id): stable while the index is rewritten underneath.

A revision is written by staging its rows with COPY into temporary tables and replacing the
repository's rows from them, in the caller's transaction, with the repositories' rows locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset
from registry.domain.page import Column, CursorCodec, Page, PageRequest
from registry.domain.record import Record

_SQL = queries.load(__file__)

# The orderings of the pages, by their keys' columns: (repo_id, row id) is an integer (serial)
# and a bigint identity.
DEPENDENTS_ORDER = CursorCodec(Column.INT4, Column.INT8)
DEFINERS_ORDER = CursorCodec(Column.INT4, Column.INT8)

DEPENDENTS_BY_GIN = _SQL.dependents_by_gin
DEPENDENTS_IN_ORDER = _SQL.dependents_in_order
FEW_DEPENDENTS = 2000
"""Up to this many, the GIN index collects a package's rows cheaply; beyond it, the ordered
btree stops after one page instead."""


class DependentRow(FromRow):
    repo_id: int
    row_id: int
    repo: str
    declared_range: str
    dep_type: str | None
    path: str | None


_DEPENDENTS: Keyset[DependentRow] = Keyset(
    DEPENDENTS_ORDER, ("after_repo", "after_id"), lambda row: (row.repo_id, row.row_id)
)


class RangeCount(FromRow):
    declared_range: str
    count: int


class Definer(FromRow):
    """A `pkgs` row: the repository and its manifest's {"name", "version", "path"}."""

    repo_id: int
    id: int
    repo: str
    pkg: dict[str, Any]


_DEFINERS: Keyset[Definer] = Keyset(DEFINERS_ORDER, ("after_repo", "after_id"), lambda row: (row.repo_id, row.id))


class RepoRow(FromRow):
    """A repository's dependency (with its hints) or package, as its JSON document holds it."""

    id: int
    language: str
    data: dict[str, Any]
    hints: dict[str, Any] | None


REPO_ROWS_ORDER: Keyset[RepoRow] = Keyset(CursorCodec(Column.INT8), ("after",), lambda row: (row.id,), first=0)


class Repo(FromRow):
    id: int
    uri: str
    indexed_revision: str | None
    created_at: datetime
    updated_at: datetime | None


class LockedRepo(FromRow):
    id: int
    uri: str
    indexed_revision: str | None


class LanguageCounts(FromRow):
    language: str
    packages: int
    dependencies: int


class IndexStatus(Record):
    repos: int
    indexed_repos: int
    languages: tuple[LanguageCounts, ...]


# -- reading ---------------------------------------------------------------------------------


async def dependents_page(
    conn: asyncpg.Connection,
    language: str,
    package: str,
    *,
    matching: int,
    page: PageRequest,
    declared_ranges: Sequence[str] | None = None,
) -> Page[DependentRow]:
    """A page of dependents (only those declaring one of `declared_ranges`, if given). `matching` (how
    many rows the package has, from the summary) picks the index that answers best."""
    query = DEPENDENTS_BY_GIN if matching <= FEW_DEPENDENTS else DEPENDENTS_IN_ORDER
    return await query.page(
        conn,
        DependentRow,
        _DEPENDENTS,
        page,
        package=package,
        language=language,
        declared_ranges=list(declared_ranges) if declared_ranges is not None else None,
    )


async def dependents_by_range(conn: asyncpg.Connection, language: str, package: str) -> list[RangeCount]:
    """How many dependents declare each range, the most declared first."""
    return await _SQL.dependents_by_range.all(conn, RangeCount, language=language, package=package)


async def definers_page(conn: asyncpg.Connection, language: str, name: str, page: PageRequest) -> Page[Definer]:
    return await _SQL.definers.page(conn, Definer, _DEFINERS, page, name=name, language=language)


async def repo_dependencies(conn: asyncpg.Connection, repo_id: int, page: PageRequest) -> Page[RepoRow]:
    return await _SQL.repo_dependencies.page(conn, RepoRow, REPO_ROWS_ORDER, page, repo_id=repo_id)


async def repo_packages(conn: asyncpg.Connection, repo_id: int, page: PageRequest) -> Page[RepoRow]:
    return await _SQL.repo_packages.page(conn, RepoRow, REPO_ROWS_ORDER, page, repo_id=repo_id)


async def repo_by_uri(conn: asyncpg.Connection, uri: str) -> Repo | None:
    return await _SQL.repo_by_uri.one(conn, Repo, uri=uri)


async def index_status(conn: asyncpg.Connection) -> IndexStatus:
    """How much of the index is filled: repositories, and rows per language."""
    repos = await _SQL.repo_counts.fetchrow(conn)
    assert repos is not None  # an aggregate always answers one row
    languages = await _SQL.rows_per_language.all(conn, LanguageCounts)
    return IndexStatus(repos=repos["repos"], indexed_repos=repos["indexed_repos"], languages=tuple(languages))


# -- writing ---------------------------------------------------------------------------------


async def ensure_repo(conn: asyncpg.Connection, uri: str) -> int:
    """The repository's id, registering it on first sight."""
    repo_id: int = await _SQL.ensure_repo.fetchval(conn, uri=uri)
    return repo_id


async def lock_repos(conn: asyncpg.Connection, uris: Sequence[str]) -> list[LockedRepo]:
    """Register the repositories not yet known and lock all their rows (in URI order, so batches
    never deadlock) until the caller's transaction ends."""
    await _SQL.register_repos.execute(conn, uris=list(uris))
    return await _SQL.lock_repos.all(conn, LockedRepo, uris=list(uris))


async def stage_rows(
    conn: asyncpg.Connection,
    dependencies: Sequence[tuple[int, str, str, str]],
    packages: Sequence[tuple[int, str, str]],
) -> None:
    """COPY the new rows into temporary tables dropped at commit: (repo_id, language, dep_data
    JSON, hints JSON) and (repo_id, language, pkg JSON)."""
    await _SQL.create_temporary_incoming_dep.execute(conn)
    await _SQL.create_temporary_incoming_pkg.execute(conn)
    await conn.copy_records_to_table("incoming_dep", records=dependencies)
    await conn.copy_records_to_table("incoming_pkg", records=packages)


async def replace_rows(conn: asyncpg.Connection, repo_ids: Sequence[int], languages: Sequence[str]) -> None:
    """Replace the repositories' rows of `languages` with the staged ones."""
    for statement in (
        _SQL.delete_dependencies,
        _SQL.delete_packages,
        _SQL.insert_staged_dependencies,
        _SQL.insert_staged_packages,
    ):
        await statement.execute(conn, repo_ids=list(repo_ids), languages=list(languages))


async def record_revisions(conn: asyncpg.Connection, repo_ids: Sequence[int], revisions: Sequence[str | None]) -> None:
    await _SQL.record_revisions.execute(conn, repo_ids=list(repo_ids), revisions=list(revisions))
