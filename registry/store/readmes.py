"""Rendered READMEs, one per release, written once (migration 5: registry_release_readmes)."""

from __future__ import annotations

import asyncpg

from registry.readme import RenderedReadme


async def insert_readme(conn: asyncpg.Connection, release_id: int, readme: RenderedReadme) -> None:
    """Keep a release's rendered README; a second rendering of the same release changes nothing."""
    await conn.execute(
        "-- source: registry/store/readmes.py:insert_readme\n"
        "INSERT INTO registry_release_readmes (release_id, html, plain)"
        " SELECT $1, $2, $3 WHERE EXISTS (SELECT FROM registry_extension_releases WHERE id = $1)"
        " ON CONFLICT (release_id) DO NOTHING",
        release_id,
        readme.html,
        readme.plain,
    )


async def readme_of(conn: asyncpg.Connection, release_id: int) -> RenderedReadme | None:
    row = await conn.fetchrow(
        "-- source: registry/store/readmes.py:readme_of\n"
        "SELECT html, plain FROM registry_release_readmes WHERE release_id = $1",
        release_id,
    )
    return RenderedReadme(row["html"], row["plain"]) if row else None
