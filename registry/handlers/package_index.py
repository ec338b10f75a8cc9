"""The package index over HTTP: who depends on a package (optionally: in a range admitting a
version), who defines it, what a repository holds, and queueing repositories for the indexer."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from registry.auth.authentication import request_actor
from registry.domain.errors import BadRequest
from registry.ecosystems import LANGUAGES, Ecosystem, ecosystem_named
from registry.handlers.common import json_body, services
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.services.package_index import Queued
from registry.store.package_index import ResolvedFilter
from registry.views import package_index as views

routes = web.RouteTableDef()

_MAX_NAME = 512
_MAX_VERSION = 256
_URI_SAFE = "/:@!$&'()*+,;=~"  # a repository URI in a Location header: all but these percent-encoded


def _ecosystem_and_name(request: web.Request, name_param: str) -> tuple[Ecosystem, str]:
    ecosystem = ecosystem_named(request.query.get("language", ""))
    if ecosystem is None:
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}.")
    name = request.query.get(name_param, "").strip()
    if not name or len(name) > _MAX_NAME:
        raise BadRequest(f"{name_param} is required (at most {_MAX_NAME} characters).")
    return ecosystem, ecosystem.normalise_name(name)


def _version(request: web.Request) -> str | None:
    version = request.query.get("version")
    if version is not None and not 0 < len(version) <= _MAX_VERSION:
        raise BadRequest(f"version must be 1 to {_MAX_VERSION} characters.")
    return version


@routes.get("/api/dependents")
async def dependents(request: web.Request) -> web.Response:
    """Repositories depending on a package: declared range, dep type and manifest path, keyset-
    paginated, with a total. With `version`, only ranges admitting it are kept, by the
    ecosystem's own rules; a range that cannot be evaluated is kept and marked `admits: null`
    (and counted in `unevaluated`), never silently dropped."""
    ecosystem, package = _ecosystem_and_name(request, "package")
    version = _version(request)
    page = page_request(request)
    found = await services(request).package_index.dependents(ecosystem, package, version, page)
    return json_response(views.render_dependents(found))


@routes.get("/api/dependents/summary")
async def dependents_summary(request: web.Request) -> web.Response:
    """How many dependents declare each range; with `version`, whether each range admits it."""
    ecosystem, package = _ecosystem_and_name(request, "package")
    version = _version(request)
    ranges = await services(request).package_index.summary(ecosystem, package, version)
    return json_response(views.render_summary(ecosystem.language, package, version, ranges))


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
