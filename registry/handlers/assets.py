"""Bundles and source maps, served like the immutable files they are.

By version (or by release id, Sourcegraph's static URLs) a response may be cached for a year;
by tag it names a moving target and is cached briefly. Every response carries a strong ETag, is
compressed as the client prefers, and is locked down (nosniff, a sandboxing CSP, CORS without
credentials) since it is third-party code. A warm request is answered with no database round
trip: what it names is resolved from memory (kept coherent by invalidation) and the file is sent
by the kernel from the host's asset cache (registry.asset_cache, registry.asset_response).

A Range request is answered from the uncompressed asset, whose bytes the strong ETag names (all
encodings share that ETag, as they always have: a range of one encoding joined to a range of
another would be garbage); an If-Range that is not that ETag asks for the whole asset.
"""

from __future__ import annotations

from aiohttp import web

from registry.asset_cache import choose_encoding
from registry.asset_response import AssetResponse
from registry.domain.errors import NotFound
from registry.handlers.common import services
from registry.services.catalogue import asset_etag
from registry.sourcegraph import parse_bundle_file
from registry.store.releases import Release

routes = web.RouteTableDef()

_IMMUTABLE = "public, max-age=31536000, immutable"
_BY_TAG = "public, max-age=60"
_CONTENT_TYPES = {"bundle": "application/javascript; charset=utf-8", "source_map": "application/json; charset=utf-8"}


def _headers(etag: str, cache_control: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "ETag",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }


def _ranged(request: web.Request, etag: str) -> bool:
    """Whether to honour the request's Range: there is one, and no If-Range other than our ETag
    (a date never matches: no Last-Modified is sent, the ETag is the validator)."""
    if "Range" not in request.headers:
        return False
    if_range = request.headers.get("If-Range")
    return if_range is None or if_range.strip() == etag


async def _serve(request: web.Request, release: Release, kind: str, cache_control: str) -> web.StreamResponse:
    catalogue = services(request).catalogue
    headers = _headers(asset_etag(release, kind), cache_control)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and headers["ETag"] in (tag.strip() for tag in if_none_match.split(",")):
        return web.Response(status=304, headers=headers)
    ranged = _ranged(request, headers["ETag"])
    encoding = "identity" if ranged else choose_encoding(request.headers.get("Accept-Encoding", ""))
    body = await catalogue.asset(release, kind, encoding)
    if kind == "bundle" and request.method == "GET":
        catalogue.count_download(release, request.remote)
    headers["Content-Type"] = _CONTENT_TYPES[kind]
    return AssetResponse(body, headers, ranged=ranged)


async def _by_name(request: web.Request, kind: str) -> web.StreamResponse:
    """An asset of the release named by `version` or `tag` (by default the latest "release")."""
    publisher, name = request.match_info["publisher"], request.match_info["name"]
    version, tag = request.query.get("version"), request.query.get("tag")
    served = await services(request).catalogue.served_asset(publisher, name, version=version, tag=tag)
    return await _serve(request, served.release, kind, _IMMUTABLE if served.by_version else _BY_TAG)


@routes.get("/api/extensions/{publisher}/{name}/-/bundle.js")
async def bundle(request: web.Request) -> web.StreamResponse:
    return await _by_name(request, "bundle")


@routes.get("/api/extensions/{publisher}/{name}/-/bundle.js.map")
async def source_map(request: web.Request) -> web.StreamResponse:
    return await _by_name(request, "source_map")


@routes.get("/-/static/extension/{file}")
async def static_asset(request: web.Request) -> web.StreamResponse:
    """Sourcegraph's bundle URLs in every form it produced: `{releaseID}-{hint}.js|.map` and
    `{releaseID}.js|.map`; a query string is only a cache-buster. Addressed by release id, they
    never change."""
    wanted = parse_bundle_file(request.match_info["file"])
    if wanted is None:
        raise NotFound("No such extension asset.")
    release = await services(request).catalogue.static_release(wanted.release_id)
    return await _serve(request, release, wanted.kind, _IMMUTABLE)
