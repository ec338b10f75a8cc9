"""Site-admin tables: the certificate cache and Phabricator repository mappings (the rules:
registry.services.site). Every route asks the policy before reading its input."""

from __future__ import annotations

from aiohttp import web

from registry.handlers.common import int_param, json_body, no_content, services, site_admin_actor
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.views.common import page_json
from registry.views.site import cache_entry_json, phabricator_repo_json

routes = web.RouteTableDef()


@routes.get("/api/cert-cache")
async def list_cache(request: web.Request) -> web.Response:
    actor = site_admin_actor(request)
    found = await services(request).site.cache_entries(actor, page_request(request))
    return json_response(page_json(found, lambda entry: cache_entry_json(entry, with_data=False)))


@routes.get("/api/cert-cache/{key}")
async def get_cache(request: web.Request) -> web.Response:
    actor = site_admin_actor(request)
    entry = await services(request).site.cache_entry(actor, request.match_info["key"])
    return json_response(cache_entry_json(entry, with_data=True), headers={"Cache-Control": "no-store"})


@routes.put("/api/cert-cache/{key}")
async def put_cache(request: web.Request) -> web.Response:
    """Store `{"data": base64}` under the key (replacing, or reviving a deleted key)."""
    actor = site_admin_actor(request)
    body = await json_body(request, "CertCachePut")
    entry = await services(request).site.put_cache_entry(actor, request.match_info["key"], body["data"])
    return json_response(cache_entry_json(entry, with_data=False))


@routes.delete("/api/cert-cache/{key}")
async def delete_cache(request: web.Request) -> web.Response:
    """Soft delete; deleting an absent key is not an error (autocert semantics)."""
    actor = site_admin_actor(request)
    return await no_content(services(request).site.delete_cache_entry(actor, request.match_info["key"]))


@routes.post("/api/phabricator-repos")
async def add_phabricator_repo(request: web.Request) -> web.Response:
    actor = site_admin_actor(request)
    body = await json_body(request, "PhabricatorRepoCreate")
    repo = await services(request).site.add_phabricator_repo(actor, body["callsign"], body["uri"], body["url"])
    return json_response(phabricator_repo_json(repo), status=201)


@routes.get("/api/phabricator-repos")
async def list_phabricator_repos(request: web.Request) -> web.Response:
    actor = site_admin_actor(request)
    found = await services(request).site.phabricator_repos(actor, page_request(request))
    return json_response(page_json(found, phabricator_repo_json))


@routes.delete("/api/phabricator-repos/{id}")
async def delete_phabricator_repo(request: web.Request) -> web.Response:
    actor = site_admin_actor(request)
    return await no_content(services(request).site.delete_phabricator_repo(actor, int_param(request, "id")))
