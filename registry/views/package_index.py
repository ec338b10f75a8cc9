"""The package index as the JSON API shows it: dependents, per-range counts, definers, a
repository's rows and its place in the index queue."""

from __future__ import annotations

from typing import Any

from registry.domain.page import Page
from registry.services.package_index import Dependent, Dependents, RangeVerdict, RepoResolved, RepoRows, RepoState
from registry.store.package_index import Definer, RepoRow, ResolvedRow
from registry.views.common import page_json


def render_dependent(dependent: Dependent, *, asked: bool) -> dict[str, Any]:
    """`admits` only when a version was asked about: true, false, or null (cannot be evaluated)."""
    row = dependent.row
    item: dict[str, Any] = {
        "repo": row.repo,
        "repo_id": row.repo_id,
        "range": row.declared_range,
        "dep_type": row.dep_type,
        "path": row.path,
    }
    if asked:
        item["admits"] = dependent.admits
    return item


def render_dependents(dependents: Dependents) -> dict[str, Any]:
    asked = dependents.version is not None
    body: dict[str, Any] = {
        "language": dependents.language,
        "package": dependents.package,
        "version": dependents.version,
        "total": dependents.total,
        **page_json(dependents.page, lambda dependent: render_dependent(dependent, asked=asked)),
    }
    if dependents.unevaluated is not None:
        body["unevaluated"] = dependents.unevaluated
    return body


def render_summary(language: str, package: str, version: str | None, ranges: list[RangeVerdict]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for entry in ranges:
        item: dict[str, Any] = {"range": entry.declared_range, "count": entry.count}
        if version is not None:
            item["admits"] = entry.admits
        items.append(item)
    total = sum(entry.count for entry in ranges)
    return {"language": language, "package": package, "version": version, "total": total, "ranges": items}


def render_definers(language: str, name: str, page: Page[Definer]) -> dict[str, Any]:
    rendered = page_json(page, lambda definer: {"repo": definer.repo, "repo_id": definer.repo_id, **definer.pkg})
    return {"language": language, "name": name, **rendered}


def _repo_row(row: RepoRow) -> dict[str, Any]:
    return {"language": row.language, **row.data, **({"hints": row.hints} if row.hints is not None else {})}


def render_repo_rows(rows: RepoRows) -> dict[str, Any]:
    return {"repo": rows.repo.uri, "indexed_revision": rows.repo.indexed_revision, **page_json(rows.page, _repo_row)}


def _resolved_row(row: ResolvedRow) -> dict[str, Any]:
    """`path` is one shortest path from the repository's root (a workspace member, or the project)
    to the package: the packages between (`via`) and the package itself; null where the lockfile
    has no graph (depth 0) or no path was found."""
    known = row.depth == 1 or bool(row.via)
    return {
        "language": row.language,
        "package": row.package,
        "version": row.version,
        "depth": row.depth,
        "direct": row.depth == 1,
        "dev": row.dev,
        "optional": row.optional,
        "lockfile": row.lockfile,
        "parents": row.parents,
        "path": [*row.via, f"{row.package}@{row.version}"] if known else None,
        "hints": row.hints,
    }


def render_repo_resolved(resolved: RepoResolved) -> dict[str, Any]:
    repo = resolved.repo
    return {"repo": repo.uri, "indexed_revision": repo.indexed_revision, **page_json(resolved.page, _resolved_row)}


def render_repo_state(state: RepoState) -> dict[str, Any]:
    repo, queued = state.repo, state.queue
    return {
        "repo": repo.uri,
        "indexed_revision": repo.indexed_revision,
        "created_at": repo.created_at,
        "updated_at": repo.updated_at,
        "queue": None
        if queued is None
        else {
            "revision": queued.revision,
            "requested_at": queued.requested_at,
            "claimed": queued.claimed_by is not None,
            "attempts": queued.attempts,
            "last_error": queued.last_error,
        },
    }
