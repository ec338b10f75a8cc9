"""The pool of a serving process, opened whether or not PostgreSQL is up.

A server that exits because its database is down at the moment it starts turns a database restart
into an outage of every process started meanwhile (and a crash loop under a supervisor). So the
server starts anyway: /healthz answers 200, /readyz and every route that needs the database 503,
and a background task brings the database up to date (migrating, when the server is to migrate)
as soon as it answers, without a restart.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from registry.config import Config
from registry.db.migrate import Migration, MigrationError, is_current, migrate_up
from registry.db.pool import create_pool
from registry.problems import DATABASE_UNAVAILABLE
from registry.store.users import ensure_site_config

log = logging.getLogger("wharf.db")

_FIRST_RETRY, _LAST_RETRY = 0.25, 5.0  # seconds between attempts, doubling


async def open_pool(config: Config, dsn: str) -> tuple[asyncpg.Pool, bool]:
    """The process's pool, and whether the database answered: with `pool_min_size` connections
    when it does, else an empty pool that connects on first use (asyncpg connects nothing when
    min_size is 0)."""
    try:
        pool = await create_pool(
            dsn, min_size=config.pool_min_size, max_size=config.pool_max_size, db_timeout=config.db_timeout
        )
    except (*DATABASE_UNAVAILABLE, asyncpg.PostgresError) as exc:
        log.warning(
            "the database does not answer (%s: %s); serving anyway, /readyz answers 503 until it does",
            type(exc).__name__,
            exc,
        )
        lazy = await create_pool(dsn, min_size=0, max_size=config.pool_max_size, db_timeout=config.db_timeout)
        return lazy, False
    return pool, True


async def bring_up(pool: asyncpg.Pool, migrations: list[Migration], *, migrate: bool) -> bool:
    """Migrate (when `migrate`), then create the site's row when the schema is current; False when
    the database does not answer. A dirty schema is logged and left to an operator (`registry
    migrate`); /readyz says so."""
    try:
        async with pool.acquire() as conn:
            if migrate:
                try:
                    applied = await migrate_up(conn, migrations)
                finally:
                    # The pool does not reset what a connection leaves in its session (registry.db.pool):
                    # the migrators' advisory lock is session-scoped, and a migration may SET.
                    if not conn.is_closed():
                        await conn.reset()
                log.info("the database answers; %d migration(s) applied", len(applied))
            if not await is_current(conn, migrations):
                log.warning("the database is not migrated; /readyz answers 503 until it is")
                return True
            async with conn.transaction():
                await ensure_site_config(conn)
    except MigrationError as exc:
        log.error("cannot migrate: %s", exc)
    except (*DATABASE_UNAVAILABLE, asyncpg.PostgresError) as exc:
        log.debug("the database does not answer yet: %s: %s", type(exc).__name__, exc)
        return False
    return True


async def keep_bringing_up(pool: asyncpg.Pool, migrations: list[Migration], *, migrate: bool) -> None:
    """bring_up, retried with a growing delay until the database answers (a background task of a
    server started while its database was down)."""
    delay = _FIRST_RETRY
    while not await bring_up(pool, migrations, migrate=migrate):
        await asyncio.sleep(delay)
        delay = min(delay * 2, _LAST_RETRY)
    log.info("the database answers")
