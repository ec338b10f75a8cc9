"""The API a Sourcegraph instance calls on a remote extension registry (under /.api/registry).

Exactly what Sourcegraph's own registry client (`cmd/frontend/registry/client`) sends and checks:
each extension is an object with the keys of its `registry.Extension`, the manifest as a JSON
*string* (null when the extension has no release), times in RFC 3339, and not-found as a 404.
The response header the client checks first is added to every response under /.api/registry/
by `registry.middlewares.identify_registry_response`, errors and routing 404s included.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import web

from registry import sourcegraph
from registry.domain.errors import BadRequest, NotFound
from registry.errors import problem_response
from registry.handlers.common import connection, redirect_renamed_publisher
from registry.handlers.extensions import search
from registry.http import json_response
from registry.public_url import base_url
from registry.store import extensions as extension_store
from registry.store.extensions import Extension, ListQuery

routes = web.RouteTableDef()

MAX_LISTED = 1000  # Sourcegraph's list had no paging; a registry answers this many at most
FEATURED = 10  # the most downloaded extensions with a release, Wharf's answer to "featured"
MAX_QUERY_LENGTH = 512


def _check_media_type(request: web.Request) -> None:
    if not sourcegraph.accepts_registry_api(request.headers.get("Accept", "")):
        raise BadRequest(f"Send Accept: {sourcegraph.ACCEPT}.")


def _headers(max_age: int) -> dict[str, str]:
    return {"Vary": "Accept", "Cache-Control": f"max-age={max_age}, private"}


def served_manifest_data(base: str, extension: Extension) -> dict[str, Any] | None:
    """The latest release's manifest as Sourcegraph served it: with a `url` to this registry's
    bundle when the manifest names none (Sourcegraph's getExtensionManifestWithBundleURL)."""
    if extension.manifest is None or extension.latest_release_id is None or extension.latest_created_at is None:
        return None
    data: dict[str, Any] = orjson.loads(extension.manifest)
    if not isinstance(data.get("url"), str) or not data["url"]:
        data["url"] = sourcegraph.bundle_url(
            base, extension.latest_release_id, extension.extension_id, extension.latest_created_at
        )
    return data


def served_manifest(base: str, extension: Extension) -> str | None:
    data = served_manifest_data(base, extension)
    return orjson.dumps(data).decode() if data is not None else None


def publisher_path(extension: Extension) -> str:
    return f"/{'users' if extension.publisher_user_id else 'organizations'}/{extension.publisher}"


def to_sourcegraph(request: web.Request, extension: Extension) -> dict[str, Any]:
    base = base_url(request)
    manifest = served_manifest(base, extension)
    return {
        "uuid": str(extension.uuid),
        "extensionID": extension.extension_id,
        "publisher": {"name": extension.publisher, "url": base + publisher_path(extension)},
        "name": extension.name,
        "manifest": manifest,
        "createdAt": sourcegraph.rfc3339(extension.created_at),
        "updatedAt": sourcegraph.rfc3339(extension.updated_at),
        "publishedAt": sourcegraph.rfc3339(extension.latest_created_at) if manifest else sourcegraph.ZERO_TIME,
        "url": f"{base}/extensions/{extension.extension_id}",
    }


def list_query(q: str, *, limit: int) -> ListQuery:
    """A registry query (`q`, or GraphQL's `query`) as a listing: every live extension, those
    without a release and works in progress included, as Sourcegraph listed them."""
    if len(q) > MAX_QUERY_LENGTH:
        raise BadRequest(f"The query must be at most {MAX_QUERY_LENGTH} characters.")
    parsed = sourcegraph.parse_query(q)
    return ListQuery(
        text=parsed.text,
        category=parsed.category,
        tag=parsed.tag,
        include_wip=True,
        include_unpublished=True,
        sort="relevance" if parsed.text else "name",
        limit=limit + 1,
    )


@routes.get("/.api/registry/extensions")
async def list_extensions(request: web.Request) -> web.Response:
    _check_media_type(request)
    extensions, _ = await search(request, list_query(request.query.get("q", ""), limit=MAX_LISTED))
    return json_response([to_sourcegraph(request, e) for e in extensions], headers=_headers(30))


@routes.get("/.api/registry/extensions/featured")
async def featured_extensions(request: web.Request) -> web.Response:
    """The client's GetFeaturedExtensions: here, the most downloaded published extensions."""
    _check_media_type(request)
    extensions, _ = await search(request, ListQuery(sort="downloads", limit=FEATURED + 1))
    return json_response([to_sourcegraph(request, e) for e in extensions], headers=_headers(30))


async def _one(request: web.Request, extension: Extension | None) -> web.Response:
    if extension is None:
        return problem_response(request, NotFound("extension not found"), headers=_headers(5))
    return json_response(to_sourcegraph(request, extension), headers=_headers(30))


@routes.get("/.api/registry/extensions/uuid/{uuid}")
async def by_uuid(request: web.Request) -> web.Response:
    _check_media_type(request)
    try:
        extension_uuid = uuid.UUID(request.match_info["uuid"])
    except ValueError:
        return await _one(request, None)
    async with connection(request) as conn:
        return await _one(request, await extension_store.extension_by_uuid(conn, extension_uuid))


@routes.get("/.api/registry/extensions/extension-id/{publisher}/{name}")
async def by_extension_id(request: web.Request) -> web.Response:
    _check_media_type(request)
    async with connection(request) as conn:
        extension = await extension_store.extension_by_name(
            conn, request.match_info["publisher"], request.match_info["name"]
        )
    if extension is None:  # an id under a renamed publisher's old name: 308 to its current one
        await redirect_renamed_publisher(request, request.match_info["publisher"], headers=_headers(30))
    return await _one(request, extension)


# The publisher URLs Sourcegraph's API hands out, and the ones its web app used: all lead to the
# publisher's page here.
@routes.get("/users/{name}")
@routes.get("/organizations/{name}")
@routes.get("/extensions/registry/publishers/users/{name}")
@routes.get("/extensions/registry/publishers/organizations/{name}")
async def publisher_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if len(name) > 255:
        raise NotFound("No such publisher.")
    raise web.HTTPMovedPermanently(f"/publishers/{quote(name, safe='')}")
