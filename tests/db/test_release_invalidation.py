"""Migration 18: a release announces its extension's change by reading its one column, and what it
announces is what migration 10's generic row trigger announced."""

from __future__ import annotations

import asyncpg

from registry.db.migrate import load_migrations, migrate_down, migrate_up
from registry.resources import migrations_dir
from tests.support.factories import make_user

_ANNOUNCED = "SELECT current_setting('wharf.invalidations', true)"
_RELEASE_TRIGGER = (
    "SELECT p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
    " WHERE t.tgrelid = 'registry_extension_releases'::regclass AND t.tgname = 'registry_extension_releases_invalidate'"
)


async def _extension(db: asyncpg.Connection, user_id: int, name: str) -> int:
    extension_id: int = await db.fetchval(
        "INSERT INTO registry_extensions (uuid, publisher_user_id, name)"
        " VALUES (gen_random_uuid(), $1, $2) RETURNING id",
        user_id,
        name,
    )
    return extension_id


async def _announced_by(db: asyncpg.Connection, statement: str, *args: object) -> list[str]:
    async with db.transaction():
        await db.execute(statement, *args)
        announced: str | None = await db.fetchval(_ANNOUNCED)
    return [line for line in (announced or "").splitlines() if line]


async def test_publishing_yanking_and_deleting_a_release_announce_its_extension(db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    extension = await _extension(db, alice.id, "wc")
    insert = (
        "INSERT INTO registry_extension_releases (registry_extension_id, creator_user_id, release_version,"
        " release_tag, manifest, bundle) VALUES ($1, $2, '1.0.0', 'release', '{}', repeat('x', 1 << 20))"
    )
    assert await _announced_by(db, insert, extension, alice.id) == [f"extension:{extension}"]
    release = await db.fetchval(
        "SELECT id FROM registry_extension_releases WHERE registry_extension_id = $1", extension
    )
    yank = "UPDATE registry_extension_releases SET deleted_at = now() WHERE id = $1"
    assert await _announced_by(db, yank, release) == [f"extension:{extension}"]
    delete = "DELETE FROM registry_extension_releases WHERE id = $1"
    assert await _announced_by(db, delete, release) == [f"extension:{extension}"]


async def test_migration_18_swaps_the_release_trigger_and_back(empty_db_url: str) -> None:
    conn = await asyncpg.connect(empty_db_url)
    try:
        migrations = load_migrations(migrations_dir())
        await migrate_up(conn, [m for m in migrations if m.version < 18])
        assert await conn.fetchval(_RELEASE_TRIGGER) == "wharf_invalidate_row"
        assert await migrate_up(conn, migrations, steps=1) == [18]
        assert await conn.fetchval(_RELEASE_TRIGGER) == "wharf_invalidate_release"
        assert await migrate_down(conn, migrations, steps=1) == [18]
        assert await conn.fetchval(_RELEASE_TRIGGER) == "wharf_invalidate_row"
    finally:
        await conn.close()
