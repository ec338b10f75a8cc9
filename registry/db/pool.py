"""Connections: the one asyncpg pool of a process, with JSON codecs on orjson.

A connection given back to the pool is not reset on the server. asyncpg's default reset
(`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`) is a round trip on every
release, several per request, and it undoes session state that Wharf's pool connections never
carry: every setting is transaction-local (`set_config(…, true)`, the invalidation triggers'
`wharf.invalidations`), locks are transaction-scoped (`pg_advisory_xact_lock`), cursors live
inside transactions, LISTEN has a connection of its own (registry.db.invalidation), and the one
user of session state, the migrators' advisory lock, resets the connection it took
(registry.db.lifecycle). asyncpg still rolls back a transaction left open and drops listeners
on release (`Connection._reset`, run before `reset`). tests/db/test_pool.py checks the
connections handed back after writes carry no state.
"""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
import orjson


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Decode json/jsonb with orjson so that rows reach handlers as Python values, fast."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog", format="text")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's `reset`: nothing to undo on the server (see the module's docstring)."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, db_timeout: float = 10.0) -> asyncpg.Pool:
    """The process's pool. `db_timeout` bounds connecting and, via `command_timeout`, every statement."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=db_timeout,
        command_timeout=db_timeout,
        init=_init_connection,
        reset=_keep_session,
        server_settings={"application_name": "wharf"},
    )
    return pool


async def ensure_database(admin_dsn: str, database: str) -> None:
    """Create `database` on the server behind `admin_dsn` unless it exists.

    Only the embedded server is provisioned this way: a DATABASE_URL names a database that its
    operator created.
    """
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            # Identifiers cannot be bound as parameters; quote_ident does the quoting server-side.
            quoted = await conn.fetchval("SELECT quote_ident($1)", database)
            # Another process may create it between our check and our CREATE: that is fine.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f"CREATE DATABASE {quoted}")
    finally:
        await conn.close()
