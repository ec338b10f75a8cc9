"""Extensions: listing and search, creation under a publisher, reads, soft deletion, batch reads."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from registry.auth.authentication import request_actor
from registry.domain.errors import BadRequest, NotFound
from registry.handlers.cached import cached_response, extension_answer, listing_answer
from registry.handlers.common import (
    json_body,
    no_content,
    path_extension,
    services,
)
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.problems import problem_response
from registry.response_cache import Absent
from registry.services.catalogue import MAX_HISTORY_DAYS, parse_listing
from registry.validation import parse_count
from registry.views.common import page_json
from registry.views.extensions import extension_url, render_extension, render_extension_metadata

routes = web.RouteTableDef()


@routes.get("/api/extensions")
async def list_extensions(request: web.Request) -> web.Response:
    """Published extensions: `q` (ranked substring search), `publisher`, `category`, `tag`,
    `include_wip`, `sort` = name | updated | downloads | relevance; keyset-paginated."""
    page, query = page_request(request), parse_listing(request.query)
    catalogue = services(request).catalogue

    async def load() -> dict[str, Any]:
        return page_json(await catalogue.search(query, page, for_cache=True), render_extension)

    found = await listing_answer(request, (query, page), load)
    return cached_response(request, found, {"Cache-Control": "public, max-age=30"})


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
    batch = await services(request).catalogue.batch(body["ids"])
    return json_response({"items": [render_extension(e) for e in batch.items], "missing": batch.missing})


@routes.get("/api/extensions/-/uuid/{uuid}")
async def get_by_uuid(request: web.Request) -> web.Response:
    extension = await services(request).catalogue.extension_by_uuid(request.match_info["uuid"])
    return json_response(render_extension(extension))


@routes.get("/api/extensions/{publisher}/{name}")
async def get_extension(request: web.Request) -> web.Response:
    """From the response cache: an unknown extension's 404 too, until its name is published (answered,
    not raised: the same problem+json without unwinding every middleware)."""
    found = await extension_answer(request, "api", render_extension_metadata)
    if isinstance(found, Absent):
        return problem_response(request, NotFound(found.detail))
    return cached_response(request, found)


@routes.delete("/api/extensions/{publisher}/{name}")
async def delete_extension(request: web.Request) -> web.Response:
    """Soft delete: the name is free again and its releases are no longer served (by no asset
    route); its published versions stay taken forever (migration 6)."""
    publishing = services(request).publishing
    publisher, name = request.match_info["publisher"], request.match_info["name"]
    return await no_content(publishing.delete_extension(request_actor(request), publisher, name))


@routes.get("/api/extensions/{publisher}/{name}/downloads")
async def downloads(request: web.Request) -> web.Response:
    """Bundle downloads per day over the last `days` (1..366, default 90), and the total."""
    days = parse_count(request.query.get("days", "90"), max_digits=3)
    if days is None or not 1 <= days <= MAX_HISTORY_DAYS:
        raise BadRequest(f"days must be an integer from 1 to {MAX_HISTORY_DAYS}.")
    extension = await path_extension(request)
    history = await services(request).catalogue.download_history(extension, days)
    return json_response(
        {
            "extension_id": history.extension.extension_id,
            "total": history.extension.downloads,
            "days": [{"day": point.day, "count": point.count} for point in history.days],
        }
    )
