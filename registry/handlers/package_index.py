"""The package index over HTTP: who depends on a package (optionally: in a range admitting a
version), who defines it, what a repository holds, and queueing repositories for the indexer."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from registry.auth.authentication import request_actor
from registry.domain.errors import BadRequest
from registry.ecosystems import LANGUAGES, Ecosystem, ecosystem_named
from registry.handlers.cached import cached_response, dependents_answer
from registry.handlers.common import json_body, services
from registry.handlers.dependents_query import advisory_of, per_repo_of, version_of
from registry.handlers.paging import page_request
from registry.handlers.resolved_query import resolved_query
from registry.http import json_response
from registry.services.package_index import Queued
from registry.store.package_index import ResolvedFilter
from registry.views import package_index as views
from registry.views import resolved as resolved_views

routes = web.RouteTableDef()

_MAX_NAME = 512
_URI_SAFE = "/:@!$&'()*+,;=~"  # a repository URI in a Location header: all but these percent-encoded


def _ecosystem_and_name(request: web.Request, name_param: str) -> tuple[Ecosystem, str]:
    ecosystem = ecosystem_named(request.query.get("language", ""))
    if ecosystem is None:
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}.")
    name = request.query.get(name_param, "").strip()
    if not name or len(name) > _MAX_NAME:
        raise BadRequest(f"{name_param} is required (at most {_MAX_NAME} characters).")
    return ecosystem, ecosystem.normalise_name(name)


@routes.get("/api/dependents")
async def dependents(request: web.Request) -> web.Response:
    """Repositories depending on a package, one item per declaration: declared range, dep type and
    manifest path, keyset-paginated, with a total (of declarations) and the repositories, packages
    and declarations counted apart. With `version`, only ranges admitting it are kept, by the
    ecosystem's own rules; a range that cannot be evaluated is kept and marked `admits: null` (and
    counted in `unevaluated`), never silently dropped. Answers are cached until the package's
    dependents change (registry.handlers.cached.dependents_answer). With `resolved=true`: the
    versions lockfiles resolved instead (registry.services.resolved)."""
    ecosystem, package = _ecosystem_and_name(request, "package")
    page = page_request(request)
    if (resolved := resolved_query(request.query, ecosystem, package)) is not None:
        question = resolved

        async def load_resolved() -> dict[str, Any]:
            """Kept like the declared pages, dropped by the same `dependents:` notification, which
            migration 16's triggers send when the package's resolved rows change."""
            running = await services(request).resolved.dependents(question, page)
            return resolved_views.render_resolved_dependents(running)

        asked = (resolved.version, resolved.direct, resolved.dev, page.limit, page.cursor)
        answer = await dependents_answer(request, ecosystem.language, package, ("resolved", *asked), load_resolved)
        return cached_response(request, answer)
    version = version_of(request.query)

    async def load() -> dict[str, Any]:
        found = await services(request).package_index.dependents(ecosystem, package, version, page)
        return views.render_dependents(found)

    key = ("rows", ecosystem.language, package, version, page.limit, page.cursor)
    return cached_response(request, await dependents_answer(request, ecosystem.language, package, key, load))


@routes.get("/api/dependents/summary")
async def dependents_summary(request: web.Request) -> web.Response:
    """How many dependents declare each range (with `version`, whether each range admits it), and
    how many repositories, packages and declarations depend on the package. With
    `resolved=true`: how many repositories run each resolved version."""
    ecosystem, package = _ecosystem_and_name(request, "package")
    if (resolved := resolved_query(request.query, ecosystem, package)) is not None:
        summary = await services(request).resolved.summary(resolved)
        return json_response(resolved_views.render_resolved_summary(summary))
    version = version_of(request.query)
    index = services(request).package_index
    ranges = await index.summary(ecosystem, package, version)
    totals = await index.totals(ecosystem, package)
    return json_response(views.render_summary(ecosystem.language, package, version, ranges, totals))


@routes.get("/api/dependents/repositories")
async def dependent_repositories(request: web.Request) -> web.Response:
    """Repositories depending on a package, keyset-paginated by repository, each with its first
    `per_repo` declarations grouped (manifest path, range, dep type, the package that manifest
    defines) and how many more; counted as repositories, packages and declarations. Filters:
    `version` (ranges admitting it), `advisory` (ranges admitting a version it affects). Cached as
    /api/dependents is, but for the advisory filter (an import announces nothing)."""
    ecosystem, package = _ecosystem_and_name(request, "package")
    version, advisory = version_of(request.query), advisory_of(request.query)
    page, shown = page_request(request), per_repo_of(request.query)

    async def load() -> dict[str, Any]:
        found = await services(request).package_index.dependent_repos(
            ecosystem, package, page, version=version, advisory=advisory, per_repo=shown
        )
        return views.render_dependent_repos(found)

    if advisory is not None:
        return json_response(await load())
    key = ("repos", ecosystem.language, package, version, page.limit, page.cursor, shown)
    return cached_response(request, await dependents_answer(request, ecosystem.language, package, key, load))


@routes.get("/api/packages")
async def packages(request: web.Request) -> web.Response:
    """Repositories that define a package (its manifests' name, version and path)."""
    ecosystem, name = _ecosystem_and_name(request, "name")
    page = page_request(request)
    found = await services(request).package_index.definers(ecosystem, name, page)
    return json_response(views.render_definers(ecosystem.language, name, found))


@routes.get("/api/repos/{uri:.+}/dependencies")
async def repo_dependencies(request: web.Request) -> web.Response:
    page = page_request(request)
    rows = await services(request).package_index.repo_dependencies(request.match_info["uri"], page)
    return json_response(views.render_repo_rows(rows))


def _flag(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false.")
    return raw == "true"


def _resolved_filter(request: web.Request) -> ResolvedFilter:
    language = request.query.get("language")
    if language is not None and ecosystem_named(language) is None:
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}.")
    return ResolvedFilter(language, _flag(request, "direct"), _flag(request, "dev"))


@routes.get("/api/repos/{uri:.+}/resolved")
async def repo_resolved(request: web.Request) -> web.Response:
    """The exact versions the repository's lockfiles resolved, each with its depth, parents and one
    shortest path from the root; filtered by `language`, `direct`, `dev`; keyset-paginated."""
    only = _resolved_filter(request)
    page = page_request(request)
    rows = await services(request).package_index.repo_resolved(request.match_info["uri"], only, page)
    return json_response(views.render_repo_resolved(rows))


@routes.get("/api/repos/{uri:.+}/packages")
async def repo_packages(request: web.Request) -> web.Response:
    page = page_request(request)
    rows = await services(request).package_index.repo_packages(request.match_info["uri"], page)
    return json_response(views.render_repo_rows(rows))


def _queued(queued: Queued) -> web.Response:
    return json_response(
        {"repo": queued.uri, "queued": True, "source": queued.source, "revision": queued.revision},
        status=202,
        headers={"Location": f"/api/repos/{quote(queued.uri, safe=_URI_SAFE)}"},
    )


@routes.post("/api/repos")
async def add_repo(request: web.Request) -> web.Response:
    """Register a repository and queue it for the indexer (site admins). `source` is a path the
    workers can read: a directory, or a git repository (with `revision`)."""
    actor, svc = request_actor(request), services(request).package_index
    svc.check_may_queue(actor)
    body = await json_body(request, "RepoCreate")
    return _queued(await svc.add_repo(actor, body["uri"], body.get("source"), body.get("revision")))


@routes.post("/api/repos/{uri:.+}/index")
async def reindex_repo(request: web.Request) -> web.Response:
    actor, svc = request_actor(request), services(request).package_index
    svc.check_may_queue(actor)
    body = await json_body(request, "RepoIndex")
    uri = request.match_info["uri"]
    return _queued(await svc.reindex_repo(actor, uri, body.get("source"), body.get("revision")))


@routes.get("/api/repos/{uri:.+}")
async def get_repo(request: web.Request) -> web.Response:
    """A repository and its place in the index queue (the indexer's last error: site admins only)."""
    state = await services(request).package_index.repo(request_actor(request), request.match_info["uri"])
    return json_response(views.render_repo_state(state))
