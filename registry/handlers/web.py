"""The web catalogue (HTML pages outside /api) and the API's own documentation at /api/docs.

Pages are rendered on the server from the same store and search functions as the JSON API, and
work without JavaScript: they carry a strict Content-Security-Policy and run no script at all.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache, wraps
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import orjson
from aiohttp import web
from markupsafe import Markup

from registry import appkeys
from registry import web as site
from registry.domain.errors import DomainError, NotFound
from registry.ecosystems import LANGUAGES, ecosystem_named
from registry.errors import problem_of
from registry.handlers.common import connection, redirect_renamed_publisher
from registry.handlers.extensions import _list_query, live_extension, search
from registry.pagination import Column, encode_cursor, page_request
from registry.readme import RenderedReadme, readme_text, render_once
from registry.resources import schemas_dir
from registry.store import downloads as download_store
from registry.store import package_index as index_store
from registry.store import readmes as readme_store
from registry.store import releases as release_store
from registry.store.extensions import Extension, ListQuery
from registry.store.package_index import RangeCount
from registry.store.publishers import publisher_by_name
from registry.versions import by_precedence
from registry.web.chart import download_chart
from registry.web.openapi_view import build_docs

routes = web.RouteTableDef()

PAGE_SIZE = 20
CHART_DAYS = 90
_ICON = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml)(;[a-zA-Z0-9=.-]+)*(;base64)?,")
_WEB_URL = re.compile(r"^https?://", re.IGNORECASE)

Page = Callable[[web.Request], Awaitable[web.StreamResponse]]


def html_page(handler: Page) -> Page:
    """Errors on an HTML route become HTML pages (with the problem's status), not problem+json."""

    @wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except DomainError as error:
            problem = problem_of(error)
            return site.error_page(request, problem.status, problem.title, error.detail)

    return wrapper


@cache
def categories() -> tuple[str, ...]:
    """The categories a manifest may name (the filter's choices), from the manifest schema."""
    schema = orjson.loads((schemas_dir() / "extension.schema.json").read_bytes())
    return tuple(schema["properties"]["categories"]["items"]["enum"])


def _card(extension: Extension) -> dict[str, Any]:
    return {
        "id": extension.extension_id,
        "publisher": extension.publisher,
        "name": extension.name,
        "title": extension.title or extension.name,
        "description": extension.description,
        "version": extension.latest_version,
        "downloads": extension.downloads,
        "updated_at": extension.updated_at,
        "tags": extension.tags,
        "categories": extension.categories,
    }


def _page_query(request: web.Request, **overrides: Any) -> ListQuery:
    """The JSON API's listing query, with the pages' own default page size. A form sends its
    empty fields too (`sort=&tag=`): they mean "not given", as the API's absent parameters do."""
    given = {key: value for key, value in request.query.items() if value.strip()}
    if len(given) != len(request.query):
        request = request.clone(rel_url=request.rel_url.with_query(given))
    query = _list_query(request)
    if "limit" not in request.query:
        overrides["limit"] = PAGE_SIZE + 1
    return replace(query, **overrides)


def _filters(request: web.Request) -> dict[str, str]:
    return {key: request.query.get(key, "") for key in ("q", "category", "tag", "sort", "limit")}


@routes.get("/")
@routes.get("/extensions")
@html_page
async def catalogue(request: web.Request) -> web.StreamResponse:
    """Published extensions: search (`q`), category and tag filters, keyset paging."""
    query = _page_query(request)
    extensions, next_cursor = await search(request, query)
    filters = _filters(request)
    return site.html_response(
        request,
        "catalogue.html",
        {
            "extensions": [_card(e) for e in extensions],
            "filters": filters,
            "categories": categories(),
            "next_url": site.query_url("/extensions", **filters, cursor=next_cursor) if next_cursor else None,
            "first_url": site.query_url("/extensions", **filters) if request.query.get("cursor") else None,
        },
    )


async def _readme(request: web.Request, extension: Extension, manifest: dict[str, Any]) -> RenderedReadme | None:
    """The latest release's README as rendered at publish. A release published before READMEs were
    kept is rendered now, off the event loop (registry.readme.render_once), and kept."""
    text = readme_text(manifest)
    if text is None or extension.latest_release_id is None:
        return None
    async with connection(request) as conn:
        kept = await readme_store.readme_of(conn, extension.latest_release_id)
    if kept is not None:
        return kept
    rendered = await render_once(request.app[appkeys.PARSERS], text)
    async with connection(request) as conn:
        await readme_store.insert_readme(conn, extension.latest_release_id, rendered)
    return rendered


@routes.get("/extensions/{publisher}/{name}")
@html_page
async def extension_page(request: web.Request) -> web.StreamResponse:
    """One extension: its README (sanitized), versions, downloads over the last 90 days."""
    extension = await live_extension(request, request.match_info["publisher"], request.match_info["name"])
    manifest: dict[str, Any] = orjson.loads(extension.manifest) if extension.manifest else {}
    today = datetime.now(UTC).date()
    async with connection(request) as conn:
        releases = by_precedence(await release_store.releases_of(conn, extension.id))
        series = await download_store.daily_downloads(conn, extension.id, today - timedelta(days=CHART_DAYS - 1))
    readme = await _readme(request, extension, manifest)
    icon = manifest.get("icon")
    repository = manifest.get("repository")
    repository_url = repository.get("url") if isinstance(repository, dict) else repository
    return site.html_response(
        request,
        "extension.html",
        {
            "extension": _card(extension),
            "readme": Markup(readme.html) if readme else None,  # noqa: S704 (sanitized, or escaped text)
            "icon": icon if isinstance(icon, str) and _ICON.match(icon) else None,
            "repository_url": repository_url
            if isinstance(repository_url, str) and _WEB_URL.match(repository_url)
            else None,
            "kind": extension.publisher_of().kind,
            "releases": releases,
            "chart": download_chart(series, today=today, days=CHART_DAYS),
        },
    )


@routes.get("/publishers/{name}")
@html_page
async def publisher_page(request: web.Request) -> web.StreamResponse:
    """A user's or an organization's published extensions."""
    async with connection(request) as conn:
        publisher = await publisher_by_name(conn, request.match_info["name"])
    if publisher is None:
        await redirect_renamed_publisher(request, request.match_info["name"], key="name")
        raise NotFound(f"No user or organization named {request.match_info['name']}.")
    extensions, next_cursor = await search(request, _page_query(request, publisher=publisher.name))
    base = f"/publishers/{quote(publisher.name, safe='')}"
    limit = request.query.get("limit", "")
    return site.html_response(
        request,
        "publisher.html",
        {
            "publisher": publisher,
            "extensions": [_card(e) for e in extensions],
            "next_url": site.query_url(base, limit=limit, cursor=next_cursor) if next_cursor else None,
            "first_url": site.query_url(base, limit=limit) if request.query.get("cursor") else None,
        },
    )


@routes.get("/packages/{language}/{name:.+}")
@html_page
async def dependents_page(request: web.Request) -> web.StreamResponse:
    """Repositories that depend on a package, with the ranges they declare, keyset-paginated."""
    language = request.match_info["language"]
    ecosystem = ecosystem_named(language)
    if ecosystem is None:
        raise NotFound(f"No package index for {language!r}; it has {', '.join(LANGUAGES)}.")
    package = ecosystem.normalise_name(request.match_info["name"])
    page = page_request(request)
    after = page.after_key(Column.INT4, Column.INT8)  # (repo_id, global_dep.id)

    async def load() -> list[RangeCount]:
        async with connection(request) as conn:
            return await index_store.dependents_by_range(conn, language, package)

    summary = await request.app[appkeys.DEPENDENTS_SUMMARIES].get((language, package), load)
    total = sum(entry.count for entry in summary)
    async with connection(request) as conn:
        rows = await index_store.dependents_page(
            conn,
            language,
            package,
            matching=total,
            after=(after[0], after[1]) if after else None,
            limit=page.limit + 1,
        )
    shown = rows[: page.limit]
    base = f"/packages/{language}/{quote(package, safe='/@:')}"
    limit = request.query.get("limit", "")
    next_cursor = encode_cursor([shown[-1].repo_id, shown[-1].row_id]) if len(rows) > page.limit else None
    return site.html_response(
        request,
        "dependents.html",
        {
            "language": language,
            "package": package,
            "total": total,
            "ranges": summary[:20],
            "more_ranges": max(len(summary) - 20, 0),
            "rows": shown,
            "next_url": site.query_url(base, limit=limit, cursor=next_cursor) if next_cursor else None,
            "first_url": site.query_url(base, limit=limit) if request.query.get("cursor") else None,
        },
    )


@routes.get("/api/docs")
async def api_docs(request: web.Request) -> web.StreamResponse:
    """The OpenAPI document as one HTML page: every operation by tag, `$ref`s resolved."""
    cache = request.app[site.CACHE]
    if "api_docs" not in cache:
        docs = build_docs(request.app[appkeys.OPENAPI])
        cache["api_docs"] = aiohttp_jinja2.render_string("api_docs.html", request, {"docs": docs})
    response = web.Response(text=cache["api_docs"], content_type="text/html", charset="utf-8")
    response.headers.update(site.HTML_HEADERS)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@routes.get(site.STATIC_PREFIX + "/{file}")
async def static_file(request: web.Request) -> web.StreamResponse:
    """The pages' stylesheet (and any other file of registry/static/web), from memory."""
    found = request.app[site.STATIC_FILES].get(request.match_info["file"])
    if found is None:
        raise NotFound("No such static file.")
    versioned = request.query.get("v") == found.etag.strip('"')[:12]
    headers = {
        "ETag": found.etag,
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    if found.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=found.body, content_type=found.content_type, headers=headers)
