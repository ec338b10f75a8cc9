"""Retired publisher names: the redirect of a renamed publisher's extension ids, and the site
admin's explicit release of a retired name.

A name that has been published under is never freed by deleting or renaming its user or org (the
database refuses it to anyone else, migration 6): whoever took it next could otherwise publish
new code under ids that people have enabled. A rename's old name redirects, as code hosts do for
renamed repositories; a site admin may release a name, and even then every version published
under it stays taken forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from registry.auth import policy
from registry.auth.actor import request_actor
from registry.domain.errors import BadRequest, NotFound
from registry.handlers.common import connection, transaction
from registry.http import json_response
from registry.pagination import page_body, page_request
from registry.store import names as name_store
from registry.store.names import RetiredName

routes = web.RouteTableDef()

_MAX_NAME = 255


async def redirect_renamed_publisher(
    request: web.Request, publisher: str, *, headers: Mapping[str, str] | None = None, key: str = "publisher"
) -> None:
    """For a read of an id under a renamed publisher's old name: 308 to the same route under its
    current name (the query string kept; `key` names the route's publisher parameter). Writes are
    not redirected: they answer 404."""
    if request.method not in ("GET", "HEAD"):
        return
    async with connection(request) as conn:
        target = await name_store.redirect_target(conn, publisher)
    resource = request.match_info.route.resource
    if target is None or resource is None:
        return
    parts = {**request.match_info, key: target}
    location = resource.url_for(**parts).with_query(request.rel_url.query)
    raise web.HTTPPermanentRedirect(location, headers=headers)


def _render(retired: RetiredName) -> dict[str, Any]:
    return {
        "name": retired.name,
        "former_owner_kind": retired.owner_kind,
        "redirects_to": retired.former_owner,
        "retired_at": retired.retired_at,
    }


@routes.get("/api/retired-names")
async def list_retired_names(request: web.Request) -> web.Response:
    """Names retired after their publisher, having published, was deleted or renamed (site admins)."""
    policy.require_site_admin(request_actor(request))
    page = page_request(request)
    async with connection(request) as conn:
        rows = await name_store.list_retired_names(conn, after=page.after_text(), limit=page.limit + 1)
    return json_response(page_body(rows, page, lambda row: [row.name], _render))


@routes.delete("/api/retired-names/{name}")
async def release_retired_name(request: web.Request) -> web.Response:
    """Release a retired name (site admins): anyone may take it again, and its redirect ends. The
    versions published under it are never released: publishing one again stays a 409."""
    admin = policy.require_site_admin(request_actor(request))
    name = request.match_info["name"]
    if len(name) > _MAX_NAME:
        raise BadRequest(f"A name is at most {_MAX_NAME} characters.")
    async with transaction(request) as conn:
        if not await name_store.release_retired_name(conn, name, admin.id):
            raise NotFound(f"{name} is not a retired name.")
    return web.Response(status=204)
