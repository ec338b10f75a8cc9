"""SQL of the package index that the indexer itself reads."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class LanguageCounts:
    language: str
    packages: int
    dependencies: int


@dataclass(frozen=True)
class IndexStatus:
    repos: int
    indexed_repos: int
    languages: tuple[LanguageCounts, ...]


async def index_status(conn: asyncpg.Connection) -> IndexStatus:
    """How much of the index is filled: repositories, and rows per language."""
    repos = await conn.fetchrow(
        "-- source: indexer/store.py:index_status\n"
        "SELECT count(*) AS repos, count(indexed_revision) AS indexed FROM repo WHERE enabled"
    )
    rows = await conn.fetch(
        "-- source: indexer/store.py:index_status\n"
        "SELECT language, sum(packages)::bigint AS packages, sum(dependencies)::bigint AS dependencies FROM ("
        "  SELECT language, count(*) AS packages, 0 AS dependencies FROM pkgs GROUP BY language"
        "  UNION ALL"
        "  SELECT language, 0, count(*) FROM global_dep GROUP BY language"
        ") counts GROUP BY language ORDER BY language"
    )
    return IndexStatus(
        repos=repos["repos"],
        indexed_repos=repos["indexed"],
        languages=tuple(LanguageCounts(r["language"], r["packages"], r["dependencies"]) for r in rows),
    )
