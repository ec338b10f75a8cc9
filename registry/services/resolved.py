"""Dependents by resolved version: which repositories run a package at a version their lockfiles
resolved — directly or through something else, and through what (one shortest path).

`version` is an exact version or a range in the ecosystem's own syntax. A *plain* version (digits
and dots, an optional `v`, pre-release and build suffix: `4.17.20`, `v1.2.3`, `2.0`) means exactly
that version in every ecosystem, compared by the ecosystem's ordering (so PyPI's `2.0` is `2.0.0`)
— Cargo's "a bare version is a caret requirement" does not apply to a question about what runs;
anything else is read as a range by the ecosystem's `read_range` (`^1.2`, `>=2,<3`, `[1.0,2.0)`)
and 400 when it cannot be.

A range is evaluated against the package's *distinct* resolved versions, never per row: a package
run by 100,000 repositories has a few hundred versions. The versions and their counts are one
cached statement; at most `MAX_RANGE_VERSIONS` of them (the most run first) are evaluated per
request, the others counted in `unevaluated`; more than `INLINE_VERSIONS` are evaluated in the
worker processes (registry.offload: univers takes ~27 µs a version, which is CPU on user input).
The rows of the matched versions are then paged in SQL (registry.store.resolved).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from registry.db.database import Database
from registry.domain.errors import BadRequest, ServiceUnavailable
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.ecosystems import Ecosystem, ecosystem_named, ranges
from registry.offload import WorkerPool, WorkTimeout
from registry.store import resolved as store
from registry.store.resolved import ResolvedRow, Totals, VersionCount
from registry.ttl_cache import TtlCache

MAX_RANGE_VERSIONS = 5000
"""Distinct versions one request evaluates a range against (the most run first); far more than a
package publishes in practice, and a bound on the CPU a request may cost (~0.14 s with univers)."""
ORDERED_SHARE = 0.05
"""A page is read in repository order (`resolved_dep_by_repo`) when the kept versions hold at least
this share of the package's rows: about `limit / share` index entries are skipped to fill it. Below
it, each kept version's rows are merged (at most versions x limit entries): see migration 17."""
INLINE_VERSIONS = 200
"""Up to this many versions (~5 ms) are evaluated on the event loop; more go to a worker process."""

_PLAIN_VERSION = re.compile(r"v?\d+(?:\.\d+)*(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?(?:\+[0-9A-Za-z][0-9A-Za-z.-]*)?")


class VersionVerdict(Record):
    """A resolved version of the package, its counts, and whether the asked version or range
    matches it (always True without one; None: the ecosystem's ordering cannot read it)."""

    version: str
    repos: int
    rows: int
    matches: bool | None


class Selection(Record):
    """What one question (version or range, direct, dev) keeps: a verdict per version in the
    order of the counts, and the kept rows' totals."""

    verdicts: tuple[bool | None, ...]
    totals: Totals


class ResolvedQuery(Record, kw_only=True):
    ecosystem: Ecosystem
    package: str
    version: str | None = None
    direct: bool | None = None
    dev: bool | None = None


class ResolvedSummary(Record):
    """What a question keeps of a package's resolved dependents: `repos`/`rows` count it (distinct
    repositories, and rows: a repository with two lockfiles, or two versions, is one repository and
    two rows); `versions` is every resolved version with its counts (the chart) and verdict;
    `unevaluated` how many versions the question could not be decided for."""

    query: ResolvedQuery
    versions: list[VersionVerdict]
    repos: int
    rows: int
    unevaluated: int

    def kept(self) -> list[str]:
        return [entry.version for entry in self.versions if entry.matches]


class ResolvedDependents(Record):
    summary: ResolvedSummary
    page: Page[ResolvedRow]


def check_version(ecosystem: Ecosystem, asked: str) -> str:
    """The asked version or range, or 400 when it is neither by the ecosystem's rules."""
    if not _PLAIN_VERSION.fullmatch(asked) and not ranges.readable(ecosystem.read_range, asked):
        raise BadRequest(f"version {asked!r} is neither a version nor a range {ecosystem.language} can read.")
    return asked


def _order_key(ecosystem: Ecosystem, version: str) -> object | None:
    try:
        key: object = ecosystem.order(version)
    except (ValueError, TypeError):
        return None
    return key


def matching_versions(language: str, asked: str, versions: Sequence[str]) -> tuple[bool | None, ...]:
    """Does `asked` (see the module's docstring) match each of `versions`? A module-level function
    of plain values, so that it can run in a worker process."""
    ecosystem = ecosystem_named(language)
    if ecosystem is None:
        return tuple(None for _ in versions)
    if _PLAIN_VERSION.fullmatch(asked):
        wanted = _order_key(ecosystem, asked)
        return tuple(
            version == asked or (wanted is not None and _order_key(ecosystem, version) == wanted)
            for version in versions
        )
    return tuple(ecosystem.admits(asked, version) for version in versions)


def resolved_tags(key: Hashable, value: object) -> Iterable[str]:
    """Every entry is about one package, whose resolved rows' changes are announced (migration 16)."""
    if isinstance(key, tuple) and len(key) >= 2:
        yield f"dependents:{key[0]}:{key[1]}"


@dataclass(eq=False)
class ResolvedService:
    db: Database
    counts: TtlCache[list[VersionCount]]
    selections: TtlCache[Selection]
    evaluators: WorkerPool

    async def version_counts(self, ecosystem: Ecosystem, package: str) -> list[VersionCount]:
        """Each resolved version with its repositories and rows, the most run first; cached until
        the package's resolved rows change on any node (or a few seconds pass)."""

        async def count() -> list[VersionCount]:
            found = await self.db.read_for_cache(store.version_counts, ecosystem.language, package)
            return sorted(found, key=lambda c: (-c.repos, -c.rows, c.version))

        return await self.counts.get((ecosystem.language, package), count)

    async def summary(self, query: ResolvedQuery) -> ResolvedSummary:
        """Every resolved version with its counts and verdict, and the totals of what is kept."""
        counts = await self.version_counts(query.ecosystem, query.package)
        selection = await self._selection(query, counts)
        verdicts = list(selection.verdicts) + [None] * (len(counts) - len(selection.verdicts))
        return ResolvedSummary(
            query=query,
            versions=[VersionVerdict(c.version, c.repos, c.rows, ok) for c, ok in zip(counts, verdicts, strict=True)],
            repos=selection.totals.repos,
            rows=selection.totals.rows,
            unevaluated=sum(1 for ok in verdicts if ok is None),
        )

    async def dependents(self, query: ResolvedQuery, page: PageRequest) -> ResolvedDependents:
        """The rows running a kept version, keyset by (repository, row), with the summary."""
        store.RESOLVED_ORDER.after(page)  # a foreign cursor is refused before any query
        summary = await self.summary(query)
        kept = summary.kept()
        if not kept:
            return ResolvedDependents(summary, Page([], None))
        kept_rows = sum(entry.rows for entry in summary.versions if entry.matches)
        in_order = kept_rows >= ORDERED_SHARE * sum(entry.rows for entry in summary.versions)
        async with self.db.reading() as conn:
            rows = await store.dependents_page(
                conn,
                query.ecosystem.language,
                query.package,
                kept,
                page,
                direct=query.direct,
                dev=query.dev,
                in_order=in_order and len(kept) > 1,
            )
        return ResolvedDependents(summary, rows)

    async def _selection(self, query: ResolvedQuery, counts: list[VersionCount]) -> Selection:
        language, package = query.ecosystem.language, query.package

        async def select() -> Selection:
            versions = [c.version for c in counts[:MAX_RANGE_VERSIONS]]
            verdicts = await self._evaluate(language, query.version, versions)
            kept = [version for version, ok in zip(versions, verdicts, strict=True) if ok]
            if not kept:
                return Selection(verdicts, Totals(rows=0, repos=0))
            async with self.db.reading(for_cache=True) as conn:
                totals = await store.matched_totals(conn, language, package, kept, direct=query.direct, dev=query.dev)
            return Selection(verdicts, totals)

        key = (language, package, query.version, query.direct, query.dev)
        return await self.selections.get(key, select)

    async def _evaluate(self, language: str, asked: str | None, versions: list[str]) -> tuple[bool | None, ...]:
        if asked is None:
            return tuple(True for _ in versions)
        if len(versions) <= INLINE_VERSIONS:
            return matching_versions(language, asked, versions)
        try:
            return await self.evaluators.run(matching_versions, language, asked, versions)
        except WorkTimeout:
            raise ServiceUnavailable("Evaluating the range took too long; try an exact version.") from None
