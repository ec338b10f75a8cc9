"""The package index as the registry answers it: who depends on a package (optionally: in a
range admitting a version), who defines it, what a repository holds, and queueing repositories
for the indexer (whose workers write what is read here)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

import asyncpg

from registry.auth import policy
from registry.db.database import Database
from registry.db.lsn import CURRENT_FLOOR
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.ecosystems import Ecosystem
from registry.services.loaders import repo_named
from registry.store import index_queue
from registry.store import package_index as store
from registry.store.index_queue import QueueEntry
from registry.store.package_index import Definer, DependentRow, RangeCount, Repo, RepoRow
from registry.ttl_cache import TtlCache

T = TypeVar("T")


class SharedLoads(Generic[T]):
    """Concurrent misses of one key share one load. A popular package's per-range counts take tens
    of milliseconds to count; when its cached counts expire under load, every request in flight
    missed at once and each counted them again, a burst that set the API's p99
    (bench/bench_dependents.py). Coherent like the cache it fills (registry.ttl_cache): told of any
    change, it forgets the loads in flight, so that a request arriving after a change never shares
    a load begun before it; a request with a read floor (its client just wrote) loads on its own,
    as it reads around the cache."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, asyncio.Future[T]] = {}
        self._suspended = False

    async def load(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        floor = CURRENT_FLOOR.get()
        if self._suspended or (floor is not None and floor.floor > 0):
            return await load()
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(load())
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(pending)  # one waiter cancelled does not cancel the others' load

    def _forget(self, key: Hashable, done: asyncio.Future[T]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if not done.cancelled():
            done.exception()  # retrieved: the waiters, if any are left, have it raised

    def invalidate(self, payload: str) -> None:
        self._pending.clear()

    def clear(self) -> None:
        self._pending.clear()

    def suspend(self, suspended: bool) -> None:
        self._suspended = suspended
        self._pending.clear()


class SourceRequired(BadRequest):
    """A repository queued for the first time must say where the workers read it from."""


class Dependent(Record):
    """A dependent and, when a version was asked about, whether its range admits it (None: the
    range cannot be evaluated by its ecosystem's rules)."""

    row: DependentRow
    admits: bool | None


class RangeVerdict(Record):
    declared_range: str
    count: int
    admits: bool | None


class Dependents(Record):
    """A page of a package's dependents. `total` counts the kept ones (all, without a version);
    `unevaluated` (only with a version) those whose range could not be evaluated; `ranges` is
    the per-range summary the listing started with."""

    language: str
    package: str
    version: str | None
    total: int
    unevaluated: int | None
    ranges: list[RangeVerdict]
    page: Page[Dependent]


class RepoRows(Record):
    repo: Repo
    page: Page[RepoRow]


class Queued(Record):
    uri: str
    source: str
    revision: str | None


class RepoState(Record):
    """A repository and its place in the index queue, as the actor may see it."""

    repo: Repo
    queue: QueueEntry | None


@dataclass(eq=False)
class PackageIndexService:
    db: Database
    summaries: TtlCache[list[RangeCount]]
    summary_loads: SharedLoads[list[RangeCount]] = field(default_factory=SharedLoads, init=False)

    def __post_init__(self) -> None:
        self.db.invalidations.register(self.summary_loads)

    async def summary(self, ecosystem: Ecosystem, package: str, version: str | None) -> list[RangeVerdict]:
        """How many dependents declare each range, cached (a popular package's counts are the
        costliest part of its first page) until the indexer changes the package's dependents on
        any node (migration 10), or for at most a few seconds, and counted once for all the
        requests that find them missing at the same time; with `version`, whether each range
        admits it by the ecosystem's rules."""

        key = (ecosystem.language, package)

        async def count() -> list[RangeCount]:
            return await self.db.read_for_cache(store.dependents_by_range, ecosystem.language, package)

        async def load() -> list[RangeCount]:
            return await self.summary_loads.load(key, count)

        counts = await self.summaries.get(key, load)
        return [
            RangeVerdict(c.declared_range, c.count, ecosystem.admits(c.declared_range, version) if version else None)
            for c in counts
        ]

    async def dependents(
        self, ecosystem: Ecosystem, package: str, version: str | None, page: PageRequest
    ) -> Dependents:
        """Dependents keyset-paginated by (repository, row), with a total. With `version`, only
        ranges admitting it are kept; a range that cannot be evaluated is kept with `admits`
        None (and counted in `unevaluated`), never silently dropped."""
        store.DEPENDENTS_ORDER.after(page)  # a cursor this ordering did not issue is refused before any query
        ranges = await self.summary(ecosystem, package, version)
        kept = [entry for entry in ranges if entry.admits is not False]
        verdicts = {entry.declared_range: entry.admits for entry in ranges}
        async with self.db.reading() as conn:
            rows = await store.dependents_page(
                conn,
                ecosystem.language,
                package,
                matching=sum(entry.count for entry in ranges),
                page=page,
                declared_ranges=[entry.declared_range for entry in kept] if version is not None else None,
            )
        return Dependents(
            language=ecosystem.language,
            package=package,
            version=version,
            total=sum(entry.count for entry in kept),
            unevaluated=sum(e.count for e in ranges if e.admits is None) if version is not None else None,
            ranges=ranges,
            page=rows.map(lambda row: Dependent(row, verdicts.get(row.declared_range))),
        )

    async def definers(self, ecosystem: Ecosystem, name: str, page: PageRequest) -> Page[Definer]:
        """Repositories whose manifests define a package."""
        return await self.db.read(store.definers_page, ecosystem.language, name, page)

    async def repo_dependencies(self, uri: str, page: PageRequest) -> RepoRows:
        async with self.db.reading() as conn:
            repo = await repo_named(conn, uri)
            return RepoRows(repo, await store.repo_dependencies(conn, repo.id, page))

    async def repo_packages(self, uri: str, page: PageRequest) -> RepoRows:
        async with self.db.reading() as conn:
            repo = await repo_named(conn, uri)
            return RepoRows(repo, await store.repo_packages(conn, repo.id, page))

    async def repo(self, actor: Actor, uri: str) -> RepoState:
        """The indexer's last error names paths on the server (where sources are read from): only
        those the policy lets see it do."""
        async with self.db.reading() as conn:
            repo = await repo_named(conn, uri)
            queued = await index_queue.queue_entry(conn, repo.id)
        if queued is not None and not policy.may_see_indexer_errors(actor):
            queued = replace(queued, last_error=None)
        return RepoState(repo, queued)

    def check_may_queue(self, actor: Actor) -> None:
        """Refuse an actor who may not queue before their request's body is even read."""
        policy.require_site_admin(actor)

    async def add_repo(self, actor: Actor, uri: str, source: str | None, revision: str | None) -> Queued:
        """Register a repository (if new) and queue it. `source` is a path the workers can read:
        a directory, or a git repository (with `revision`)."""
        policy.require_site_admin(actor)
        return await self.db.write(self._queue, uri, source, revision)

    async def reindex_repo(self, actor: Actor, uri: str, source: str | None, revision: str | None) -> Queued:
        """Queue a known repository again; without `source`, the one it was last queued with."""
        policy.require_site_admin(actor)
        async with self.db.transaction() as conn:
            await repo_named(conn, uri)
            return await self._queue(conn, uri, source, revision)

    @staticmethod
    async def _queue(conn: asyncpg.Connection, uri: str, source: str | None, revision: str | None) -> Queued:
        repo_id = await store.ensure_repo(conn, uri)
        current = await index_queue.queue_entry(conn, repo_id)
        source = source or (current.source if current else None)
        if source is None:
            raise SourceRequired("source is required the first time a repository is queued.")
        await index_queue.enqueue(conn, repo_id, source, revision)
        return Queued(uri, source, revision)
