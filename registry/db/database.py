"""The one way services reach PostgreSQL: a unit of work for writes, a connection for reads.

A service says what it needs (`async with db.transaction() as conn` / `db.reading()`) and never
sees the pool. Writes run in one transaction each on the primary, and a constraint the write
breaks surfaces as the domain error its name stands for (registry.db.errors). Reads are separate
so that they can be routed to a streaming replica (registry.db.replicas) without a service
knowing:

- a read goes to a healthy replica that has replayed the request's floor (the client's last
  write, registry.db.lsn), else to the primary;
- a committed write records the primary's WAL position for the response (the client's next
  floor) and raises the floor of the rest of its own request, so a read after a write in one
  request sees it too;
- what the write announced to the caches (migration 10) is applied to this node's caches at
  once, not when its listener hears of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Concatenate, ParamSpec, TypeVar

import asyncpg

from registry.db import queries
from registry.db.errors import translate_pg_errors
from registry.db.invalidation import Invalidations
from registry.db.lsn import CURRENT_FLOOR
from registry.db.replicas import REPLICA_FAILURES, Replica, ReplicaSet, primary_position

P = ParamSpec("P")
T = TypeVar("T")
StoreCall = Callable[Concatenate[asyncpg.Connection, P], Awaitable[T]]

_SQL = queries.load(__file__)


class Database:
    """Built with the app, before the pool exists (the server starts without a database, see
    registry.db.lifecycle); `attach` gives it the pool once opened, `attach_replicas` its replicas."""

    def __init__(self, pool: asyncpg.Pool | None = None) -> None:
        self._pool = pool
        self.replicas = ReplicaSet()
        self.invalidations = Invalidations()

    def attach(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def attach_replicas(self, replicas: ReplicaSet) -> None:
        self.replicas = replicas

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not open yet (the app's startup opens it)")
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection to the primary in a transaction: committed when the block ends, rolled back
        on an error."""
        with translate_pg_errors():
            async with self.pool.acquire() as conn:
                async with conn.transaction():
                    yield conn
                    pending = await _SQL.pending_changes.fetchrow(conn)
                if pending is not None and pending["wrote"]:
                    await self._committed(conn, pending["invalidations"] or "")

    async def _committed(self, conn: asyncpg.Connection, announced: str) -> None:
        """After COMMIT, on the writing connection: the primary's WAL position now is at or past
        the commit record, so a replica that has replayed it has the write."""
        floor = CURRENT_FLOOR.get()
        payloads = {line for line in announced.splitlines() if line}
        lsn = None
        if floor is not None or (payloads and self.replicas.replicas):
            lsn = await primary_position(conn)
        if lsn is not None:
            if floor is not None:
                floor.wrote(lsn)
            if payloads:
                self.replicas.raise_cache_floor(lsn)
        self.invalidations.apply(sorted(payloads))

    @asynccontextmanager
    async def reading(self, *, for_cache: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A connection for reads, each statement its own snapshot (wrap several in
        `conn.transaction(isolation="repeatable_read", readonly=True)` to share one): a replica's
        when one may answer, else the primary's. `for_cache`: the rows will be cached, so they must
        include every change this node was told about (registry.db.replicas)."""
        replica = self._replica_for(for_cache=for_cache)
        if replica is not None:
            conn = await self._acquire(replica)
            if conn is not None:
                try:
                    yield conn
                finally:
                    await replica.pool.release(conn)
                return
        async with self.pool.acquire() as conn:
            yield conn

    async def read(self, query: StoreCall[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """One store read on its own reading connection: `await db.read(store.fn, arg)` is the
        whole of a service step that needs nothing else from the database. A replica that fails
        under it is skipped and the read asked of the primary."""
        return await self._read(False, query, *args, **kwargs)

    async def read_for_cache(self, query: StoreCall[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`read` for a value a coherent cache keeps (see `reading(for_cache=True)`)."""
        return await self._read(True, query, *args, **kwargs)

    async def write(self, statement: StoreCall[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """One store write in its own transaction (see `transaction`)."""
        async with self.transaction() as conn:
            return await statement(conn, *args, **kwargs)

    async def _read(self, for_cache: bool, query: StoreCall[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        replica = self._replica_for(for_cache=for_cache)
        if replica is not None:
            conn = await self._acquire(replica)
            if conn is not None:
                try:
                    return await query(conn, *args, **kwargs)
                except REPLICA_FAILURES as exc:
                    self.replicas.mark_down(replica, exc)
                finally:
                    await replica.pool.release(conn)
        async with self.pool.acquire() as conn:
            return await query(conn, *args, **kwargs)

    def _replica_for(self, *, for_cache: bool) -> Replica | None:
        floor = CURRENT_FLOOR.get()
        return self.replicas.choose(0 if floor is None else floor.floor, for_cache=for_cache)

    async def _acquire(self, replica: Replica) -> asyncpg.Connection | None:
        """A connection to `replica`, or None (and the replica marked down) when it does not answer."""
        try:
            conn: asyncpg.Connection = await replica.pool.acquire(timeout=self.replicas.probe_timeout)
        except REPLICA_FAILURES as exc:
            self.replicas.mark_down(replica, exc)
            return None
        return conn
