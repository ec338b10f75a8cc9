"""Rendered READMEs, one per release, written once (migration 5: registry_release_readmes)."""

from __future__ import annotations

import asyncpg

from registry.db import queries
from registry.readme import RenderedReadme

_SQL = queries.load(__file__)


async def insert_readme(conn: asyncpg.Connection, release_id: int, readme: RenderedReadme) -> None:
    """Keep a release's rendered README; a second rendering of the same release changes nothing."""
    await _SQL.insert_readme.execute(conn, release_id=release_id, html=readme.html, plain=readme.plain)


async def readme_of(conn: asyncpg.Connection, release_id: int) -> RenderedReadme | None:
    return await _SQL.readme_of.one(conn, RenderedReadme, release_id=release_id)
