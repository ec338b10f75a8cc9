"""Extensions: listing and search, creation under a publisher, reads, soft deletion, batch reads."""

from __future__ import annotations

import orjson
from aiohttp import web

from registry.auth import policy
from registry.auth.actor import request_actor
from registry.auth.tokens import Scope
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest, Conflict, NotFound
from registry.handlers.common import connection, json_body, live_extension, path_extension, services, transaction
from registry.handlers.paging import page_json, page_request
from registry.http import json_response
from registry.services.catalogue import MAX_HISTORY_DAYS, parse_listing
from registry.store import extensions as extension_store
from registry.store import orgs as org_store
from registry.store.extensions import Extension
from registry.store.publishers import Publisher, publisher_by_name
from registry.validation import parse_count
from registry.views.extensions import extension_url, render_extension

routes = web.RouteTableDef()


async def may_publish_for(request: web.Request, actor: Actor, publisher: Publisher) -> int:
    """The acting user's id, after checking they may publish for `publisher` (403 otherwise)."""
    user = policy.signed_in(actor, Scope.PUBLISH)
    member = False
    if publisher.org_id is not None:
        async with connection(request) as conn:
            member = await org_store.is_member(conn, publisher.org_id, user.id)
    return policy.require_may_publish(
        actor, publisher_user_id=publisher.user_id, member_of_org=member, publisher=publisher.name
    ).id


@routes.get("/api/extensions")
async def list_extensions(request: web.Request) -> web.Response:
    """Published extensions: `q` (ranked substring search), `publisher`, `category`, `tag`,
    `include_wip`, `sort` = name | updated | downloads | relevance; keyset-paginated."""
    page = page_request(request)
    found = await services(request).catalogue.search(parse_listing(request.query), page)
    return json_response(page_json(found, render_extension), headers={"Cache-Control": "public, max-age=30"})


@routes.post("/api/extensions")
async def create_extension(request: web.Request) -> web.Response:
    actor = request_actor(request)
    policy.signed_in(actor, Scope.PUBLISH)
    body = await json_body(request, "ExtensionCreate")
    async with connection(request) as conn:
        publisher = await publisher_by_name(conn, body["publisher"])
    if publisher is None:
        raise NotFound(f"No user or organization named {body['publisher']}.")
    await may_publish_for(request, actor, publisher)
    async with transaction(request) as conn:
        extension = await extension_store.create_extension(conn, publisher, body["name"])
    if extension is None:
        raise Conflict(f"{publisher.name} already has an extension named {body['name']}.")
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
    extension = await path_extension(request)
    body = render_extension(extension)
    body["manifest"] = orjson.loads(extension.manifest) if extension.manifest else None
    return json_response(body)


@routes.delete("/api/extensions/{publisher}/{name}")
async def delete_extension(request: web.Request) -> web.Response:
    """Soft delete: the name is free again and its releases are no longer served (by no asset
    route); its published versions stay taken forever (migration 6)."""
    actor = request_actor(request)
    extension = await live_extension(request, request.match_info["publisher"], request.match_info["name"])
    await remove_extension(request, actor, extension)
    return web.Response(status=204)


async def remove_extension(request: web.Request, actor: Actor, extension: Extension) -> None:
    """Delete `extension` for `actor` (who must be allowed to publish for its publisher); shared
    by the REST route and Sourcegraph's GraphQL `deleteExtension`."""
    await may_publish_for(request, actor, extension.publisher_of())
    async with transaction(request) as conn:
        if not await extension_store.soft_delete_extension(conn, extension.id):
            raise NotFound(f"No extension {extension.extension_id}.")


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
