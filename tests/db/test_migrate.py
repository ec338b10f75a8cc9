"""The migration runner: golang-migrate's bookkeeping, dirty states, the migrators' lock."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from registry.db.migrate import (
    MigrationError,
    SchemaVersion,
    force_version,
    is_current,
    load_migrations,
    migrate_down,
    migrate_up,
    read_version,
)
from registry.resources import migrations_dir
from tests.support.catalog import compare, live_tables
from tests.support.seed_description import load_seed

SEED = Path(__file__).parent.parent / "fixtures" / "seed-schema.md"
NEWEST = load_migrations(migrations_dir())[-1].version


def _copy_of_real_migrations(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), directory)
    return directory


async def _public_tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


@pytest.fixture
async def empty_db(empty_db_url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(empty_db_url)
    yield conn
    await conn.close()


async def test_down_to_nothing_then_up_round_trips(empty_db: asyncpg.Connection) -> None:
    migrations = load_migrations(migrations_dir())
    assert await migrate_up(empty_db, migrations) == [m.version for m in migrations]
    assert await is_current(empty_db, migrations)

    assert await migrate_down(empty_db, migrations) == [m.version for m in reversed(migrations)]
    assert await read_version(empty_db) == SchemaVersion(None, False)
    assert await _public_tables(empty_db) == {"schema_migrations"}
    assert await empty_db.fetchval("SELECT count(*) FROM schema_migrations") == 0

    await migrate_up(empty_db, migrations)
    seed = load_seed(SEED)
    assert await compare(empty_db, seed, await live_tables(empty_db), allow_additions=True) == []


async def test_up_and_down_take_a_number_of_steps(empty_db: asyncpg.Connection, tmp_path: Path) -> None:
    directory = _copy_of_real_migrations(tmp_path)
    (directory / "9001_add_note.up.sql").write_text("CREATE TABLE wharf_note (id int);")
    (directory / "9001_add_note.down.sql").write_text("DROP TABLE wharf_note;")
    migrations = load_migrations(directory)

    assert await migrate_up(empty_db, migrations, steps=1) == [1]
    assert await migrate_up(empty_db, migrations, steps=len(migrations) - 1) == [m.version for m in migrations[1:]]
    assert await migrate_up(empty_db, migrations) == []
    assert await migrate_down(empty_db, migrations, steps=1) == [9001]
    assert await read_version(empty_db) == SchemaVersion(NEWEST, False)
    assert "wharf_note" not in await _public_tables(empty_db)


async def test_a_failed_migration_leaves_the_database_dirty_and_blocks_until_forced(
    empty_db: asyncpg.Connection, tmp_path: Path
) -> None:
    directory = _copy_of_real_migrations(tmp_path)
    broken = directory / "9002_broken.up.sql"
    broken.write_text("CREATE TABLE half_done (id int);\nSELECT 1 / 0;")
    (directory / "9002_broken.down.sql").write_text("DROP TABLE half_done;")
    migrations = load_migrations(directory)

    with pytest.raises(MigrationError, match=r"9002_broken failed .*division by zero.*dirty at version 9002"):
        await migrate_up(empty_db, migrations)
    assert await read_version(empty_db) == SchemaVersion(9002, True)
    assert "half_done" not in await _public_tables(empty_db), "the failed migration's own work rolled back"
    assert "users" in await _public_tables(empty_db), "the migrations before it stay applied"
    assert not await is_current(empty_db, migrations)

    for attempt in (migrate_up, migrate_down):
        with pytest.raises(MigrationError, match=r"dirty at version 9002 \(dirty\).*registry migrate force"):
            await attempt(empty_db, migrations)

    await force_version(empty_db, NEWEST)
    assert await read_version(empty_db) == SchemaVersion(NEWEST, False)
    broken.write_text("CREATE TABLE half_done (id int);")
    assert await migrate_up(empty_db, load_migrations(directory)) == [9002]


async def test_a_failed_first_migration_is_dirty_at_its_version(empty_db: asyncpg.Connection, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_bad.up.sql").write_text("SELECT no_such_function();")
    with pytest.raises(MigrationError):
        await migrate_up(empty_db, load_migrations(directory))
    assert await read_version(empty_db) == SchemaVersion(1, True)
    await force_version(empty_db, -1)
    assert await read_version(empty_db) == SchemaVersion(None, False)


async def test_concurrent_migrators_apply_each_migration_once(empty_db_url: str) -> None:
    migrations = load_migrations(migrations_dir())
    first, second = await asyncpg.connect(empty_db_url), await asyncpg.connect(empty_db_url)
    try:
        results = await asyncio.gather(migrate_up(first, migrations), migrate_up(second, migrations))
    finally:
        await first.close()
        await second.close()
    assert sorted(results, key=len) == [[], [m.version for m in migrations]]


async def test_a_database_newer_than_the_code_is_refused(empty_db: asyncpg.Connection) -> None:
    migrations = load_migrations(migrations_dir())
    await migrate_up(empty_db, migrations)
    await force_version(empty_db, 999)
    with pytest.raises(MigrationError, match="version 999, which this Wharf does not know"):
        await migrate_up(empty_db, migrations)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["1_x.up.sql", "1_y.up.sql"], "two migrations share version 1"),
        (["0001_x.sideways.sql"], "named NNNN_name.up.sql"),
        (["0002_x.down.sql"], "down migrations without an up"),
    ],
)
def test_ambiguous_migration_folders_are_refused(tmp_path: Path, files: list[str], message: str) -> None:
    for name in files:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=message):
        load_migrations(tmp_path)
