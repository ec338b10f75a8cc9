"""Dependents by resolved version (`resolved_dep`, migration 16): who runs a package at a version a
lockfile resolved, directly or through something else, and through what.

Read in two steps, like the declared dependents: the service takes the package's distinct resolved
versions (with their counts, cached) and picks those an asked version or range matches by the
ecosystem's own rules; `dependents_page` then pages the rows of exactly those versions, keyset on
(repo_id, row id), from the `resolved_dep_dependents` index. The indexer's writer fills the table
(registry.store.package_index.copy_resolved).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset
from registry.domain.page import Column, CursorCodec, Page, PageRequest

_SQL = queries.load(__file__)

# (repo_id serial, resolved_dep identity); the first page continues after (0, 0), below every row,
# so that the statement compares the key without an `IS NULL OR`, which keeps the index's order usable.
RESOLVED_ORDER = CursorCodec(Column.INT4, Column.INT8)


class VersionCount(FromRow):
    """One resolved version of a package: how many repositories, and rows (lockfiles), run it."""

    version: str
    repos: int
    rows: int


class Totals(FromRow):
    rows: int
    repos: int


class ResolvedRow(FromRow):
    """A repository running the package at `version`: `depth` 1 is direct, 0 unknown; `via` one
    shortest path from the root (the packages between, as `name@version`)."""

    repo_id: int
    row_id: int
    version: str
    depth: int
    dev: bool
    optional: bool
    lockfile: str
    via: list[str]
    repo: str


_RESOLVED: Keyset[ResolvedRow] = Keyset(
    RESOLVED_ORDER, ("after_repo", "after_id"), lambda row: (row.repo_id, row.row_id), first=0
)


async def version_counts(conn: asyncpg.Connection, language: str, package: str) -> list[VersionCount]:
    return await _SQL.version_counts.all(conn, VersionCount, language=language, package=package)


async def matched_totals(
    conn: asyncpg.Connection,
    language: str,
    package: str,
    versions: Sequence[str],
    *,
    direct: bool | None,
    dev: bool | None,
) -> Totals:
    return await _SQL.matched_totals.single(
        conn, Totals, language=language, package=package, versions=list(versions), direct=direct, dev=dev
    )


async def dependents_page(
    conn: asyncpg.Connection,
    language: str,
    package: str,
    versions: Sequence[str],
    page: PageRequest,
    *,
    direct: bool | None,
    dev: bool | None,
    in_order: bool = False,
) -> Page[ResolvedRow]:
    """A page of the rows running one of `versions`, keyset by (repository, row); without a `dev`
    filter from an index alone until the page's own rows are read. `in_order`: the versions hold
    most of the package's rows, so one ordered scan finds a page sooner than a merge per version."""
    params = {"language": language, "package": package, "versions": list(versions), "direct": direct}
    if dev is None:
        query = _SQL.dependents_page_in_order if in_order else _SQL.dependents_page
        return await query.page(conn, ResolvedRow, _RESOLVED, page, **params)
    return await _SQL.dependents_page_by_dev.page(conn, ResolvedRow, _RESOLVED, page, **params, dev=dev)
