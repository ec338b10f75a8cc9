"""Retired publisher names: the site admin's list, and the explicit release of a retired name.

A name that has been published under is never freed by deleting or renaming its user or org (the
database refuses it to anyone else, migration 6): whoever took it next could otherwise publish
new code under ids that people have enabled. A rename's old name redirects, as code hosts do for
renamed repositories (registry.services.loaders.PublisherRenamed); a site admin may release a
name, and even then every version published under it stays taken forever.
"""

from __future__ import annotations

from aiohttp import web

from registry.auth.authentication import request_actor
from registry.handlers.common import no_content, services
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.views.accounts import retired_name_json
from registry.views.common import page_json

routes = web.RouteTableDef()


@routes.get("/api/retired-names")
async def list_retired_names(request: web.Request) -> web.Response:
    """Names retired after their publisher, having published, was deleted or renamed (site admins)."""
    publishing = services(request).publishing
    page = await publishing.retired_names(request_actor(request), page_request(request))
    return json_response(page_json(page, retired_name_json))


@routes.delete("/api/retired-names/{name}")
async def release_retired_name(request: web.Request) -> web.Response:
    """Release a retired name (site admins): anyone may take it again, and its redirect ends. The
    versions published under it are never released: publishing one again stays a 409."""
    publishing = services(request).publishing
    return await no_content(publishing.release_retired_name(request_actor(request), request.match_info["name"]))
