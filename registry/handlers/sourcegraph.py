"""The API a Sourcegraph instance calls on a remote extension registry (under /.api/registry).

Exactly what Sourcegraph's own registry client (`cmd/frontend/registry/client`) sends and checks:
each extension is an object with the keys of its `registry.Extension`, the manifest as a JSON
*string* (null when the extension has no release), times in RFC 3339, and not-found as a 404.
The response header the client checks first is added to every response under /.api/registry/
by `registry.middlewares.identify_registry_response`, errors and routing 404s included.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Hashable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from registry import sourcegraph
from registry.domain.errors import BadRequest, NotFound
from registry.domain.page import PageRequest
from registry.handlers.cached import cached_response, extension_answer, listing_answer
from registry.handlers.common import redirect_renamed_publisher, services
from registry.http import json_response
from registry.problems import problem_response
from registry.public_url import base_url
from registry.response_cache import Absent
from registry.services.catalogue import MAX_LISTED, registry_query
from registry.store.extensions import Extension
from registry.views.sourcegraph import to_sourcegraph

routes = web.RouteTableDef()


def _check_media_type(request: web.Request) -> None:
    if not sourcegraph.accepts_registry_api(request.headers.get("Accept", "")):
        raise BadRequest(f"Send Accept: {sourcegraph.ACCEPT}.")


def _headers(max_age: int) -> dict[str, str]:
    return {"Vary": "Accept", "Cache-Control": f"max-age={max_age}, private"}


async def _many(request: web.Request, key: Hashable, load: Callable[[], Awaitable[list[Extension]]]) -> web.Response:
    """A list, from the response cache by `key` and this registry's base URL (its URLs are absolute)."""
    base = base_url(request)

    async def rendered() -> list[dict[str, Any]]:
        return [to_sourcegraph(base, e) for e in await load()]

    return cached_response(request, await listing_answer(request, ("sourcegraph", base, key), rendered), _headers(30))


def _one(request: web.Request, extension: Extension | None) -> web.Response:
    if extension is None:
        return problem_response(request, NotFound("extension not found"), headers=_headers(5))
    return json_response(to_sourcegraph(base_url(request), extension), headers=_headers(30))


@routes.get("/.api/registry/extensions")
async def list_extensions(request: web.Request) -> web.Response:
    _check_media_type(request)
    query = registry_query(request.query.get("q", ""))
    catalogue = services(request).catalogue

    async def load() -> list[Extension]:
        return (await catalogue.search(query, PageRequest(MAX_LISTED), for_cache=True)).items

    return await _many(request, query, load)


@routes.get("/.api/registry/extensions/featured")
async def featured_extensions(request: web.Request) -> web.Response:
    """The client's GetFeaturedExtensions: here, the most downloaded published extensions."""
    _check_media_type(request)
    return await _many(request, "featured", functools.partial(services(request).catalogue.featured, for_cache=True))


@routes.get("/.api/registry/extensions/uuid/{uuid}")
async def by_uuid(request: web.Request) -> web.Response:
    _check_media_type(request)
    try:
        return _one(request, await services(request).catalogue.extension_by_uuid(request.match_info["uuid"]))
    except NotFound:
        return _one(request, None)


@routes.get("/.api/registry/extensions/extension-id/{publisher}/{name}")
async def by_extension_id(request: web.Request) -> web.Response:
    _check_media_type(request)
    base = base_url(request)
    try:
        found = await extension_answer(request, ("sourcegraph", base), functools.partial(to_sourcegraph, base))
    except NotFound:  # an id under a renamed publisher's old name: 308 to its current one
        await redirect_renamed_publisher(request, request.match_info["publisher"], headers=_headers(30))
        return _one(request, None)
    return _one(request, None) if isinstance(found, Absent) else cached_response(request, found, _headers(30))


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
