"""The package index as the registry answers it: who depends on a package (optionally: in a
range admitting a version), who defines it, what a repository holds, and queueing repositories
for the indexer (whose workers write what is read here)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

import asyncpg

from registry.auth import policy
from registry.db.database import Database
from registry.db.lsn import CURRENT_FLOOR
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest, Unprocessable
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.ecosystems import Ecosystem
from registry.git_sources import GitSource, SourcePolicy, SourceRefused, check_revision
from registry.services.loaders import repo_named
from registry.store import index_queue
from registry.store import package_index as store
from registry.store.index_queue import QueueEntry
from registry.store.package_index import Definer, DependentRow, RangeCount, Repo, RepoRow
from registry.ttl_cache import TtlCache

T = TypeVar("T")


class SharedLoads(Generic[T]):
    """Loads of values keyed by the invalidation payload that makes them stale
    (`dependents:npm:lodash`): one load per key at a time, and a key loaded before, with no change
    announced for it since, answered at once with that value while the next one loads behind it.

    Why: a popular package's per-range counts take tens of milliseconds to count at 10^6 rows and
    ten times that at 10^7; each time the cache's time bound expired, every request in flight
    waited for a recount, which set the API's p99 (bench/bench_dependents.py). The time bound is
    the cache's second line of defence, not its coherence: coherence is the announced changes
    (migration 10), and these are honoured as strictly as the cache does — a change drops the
    key's last value and forgets its load in flight, so a request after a change waits for a count
    begun after it; a value loaded across a change is not kept. A request with a read floor (its
    client just wrote) loads on its own, as it reads around the cache."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._pending: dict[str, asyncio.Future[T]] = {}
        self._known: OrderedDict[str, T] = OrderedDict()
        self._max = max_entries
        self._generation = 0
        self._suspended = False

    async def load(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        floor = CURRENT_FLOOR.get()
        if self._suspended or (floor is not None and floor.floor > 0):
            return await load()
        pending = self._pending.get(key)
        if pending is None or pending.done():
            pending = asyncio.ensure_future(self._load_and_keep(key, load, self._generation))
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._forget(key, done))
        if key in self._known:
            self._known.move_to_end(key)
            return self._known[key]
        return await asyncio.shield(pending)  # one waiter cancelled does not cancel the others' load

    async def _load_and_keep(self, key: str, load: Callable[[], Awaitable[T]], generation: int) -> T:
        value = await load()
        if generation == self._generation and not self._suspended:
            self._known[key] = value
            self._known.move_to_end(key)
            while len(self._known) > self._max:
                self._known.popitem(last=False)
        return value

    def _forget(self, key: str, done: asyncio.Future[T]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if not done.cancelled():
            done.exception()  # retrieved here: a refresh nobody waits for may fail; the next retries

    def invalidate(self, payload: str) -> None:
        self._generation += 1
        if payload.endswith(":*"):
            kind = payload[:-1]
            for key in [key for key in self._known if key.startswith(kind)]:
                del self._known[key]
            for key in [key for key in self._pending if key.startswith(kind)]:
                del self._pending[key]
        else:
            self._known.pop(payload, None)
            self._pending.pop(payload, None)

    def clear(self) -> None:
        self._generation += 1
        self._known.clear()
        self._pending.clear()

    def suspend(self, suspended: bool) -> None:
        self._suspended = suspended
        self.clear()


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
    sources: SourcePolicy = field(default_factory=SourcePolicy)
    summary_loads: SharedLoads[list[RangeCount]] = field(default_factory=SharedLoads, init=False)

    def __post_init__(self) -> None:
        self.db.invalidations.register(self.summary_loads)

    async def summary(self, ecosystem: Ecosystem, package: str, version: str | None) -> list[RangeVerdict]:
        """How many dependents declare each range, cached (a popular package's counts are the
        costliest part of its first page) until the indexer changes the package's dependents on
        any node (migration 10), or for at most a few seconds — then recounted once, behind the
        requests that go on being answered with the last counts until nothing but time has made
        them old (SharedLoads); with `version`, whether each range admits it by the ecosystem's
        rules."""

        async def count() -> list[RangeCount]:
            return await self.db.read_for_cache(store.dependents_by_range, ecosystem.language, package)

        async def load() -> list[RangeCount]:
            return await self.summary_loads.load(f"dependents:{ecosystem.language}:{package}", count)

        counts = await self.summaries.get((ecosystem.language, package), load)
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
        """Register a repository (if new) and queue it. `source` is a git URL on the operator's
        allow-list (or, where enabled, a local path), checked before anything is stored."""
        policy.require_site_admin(actor)
        checked, revision = self._checked(source, revision)
        return await self.db.write(self._queue, uri, checked, revision)

    async def reindex_repo(self, actor: Actor, uri: str, source: str | None, revision: str | None) -> Queued:
        """Queue a known repository again; without `source`, the one (and the credentials) it is
        queued with."""
        policy.require_site_admin(actor)
        checked, revision = self._checked(source, revision)
        async with self.db.transaction() as conn:
            await repo_named(conn, uri)
            return await self._queue(conn, uri, checked, revision)

    def _checked(self, source: str | None, revision: str | None) -> tuple[GitSource | None, str | None]:
        """The source and revision by the operator's policy; a refusal is a 422 naming the field,
        whose message never repeats a credential."""
        try:
            checked = self.sources.check(source) if source is not None else None
        except SourceRefused as refused:
            raise Unprocessable.at("/source", str(refused), f"The source is refused: {refused}") from None
        try:
            return checked, check_revision(revision) if revision is not None else None
        except SourceRefused as refused:
            raise Unprocessable.at("/revision", str(refused), f"The revision is refused: {refused}") from None

    @staticmethod
    async def _queue(conn: asyncpg.Connection, uri: str, source: GitSource | None, revision: str | None) -> Queued:
        repo_id = await store.ensure_repo(conn, uri)
        if source is not None:
            await index_queue.enqueue(conn, repo_id, source.shown, revision, source.credentials)
            return Queued(uri, source.shown, revision)
        shown = await index_queue.requeue(conn, repo_id, revision)
        if shown is None:
            raise SourceRequired("source is required the first time a repository is queued.")
        return Queued(uri, shown, revision)
