"""The one way services reach PostgreSQL: a unit of work for writes, a connection for reads.

A service says what it needs (`async with db.transaction() as conn` / `db.reading()`) and never
sees the pool. Writes run in one transaction each, and a constraint the write breaks surfaces as
the domain error its name stands for (registry.db.errors). Reads are separate so that they can
be routed elsewhere (a replica) without touching a service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Concatenate, ParamSpec, TypeVar

import asyncpg

from registry.db.errors import translate_pg_errors

P = ParamSpec("P")
T = TypeVar("T")
StoreCall = Callable[Concatenate[asyncpg.Connection, P], Awaitable[T]]


class Database:
    """Built with the app, before the pool exists (the server starts without a database, see
    registry.db.lifecycle); `attach` gives it the pool once opened."""

    def __init__(self, pool: asyncpg.Pool | None = None) -> None:
        self._pool = pool

    def attach(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not open yet (the app's startup opens it)")
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        with translate_pg_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                yield conn

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection for reads, each statement its own snapshot (wrap several in
        `conn.transaction(isolation="repeatable_read", readonly=True)` to share one)."""
        async with self.pool.acquire() as conn:
            yield conn

    async def read(self, query: StoreCall[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """One store read on its own reading connection: `await db.read(store.fn, arg)` is the
        whole of a service step that needs nothing else from the database."""
        async with self.reading() as conn:
            return await query(conn, *args, **kwargs)

    async def write(self, statement: StoreCall[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """One store write in its own transaction (see `transaction`)."""
        async with self.transaction() as conn:
            return await statement(conn, *args, **kwargs)
