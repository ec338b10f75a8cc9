"""The package index as the registry answers it: who depends on a package (optionally: in a
range admitting a version), who defines it, what a repository holds, and queueing repositories
for the indexer (whose workers write what is read here)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypeVar

import asyncpg

from registry.auth import policy
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest, NotFound, Unprocessable, or_raise
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.ecosystems import Ecosystem
from registry.git_sources import GitSource, SourcePolicy, SourceRefused, check_revision
from registry.services.advisories import affected_package, check_advisory_id, declared_verdict
from registry.services.loaders import repo_named
from registry.store import advisories, index_queue
from registry.store import package_index as store
from registry.store.index_queue import QueueEntry
from registry.store.package_index import (
    Definer,
    DependentRepo,
    DependentRow,
    DependentTotals,
    RangeCount,
    Repo,
    RepoRow,
    ResolvedFilter,
    ResolvedRow,
)
from registry.ttl_cache import TtlCache

T = TypeVar("T")

DECLARATIONS_PER_REPO = 10
"""How many of a repository's declarations a page of dependent repositories shows by default (the
rest are counted): a monorepo declaring a package in thousands of manifests stays one small item."""
MAX_DECLARATIONS_PER_REPO = 100


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
    counts: DependentTotals
    """The kept dependents as repositories, packages and declarations (`total` is declarations)."""


class DependentRepos(Record):
    """A page of the repositories depending on a package, each with its declarations grouped.
    `totals` counts what the filters keep (`version`: ranges admitting it or that cannot be
    evaluated; `advisory`: ranges admitting a version it names affected); `ranges` is the per-range
    summary before filtering, with each range's verdict on `version` (its chart); `kept` the ranges
    the page was filtered to (None: unfiltered)."""

    language: str
    package: str
    version: str | None
    advisory: str | None
    totals: DependentTotals
    unevaluated: int | None
    ranges: list[RangeVerdict]
    kept: frozenset[str] | None
    page: Page[DependentRepo]

    matches: dict[str, str]
    """With `advisory`: each kept range's match, "declared" (it admits an affected version) or
    "unknown" (it cannot be evaluated), as /api/advisories/{id}/affected reports them."""


class RepoRows(Record):
    repo: Repo
    page: Page[RepoRow]


class RepoResolved(Record):
    repo: Repo
    page: Page[ResolvedRow]


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
    totals_cache: TtlCache[DependentTotals]
    sources: SourcePolicy = field(default_factory=SourcePolicy)

    async def summary(self, ecosystem: Ecosystem, package: str, version: str | None) -> list[RangeVerdict]:
        """How many dependents declare each range, cached (a popular package's counts are the
        costliest part of its first page) until the indexer changes the package's dependents on
        any node (migration 10), or for at most a few seconds — then recounted once, behind the
        requests that go on being answered with the last counts when nothing but time has made
        them old (registry.ttl_cache's refresh behind); with `version`, whether each range admits it by the ecosystem's
        rules."""

        async def count() -> list[RangeCount]:
            return await self.db.read_for_cache(store.dependents_by_range, ecosystem.language, package)

        counts = await self.summaries.get((ecosystem.language, package), count)
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
        counts = await self.totals(
            ecosystem, package, frozenset(e.declared_range for e in kept) if version is not None else None
        )
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
            counts=counts,
        )

    async def totals(self, ecosystem: Ecosystem, package: str, kept: frozenset[str] | None = None) -> DependentTotals:
        """Repositories, packages and declarations depending on a package (of those declaring one
        of `kept`, if given): every match is counted, so the counts are cached as the per-range
        ones are (same tags, same refresh behind), keyed by the set of ranges kept, which any two
        filters keeping the same ranges share."""

        async def count() -> DependentTotals:
            ranges = sorted(kept) if kept is not None else None
            return await self.db.read_for_cache(store.dependents_totals, ecosystem.language, package, ranges)

        return await self.totals_cache.get((ecosystem.language, package, kept), count)

    async def dependent_repos(
        self,
        ecosystem: Ecosystem,
        package: str,
        page: PageRequest,
        *,
        version: str | None = None,
        advisory: str | None = None,
        per_repo: int = DECLARATIONS_PER_REPO,
    ) -> DependentRepos:
        """Repositories depending on a package, keyset by repository, each with its first
        `per_repo` declarations. With `version`, only declarations whose range admits it (or cannot
        be evaluated); with `advisory`, only those whose range admits a version the advisory says
        is affected (its "declared" matching, registry.services.advisories); both: both."""
        store.DEPENDENT_REPOS_ORDER.after(page)  # a foreign cursor is refused before any query
        ranges = await self.summary(ecosystem, package, version)
        kept = {entry.declared_range for entry in ranges if entry.admits is not False} if version else None
        matches: dict[str, str] = {}
        if advisory is not None:
            matches = await self._advisory_matches(ecosystem, package, advisory, ranges)
            kept = set(matches) if kept is None else kept & set(matches)
        frozen = frozenset(kept) if kept is not None else None
        totals = await self.totals(ecosystem, package, frozen)
        repos: Page[DependentRepo] = Page([], None)
        if frozen is None or frozen:
            async with self.db.reading() as conn:
                repos = await store.dependent_repos_page(
                    conn,
                    ecosystem.language,
                    package,
                    page=page,
                    per_repo=per_repo,
                    declared_ranges=sorted(frozen) if frozen is not None else None,
                )
        unevaluated = None
        if version is not None:
            unevaluated = sum(
                e.count for e in ranges if e.admits is None and (frozen is None or e.declared_range in frozen)
            )
        return DependentRepos(
            language=ecosystem.language,
            package=package,
            version=version,
            advisory=advisory,
            totals=totals,
            unevaluated=unevaluated,
            ranges=ranges,
            kept=frozen,
            page=repos,
            matches={r: m for r, m in matches.items() if frozen is None or r in frozen},
        )

    async def _advisory_matches(
        self, ecosystem: Ecosystem, package: str, advisory_id: str, ranges: list[RangeVerdict]
    ) -> dict[str, str]:
        """Each declared range of the package that the advisory affects, with its match: each
        distinct range evaluated once, as /api/advisories/{id}/affected does. A withdrawn advisory
        affects nothing; an unknown one is a 404."""
        check_advisory_id(advisory_id)
        async with self.db.reading() as conn:
            found = or_raise(
                await advisories.advisory_named(conn, advisory_id), NotFound(f"No advisory {advisory_id}.")
            )
            entries = [] if found.withdrawn else await advisories.affected_of(conn, found.id)
        matches: dict[str, str] = {}
        for entry in entries:
            if entry.language != ecosystem.language or entry.package != package:
                continue
            affected = affected_package(entry)
            for declared in ranges:
                verdict = declared_verdict(ecosystem, affected, declared.declared_range)
                if verdict is not None and matches.get(declared.declared_range) != "declared":
                    matches[declared.declared_range] = verdict.match
        return matches

    async def definers(self, ecosystem: Ecosystem, name: str, page: PageRequest) -> Page[Definer]:
        """Repositories whose manifests define a package."""
        return await self.db.read(store.definers_page, ecosystem.language, name, page)

    async def repo_dependencies(self, uri: str, page: PageRequest) -> RepoRows:
        async with self.db.reading() as conn:
            repo = await repo_named(conn, uri)
            return RepoRows(repo, await store.repo_dependencies(conn, repo.id, page))

    async def repo_resolved(self, uri: str, only: ResolvedFilter, page: PageRequest) -> RepoResolved:
        """The versions the repository's lockfiles resolved, as its last indexed revision has them."""
        async with self.db.reading() as conn:
            repo = await repo_named(conn, uri)
            return RepoResolved(repo, await store.repo_resolved(conn, repo.id, only, page))

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
