"""Answers from the response cache (registry.response_cache): an extension's metadata or the fact
that it does not exist, a listing page; with their strong ETag, and 304 for a client that already
has those bytes (If-None-Match)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

from aiohttp import web

from registry import appkeys
from registry.domain.errors import NotFound, PublisherRenamed
from registry.handlers.common import services
from registry.response_cache import LISTING, Absent, Cached, CachedBody, cached_body, negative_tags
from registry.store.extensions import Extension


async def extension_answer(request: web.Request, kind: Hashable, render: Callable[[Extension], Any]) -> Cached:
    """The route's `{publisher}/{name}` rendered by `render` (`kind` names the rendering in the
    key), or Absent when no such extension exists. A name under a renamed publisher's old name
    raises the loader's PublisherRenamed (never kept: the route redirects); so does a not-found
    whose names PostgreSQL may fold otherwise than Python (registry.response_cache.negative_tags)."""
    publisher, name = request.match_info["publisher"], request.match_info["name"]
    catalogue = services(request).catalogue

    async def load() -> Cached:
        try:
            extension = await catalogue.cached_extension(publisher, name)
        except PublisherRenamed:
            raise
        except NotFound as missing:
            tags = negative_tags(publisher, name)
            if tags is None:
                raise
            return Absent(missing.detail, tags)
        return cached_body(render(extension), (f"extension:{extension.id}", f"publisher:{publisher.lower()}"))

    return await request.app[appkeys.RESPONSES].get((kind, publisher, name), load)


async def listing_answer(request: web.Request, key: Hashable, load: Callable[[], Awaitable[Any]]) -> CachedBody:
    """A listing (`load`'s JSON) by its normalized query `key`: dropped by any change to any
    extension or publisher."""

    async def serialized() -> Cached:
        return cached_body(await load(), (LISTING,))

    services(request)  # refuses a NUL in a parameter before anything is looked up
    found = await request.app[appkeys.RESPONSES].get((LISTING, key), serialized)
    assert isinstance(found, CachedBody)
    return found


async def dependents_answer(
    request: web.Request, language: str, package: str, key: Hashable, load: Callable[[], Awaitable[Any]]
) -> CachedBody:
    """A page of a package's dependents (`load`'s JSON) by its normalized query `key`, dropped on
    every node when the package's dependents change (migrations 10 and 16 announce
    `dependents:<language>:<package>` for its declared and resolved rows alike). A popular
    package's first page is asked for far more often than the index changes: answered from here,
    it costs neither a statement nor the building of a few hundred rows (bench/bench_dependents.py).
    An answer that depends on anything else (an advisory's ranges) must not be kept here."""

    async def serialized() -> Cached:
        return cached_body(await load(), (f"dependents:{language}:{package}",))

    found = await request.app[appkeys.RESPONSES].get(("dependents", key), serialized)
    assert isinstance(found, CachedBody)
    return found


def cached_response(request: web.Request, cached: CachedBody, headers: Mapping[str, str] | None = None) -> web.Response:
    """200 with the cached bytes, or 304 (no body) when the client's If-None-Match names them."""
    all_headers = {"ETag": cached.etag, **(headers or {})}
    if _matches(request.headers.get("If-None-Match"), cached.etag):
        return web.Response(status=304, headers=all_headers)
    return web.Response(body=cached.body, headers=all_headers, content_type="application/json")


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 section 13.1.2: `*`, or any listed tag equal to `etag` by weak comparison."""
    if not if_none_match:
        return False
    return any(
        candidate == "*" or candidate.removeprefix("W/") == etag
        for candidate in (part.strip() for part in if_none_match.split(","))
    )
