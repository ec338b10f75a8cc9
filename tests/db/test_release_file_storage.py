"""Migration 11: bundles and source maps are stored without pglz — lz4 where the server has it,
else out of line uncompressed — on every build, with the seed's column types kept."""

from __future__ import annotations

import asyncpg

from registry.db.migrate import load_migrations, migrate_down, migrate_up
from registry.resources import migrations_dir

_STORAGE = (
    "SELECT attname, format_type(atttypid, atttypmod) AS type, attstorage::text, attcompression::text FROM pg_attribute"
    " WHERE attrelid = 'registry_extension_releases'::regclass AND attname IN ('bundle', 'source_map')"
    " ORDER BY attname"
)


async def _has_lz4(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval("SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    )


async def test_bundles_and_source_maps_are_stored_with_lz4_or_uncompressed_as_the_server_allows(
    empty_db_url: str,
) -> None:
    conn = await asyncpg.connect(empty_db_url)
    try:
        migrations = load_migrations(migrations_dir())
        await migrate_up(conn, [m for m in migrations if m.version < 11])
        seed = [tuple(row) for row in await conn.fetch(_STORAGE)]
        assert seed == [("bundle", "text", "x", ""), ("source_map", "text", "x", "")]

        assert await migrate_up(conn, migrations, steps=1) == [11]
        expected = ("x", "l") if await _has_lz4(conn) else ("e", "")
        assert [tuple(row) for row in await conn.fetch(_STORAGE)] == [
            ("bundle", "text", *expected),
            ("source_map", "text", *expected),
        ]

        assert await migrate_down(conn, migrations, steps=1) == [11]
        assert [tuple(row) for row in await conn.fetch(_STORAGE)] == seed
    finally:
        await conn.close()
