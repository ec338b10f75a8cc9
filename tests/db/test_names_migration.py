"""Migration 6 on a database that already holds releases: what was published before it is kept,
and the names of deleted publishers that had published (and were not taken since) are retired."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from registry.db.migrate import load_migrations, migrate_up
from registry.resources import migrations_dir


@pytest.fixture
async def empty_db(empty_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(empty_db_url)
    yield conn
    await conn.close()


async def _user(db: asyncpg.Connection, name: str, *, deleted: bool, named: bool) -> int:
    user_id: int = await db.fetchval(
        "INSERT INTO users (username, deleted_at) VALUES ($1, CASE WHEN $2 THEN now() END) RETURNING id", name, deleted
    )
    if named:
        await db.execute("INSERT INTO names (name, user_id) VALUES ($1, $2)", name, user_id)
    return user_id


async def _release(db: asyncpg.Connection, user_id: int, extension: str, version: str, content: bytes) -> None:
    extension_id = await db.fetchval(
        "SELECT id FROM registry_extensions WHERE publisher_user_id = $1 AND name = $2", user_id, extension
    ) or await db.fetchval(
        "INSERT INTO registry_extensions (uuid, publisher_user_id, name) VALUES (gen_random_uuid(), $1, $2)"
        " RETURNING id",
        user_id,
        extension,
    )
    await db.execute(
        "INSERT INTO registry_extension_releases (registry_extension_id, creator_user_id, release_version,"
        " release_tag, manifest, content_sha256) VALUES ($1, $2, $3, 'release', '{}', $4)",
        extension_id,
        user_id,
        version,
        content,
    )


async def test_migration_6_keeps_what_was_published_and_retires_deleted_publishers_names(
    empty_db: asyncpg.Connection,
) -> None:
    migrations = load_migrations(migrations_dir())
    before = [m for m in migrations if m.version < 6]
    await migrate_up(empty_db, migrations, steps=len(before))
    carol = await _user(empty_db, "carol", deleted=True, named=False)  # deleted: her name was freed
    await _release(empty_db, carol, "popular", "1.0.0", b"original")
    await _release(empty_db, carol, "popular", "1.0.0+rebuilt", b"later")
    taken = await _user(empty_db, "dave", deleted=True, named=False)
    await _release(empty_db, taken, "tool", "2.0.0", b"dave's")
    await _user(empty_db, "dave", deleted=False, named=True)  # someone took `dave` before the fix
    erin = await _user(empty_db, "erin", deleted=False, named=True)
    await _release(empty_db, erin, "lint", "0.1.0", b"erin's")

    await migrate_up(empty_db, migrations)

    rows = await empty_db.fetch(
        "SELECT publisher::text, extension::text, version::text, content_sha256 FROM registry_published_versions"
        " ORDER BY publisher, extension"
    )
    assert [tuple(r) for r in rows] == [
        ("carol", "popular", "1.0.0", b"original"),  # the first release of a coordinate holds it
        ("dave", "tool", "2.0.0", b"dave's"),
        ("erin", "lint", "0.1.0", b"erin's"),
    ]
    retired = await empty_db.fetch("SELECT name::text, user_id FROM retired_names ORDER BY name")
    assert [tuple(r) for r in retired] == [("carol", carol)], "dave is live again; erin was never deleted"
    newcomer = await empty_db.fetchval("INSERT INTO users (username) VALUES ('carol') RETURNING id")
    with pytest.raises(asyncpg.UniqueViolationError):
        await empty_db.execute("INSERT INTO names (name, user_id) VALUES ('carol', $1)", newcomer)


@pytest.mark.parametrize("giving_up", ["rename", "delete"])
async def test_a_publish_in_flight_is_seen_by_a_concurrent_rename_or_deletion(
    empty_db: asyncpg.Connection, empty_db_url: str, giving_up: str
) -> None:
    """The release's transaction holds the publisher's name until it commits: the rename copies its
    record to the new name, the deletion retires the name (neither reads around it)."""
    await migrate_up(empty_db, load_migrations(migrations_dir()))
    carol = await _user(empty_db, "carol", deleted=False, named=True)
    await empty_db.execute(
        "INSERT INTO registry_extensions (uuid, publisher_user_id, name) VALUES (gen_random_uuid(), $1, 'popular')",
        carol,
    )
    other = await asyncpg.connect(empty_db_url)
    try:
        async with empty_db.transaction():
            await _release(empty_db, carol, "popular", "1.0.0", b"first")  # not committed yet
            sql = (
                "UPDATE names SET name = 'carla' WHERE user_id = $1"
                if giving_up == "rename"
                else "DELETE FROM names WHERE user_id = $1"
            )
            waiting = asyncio.create_task(other.execute(sql, carol))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the name is held by the publish in flight"
        await waiting
    finally:
        await other.close()
    published = {r[0] for r in await empty_db.fetch("SELECT publisher::text FROM registry_published_versions")}
    retired = {r[0] for r in await empty_db.fetch("SELECT name::text FROM retired_names")}
    assert (published, retired) == (
        ({"carol", "carla"}, {"carol"}) if giving_up == "rename" else ({"carol"}, {"carol"})
    )
