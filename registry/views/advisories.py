"""Advisories as the JSON API shows them: the record, the repositories it affects, a repository's
advisories. A dependency row carries `range` (declared) or `version` (resolved), the file it comes
from as `path` (the manifest, or the lockfile), for a resolved row its `depth` and
`dependency_path` (one shortest path from the repository's root, as /api/dependents?resolved=true
shows it), how it matched and the first fixed version."""

from __future__ import annotations

from typing import Any

from registry.services.advisories import (
    AdvisoryDetails,
    AffectedRepo,
    AffectedRepos,
    RepoAdvisories,
    RepoAdvisory,
    Verdict,
)
from registry.store.advisories import Advisory, AffectedDependency, AffectedRow, RepoCandidate
from registry.views.common import page_json, record_json


def render_affected_package(row: AffectedRow) -> dict[str, Any]:
    """`ranges` as OSV writes them (GIT ranges included; they are never evaluated)."""
    return record_json(row, "ecosystem", "name", "language", "package", "ranges", "versions", "fixed")


def _advisory(advisory: Advisory) -> dict[str, Any]:
    return record_json(advisory, "id", "aliases", "summary", "details", "modified", "published", "withdrawn")


def render_advisory(details: AdvisoryDetails) -> dict[str, Any]:
    return {**_advisory(details.advisory), "affected": [render_affected_package(row) for row in details.affected]}


def _dependency(row: AffectedDependency | RepoCandidate) -> dict[str, Any]:
    """The dependency an advisory reaches: its declared range, or the version its lockfile resolved
    and the packages through which the repository runs it."""
    resolved = row.version is not None and row.depth is not None
    return {
        "language": row.language,
        "package": row.package,
        "range": row.declared_range,
        "version": row.version,
        "dep_type": row.dep_type,
        "path": row.path,
        "depth": row.depth,
        "dependency_path": dependency_path(row) if resolved else None,
    }


def dependency_path(row: AffectedDependency | RepoCandidate) -> list[str] | None:
    """`via` and the package itself (`name@version`); None where the lockfile has no graph (depth 0)."""
    if not row.depth:
        return None
    return [*(row.via or []), f"{row.package}@{row.version}"]


def _verdict(verdict: Verdict) -> dict[str, Any]:
    return {"match": verdict.match, "witness": verdict.witness, "first_fixed": verdict.first_fixed}


def render_affected_repo(item: AffectedRepo) -> dict[str, Any]:
    row = item.row
    return {"repo": row.repo, "repo_id": row.repo_id, **_dependency(row), **_verdict(item.verdict)}


def render_affected(found: AffectedRepos) -> dict[str, Any]:
    advisory = found.advisory
    return {"advisory": advisory.id, "withdrawn": advisory.withdrawn, **page_json(found.page, render_affected_repo)}


def render_repo_advisory(item: RepoAdvisory) -> dict[str, Any]:
    row = item.row
    advisory = {"advisory": row.advisory_id, "aliases": row.aliases, "summary": row.summary}
    return {**advisory, **_dependency(row), **_verdict(item.verdict)}


def render_repo_advisories(found: RepoAdvisories) -> dict[str, Any]:
    return {"repo": found.repo.uri, **page_json(found.page, render_repo_advisory)}
