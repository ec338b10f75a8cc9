"""The package index: repositories (`repo`), what they define (`pkgs`) and depend on (`global_dep`).

The API reads it, the indexer writes it, both through this module. Dependents of a package with
few of them are found with `dep_data @> {"package": …}`, which the seed's `global_dep_idxgin`
(jsonb_path_ops) answers; a popular package's pages come from the ordered `global_dep_dependents`
btree instead, which can stop after one page (migration 3 says why). Pages are keyset on
(repo_id, id): stable while the index is rewritten underneath.

A revision is written in the caller's transaction, with the repositories' rows locked: the rows it
no longer has deleted by id, its new ones COPied straight into the tables (indexer/writer.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Self

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset
from registry.domain.page import Column, CursorCodec, Page, PageRequest
from registry.domain.record import Record

_SQL = queries.load(__file__)

# The orderings of the pages, by their keys' columns: (repo_id, row id) is an integer (serial)
# and a bigint identity.
DEPENDENTS_ORDER = CursorCodec(Column.INT4, Column.INT8)
DEFINERS_ORDER = CursorCodec(Column.INT4, Column.INT8)

DEPENDENTS_BY_GIN = _SQL.dependents_by_gin
DEPENDENTS_IN_ORDER = _SQL.dependents_in_order
DEPENDENT_REPOS = _SQL.dependent_repos
FEW_DEPENDENTS = 2000
"""Up to this many, the GIN index collects a package's rows cheaply; beyond it, the ordered
btree stops after one page instead."""


class DependentRow(FromRow):
    repo_id: int
    row_id: int
    repo: str
    declared_range: str
    dep_type: str | None
    path: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """A page holds up to a thousand of these on the API's busiest path, where the frozen
        dataclass's `__init__` (one `object.__setattr__` per field) was the largest single cost of
        a request: filling the new instance's fields at once takes a third of the time (measured
        with bench/bench_dependents.py). The statements select exactly these columns."""
        made = object.__new__(cls)
        made.__dict__.update(row.items())
        return made


_DEPENDENTS: Keyset[DependentRow] = Keyset(
    DEPENDENTS_ORDER, ("after_repo", "after_id"), lambda row: (row.repo_id, row.row_id)
)


DEPENDENT_REPOS_ORDER = CursorCodec(Column.INT4)  # a repository's serial id


class Declaration(Record):
    """One manifest of a repository declaring the package: its path, the range and dep type it
    declares, and the repository's own package defined by that manifest (None where it defines none)."""

    row_id: int
    declared_range: str
    dep_type: str | None
    path: str | None
    defines: str | None
    defines_version: str | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Self:
        """From a `dependent_repos` row, its fields filled at once (see DependentRow.from_row: a
        page holds hundreds of these)."""
        made = object.__new__(cls)
        made.__dict__.update(
            row_id=row["row_id"],
            declared_range=row["declared_range"],
            dep_type=row["dep_type"],
            path=row["path"],
            defines=row["defines"],
            defines_version=row["defines_version"],
        )
        return made


class DependentRepo(Record):
    """A repository depending on a package: how many declarations it has (of those asked about),
    and the first of them (at most the `per_repo` asked for)."""

    repo_id: int
    repo: str
    declarations: int
    shown: list[Declaration]


_DEPENDENT_REPOS: Keyset[DependentRepo] = Keyset(
    DEPENDENT_REPOS_ORDER, ("after_repo",), lambda r: (r.repo_id,), first=0
)


class DependentTotals(FromRow):
    """Dependents counted three ways: repositories, the repositories' own packages that declare the
    package (a monorepo's workspaces), and declarations (manifest entries)."""

    repositories: int
    packages: int
    declarations: int


class RangeCount(FromRow):
    declared_range: str
    count: int


class Definer(FromRow):
    """A `pkgs` row: the repository and its manifest's {"name", "version", "path"}."""

    repo_id: int
    id: int
    repo: str
    pkg: dict[str, Any]


_DEFINERS: Keyset[Definer] = Keyset(DEFINERS_ORDER, ("after_repo", "after_id"), lambda row: (row.repo_id, row.id))


class RepoRow(FromRow):
    """A repository's dependency (with its hints) or package, as its JSON document holds it."""

    id: int
    language: str
    data: dict[str, Any]
    hints: dict[str, Any] | None


REPO_ROWS_ORDER: Keyset[RepoRow] = Keyset(CursorCodec(Column.INT8), ("after",), lambda row: (row.id,), first=0)


class Repo(FromRow):
    id: int
    uri: str
    indexed_revision: str | None
    created_at: datetime
    updated_at: datetime | None


class LockedRepo(FromRow):
    id: int
    uri: str
    indexed_revision: str | None


class LanguageCounts(FromRow):
    language: str
    packages: int
    dependencies: int
    resolved: int


class ResolvedRow(FromRow):
    """A `resolved_dep` row as a repository's listing shows it."""

    id: int
    language: str
    package: str
    version: str
    depth: int
    dev: bool
    optional: bool
    lockfile: str
    parents: list[str]
    via: list[str]
    hints: dict[str, Any]


class ResolvedFilter(Record):
    """Which of a repository's resolved rows to list; None: either."""

    language: str | None = None
    direct: bool | None = None
    dev: bool | None = None


RESOLVED_ORDER: Keyset[ResolvedRow] = Keyset(CursorCodec(Column.INT8), ("after",), lambda row: (row.id,), first=0)


class IndexStatus(Record):
    repos: int
    indexed_repos: int
    languages: tuple[LanguageCounts, ...]


# -- reading ---------------------------------------------------------------------------------


def _listed(declared_ranges: Sequence[str] | None) -> list[str] | None:
    """A range filter as its statements take it: a text[], or NULL for "every range"."""
    return list(declared_ranges) if declared_ranges is not None else None


async def dependents_page(
    conn: asyncpg.Connection,
    language: str,
    package: str,
    *,
    matching: int,
    page: PageRequest,
    declared_ranges: Sequence[str] | None = None,
) -> Page[DependentRow]:
    """A page of dependents (only those declaring one of `declared_ranges`, if given). `matching` (how
    many rows the package has, from the summary) picks the index that answers best."""
    query = DEPENDENTS_BY_GIN if matching <= FEW_DEPENDENTS else DEPENDENTS_IN_ORDER
    return await query.page(
        conn,
        DependentRow,
        _DEPENDENTS,
        page,
        package=package,
        language=language,
        declared_ranges=_listed(declared_ranges),
    )


async def dependent_repos_page(
    conn: asyncpg.Connection,
    language: str,
    package: str,
    *,
    page: PageRequest,
    per_repo: int,
    declared_ranges: Sequence[str] | None = None,
) -> Page[DependentRepo]:
    """A page of repositories depending on a package (on one of `declared_ranges`, if given), keyset
    by repository, each with its first `per_repo` declarations: a repository declaring the package
    in thousands of manifests costs a page no more than `per_repo` rows."""
    rows = await DEPENDENT_REPOS.fetch(
        conn,
        **_DEPENDENT_REPOS.bind(page),
        language=language,
        package=package,
        per_repo=per_repo,
        declared_ranges=_listed(declared_ranges),
    )
    repos: list[DependentRepo] = []
    for row in rows:
        if not repos or repos[-1].repo_id != row["repo_id"]:
            repos.append(DependentRepo(row["repo_id"], row["repo"], row["declarations"], []))
        repos[-1].shown.append(Declaration.of(row))
    return DEPENDENT_REPOS_ORDER.page(repos, page, _DEPENDENT_REPOS.key)


async def dependents_totals(
    conn: asyncpg.Connection, language: str, package: str, declared_ranges: Sequence[str] | None = None
) -> DependentTotals:
    """Repositories, packages and declarations depending on a package (see DependentTotals)."""
    return await _SQL.dependents_totals.single(
        conn,
        DependentTotals,
        language=language,
        package=package,
        declared_ranges=_listed(declared_ranges),
    )


async def dependents_by_range(conn: asyncpg.Connection, language: str, package: str) -> list[RangeCount]:
    """How many dependents declare each range, the most declared first."""
    return await _SQL.dependents_by_range.all(conn, RangeCount, language=language, package=package)


async def definers_page(conn: asyncpg.Connection, language: str, name: str, page: PageRequest) -> Page[Definer]:
    return await _SQL.definers.page(conn, Definer, _DEFINERS, page, name=name, language=language)


async def repo_dependencies(conn: asyncpg.Connection, repo_id: int, page: PageRequest) -> Page[RepoRow]:
    return await _SQL.repo_dependencies.page(conn, RepoRow, REPO_ROWS_ORDER, page, repo_id=repo_id)


async def repo_resolved(
    conn: asyncpg.Connection, repo_id: int, only: ResolvedFilter, page: PageRequest
) -> Page[ResolvedRow]:
    return await _SQL.repo_resolved.page(conn, ResolvedRow, RESOLVED_ORDER, page, repo_id=repo_id, **asdict(only))


async def repo_packages(conn: asyncpg.Connection, repo_id: int, page: PageRequest) -> Page[RepoRow]:
    return await _SQL.repo_packages.page(conn, RepoRow, REPO_ROWS_ORDER, page, repo_id=repo_id)


async def repo_by_uri(conn: asyncpg.Connection, uri: str) -> Repo | None:
    return await _SQL.repo_by_uri.one(conn, Repo, uri=uri)


async def index_status(conn: asyncpg.Connection) -> IndexStatus:
    """How much of the index is filled: repositories, and rows per language."""
    repos = await _SQL.repo_counts.fetchrow(conn)
    assert repos is not None  # an aggregate always answers one row
    languages = await _SQL.rows_per_language.all(conn, LanguageCounts)
    return IndexStatus(repos=repos["repos"], indexed_repos=repos["indexed_repos"], languages=tuple(languages))


# -- writing ---------------------------------------------------------------------------------


async def ensure_repo(conn: asyncpg.Connection, uri: str) -> int:
    """The repository's id, registering it on first sight."""
    repo_id: int = await _SQL.ensure_repo.fetchval(conn, uri=uri)
    return repo_id


async def register_repos(
    conn: asyncpg.Connection, uris: Sequence[str], revisions: Sequence[str | None]
) -> list[LockedRepo]:
    """Create the repositories of `uris` not yet known, each recording its revision of
    `revisions` (the one the caller's transaction is writing), and return those created: held by
    the caller's transaction until it ends, as `lock_repos` holds the others."""
    return await _SQL.register_repos.all(conn, LockedRepo, uris=list(uris), revisions=list(revisions))


async def lock_repos(conn: asyncpg.Connection, uris: Sequence[str]) -> list[LockedRepo]:
    """Lock the rows of known repositories (in URI order, so batches never deadlock) until the
    caller's transaction ends."""
    return await _SQL.lock_repos.all(conn, LockedRepo, uris=list(uris))


WRITER_WORK_MEM = "64MB"
"""The writer's `work_mem`, for its transactions only: migration 10's statement triggers keep every
row a statement wrote in a transition table, which spills to a temporary file beyond `work_mem`
(4 MB by default: one batch of 50,000 rows is ~10 MB)."""


async def tune_for_bulk_writes(conn: asyncpg.Connection) -> None:
    """For the rest of the caller's transaction: asynchronous commit, and `WRITER_WORK_MEM`.

    Asynchronous commit: the writer does not wait for its commit record to reach disk. A crash can
    lose the last few batches committed this way, and with them the revisions they recorded (the
    same transaction), so those repositories are indexed again; never half of one. Anything later
    committed synchronously (the queue's own bookkeeping) flushes the WAL up to and past them."""
    await _SQL.tune_for_bulk_writes.execute(conn, work_mem=WRITER_WORK_MEM)


class IndexedRow(FromRow):
    """A row already in `global_dep` or `pkgs`, its JSON as PostgreSQL renders it: what a re-index
    compares its new rows with."""

    id: int
    repo_id: int
    language: str
    data: str
    hints: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """A re-index reads every row of its repositories: filled at once, as DependentRow is."""
        made = object.__new__(cls)
        made.__dict__.update(row.items())
        return made


async def indexed_dependencies(
    conn: asyncpg.Connection, repo_ids: Sequence[int], languages: Sequence[str]
) -> list[IndexedRow]:
    return await _SQL.indexed_dependencies.all(conn, IndexedRow, repo_ids=list(repo_ids), languages=list(languages))


async def indexed_packages(
    conn: asyncpg.Connection, repo_ids: Sequence[int], languages: Sequence[str]
) -> list[IndexedRow]:
    return await _SQL.indexed_packages.all(conn, IndexedRow, repo_ids=list(repo_ids), languages=list(languages))


async def delete_dependencies_by_id(conn: asyncpg.Connection, rows: Sequence[tuple[int, int]]) -> None:
    """Remove `global_dep` rows by (repo_id, id): the ones a re-index no longer has."""
    if rows:
        repo_ids, ids = zip(*rows, strict=True)
        await _SQL.delete_dependencies_by_id.execute(conn, repo_ids=list(repo_ids), ids=list(ids))


async def delete_packages_by_id(conn: asyncpg.Connection, rows: Sequence[tuple[int, int]]) -> None:
    """Remove `pkgs` rows by (repo_id, id)."""
    if rows:
        repo_ids, ids = zip(*rows, strict=True)
        await _SQL.delete_packages_by_id.execute(conn, repo_ids=list(repo_ids), ids=list(ids))


async def copy_dependencies(conn: asyncpg.Connection, rows: Sequence[tuple[int, str, str, str]]) -> None:
    """COPY (repo_id, language, dep_data JSON, hints JSON) rows straight into `global_dep`, in
    PostgreSQL's text format, which parses each JSON text as the column's jsonb whatever codecs the
    connection has. Straight into the table rather than through staging tables: no temporary tables
    per transaction, no second pass over the rows (bench/bench_writer.py measured both)."""
    if rows:
        await conn.copy_to_table(
            "global_dep", source=_copy_text(rows, len(_DEP_COLUMNS)), columns=_DEP_COLUMNS, format="text"
        )


async def copy_packages(conn: asyncpg.Connection, rows: Sequence[tuple[int, str, str]]) -> None:
    """COPY (repo_id, language, pkg JSON) rows into `pkgs` (as copy_dependencies)."""
    if rows:
        await conn.copy_to_table(
            "pkgs", source=_copy_text(rows, len(_PKG_COLUMNS)), columns=_PKG_COLUMNS, format="text"
        )


async def copy_resolved(conn: asyncpg.Connection, rows: Sequence[tuple[int | str, ...]]) -> None:
    """COPY `resolved_dep` rows (RESOLVED_COLUMNS) into the table (as copy_dependencies)."""
    if rows:
        await conn.copy_to_table(
            "resolved_dep", source=_copy_text(rows, len(RESOLVED_COLUMNS)), columns=RESOLVED_COLUMNS, format="text"
        )


async def delete_resolved(conn: asyncpg.Connection, repo_ids: Sequence[int], languages: Sequence[str]) -> None:
    """Remove the repositories' `resolved_dep` rows of `languages` (a revision's are replaced whole)."""
    await _SQL.delete_resolved.execute(conn, repo_ids=list(repo_ids), languages=list(languages))


def array_text(values: Sequence[str]) -> str:
    """A text[] as PostgreSQL's array literal (every element quoted, `\\` and `"` escaped), for a
    COPY field: names like `@scope/pkg@1.0.0` hold characters an unquoted element could not."""
    return "{" + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


_DEP_COLUMNS = ("repo_id", "language", "dep_data", "hints")
_PKG_COLUMNS = ("repo_id", "language", "pkg")
RESOLVED_COLUMNS = (
    "repo_id",
    "language",
    "package",
    "version",
    "depth",
    "dev",
    "optional",
    "lockfile",
    "parents",
    "via",
    "hints",
)
"""`resolved_dep`'s columns as `copy_resolved` takes them: booleans as `t`/`f`, arrays through `array_text`."""
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(rows: Sequence[tuple[int | str, ...]], columns: int) -> memoryview:
    """Rows as COPY's text format: tab-separated fields, one line each, a backslash, tab, newline or
    carriage return inside a field escaped. The rows' own JSON text (orjson's) holds no raw tab,
    newline or carriage return, so the lines are joined as they are and only backslashes escaped,
    in one pass; should a field hold one of the others (the counts of separators tell), each field
    is escaped instead. A memoryview, which asyncpg sends as it is (bytes it would take for a
    file's path)."""
    text = "".join(["\t".join(map(str, row)) + "\n" for row in rows])
    if "\r" in text or text.count("\n") != len(rows) or text.count("\t") != (columns - 1) * len(rows):
        text = "".join(["\t".join(str(value).translate(_COPY_ESCAPES) for value in row) + "\n" for row in rows])
    elif "\\" in text:
        text = text.replace("\\", "\\\\")
    return memoryview(text.encode())


async def record_revisions(conn: asyncpg.Connection, repo_ids: Sequence[int], revisions: Sequence[str | None]) -> None:
    await _SQL.record_revisions.execute(conn, repo_ids=list(repo_ids), revisions=list(revisions))
