"""Security advisories (`advisory`, `advisory_affected`: migration 15) and where they meet the index.

`indexer advisories import` writes them, one record per transaction of the caller's; the API
reads them. Which repositories an advisory affects is answered in two steps, so that a package
with 80,000 dependents costs one evaluation per distinct *version* rather than per dependent:
`versions_in_use` lists each (kind, value) the index holds for a package — today the declared
ranges of `global_dep` — and, once the service has evaluated those, `affected_page` pages the
dependencies holding the affected ones, keyset by (repo_id, row id) like /api/dependents.

Resolved versions (a lockfile's, migration 16) come the same way: `resolved_in_use` lists the
package's distinct resolved versions, and `affected_page` pages their rows (with depth and one
shortest path) together with the declared rows, keeping declared rows only for repositories
without a lockfile of that language — there the lockfile says which version runs, and a range
that would admit an affected version says nothing more. A row's `kind` (0 resolved, 1 declared)
is part of the keyset, the two tables' ids being separate sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg
import orjson

from registry.db import queries
from registry.db.queries import FromRow, Keyset
from registry.domain.page import Column, CursorCodec, Page, PageRequest
from registry.domain.record import Record
from registry.ecosystems.osv import AffectedPackage

_SQL = queries.load(__file__)

AFFECTED_ORDER = CursorCodec(Column.INT4, Column.INT4, Column.INT8)  # (repo_id serial, kind, row identity)
REPO_ADVISORIES_ORDER = CursorCodec(Column.TEXT, Column.INT4, Column.INT8, Column.INT4)  # (advisory, kind, row, entry)
RESOLVED, DECLARED = 0, 1  # a dependency row's kind: resolved_dep's, or global_dep's


class Advisory(FromRow):
    id: str
    aliases: list[str]
    summary: str
    details: str | None
    modified: datetime
    published: datetime | None
    withdrawn: datetime | None


class AffectedRow(FromRow):
    """An `advisory_affected` row: one affected package of an advisory."""

    advisory_id: str
    position: int
    language: str
    package: str
    ecosystem: str
    name: str
    ranges: list[dict[str, Any]]
    versions: list[str]
    fixed: list[str]


class InUse(FromRow):
    """A value a package is depended on with, and by how many dependencies."""

    declared_range: str
    count: int


class Matched(FromRow, kw_only=True):
    """What made a repository's dependency match an advisory: a resolved row (`version`, the
    lockfile as `path`, `depth`, `via`) or a declared one (`declared_range`, the manifest as
    `path`), by `kind`, and the row's id within it."""

    kind: int
    row_id: int
    declared_range: str | None
    version: str | None
    dep_type: str | None
    path: str | None
    depth: int | None
    via: list[str] | None


class AffectedDependency(Matched, kw_only=True):
    """A matched dependency of the repository `repo`."""

    repo_id: int
    language: str
    package: str
    repo: str


_AFFECTED: Keyset[AffectedDependency] = Keyset(
    AFFECTED_ORDER, ("after_repo", "after_kind", "after_id"), lambda row: (row.repo_id, row.kind, row.row_id), first=0
)


class RepoCandidate(AffectedRow, Matched, kw_only=True):
    """A repository's dependency on a package a live advisory names, with the advisory's entry."""

    summary: str
    aliases: list[str]


def candidate_key(row: RepoCandidate) -> tuple[str, int, int, int]:
    return (row.advisory_id, row.kind, row.row_id, row.position)


REPO_CANDIDATES: Keyset[RepoCandidate] = Keyset(
    REPO_ADVISORIES_ORDER, ("after_advisory", "after_kind", "after_row", "after_position"), candidate_key
)


# -- reading -------------------------------------------------------------------------------------


async def advisory_named(conn: asyncpg.Connection, id_or_alias: str) -> Advisory | None:
    return await _SQL.advisory_by_id_or_alias.one(conn, Advisory, id=id_or_alias)


async def affected_of(conn: asyncpg.Connection, advisory_id: str) -> list[AffectedRow]:
    return await _SQL.affected_of.all(conn, AffectedRow, advisory_id=advisory_id)


async def versions_in_use(conn: asyncpg.Connection, language: str, package: str) -> list[InUse]:
    """Each declared range of the package, once, with its count (see the module's docstring)."""
    return await _SQL.declared_in_use.all(conn, InUse, language=language, package=package)


async def resolved_in_use(conn: asyncpg.Connection, language: str, package: str) -> list[str]:
    """Each version lockfiles resolved for the package, once (see the module's docstring)."""
    return [row["version"] for row in await _SQL.resolved_in_use.fetch(conn, language=language, package=package)]


async def affected_page(
    conn: asyncpg.Connection,
    resolved: Sequence[tuple[str, str, str]],
    declared: Sequence[tuple[str, str, str]],
    page: PageRequest,
) -> Page[AffectedDependency]:
    """A page of the rows running one of the (language, package, version) triples `resolved`, and
    of those declaring one of the (language, package, declared range) triples `declared` in
    repositories with no lockfile of that language."""
    return await _SQL.affected_page.page(
        conn,
        AffectedDependency,
        _AFFECTED,
        page,
        r_languages=[language for language, _, _ in resolved],
        r_packages=[package for _, package, _ in resolved],
        r_versions=[version for _, _, version in resolved],
        d_languages=[language for language, _, _ in declared],
        d_packages=[package for _, package, _ in declared],
        d_declared=[declared_range for _, _, declared_range in declared],
    )


async def repo_candidates(conn: asyncpg.Connection, repo_id: int, chunk: PageRequest) -> list[RepoCandidate]:
    """Up to `chunk.limit + 1` candidates after `chunk`'s cursor (the service filters and pages them)."""
    return await _SQL.repo_candidates.all(conn, RepoCandidate, **REPO_CANDIDATES.bind(chunk), repo_id=repo_id)


# -- writing -------------------------------------------------------------------------------------


class AdvisoryInput(Record):
    """An OSV record as the importer checked it: `raw` is the record's JSON text."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    details: str | None
    modified: datetime
    published: datetime | None
    withdrawn: datetime | None
    affected: tuple[tuple[int, AffectedPackage], ...]  # (position in the record's `affected`, entry)
    raw: str


Stored = Literal["new", "updated", "unchanged"]


async def store_advisory(conn: asyncpg.Connection, advisory: AdvisoryInput) -> Stored:
    """Write a record unless the stored one is as new ("unchanged": not newer than the stored one);
    its affected rows are replaced with it. The caller's transaction makes the two one change."""
    upsert = _SQL.upsert_advisory
    inserted = await upsert.fetchval(conn, **upsert.bind(advisory, aliases=list(advisory.aliases)))
    if inserted is None:
        return "unchanged"
    if not inserted:
        await _SQL.delete_affected.execute(conn, advisory_id=advisory.id)
    await _SQL.insert_affected.executemany(
        conn,
        [
            {
                "advisory_id": advisory.id,
                "position": position,
                "language": entry.language,
                "package": entry.package,
                "ecosystem": entry.ecosystem,
                "name": entry.name,
                "ranges": orjson.dumps(entry.ranges_json()).decode(),
                "versions": list(entry.versions),
                "fixed": list(entry.fixed_versions()),
            }
            for position, entry in advisory.affected
        ],
    )
    return "new" if inserted else "updated"
