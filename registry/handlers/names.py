"""Retired publisher names: the site admin's explicit release of a retired name (the redirect of a
renamed publisher's extension ids is `registry.handlers.common.redirect_renamed_publisher`).

A name that has been published under is never freed by deleting or renaming its user or org (the
database refuses it to anyone else, migration 6): whoever took it next could otherwise publish
new code under ids that people have enabled. A rename's old name redirects, as code hosts do for
renamed repositories; a site admin may release a name, and even then every version published
under it stays taken forever.
"""

from __future__ import annotations

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
