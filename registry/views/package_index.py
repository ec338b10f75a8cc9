"""The package index as the JSON API shows it: dependents, per-range counts, definers, a
repository's rows and its place in the index queue."""

from __future__ import annotations

from typing import Any

from registry.domain.page import Page
from registry.services.package_index import (
    Dependent,
    DependentRepos,
    Dependents,
    RangeVerdict,
    RepoResolved,
    RepoRows,
    RepoState,
)
from registry.store.package_index import Declaration, Definer, DependentRepo, DependentTotals, RepoRow, ResolvedRow
from registry.views.common import page_json
from registry.views.resolved import resolved_fields


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


def counts_json(totals: DependentTotals) -> dict[str, int]:
    """Dependents as users count them: a monorepo declaring a package in 7 manifests is one
    repository, as many packages as those manifests define, and 7 declarations."""
    return {"repositories": totals.repositories, "packages": totals.packages, "declarations": totals.declarations}


def render_dependents(dependents: Dependents) -> dict[str, Any]:
    """`total` counts declarations (rows), as it always has; `repositories`, `packages` and
    `declarations` count them the three ways (/api/dependents/repositories pages by repository)."""
    asked = dependents.version is not None
    body: dict[str, Any] = {
        "language": dependents.language,
        "package": dependents.package,
        "version": dependents.version,
        "total": dependents.total,
        **counts_json(dependents.counts),
        **page_json(dependents.page, lambda dependent: render_dependent(dependent, asked=asked)),
    }
    if dependents.unevaluated is not None:
        body["unevaluated"] = dependents.unevaluated
    return body


def _declaration(
    declared: Declaration, verdicts: dict[str, bool | None] | None, matches: dict[str, str] | None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "path": declared.path,
        "range": declared.declared_range,
        "dep_type": declared.dep_type,
        "package": None
        if declared.defines is None
        else {"name": declared.defines, "version": declared.defines_version},
    }
    if verdicts is not None:
        item["admits"] = verdicts.get(declared.declared_range)
    if matches is not None:
        item["match"] = matches.get(declared.declared_range)
    return item


def render_dependent_repos(found: DependentRepos) -> dict[str, Any]:
    """A page of repositories, each with its first declarations and how many more it has; `total`
    is the repositories kept (the page's unit), beside the three counts."""
    verdicts = {entry.declared_range: entry.admits for entry in found.ranges} if found.version is not None else None
    matches = found.matches if found.advisory is not None else None

    def item(repo: DependentRepo) -> dict[str, Any]:
        return {
            "repo": repo.repo,
            "repo_id": repo.repo_id,
            "declarations": repo.declarations,
            "more": repo.declarations - len(repo.shown),
            "declared": [_declaration(declared, verdicts, matches) for declared in repo.shown],
        }

    body: dict[str, Any] = {
        "language": found.language,
        "package": found.package,
        "version": found.version,
        "advisory": found.advisory,
        "total": found.totals.repositories,
        **counts_json(found.totals),
        **page_json(found.page, item),
    }
    if found.unevaluated is not None:
        body["unevaluated"] = found.unevaluated
    return body


def render_summary(
    language: str, package: str, version: str | None, ranges: list[RangeVerdict], totals: DependentTotals
) -> dict[str, Any]:
    """Per-range counts of declarations; `total` their sum (declarations), beside the three counts."""
    items: list[dict[str, Any]] = []
    for entry in ranges:
        item: dict[str, Any] = {"range": entry.declared_range, "count": entry.count}
        if version is not None:
            item["admits"] = entry.admits
        items.append(item)
    total = sum(entry.count for entry in ranges)
    return {
        "language": language,
        "package": package,
        "version": version,
        "total": total,
        **counts_json(totals),
        "ranges": items,
    }


def render_definers(language: str, name: str, page: Page[Definer]) -> dict[str, Any]:
    rendered = page_json(page, lambda definer: {"repo": definer.repo, "repo_id": definer.repo_id, **definer.pkg})
    return {"language": language, "name": name, **rendered}


def _repo_row(row: RepoRow) -> dict[str, Any]:
    return {"language": row.language, **row.data, **({"hints": row.hints} if row.hints is not None else {})}


def render_repo_rows(rows: RepoRows) -> dict[str, Any]:
    return {"repo": rows.repo.uri, "indexed_revision": rows.repo.indexed_revision, **page_json(rows.page, _repo_row)}


def _resolved_row(row: ResolvedRow) -> dict[str, Any]:
    """As a package's resolved dependents show it (registry.views.resolved), with the package, the
    lock's parents and the format's hints."""
    shown = resolved_fields(row.package, row)
    return {"language": row.language, "package": row.package, **shown, "parents": row.parents, "hints": row.hints}


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
