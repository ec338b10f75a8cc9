"""Publishing releases (also in one call with /api/publish), listing, reading and yanking them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from registry.auth.authentication import request_actor
from registry.domain.actor import Actor
from registry.handlers.common import no_content, services
from registry.handlers.paging import page_request
from registry.handlers.publish_input import read_publish_input
from registry.http import json_response
from registry.public_url import base_url
from registry.services.publish_checks import PublishInput, publisher_of
from registry.services.publishing import Publishing
from registry.views.common import page_json
from registry.views.extensions import extension_url
from registry.views.releases import render_release

routes = web.RouteTableDef()


def _authorizer(publishing: Publishing, actor: Actor) -> Callable[[str], Awaitable[None]]:
    """Authorize the publisher an extension id names, once per publisher: an id that is no
    `publisher/name` is left to the checks of the publish (422)."""
    authorized: set[str] = set()

    async def authorize(extension_id: str) -> None:
        publisher = publisher_of(extension_id)
        if publisher is not None and publisher not in authorized:
            await publishing.authorize_publisher(actor, publisher)
            authorized.add(publisher)

    return authorize


async def _publish(
    request: web.Request, publishing: Publishing, actor: Actor, data: PublishInput, *, create: bool
) -> web.Response:
    """Publish, and answer 201 with the new release's address, or 200 for an identical re-publish
    of a version. `create`: the extension may be created by this publish (/api/publish)."""
    published = await publishing.publish(actor, data, create=create, public_url=lambda: base_url(request))
    extension, release = published.extension, published.release
    body = {**render_release(extension, release), "warnings": published.warnings}
    if not published.created:
        return json_response(body, status=200)
    location = f"{extension_url(extension)}/releases/{release.version}" if release.version else extension_url(extension)
    return json_response(body, status=201, headers={"Location": location})


@routes.post("/api/publish")
async def publish(request: web.Request) -> web.Response:
    """Create the extension if needed and release it, in one transaction (`src extensions publish`)."""
    actor = request_actor(request)
    publishing = services(request).publishing
    publishing.require_publisher(actor)  # 401/403 before a byte of the body is read
    authorize = _authorizer(publishing, actor)
    data = await read_publish_input(request, None, named=authorize)
    if data.extension_id is not None:
        await authorize(data.extension_id)
    return await _publish(request, publishing, actor, data, create=True)


@routes.post("/api/extensions/{publisher}/{name}/releases")
async def create_release(request: web.Request) -> web.Response:
    actor = request_actor(request)
    publishing = services(request).publishing
    publisher, name = request.match_info["publisher"], request.match_info["name"]
    await publishing.authorize_publisher(actor, publisher)
    data = await read_publish_input(request, f"{publisher}/{name}")
    return await _publish(request, publishing, actor, data, create=False)


@routes.get("/api/extensions/{publisher}/{name}/releases")
async def list_releases(request: web.Request) -> web.Response:
    """Releases newest first by SemVer precedence (legacy unversioned ones last), paginated."""
    page = page_request(request)
    publishing = services(request).publishing
    extension, releases = await publishing.releases(
        request.match_info["publisher"], request.match_info["name"], page, tag=request.query.get("tag")
    )
    return json_response(page_json(releases, lambda release: render_release(extension, release, with_manifest=False)))


@routes.get("/api/extensions/{publisher}/{name}/releases/{version}")
async def get_release(request: web.Request) -> web.Response:
    """One release by version; a yanked one is shown with its `yanked_at` (its assets are gone)."""
    publishing = services(request).publishing
    match = request.match_info
    extension, release = await publishing.release_by_version(match["publisher"], match["name"], match["version"])
    return json_response(render_release(extension, release))


@routes.delete("/api/extensions/{publisher}/{name}/releases/{version}")
async def yank_release(request: web.Request) -> web.Response:
    """Yank: the release is no longer served or listed, and its version is never used again."""
    publishing = services(request).publishing
    match = request.match_info
    return await no_content(
        publishing.yank(request_actor(request), match["publisher"], match["name"], match["version"])
    )
