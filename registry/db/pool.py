"""Connections: the one asyncpg pool of a process, with JSON codecs on orjson."""

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


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, db_timeout: float = 10.0) -> asyncpg.Pool:
    """The process's pool. `db_timeout` bounds connecting and, via `command_timeout`, every statement."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=db_timeout,
        command_timeout=db_timeout,
        init=_init_connection,
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
