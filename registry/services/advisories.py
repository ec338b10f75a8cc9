"""Security advisories as the registry answers them: an advisory (by id or alias), the repositories
it affects, and the advisories affecting a repository.

A repository is affected when a version it uses falls in an advisory's affected ranges
(registry.ecosystems.osv). Where a lockfile of the package's language resolved it, that version
decides: `"resolved"`, the version itself is the witness, with one shortest path from the
repository's root to it. A repository with no lockfile of that language is judged by what its
manifests declare: `"declared"`, the range admits an affected version (the witness is shown). A
repository with a lockfile pinning a fixed version is therefore not listed, whatever its manifest's
range admits. A declared range (or resolved version) its ecosystem cannot read (`workspace:*`, a
git URL) is reported as `"unknown"` rather than dropped, as /api/dependents does.

A withdrawn advisory affects nothing; it is still shown, with its `withdrawn` time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

from registry.db.database import Database
from registry.domain.errors import BadRequest, NotFound, or_raise
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.ecosystems import Ecosystem, ecosystem_named
from registry.ecosystems.osv import AffectedPackage, affects, declared_match, first_fixed, ranges_from_json
from registry.services.loaders import repo_named
from registry.store import advisories as store
from registry.store.advisories import Advisory, AffectedDependency, AffectedRow, RepoCandidate
from registry.store.package_index import Repo

ADVISORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # migration 15's advisory_id_shape
_REPO_URI = re.compile(r"[^\s\x00-\x1f\x7f]{1,1024}")  # no whitespace or control character; bounded
_CHUNK = 500  # candidates evaluated per statement while filling a page of a repository's advisories


class Verdict(Record):
    """How a dependency meets an advisory: `match` is "resolved" (its lockfile runs `witness`, an
    affected version), "declared" (its range admits `witness`) or "unknown" (its range or version
    cannot be evaluated); `first_fixed` is the lowest fixed version above the witness."""

    match: str
    witness: str | None
    first_fixed: str | None


class AdvisoryDetails(Record):
    advisory: Advisory
    affected: list[AffectedRow]


class AffectedRepo(Record):
    row: AffectedDependency
    verdict: Verdict


class AffectedRepos(Record):
    advisory: Advisory
    page: Page[AffectedRepo]


class RepoAdvisory(Record):
    row: RepoCandidate
    verdict: Verdict


class RepoAdvisories(Record):
    repo: Repo
    page: Page[RepoAdvisory]


def check_advisory_id(text: str) -> str:
    """An OSV id or alias as the API takes it (400 otherwise: no id of another shape is stored)."""
    if not ADVISORY_ID.fullmatch(text):
        raise BadRequest("An advisory id is 1 to 128 letters, digits, '.', '_', ':' or '-' (e.g. GHSA-jfh8-c2jp-5v3q).")
    return text


def check_repo_uri(uri: str) -> str:
    if not _REPO_URI.fullmatch(uri):
        raise BadRequest("A repository URI is 1 to 1024 characters without spaces or control characters.")
    return uri


def affected_package(row: AffectedRow | RepoCandidate) -> AffectedPackage:
    return AffectedPackage(
        language=row.language,
        package=row.package,
        ecosystem=row.ecosystem,
        name=row.name,
        ranges=ranges_from_json(row.ranges),
        versions=tuple(row.versions),
    )


def declared_verdict(ecosystem: Ecosystem, affected: AffectedPackage, declared_range: str) -> Verdict | None:
    """A declared range against one affected package: None when it admits no affected version."""
    found = declared_match(ecosystem, affected, declared_range)
    if not found.evaluable:
        return Verdict("unknown", None, None)
    if found.witness is None:
        return None
    return Verdict("declared", found.witness, first_fixed(ecosystem, affected, found.witness))


def resolved_verdict(ecosystem: Ecosystem, affected: AffectedPackage, version: str) -> Verdict | None:
    """A resolved version against one affected package: None when it is not affected."""
    found = affects(ecosystem, affected, version)
    if found is None:
        return Verdict("unknown", None, None)
    if not found:
        return None
    return Verdict("resolved", version, first_fixed(ecosystem, affected, version))


def _item_key(item: RepoAdvisory) -> tuple[str, int, int, int]:
    return store.candidate_key(item.row)


def _stronger(old: Verdict | None, new: Verdict) -> Verdict:
    """Two entries of one advisory naming the same package: a witnessed match wins over unknown."""
    return new if old is None or (old.match == "unknown" and new.match != "unknown") else old


def _keep(verdicts: dict[tuple[str, str, str], Verdict], key: tuple[str, str, str], verdict: Verdict | None) -> None:
    if verdict is not None:
        verdicts[key] = _stronger(verdicts.get(key), verdict)


def _verdict_of(
    row: AffectedDependency,
    resolved: dict[tuple[str, str, str], Verdict],
    declared: dict[tuple[str, str, str], Verdict],
) -> Verdict:
    if row.kind == store.RESOLVED:
        return resolved[(row.language, row.package, row.version or "")]
    return declared[(row.language, row.package, row.declared_range or "")]


@dataclass(eq=False)
class AdvisoriesService:
    db: Database

    async def advisory(self, id_or_alias: str) -> AdvisoryDetails:
        async with self.db.reading() as conn:
            advisory = await self._load(conn, id_or_alias)
            return AdvisoryDetails(advisory, await store.affected_of(conn, advisory.id))

    async def affected(self, id_or_alias: str, page: PageRequest) -> AffectedRepos:
        """The dependencies an advisory affects, keyset-paginated by repository: each distinct
        resolved version and declared range of each affected package is evaluated once, then the
        rows holding the affected ones are paged in SQL (see registry.store.advisories)."""
        store.AFFECTED_ORDER.after(page)  # a foreign cursor is refused before any query
        async with self.db.reading() as conn:
            advisory = await self._load(conn, id_or_alias)
            resolved: dict[tuple[str, str, str], Verdict] = {}
            declared: dict[tuple[str, str, str], Verdict] = {}
            for entry in [] if advisory.withdrawn else await store.affected_of(conn, advisory.id):
                ecosystem = ecosystem_named(entry.language)
                if ecosystem is None:
                    continue
                package = affected_package(entry)
                for version in await store.resolved_in_use(conn, entry.language, entry.package):
                    _keep(
                        resolved,
                        (entry.language, entry.package, version),
                        resolved_verdict(ecosystem, package, version),
                    )
                for in_use in await store.versions_in_use(conn, entry.language, entry.package):
                    verdict = declared_verdict(ecosystem, package, in_use.declared_range)
                    _keep(declared, (entry.language, entry.package, in_use.declared_range), verdict)
            rows = Page[AffectedDependency]([], None)
            if resolved or declared:
                rows = await store.affected_page(conn, list(resolved), list(declared), page)
        return AffectedRepos(advisory, rows.map(lambda row: AffectedRepo(row, _verdict_of(row, resolved, declared))))

    async def repo_advisories(self, uri: str, page: PageRequest) -> RepoAdvisories:
        """The live advisories affecting a repository's dependencies, one item per (advisory,
        dependency), keyset-paginated. Candidates (dependencies on a package an advisory names)
        are read in chunks and evaluated until the page is full, so a page never comes back short
        while more matches follow."""
        check_repo_uri(uri)
        store.REPO_ADVISORIES_ORDER.after(page)
        found: list[RepoAdvisory] = []
        async with self.db.reading() as conn:
            repo = await repo_named(conn, uri)
            chunk = PageRequest(_CHUNK, page.cursor)
            while True:
                rows = await store.repo_candidates(conn, repo.id, chunk)
                for row in rows[:_CHUNK]:
                    verdict = self._candidate_verdict(row)
                    if verdict is not None:
                        found.append(RepoAdvisory(row, verdict))
                    if len(found) > page.limit:
                        break
                if len(found) > page.limit or len(rows) <= _CHUNK:
                    break
                chunk = PageRequest(_CHUNK, store.REPO_ADVISORIES_ORDER.encode(store.candidate_key(rows[_CHUNK - 1])))
        return RepoAdvisories(repo, store.REPO_ADVISORIES_ORDER.page(found, page, _item_key))

    @staticmethod
    def _candidate_verdict(row: RepoCandidate) -> Verdict | None:
        ecosystem = ecosystem_named(row.language)
        if ecosystem is None:
            return None
        if row.kind == store.RESOLVED and row.version is not None:
            return resolved_verdict(ecosystem, affected_package(row), row.version)
        return declared_verdict(ecosystem, affected_package(row), row.declared_range or "")

    @staticmethod
    async def _load(conn: asyncpg.Connection, id_or_alias: str) -> Advisory:
        check_advisory_id(id_or_alias)
        found = await store.advisory_named(conn, id_or_alias)
        return or_raise(found, NotFound(f"No advisory {id_or_alias}."))
