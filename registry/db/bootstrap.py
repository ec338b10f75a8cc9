"""From configuration to a database URL: DATABASE_URL if set, else the embedded server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import asyncpg

from registry.config import Config
from registry.db.embedded import EmbeddedPostgres, default_data_dir
from registry.db.migrate import SchemaVersion, load_migrations, migrate_up, read_version
from registry.db.pool import ensure_database
from registry.resources import migrations_dir

log = logging.getLogger("wharf.db")

EMBEDDED_DATABASE = "wharf"


@contextlib.contextmanager
def database_url(config: Config) -> Iterator[str]:
    """Yield the DSN to use; an embedded server started here is left (and stopped) on exit."""
    if config.database_url is not None:
        yield config.database_url
        return
    data_dir = config.data_dir or default_data_dir()
    embedded = EmbeddedPostgres(data_dir)
    server = embedded.start()
    try:
        asyncio.run(ensure_database(server.dsn(), EMBEDDED_DATABASE))
        log.info(
            "embedded PostgreSQL: data in %s, log in %s; connect with: %s",
            embedded.pgdata,
            embedded.log_file,
            server.psql_hint(EMBEDDED_DATABASE),
        )
        yield server.dsn(EMBEDDED_DATABASE)
    finally:
        embedded.stop()


async def migrate_to_latest(dsn: str, *, connect_timeout: float = 60.0) -> SchemaVersion:
    """Apply every pending migration (under the migrators' lock) and return where the schema is;
    `connect_timeout` bounds connecting."""
    conn = await asyncpg.connect(dsn, timeout=connect_timeout)
    try:
        applied = await migrate_up(conn, load_migrations(migrations_dir()))
        state = await read_version(conn)
    finally:
        await conn.close()
    log.info("schema at version %s (%d migration(s) applied now)", state, len(applied))
    return state
