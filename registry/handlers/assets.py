"""Bundles and source maps, served like the immutable files they are.

By version (or by release id, Sourcegraph's static URLs) a response may be cached for a year;
by tag it names a moving target and is cached briefly. Every response carries a strong ETag, is
compressed as the client prefers, and is locked down (nosniff, a sandboxing CSP, CORS without
credentials) since it is third-party code.
"""

from __future__ import annotations

from aiohttp import web

from registry import appkeys
from registry.assets import CachedAsset, choose_encoding
from registry.domain.errors import BadRequest, NotFound
from registry.handlers.common import connection
from registry.handlers.extensions import live_extension
from registry.sourcegraph import parse_bundle_file
from registry.store import releases as release_store
from registry.store.releases import Release
from registry.versions import latest

routes = web.RouteTableDef()

_IMMUTABLE = "public, max-age=31536000, immutable"
_BY_TAG = "public, max-age=60"
_CONTENT_TYPES = {"bundle": "application/javascript; charset=utf-8", "source_map": "application/json; charset=utf-8"}


def _etag(release: Release, kind: str) -> str | None:
    digest = release.bundle_sha256 if kind == "bundle" else release.source_map_sha256
    return f'"{digest.hex()[:40]}"' if digest else None


async def _release_for(request: web.Request) -> tuple[Release, bool]:
    """The release a name-addressed asset request means, and whether it was named by version."""
    extension = await live_extension(request, request.match_info["publisher"], request.match_info["name"])
    version, tag = request.query.get("version"), request.query.get("tag")
    if version is not None and tag is not None:
        raise BadRequest("Give version or tag, not both.")
    async with connection(request) as conn:
        if version is not None:
            release = await release_store.release_by_version(conn, extension.id, version)
            if release is None:
                raise NotFound(f"{extension.extension_id} has no live version {version}.")
            return release, True
        release = latest(await release_store.releases_of(conn, extension.id, tag=tag or "release"))
    if release is None:
        raise NotFound(f"{extension.extension_id} has no live release tagged {tag or 'release'}.")
    return release, False


async def _serve(request: web.Request, release: Release, kind: str, cache_control: str) -> web.StreamResponse:
    etag = _etag(release, kind)
    if etag is None or (kind == "source_map" and not release.has_source_map):
        raise NotFound("This release has no source map." if kind == "source_map" else "This release has no bundle.")
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "ETag",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if etag in (tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")):
        return web.Response(status=304, headers=headers)
    cache = request.app[appkeys.ASSETS]
    pool = request.app[appkeys.POOL]

    async def load() -> CachedAsset | None:
        async with pool.acquire() as conn:
            text = await release_store.asset_of(conn, release.id, kind)
        return None if text is None else CachedAsset(text.encode(), etag)

    key = (release.id, kind)
    asset = await cache.get(key, load)
    if asset is None:
        raise NotFound("This release's asset is gone.")
    encoding = choose_encoding(request.headers.get("Accept-Encoding", ""))
    body = await cache.body(key, asset, encoding)
    if encoding != "identity":
        headers["Content-Encoding"] = encoding
    if kind == "bundle" and request.method == "GET":
        request.app[appkeys.DOWNLOADS].count(release.id, request.remote)
    response = web.Response(body=body, headers=headers)
    response.headers["Content-Type"] = _CONTENT_TYPES[kind]
    return response


@routes.get("/api/extensions/{publisher}/{name}/-/bundle.js")
async def bundle(request: web.Request) -> web.StreamResponse:
    release, by_version = await _release_for(request)
    return await _serve(request, release, "bundle", _IMMUTABLE if by_version else _BY_TAG)


@routes.get("/api/extensions/{publisher}/{name}/-/bundle.js.map")
async def source_map(request: web.Request) -> web.StreamResponse:
    release, by_version = await _release_for(request)
    return await _serve(request, release, "source_map", _IMMUTABLE if by_version else _BY_TAG)


@routes.get("/-/static/extension/{file}")
async def static_asset(request: web.Request) -> web.StreamResponse:
    """Sourcegraph's bundle URLs in every form it produced: `{releaseID}-{hint}.js|.map` and
    `{releaseID}.js|.map`; a query string is only a cache-buster. Addressed by release id, they
    never change."""
    wanted = parse_bundle_file(request.match_info["file"])
    if wanted is None:
        raise NotFound("No such extension asset.")
    async with connection(request) as conn:
        release = await release_store.release_by_id(conn, wanted.release_id)
    if release is None:
        raise NotFound("No such extension asset.")
    return await _serve(request, release, wanted.kind, _IMMUTABLE)
