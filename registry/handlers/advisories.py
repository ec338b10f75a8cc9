"""Security advisories over HTTP: an advisory by id or alias, the repositories it affects, and a
repository's advisories. Imported by `indexer advisories import` (OSV records)."""

from __future__ import annotations

from aiohttp import web

from registry.handlers.common import services
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.views import advisories as views

routes = web.RouteTableDef()


@routes.get("/api/advisories/{id}")
async def advisory(request: web.Request) -> web.Response:
    """An advisory by its id or one of its aliases (a CVE id finds the GHSA record that names it)."""
    found = await services(request).advisories.advisory(request.match_info["id"])
    return json_response(views.render_advisory(found))


@routes.get("/api/advisories/{id}/affected")
async def affected(request: web.Request) -> web.Response:
    """The repositories an advisory affects, keyset-paginated by repository: each row's range (or
    resolved version), manifest path, how it matched and the first fixed version."""
    page = page_request(request)
    found = await services(request).advisories.affected(request.match_info["id"], page)
    return json_response(views.render_affected(found))


@routes.get("/api/repos/{uri:.+}/advisories")
async def repo_advisories(request: web.Request) -> web.Response:
    """The live advisories affecting a repository's dependencies, keyset-paginated. Mounted before
    the package index's `/api/repos/{uri}` (modules mount in name order), which would take it."""
    page = page_request(request)
    found = await services(request).advisories.repo_advisories(request.match_info["uri"], page)
    return json_response(views.render_repo_advisories(found))
