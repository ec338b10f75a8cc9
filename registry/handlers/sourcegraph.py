"""The API a Sourcegraph instance calls on a remote extension registry (under /.api/registry).

Its client sends `Accept: application/vnd.sourcegraph.api+json;version=20180621` and expects each
extension as exactly the keys of Sourcegraph's `registry.Extension`, with the manifest as a JSON
*string*. When a manifest has no `url`, the served one gets one pointing at this registry's
static bundle URL, which is how the client finds the bundle.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from aiohttp import web

from registry.errors import BadRequest, NotFound
from registry.handlers.common import connection, current_actor
from registry.handlers.extensions import search
from registry.handlers.releases import base_url, static_path
from registry.http import json_response
from registry.store import extensions as extension_store
from registry.store.extensions import Extension, ListQuery

routes = web.RouteTableDef()

MEDIA_TYPE = "application/vnd.sourcegraph.api+json;version=20180621"
_FILTER = re.compile(r'\b(?P<key>category|tag):(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))')
_MAX_LISTED = 1000


def _check_media_type(request: web.Request) -> None:
    accept = request.headers.get("Accept", "").replace(" ", "")
    if MEDIA_TYPE not in accept.split(","):
        raise BadRequest(f"Send Accept: {MEDIA_TYPE}.", headers={"Vary": "Accept"})


def _headers(max_age: int) -> dict[str, str]:
    return {
        "X-Sourcegraph-Media-Type": MEDIA_TYPE,
        "Vary": "Accept, X-Sourcegraph-Media-Type",
        "Cache-Control": f"max-age={max_age}, private",
    }


def to_sourcegraph(request: web.Request, extension: Extension) -> dict[str, Any]:
    base = base_url(request)
    manifest = None
    if extension.manifest is not None and extension.latest_release_id is not None:
        data = orjson.loads(extension.manifest)
        if "url" not in data:
            buster = int(extension.latest_created_at.timestamp()) if extension.latest_created_at else 0
            data["url"] = f"{base}{static_path(extension.latest_release_id, extension.extension_id, 'js')}?{buster}"
        manifest = orjson.dumps(data).decode()
    publisher_path = "users" if extension.publisher_user_id else "organizations"
    return {
        "uuid": str(extension.uuid),
        "extensionID": extension.extension_id,
        "publisher": {"name": extension.publisher, "url": f"{base}/{publisher_path}/{extension.publisher}"},
        "name": extension.name,
        "manifest": manifest,
        "createdAt": extension.created_at,
        "updatedAt": extension.updated_at,
        "publishedAt": extension.published_at,
        "url": f"{base}/extensions/{extension.extension_id}",
    }


def parse_query(q: str) -> ListQuery:
    """`q` as Sourcegraph sends it: free text with `category:"…"` and `tag:"…"` filters."""
    filters: dict[str, str] = {}
    for match in _FILTER.finditer(q):
        filters[match["key"]] = match["quoted"] if match["quoted"] is not None else match["bare"]
    text = _FILTER.sub(" ", q).strip() or None
    return ListQuery(
        text=text,
        category=filters.get("category"),
        tag=filters.get("tag"),
        include_wip=True,
        sort="relevance" if text else "name",
        limit=_MAX_LISTED + 1,
    )


@routes.get("/.api/registry/extensions")
async def list_extensions(request: web.Request) -> web.Response:
    _check_media_type(request)
    await current_actor(request)
    q = request.query.get("q", "")
    if len(q) > 512:
        raise BadRequest("q must be at most 512 characters.")
    extensions, _ = await search(request, parse_query(q))
    return json_response([to_sourcegraph(request, e) for e in extensions], headers=_headers(30))


async def _one(request: web.Request, extension: Extension | None) -> web.Response:
    if extension is None:
        raise NotFound("No such extension.", headers=_headers(5))
    return json_response(to_sourcegraph(request, extension), headers=_headers(30))


@routes.get("/.api/registry/extensions/uuid/{uuid}")
async def by_uuid(request: web.Request) -> web.Response:
    _check_media_type(request)
    await current_actor(request)
    try:
        extension_uuid = uuid.UUID(request.match_info["uuid"])
    except ValueError:
        return await _one(request, None)
    async with connection(request) as conn:
        return await _one(request, await extension_store.extension_by_uuid(conn, extension_uuid))


@routes.get("/.api/registry/extensions/extension-id/{publisher}/{name}")
async def by_extension_id(request: web.Request) -> web.Response:
    _check_media_type(request)
    await current_actor(request)
    async with connection(request) as conn:
        extension = await extension_store.extension_by_name(
            conn, request.match_info["publisher"], request.match_info["name"]
        )
    return await _one(request, extension)
