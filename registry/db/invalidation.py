"""Every node's caches, kept coherent through PostgreSQL's LISTEN/NOTIFY.

Writes announce what they changed (migration 10's triggers: `extension:<id>`,
`publisher:<name>`, `dependents:<language>:<package>`, `dependents:*`, `*`; migration 13's
`extension-name:<publisher>/<name>`), in the writing
transaction, so the announcement is delivered at commit and never for a rollback. Each node keeps
one connection of its own (not from the pool, which would hand it to requests) listening on
`wharf_cache`, and drops what each notification names from every registered cache. The writing
node does not wait for its listener: `Database.transaction` reads the transaction's announcements
before it commits and applies them at once (registry.db.database).

A notification missed is stale data kept for ever, so a listener that loses its connection
clears every cache, says "reconnecting" (/readyz is then degraded), reconnects with backoff,
listens again and clears again (for what changed in between); a periodic ping notices a peer that
vanished without closing the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol

import asyncpg

from registry.db import queries
from registry.db.replicas import REPLICA_FAILURES, ReplicaSet

log = logging.getLogger("wharf.cache")
_SQL = queries.load(__file__)

CHANNEL = "wharf_cache"
KINDS = frozenset({"extension", "publisher", "extension-name", "dependents"})
_FIRST_RETRY, _LAST_RETRY = 0.05, 2.0  # seconds between reconnection attempts, doubling


class Coherent(Protocol):
    """A cache that can be told what changed."""

    def invalidate(self, payload: str) -> None:
        """Drop the entries `payload` (`kind:value`, or `kind:*`) names."""

    def clear(self) -> None: ...

    def suspend(self, suspended: bool) -> None:
        """While suspended (nobody listens), serve nothing from the cache and keep nothing in it."""


class Invalidations:
    """The caches of a process, and how many invalidations each kind of change caused."""

    def __init__(self) -> None:
        self._caches: list[Coherent] = []
        self.counts: Counter[str] = Counter()

    def register(self, cache: Coherent) -> None:
        self._caches.append(cache)

    def apply(self, payloads: Iterable[str]) -> None:
        for payload in payloads:
            if payload == "*":
                self.clear_all("all")
                continue
            kind = payload.partition(":")[0]
            self.counts[kind if kind in KINDS else "other"] += 1
            for cache in self._caches:
                cache.invalidate(payload)

    def clear_all(self, reason: str | None) -> None:
        """Drop everything (`reason`, counted: "all" for a `*` notification, "reconnect" for a lost
        listener)."""
        if reason is not None:
            self.counts[reason] += 1
        for cache in self._caches:
            cache.clear()

    def suspend(self, suspended: bool) -> None:
        """No notification can arrive (the listener is reconnecting): caching would keep what may
        change unannounced, so the caches pass every read through until it listens again."""
        for cache in self._caches:
            cache.suspend(suspended)


class ListenerState(StrEnum):
    LISTENING = "listening"
    RECONNECTING = "reconnecting"


class CacheListener:
    """The node's one listening connection to the primary, kept open for the process's life."""

    def __init__(
        self,
        dsn: str,
        invalidations: Invalidations,
        replicas: ReplicaSet,
        *,
        connect_timeout: float,
        ping_every: float = 1.0,
    ) -> None:
        self._dsn = dsn
        self._invalidations = invalidations
        self._replicas = replicas
        self._connect_timeout = connect_timeout
        self._ping_every = ping_every
        self.state = ListenerState.RECONNECTING
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, wait: float) -> None:
        """Start listening; wait up to `wait` seconds for the first LISTEN (the database may be away:
        the listener keeps trying in the background, and /readyz says so meanwhile)."""
        self._invalidations.suspend(True)
        self._task = asyncio.create_task(self._run(), name="wharf-cache-listener")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._listening.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self._replicas.fence()  # before the caches empty: no refill from a replica behind the change
        self._invalidations.apply([str(payload)])

    async def _run(self) -> None:
        delay = _FIRST_RETRY
        ever_listened = False
        while True:
            try:
                conn = await asyncpg.connect(
                    self._dsn,
                    timeout=self._connect_timeout,
                    server_settings={"application_name": "wharf-cache-listener"},
                )
            except (*REPLICA_FAILURES, asyncpg.PostgresError) as exc:
                log.debug("cache listener cannot connect: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _LAST_RETRY)
                continue
            try:
                await self._listen(conn, counted=ever_listened)
                ever_listened = True
                delay = _FIRST_RETRY
                await self._until_lost(conn)
            except (*REPLICA_FAILURES, asyncpg.PostgresError) as exc:
                log.warning("cache listener lost its connection (%s); caches cleared", type(exc).__name__)
            finally:
                self._lost()
                conn.terminate()

    async def _listen(self, conn: asyncpg.Connection, *, counted: bool) -> None:
        """LISTEN, then forget whatever changed while nobody listened."""
        await conn.add_listener(CHANNEL, self._notified)
        self._replicas.fence()
        self._invalidations.clear_all("reconnect" if counted else None)
        self._invalidations.suspend(False)
        if counted:
            log.info("cache listener listening again; caches cleared")
        self.state = ListenerState.LISTENING
        self._listening.set()

    async def _until_lost(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        while not conn.is_closed():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ping_every):
                    await lost.wait()
            if lost.is_set() or conn.is_closed():
                return
            async with asyncio.timeout(self._connect_timeout):
                await _SQL.ping.fetchval(conn)

    def _lost(self) -> None:
        if self.state is ListenerState.LISTENING:
            self.state = ListenerState.RECONNECTING
            self._listening.clear()
            self._replicas.fence()
            self._invalidations.suspend(True)
            self._invalidations.clear_all("reconnect")
