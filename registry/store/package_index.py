"""The package index as the API reads it: dependents, definers, a repository's rows.

Dependents of a package with few of them are found with `dep_data @> {"package": …}`, which the
seed's `global_dep_idxgin` (jsonb_path_ops) answers; a popular package's pages come from the
ordered `global_dep_dependents` btree instead, which can stop after one page (migration 3 says
why). Pages are keyset on (repo_id, id): stable while the index is rewritten underneath.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class DependentRow:
    repo_id: int
    row_id: int
    repo: str
    declared_range: str
    dep_type: str | None
    path: str | None


@dataclass(frozen=True)
class RangeCount:
    declared_range: str
    count: int


@dataclass(frozen=True)
class Repo:
    id: int
    uri: str
    indexed_revision: str | None
    created_at: datetime
    updated_at: datetime | None


def _dependent(row: asyncpg.Record) -> DependentRow:
    return DependentRow(
        row["repo_id"], row["id"], row["uri"], row["declared_range"] or "", row["dep_type"], row["path"]
    )


# A page of dependents, two ways (see migration 3). Both return the same columns in the same
# keyset order; `$3` (declared ranges to keep, or NULL for all) and `$4`/`$5` (the cursor) apply
# to both. Only the page's rows are joined to `repo`.
_PAGE_COLUMNS = (
    "g.repo_id, g.id, g.declared AS declared_range, g.dep_data->>'depType' AS dep_type, g.hints->>'path' AS path"
)
_PAGE_FILTERS = (
    "   AND ($3::text[] IS NULL OR g.declared = ANY($3::text[]))"
    "   AND ($4::int IS NULL OR (g.repo_id, g.id) > ($4::int, $5::bigint))"
    " ORDER BY g.repo_id, g.id LIMIT $6"
)
DEPENDENTS_BY_GIN_SQL = (
    "-- source: registry/store/package_index.py:dependents_page (gin)\n"  # noqa: S608 (module constants only)
    f"SELECT p.*, r.uri::text FROM (SELECT {_PAGE_COLUMNS} FROM global_dep g"
    " WHERE g.dep_data @> jsonb_build_object('package', $1::text) AND g.language = $2"
    f"{_PAGE_FILTERS}) p JOIN repo r ON r.id = p.repo_id ORDER BY p.repo_id, p.id"
)
DEPENDENTS_IN_ORDER_SQL = (
    "-- source: registry/store/package_index.py:dependents_page (btree)\n"  # noqa: S608 (module constants only)
    f"SELECT p.*, r.uri::text FROM (SELECT {_PAGE_COLUMNS} FROM global_dep g"
    " WHERE g.language = $2 AND g.package = $1"
    f"{_PAGE_FILTERS}) p JOIN repo r ON r.id = p.repo_id ORDER BY p.repo_id, p.id"
)
FEW_DEPENDENTS = 2000
"""Up to this many, the GIN index collects a package's rows cheaply; beyond it, the ordered
btree stops after one page instead."""


async def dependents_page(
    conn: asyncpg.Connection,
    language: str,
    package: str,
    *,
    matching: int,
    after: tuple[int, int] | None,
    limit: int,
    declared_ranges: Sequence[str] | None = None,
) -> list[DependentRow]:
    """A page of dependents (only those declaring one of `declared_ranges`, if given). `matching` (how
    many rows the package has, from the summary) picks the index that answers best."""
    sql = DEPENDENTS_BY_GIN_SQL if matching <= FEW_DEPENDENTS else DEPENDENTS_IN_ORDER_SQL
    rows = await conn.fetch(
        sql,
        package,
        language,
        list(declared_ranges) if declared_ranges is not None else None,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_dependent(row) for row in rows]


async def dependents_by_range(conn: asyncpg.Connection, language: str, package: str) -> list[RangeCount]:
    """How many dependents declare each range: an index-only scan of `global_dep_dependents`."""
    rows = await conn.fetch(
        "-- source: registry/store/package_index.py:dependents_by_range\n"
        "SELECT declared, count(*) AS n FROM global_dep WHERE language = $2 AND package = $1"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
        package,
        language,
    )
    return [RangeCount(row["declared"], row["n"]) for row in rows]


async def definers_page(
    conn: asyncpg.Connection, language: str, name: str, *, after: tuple[int, int] | None, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "-- source: registry/store/package_index.py:definers_page\n"
        "SELECT p.repo_id, p.id, r.uri::text AS repo, p.pkg FROM pkgs p JOIN repo r ON r.id = p.repo_id"
        " WHERE p.pkg @> jsonb_build_object('name', $1::text) AND p.language = $2"
        "   AND ($3::int IS NULL OR (p.repo_id, p.id) > ($3::int, $4::bigint))"
        " ORDER BY p.repo_id, p.id LIMIT $5",
        name,
        language,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [dict(row) for row in rows]


async def repo_by_uri(conn: asyncpg.Connection, uri: str) -> Repo | None:
    row = await conn.fetchrow(
        "-- source: registry/store/package_index.py:repo_by_uri\n"
        "SELECT id, uri::text, indexed_revision, created_at, updated_at FROM repo WHERE uri = $1",
        uri,
    )
    return Repo(**dict(row)) if row else None


async def repo_rows(
    conn: asyncpg.Connection, table: str, repo_id: int, *, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """A repository's dependencies (`global_dep`) or packages (`pkgs`), in id order."""
    sql = {
        "global_dep": "SELECT id, language, dep_data AS data, hints FROM global_dep",
        "pkgs": "SELECT id, language, pkg AS data, NULL::jsonb AS hints FROM pkgs",
    }[table]
    rows = await conn.fetch(
        f"-- source: registry/store/package_index.py:repo_rows\n{sql}"
        " WHERE repo_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        repo_id,
        after or 0,
        limit,
    )
    return [dict(row) for row in rows]
