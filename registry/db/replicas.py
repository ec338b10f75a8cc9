"""Streaming replicas: which may answer a read now, and how far behind each is.

A background monitor polls, every `interval` seconds, the primary's WAL position and each
replica's replayed position (one cheap query each, on separate tasks so that a replica that hangs
delays nobody). A replica's lag is how long ago the primary was at the position the replica has
now replayed: 0 when it has everything, however long the primary has been idle, so an idle
primary never makes a healthy replica look late. The positions known here only lag the truth
(replay only moves forward), so "this replica has replayed X" is never claimed too early.

A read may go to a replica that answers, is at most `max_lag` seconds behind, and has replayed
the read's floor (the client's last write: registry.db.lsn). A read that fills a cache kept
coherent by invalidation must moreover see every change this node has been told about
(`cache_floor`): after a notification, until the monitor has seen where the primary stands, such
reads go to the primary (`fence`), so a cache is never refilled from a replica that has not yet
replayed the change that emptied it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from registry.db import queries
from registry.db.lsn import parse_lsn
from registry.db.pool import create_pool

log = logging.getLogger("wharf.db")
_SQL = queries.load(__file__)

REPLICA_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.InternalClientError,
    asyncpg.SerializationError,  # "canceling statement due to conflict with recovery"
)
"""What a replica that went away, or cancelled a read to replay WAL, raises: the read is retried
on the primary and the replica is skipped until it answers the monitor again."""


async def primary_position(conn: asyncpg.Connection) -> int | None:
    """The primary's WAL position now (`conn` is to the primary)."""
    return parse_lsn(await _SQL.primary_lsn.fetchval(conn))


class ReplicaState(StrEnum):
    STREAMING = "streaming"
    LAGGING = "lagging"
    DOWN = "down"


def replica_name(dsn: str) -> str:
    """`host:port/database` of a DSN: what /readyz, /metrics and the logs call a replica, never
    its credentials."""
    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or ["localhost"])[0]
    try:
        port = parts.port or int((query.get("port") or ["5432"])[0])
    except ValueError:
        port = 5432
    database = unquote(parts.path.lstrip("/")) or (parts.username or "postgres")
    return f"{host}:{port}/{database}"


@dataclass(eq=False)
class Replica:
    name: str
    pool: asyncpg.Pool
    up: bool = False
    replayed: int = 0  # the highest position it is known to have replayed
    lag_seconds: float | None = None


class WalClock:
    """When the primary was first seen at or past each position: enough to tell how long ago it
    was where a replica now is. Only changes are kept, over `keep` seconds."""

    def __init__(self, keep: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._keep = keep
        self._clock = clock
        self._seen: deque[tuple[float, int]] = deque()

    @property
    def latest(self) -> int | None:
        return self._seen[-1][1] if self._seen else None

    def observe(self, lsn: int) -> None:
        now = self._clock()
        if not self._seen or lsn > self._seen[-1][1]:
            self._seen.append((now, lsn))
        while len(self._seen) > 1 and self._seen[1][0] < now - self._keep:
            self._seen.popleft()

    def lag(self, replayed: int) -> float | None:
        """Seconds since the primary first moved past `replayed` (0 if it has not); None before
        the primary was ever seen."""
        if not self._seen:
            return None
        if replayed >= self._seen[-1][1]:
            return 0.0
        moved_past = next((seen for seen, lsn in self._seen if lsn > replayed), self._seen[0][0])
        return max(0.0, self._clock() - moved_past)


@dataclass(eq=False)
class ReplicaSet:
    """The replicas of a process (none: every read goes to the primary, and nothing runs)."""

    replicas: list[Replica] = field(default_factory=list)
    max_lag: float = 5.0
    interval: float = 0.2
    probe_timeout: float = 1.0
    clock: WalClock = field(default_factory=lambda: WalClock(60.0))
    cache_floor: int = 0
    _fence_at: float | None = None
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def open(cls, dsns: tuple[str, ...], *, max_lag: float, max_size: int, db_timeout: float) -> ReplicaSet:
        """Pools that connect on first use (a replica down at start is only "down")."""
        probe_timeout = min(1.0, db_timeout)
        replicas = [
            Replica(replica_name(dsn), await create_pool(dsn, min_size=0, max_size=max_size, db_timeout=db_timeout))
            for dsn in dsns
        ]
        return cls(replicas, max_lag=max_lag, probe_timeout=probe_timeout, clock=WalClock(max(60.0, 4 * max_lag)))

    # --- routing --------------------------------------------------------------------------------

    def state(self, replica: Replica) -> ReplicaState:
        if not replica.up:
            return ReplicaState.DOWN
        if replica.lag_seconds is not None and replica.lag_seconds > self.max_lag:
            return ReplicaState.LAGGING
        return ReplicaState.STREAMING

    def choose(self, floor: int, *, for_cache: bool = False) -> Replica | None:
        """A replica that may answer a read needing `floor` (round robin among them), or None: the
        primary must."""
        if not self.replicas:
            return None
        if for_cache:
            if self._fence_at is not None:
                return None
            floor = max(floor, self.cache_floor)
        usable = [r for r in self.replicas if r.replayed >= floor and self.state(r) is ReplicaState.STREAMING]
        if not usable:
            return None
        return usable[next(self._turn) % len(usable)]

    def mark_down(self, replica: Replica, error: BaseException) -> None:
        if replica.up:
            log.warning("replica %s failed (%s); reading from the primary", replica.name, type(error).__name__)
        replica.up = False

    def fence(self) -> None:
        """Something changed that this node was told about only now: cache-filling reads go to the
        primary until the monitor has seen where the primary stands (which is past the change)."""
        if self.replicas:
            self._fence_at = time.monotonic()

    def raise_cache_floor(self, lsn: int) -> None:
        """A change committed at `lsn` emptied caches: refill them only from replicas that have it."""
        self.cache_floor = max(self.cache_floor, lsn)

    def statuses(self) -> list[dict[str, object]]:
        return [
            {"name": r.name, "state": self.state(r).value, "lag_seconds": r.lag_seconds if r.up else None}
            for r in self.replicas
        ]

    # --- monitoring -----------------------------------------------------------------------------

    def start(self, primary: asyncpg.Pool) -> None:
        if not self.replicas:
            return
        self._tasks.append(asyncio.create_task(self._watch_primary(primary), name="wharf-primary-wal"))
        for replica in self.replicas:
            self._tasks.append(asyncio.create_task(self._watch(replica), name=f"wharf-replica-{replica.name}"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for replica in self.replicas:
            await replica.pool.close()

    async def _watch_primary(self, primary: asyncpg.Pool) -> None:
        while True:
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.probe_timeout), primary.acquire() as conn:
                    lsn = await primary_position(conn)
            except (*REPLICA_FAILURES, asyncpg.PostgresError):
                lsn = None  # the primary's own outage is /readyz's to report
            if lsn is not None:
                self.clock.observe(lsn)
                if self._fence_at is not None and started >= self._fence_at:
                    self.raise_cache_floor(lsn)
                    self._fence_at = None
            await asyncio.sleep(self.interval)

    async def _watch(self, replica: Replica) -> None:
        while True:
            try:
                async with asyncio.timeout(self.probe_timeout), replica.pool.acquire() as conn:
                    replayed = parse_lsn(await _SQL.replayed_lsn.fetchval(conn))
            except (*REPLICA_FAILURES, asyncpg.PostgresError) as exc:
                self.mark_down(replica, exc)
                replica.lag_seconds = None
            else:
                if not replica.up:
                    log.info("replica %s answers", replica.name)
                replica.up = True
                replica.replayed = max(replica.replayed, replayed or 0)
                replica.lag_seconds = self.clock.lag(replica.replayed)
            await asyncio.sleep(self.interval)
