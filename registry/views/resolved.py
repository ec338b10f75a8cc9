"""Resolved dependents as the JSON API shows them: each repository running the package, at which
version, how (depth, direct, dev, optional, lockfile) and through what (`path`)."""

from __future__ import annotations

from typing import Any, Protocol

from registry.services.resolved import ResolvedDependents, ResolvedSummary
from registry.store.resolved import ResolvedRow
from registry.views.common import page_json


class ShownResolved(Protocol):
    """What every listing of resolved rows shows of one (a repository's, or a package's dependents)."""

    @property
    def version(self) -> str: ...
    @property
    def depth(self) -> int: ...
    @property
    def dev(self) -> bool: ...
    @property
    def optional(self) -> bool: ...
    @property
    def lockfile(self) -> str: ...
    @property
    def via(self) -> list[str]: ...


def resolved_path(package: str, row: ShownResolved) -> list[str] | None:
    """One shortest path from the repository's root: the packages between (the direct dependency
    first) and the package itself, each `name@version`; None where the lockfile has no graph
    (depth 0) or no path was kept (a transitive row with an empty `via`: deeper than the writer
    follows), rather than a path that would read as "direct"."""
    if row.depth == 1 or row.via:
        return [*row.via, f"{package}@{row.version}"]
    return None


def resolved_fields(package: str, row: ShownResolved) -> dict[str, Any]:
    return {
        "version": row.version,
        "depth": row.depth,
        "direct": row.depth == 1,
        "dev": row.dev,
        "optional": row.optional,
        "lockfile": row.lockfile,
        "path": resolved_path(package, row),
    }


def render_resolved_row(package: str, row: ResolvedRow) -> dict[str, Any]:
    return {"repo": row.repo, "repo_id": row.repo_id, **resolved_fields(package, row)}


def _question(summary: ResolvedSummary) -> dict[str, Any]:
    query = summary.query
    return {
        "language": query.ecosystem.language,
        "package": query.package,
        "resolved": True,
        "version": query.version,
        "direct": query.direct,
        "dev": query.dev,
        "repos": summary.repos,
        "total": summary.rows,
        "unevaluated": summary.unevaluated,
    }


def render_resolved_summary(summary: ResolvedSummary) -> dict[str, Any]:
    """The question's totals and every resolved version: repositories and rows running it, and
    whether the asked version or range matches it (null: cannot be told)."""
    versions = [
        {"version": v.version, "repos": v.repos, "rows": v.rows, "matches": v.matches} for v in summary.versions
    ]
    return {**_question(summary), "versions": versions}


def render_resolved_dependents(found: ResolvedDependents) -> dict[str, Any]:
    package = found.summary.query.package
    return {**_question(found.summary), **page_json(found.page, lambda row: render_resolved_row(package, row))}
