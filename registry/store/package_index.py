"""The package index as the API reads it: dependents, definers, a repository's rows.

Dependents are found with `dep_data @> {"package": …}` so that `global_dep_idxgin` (jsonb_path_ops)
answers; the language is a second predicate on the same rows. Pages are keyset on
(repo_id, id): stable while the index is rewritten underneath.
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
    range: str
    dep_type: str | None
    path: str | None


@dataclass(frozen=True)
class RangeCount:
    range: str
    count: int


@dataclass(frozen=True)
class Repo:
    id: int
    uri: str
    indexed_revision: str | None
    created_at: datetime
    updated_at: datetime | None


def _dependent(row: asyncpg.Record) -> DependentRow:
    return DependentRow(row["repo_id"], row["id"], row["uri"], row["range"] or "", row["dep_type"], row["path"])


DEPENDENTS_SQL = (
    "-- source: registry/store/package_index.py:dependents_page\n"
    "SELECT g.repo_id, g.id, r.uri::text, g.dep_data->>'version' AS range, g.dep_data->>'depType' AS dep_type,"
    "       g.hints->>'path' AS path, count(*) OVER () AS total"
    "  FROM global_dep g JOIN repo r ON r.id = g.repo_id"
    " WHERE g.dep_data @> jsonb_build_object('package', $1::text) AND g.language = $2"
    "   AND ($3::text[] IS NULL OR coalesce(g.dep_data->>'version', '') = ANY($3::text[]))"
    "   AND ($4::int IS NULL OR (g.repo_id, g.id) > ($4::int, $5::bigint))"
    " ORDER BY g.repo_id, g.id LIMIT $6"
)


async def dependents_page(
    conn: asyncpg.Connection,
    language: str,
    package: str,
    *,
    after: tuple[int, int] | None,
    limit: int,
    ranges: Sequence[str] | None = None,
) -> tuple[list[DependentRow], int]:
    """A page of dependents (only those declaring one of `ranges`, if given), and how many
    match in all (counted in the same scan)."""
    rows = await conn.fetch(
        DEPENDENTS_SQL,
        package,
        language,
        list(ranges) if ranges is not None else None,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_dependent(row) for row in rows], (rows[0]["total"] if rows else 0)


async def dependents_by_range(conn: asyncpg.Connection, language: str, package: str) -> list[RangeCount]:
    """How many dependents declare each range (the dependents summary)."""
    rows = await conn.fetch(
        "-- source: registry/store/package_index.py:dependents_by_range\n"
        "SELECT coalesce(dep_data->>'version', '') AS range, count(*) AS n FROM global_dep"
        " WHERE dep_data @> jsonb_build_object('package', $1::text) AND language = $2"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
        package,
        language,
    )
    return [RangeCount(row["range"], row["n"]) for row in rows]


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
