"""The migration runner, compatible with golang-migrate's bookkeeping.

`schema_migrations(version bigint primary key, dirty boolean)` holds one row: the version the
database is at, and whether the migration to it failed part-way. Like golang-migrate, the row is
marked dirty in its own transaction *before* a migration runs; the migration and the clean mark
then commit together. A failure therefore leaves `dirty = true`, and every later run refuses to
touch the schema until an operator repairs it and says so with `force`.

A PostgreSQL advisory lock (scoped to the database) serialises migrators, so two servers
started at once never both apply a migration: the second waits, then finds nothing to do.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from registry.db import queries
from registry.domain.record import Record

log = logging.getLogger("wharf.migrate")

_FILE_NAME = re.compile(r"^(?P<version>\d+)_(?P<name>[a-z0-9_]+)\.(?P<direction>up|down)\.sql\Z")
_NIL_VERSION = -1  # golang-migrate's "no version", stored only together with dirty = true
# A stable 64-bit key; advisory locks are per database, so databases never block each other.
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"wharf:schema_migrations").digest()[:8], "big", signed=True)

_SQL = queries.load(__file__)


class MigrationError(RuntimeError):
    """The migrations cannot run; the message tells the operator what to do."""


class Migration(Record):
    """One migration, its SQL read once when the folder is loaded."""

    version: int
    name: str
    up: str
    down: str | None

    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


class SchemaVersion(Record):
    """Where a database stands: `version` None means no migration has been applied."""

    version: int | None
    dirty: bool

    def __str__(self) -> str:
        if self.version is None:
            return "none (dirty)" if self.dirty else "none"
        return f"{self.version} (dirty)" if self.dirty else str(self.version)


def load_migrations(directory: Path) -> list[Migration]:
    """Read `NNNN_name.up.sql` / `NNNN_name.down.sql` pairs, refusing anything ambiguous."""
    ups: dict[int, Path] = {}
    downs: dict[int, Path] = {}
    names: dict[int, str] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.up.sql / .down.sql")
        version = int(match["version"])
        if names.setdefault(version, match["name"]) != match["name"]:
            raise MigrationError(f"two migrations share version {version}: {names[version]}, {match['name']}")
        target = ups if match["direction"] == "up" else downs
        target[version] = path
    if set(downs) - set(ups):
        raise MigrationError(f"down migrations without an up: {sorted(set(downs) - set(ups))}")
    return [
        Migration(v, names[v], ups[v].read_text(), downs[v].read_text() if v in downs else None) for v in sorted(ups)
    ]


@asynccontextmanager
async def migration_lock(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Hold the migrators' advisory lock on `conn`, waiting (and saying so) if another holds it."""
    if not await _SQL.try_lock.fetchval(conn, key=_LOCK_KEY):
        log.info("another migrator holds the migration lock; waiting for it")
        await _SQL.lock.execute(conn, key=_LOCK_KEY)
    try:
        yield
    finally:
        await _SQL.unlock.execute(conn, key=_LOCK_KEY)


async def read_version(conn: asyncpg.Connection) -> SchemaVersion:
    await _SQL.ensure_table.execute(conn)
    row = await _SQL.read_version.fetchrow(conn)
    if row is None:
        return SchemaVersion(None, False)
    version = None if row["version"] == _NIL_VERSION else int(row["version"])
    return SchemaVersion(version, bool(row["dirty"]))


async def _set_version(conn: asyncpg.Connection, version: int | None, *, dirty: bool) -> None:
    async with conn.transaction():
        await _SQL.clear_version.execute(conn)
        if version is not None or dirty:
            await _SQL.set_version.execute(conn, version=_NIL_VERSION if version is None else version, dirty=dirty)


def _refuse_if_dirty(state: SchemaVersion) -> None:
    if state.dirty:
        raise MigrationError(
            f"the database is dirty at version {state}: a migration failed part-way. Repair the "
            "schema by hand, then record the version it is really at with `registry migrate force V`."
        )


def _index_of(migrations: list[Migration], state: SchemaVersion) -> int:
    """Position of the current version in `migrations` (-1 for none); unknown versions refuse."""
    if state.version is None:
        return -1
    for position, migration in enumerate(migrations):
        if migration.version == state.version:
            return position
    newest = migrations[-1].version if migrations else "none"
    raise MigrationError(
        f"the database is at version {state.version}, which this Wharf does not know "
        f"(newest known: {newest}); run the Wharf release that wrote it"
    )


async def _run(conn: asyncpg.Connection, migration: Migration, direction: str, target: int | None) -> None:
    """Mark dirty, then run the SQL and mark clean in one transaction (golang-migrate's order)."""
    sql = migration.up if direction == "up" else migration.down
    assert sql is not None
    await _set_version(conn, target, dirty=True)
    try:
        async with conn.transaction():
            await conn.execute(sql)
            await _set_version(conn, target, dirty=False)
    except asyncpg.PostgresError as exc:
        raise MigrationError(
            f"migration {migration.label()} failed ({direction}): {exc}. The database is left "
            f"dirty at version {target if target is not None else 'none'}; nothing after it ran."
        ) from exc


async def migrate_up(conn: asyncpg.Connection, migrations: list[Migration], steps: int | None = None) -> list[int]:
    """Apply pending migrations (all, or the next `steps`); return the versions applied."""
    async with migration_lock(conn):
        state = await read_version(conn)
        _refuse_if_dirty(state)
        pending = migrations[_index_of(migrations, state) + 1 :]
        applied: list[int] = []
        for migration in pending if steps is None else pending[:steps]:
            log.info("applying migration %s", migration.label())
            await _run(conn, migration, "up", migration.version)
            applied.append(migration.version)
        return applied


async def migrate_down(conn: asyncpg.Connection, migrations: list[Migration], steps: int | None = None) -> list[int]:
    """Revert applied migrations (all, or the last `steps`); return the versions reverted."""
    async with migration_lock(conn):
        state = await read_version(conn)
        _refuse_if_dirty(state)
        position = _index_of(migrations, state)
        reverted: list[int] = []
        while position >= 0 and (steps is None or len(reverted) < steps):
            migration = migrations[position]
            if migration.down is None:
                raise MigrationError(f"migration {migration.label()} has no down file")
            target = migrations[position - 1].version if position > 0 else None
            log.info("reverting migration %s", migration.label())
            await _run(conn, migration, "down", target)
            reverted.append(migration.version)
            position -= 1
        return reverted


async def force_version(conn: asyncpg.Connection, version: int) -> None:
    """Record `version` as clean without running anything (-1: no version), as `migrate force` does."""
    if version < _NIL_VERSION:
        raise MigrationError("force takes a version >= -1 (-1 means: no migration applied)")
    async with migration_lock(conn):
        await read_version(conn)
        await _set_version(conn, None if version == _NIL_VERSION else version, dirty=False)


async def is_current(conn: asyncpg.Connection, migrations: list[Migration]) -> bool:
    """True when the database is clean at the newest migration (what /readyz asks)."""
    try:
        row = await _SQL.read_version.fetchrow(conn)
    except asyncpg.UndefinedTableError:
        return False
    if row is None or row["dirty"] or not migrations:
        return False
    return int(row["version"]) == migrations[-1].version
