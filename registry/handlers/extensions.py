"""Extensions: listing and search, creation under a publisher, reads, soft deletion, batch reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
from aiohttp import web

from registry.auth.actor import request_actor
from registry.domain.errors import BadRequest, NotFound
from registry.handlers.common import connection, json_body, redirect_renamed_publisher, services
from registry.http import json_response
from registry.pagination import Column, encode_cursor, page_request
from registry.store import downloads as download_store
from registry.store import extensions as extension_store
from registry.store.extensions import Extension, ListQuery
from registry.validation import parse_count
from registry.views.extensions import extension_url, render_extension

routes = web.RouteTableDef()

_SORTS = ("name", "updated", "downloads", "relevance")
# the columns each sort's cursor is compared with (registry/store/extensions.py:_SORTS), then the id
_SORT_KEYS = {"name": Column.TEXT, "updated": Column.TIMESTAMPTZ, "downloads": Column.INT8, "relevance": Column.FLOAT4}
_MAX_QUERY_LENGTH = 256
_MAX_BATCH = 1000


async def live_extension(request: web.Request, publisher: str, name: str) -> Extension:
    """A live extension; a read under a renamed publisher's old name is redirected (308)."""
    async with connection(request) as conn:
        extension = await extension_store.extension_by_name(conn, publisher, name)
    if extension is None:
        await redirect_renamed_publisher(request, publisher)
        raise NotFound(f"No extension {publisher}/{name}.")
    return extension


def _list_query(request: web.Request) -> ListQuery:
    page = page_request(request)
    query = request.query
    text = query.get("q", "").strip() or None
    if text is not None and len(text) > _MAX_QUERY_LENGTH:
        raise BadRequest(f"q must be at most {_MAX_QUERY_LENGTH} characters.")
    sort = query.get("sort", "relevance" if text else "name")
    if sort not in _SORTS or (sort == "relevance" and text is None):
        raise BadRequest("sort must be name, updated or downloads (or relevance, with q).")
    include_wip = query.get("include_wip", "false").lower()
    if include_wip not in ("true", "false", "1", "0"):
        raise BadRequest("include_wip must be true or false.")
    key = page.after_key(_SORT_KEYS[sort], Column.INT4)
    return ListQuery(
        text=text,
        publisher=query.get("publisher") or None,
        category=query.get("category") or None,
        tag=query.get("tag") or None,
        include_wip=include_wip in ("true", "1"),
        sort=sort,
        after=list(key) if key is not None else None,
        limit=page.limit + 1,
    )


async def search(request: web.Request, query: ListQuery) -> tuple[list[Extension], str | None]:
    """A page of extensions for `query` (fetched with limit + 1) and the next cursor."""
    async with connection(request) as conn:
        rows = await extension_store.list_extensions(conn, query)
    shown = rows[: query.limit - 1]
    next_cursor = encode_cursor(shown[-1][1]) if len(rows) >= query.limit and shown else None
    return [extension for extension, _ in shown], next_cursor


@routes.get("/api/extensions")
async def list_extensions(request: web.Request) -> web.Response:
    """Published extensions: `q` (ranked substring search), `publisher`, `category`, `tag`,
    `include_wip`, `sort` = name | updated | downloads | relevance; keyset-paginated."""
    extensions, next_cursor = await search(request, _list_query(request))
    return json_response(
        {"items": [render_extension(e) for e in extensions], "next_cursor": next_cursor},
        headers={"Cache-Control": "public, max-age=30"},
    )


@routes.post("/api/extensions")
async def create_extension(request: web.Request) -> web.Response:
    actor = request_actor(request)
    publishing = services(request).publishing
    publishing.require_publisher(actor)  # 401/403 before the body is read
    body = await json_body(request, "ExtensionCreate")
    extension = await publishing.create_extension(actor, body["publisher"], body["name"])
    return json_response(render_extension(extension), status=201, headers={"Location": extension_url(extension)})


@routes.post("/api/extensions/-/batch")
async def batch_read(request: web.Request) -> web.Response:
    """Many extensions by id in one request: `{"ids": ["alice/a", "acme/b"]}`."""
    body = await json_body(request, "ExtensionBatch")
    wanted = [tuple(extension_id.split("/", 1)) for extension_id in body["ids"]]
    async with connection(request) as conn:
        found = await extension_store.extensions_by_names(conn, wanted)
    by_id = {e.extension_id.lower(): e for e in found}
    items = [by_id[i.lower()] for i in body["ids"] if i.lower() in by_id]
    missing = [i for i in body["ids"] if i.lower() not in by_id]
    return json_response({"items": [render_extension(e) for e in items], "missing": missing})


@routes.get("/api/extensions/-/uuid/{uuid}")
async def get_by_uuid(request: web.Request) -> web.Response:
    try:
        extension_uuid = uuid.UUID(request.match_info["uuid"])
    except ValueError:
        raise NotFound("No extension with that UUID.") from None
    async with connection(request) as conn:
        extension = await extension_store.extension_by_uuid(conn, extension_uuid)
    if extension is None:
        raise NotFound("No extension with that UUID.")
    return json_response(render_extension(extension))


@routes.get("/api/extensions/{publisher}/{name}")
async def get_extension(request: web.Request) -> web.Response:
    extension = await live_extension(request, request.match_info["publisher"], request.match_info["name"])
    body = render_extension(extension)
    body["manifest"] = orjson.loads(extension.manifest) if extension.manifest else None
    return json_response(body)


@routes.delete("/api/extensions/{publisher}/{name}")
async def delete_extension(request: web.Request) -> web.Response:
    """Soft delete: the name is free again and its releases are no longer served (by no asset
    route); its published versions stay taken forever (migration 6)."""
    publishing = services(request).publishing
    publisher, name = request.match_info["publisher"], request.match_info["name"]
    await publishing.delete_extension(request_actor(request), publisher, name)
    return web.Response(status=204)


@routes.get("/api/extensions/{publisher}/{name}/downloads")
async def downloads(request: web.Request) -> web.Response:
    """Bundle downloads per day over the last `days` (1..366, default 90), and the total."""
    days = parse_count(request.query.get("days", "90"), max_digits=3)
    if days is None or not 1 <= days <= 366:
        raise BadRequest("days must be an integer from 1 to 366.")
    extension = await live_extension(request, request.match_info["publisher"], request.match_info["name"])
    since = datetime.now(UTC).date() - timedelta(days=days - 1)
    async with connection(request) as conn:
        series = await download_store.daily_downloads(conn, extension.id, since)
    return json_response(
        {
            "extension_id": extension.extension_id,
            "total": extension.downloads,
            "days": [{"day": point.day, "count": point.count} for point in series],
        }
    )
