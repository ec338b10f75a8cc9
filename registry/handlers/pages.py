"""The web catalogue (HTML pages outside /api) and the API's own documentation at /api/docs.

Pages are rendered on the server from the same catalogue service as the JSON API, and
work without JavaScript: they carry a strict Content-Security-Policy and run no script at all.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from functools import cache, wraps
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import orjson
from aiohttp import web
from markupsafe import Markup

from registry import appkeys, pages
from registry.domain.errors import DomainError, NotFound, PublisherRenamed
from registry.domain.page import PageRequest
from registry.ecosystems import LANGUAGES, ecosystem_named
from registry.handlers.common import path_extension, redirect_renamed_publisher, services
from registry.handlers.dependents_query import advisory_of, version_of
from registry.handlers.paging import page_request, page_request_of
from registry.handlers.resolved_query import resolved_question
from registry.pages.api_docs import build_docs
from registry.pages.chart import download_chart
from registry.pages.dependents import DECLARATIONS, dependents_context
from registry.problems import problem_of, renamed_publisher_redirect
from registry.resources import schemas_dir
from registry.services.catalogue import ExtensionDetails, parse_listing
from registry.store.extensions import Extension, ListQuery
from registry.views.resolved import resolved_path

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
        except PublisherRenamed as renamed:  # a page under a renamed publisher's old name moved
            if (redirect := renamed_publisher_redirect(request, renamed)) is not None:
                raise redirect from None
            problem = problem_of(renamed)
            return pages.error_page(request, problem.status, problem.title, renamed.detail)
        except DomainError as error:
            problem = problem_of(error)
            return pages.error_page(request, problem.status, problem.title, error.detail)

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


def _listing(request: web.Request) -> tuple[ListQuery, PageRequest]:
    """The JSON API's listing, with the pages' own default page size. A form sends its empty
    fields too (`sort=&tag=`): they mean "not given", as the API's absent parameters do."""
    given = {key: value for key, value in request.query.items() if value.strip()}
    return parse_listing(given), page_request_of(given, default_limit=PAGE_SIZE)


def _filters(request: web.Request) -> dict[str, str]:
    return {key: request.query.get(key, "") for key in ("q", "category", "tag", "sort", "limit")}


def _limit(request: web.Request) -> dict[str, str]:
    return {"limit": request.query.get("limit", "")}


def _more(request: web.Request, base: str, params: Mapping[str, str], next_cursor: str | None) -> dict[str, Any]:
    """The links to the next page and back to the first (once past it)."""
    return {
        "next_url": pages.query_url(base, **params, cursor=next_cursor) if next_cursor else None,
        "first_url": pages.query_url(base, **params) if request.query.get("cursor") else None,
    }


@routes.get("/")
@routes.get("/extensions")
@html_page
async def catalogue(request: web.Request) -> web.StreamResponse:
    """Published extensions: search (`q`), category and tag filters, keyset paging."""
    query, page = _listing(request)
    found = await services(request).catalogue.search(query, page)
    filters = _filters(request)
    return pages.html_response(
        request,
        "catalogue.html",
        {
            "extensions": [_card(e) for e in found.items],
            "filters": filters,
            "categories": categories(),
            **_more(request, "/extensions", filters, found.next_cursor),
        },
    )


def _details_page(details: ExtensionDetails) -> dict[str, Any]:
    """What extension.html shows; the icon and repository only as the kinds of URL it may link."""
    icon = details.manifest.get("icon")
    repository = details.manifest.get("repository")
    repository_url = repository.get("url") if isinstance(repository, dict) else repository
    readme = details.readme
    return {
        "extension": _card(details.extension),
        "readme": Markup(readme.html) if readme else None,  # noqa: S704 (sanitized, or escaped text)
        "icon": icon if isinstance(icon, str) and _ICON.match(icon) else None,
        "repository_url": repository_url
        if isinstance(repository_url, str) and _WEB_URL.match(repository_url)
        else None,
        "kind": details.extension.publisher_of().kind,
        "releases": details.releases,
        "chart": download_chart(details.downloads, today=details.today, days=CHART_DAYS),
    }


@routes.get("/extensions/{publisher}/{name}")
@html_page
async def extension_page(request: web.Request) -> web.StreamResponse:
    """One extension: its README (sanitized), versions, downloads over the last 90 days."""
    extension = await path_extension(request)
    details = await services(request).catalogue.details(extension, CHART_DAYS)
    return pages.html_response(request, "extension.html", _details_page(details))


@routes.get("/publishers/{name}")
@html_page
async def publisher_page(request: web.Request) -> web.StreamResponse:
    """A user's or an organization's published extensions."""
    catalogue = services(request).catalogue
    try:
        publisher = await catalogue.publisher(request.match_info["name"])
    except NotFound:
        await redirect_renamed_publisher(request, request.match_info["name"], key="name")
        raise
    query, page = _listing(request)
    found = await catalogue.search(replace(query, publisher=publisher.name), page)
    base = f"/publishers/{quote(publisher.name, safe='')}"
    return pages.html_response(
        request,
        "publisher.html",
        {
            "publisher": publisher,
            "extensions": [_card(e) for e in found.items],
            **_more(request, base, _limit(request), found.next_cursor),
        },
    )


@routes.get("/packages/{language}/{name:.+}/-/resolved")
@html_page
async def resolved_dependents_page(request: web.Request) -> web.StreamResponse:
    """Repositories running a package at the versions their lockfiles resolved (a version or range
    filter, direct only), with the path to it. Before the declared page's route, which would take it."""
    ecosystem = ecosystem_named(request.match_info["language"])
    if ecosystem is None:
        raise NotFound(f"No package index for {request.match_info['language']!r}; it has {', '.join(LANGUAGES)}.")
    package = ecosystem.normalise_name(request.match_info["name"])
    asked = {key: request.query[key] for key in ("version", "direct", "dev", "limit") if request.query.get(key)}
    query = resolved_question(asked, ecosystem, package)
    page = page_request_of({**asked, "cursor": request.query.get("cursor", "")}, default_limit=PAGE_SIZE)
    found = await services(request).resolved.dependents(query, page)
    base = f"/packages/{ecosystem.language}/{quote(package, safe='/@:')}/-/resolved"
    return pages.html_response(
        request,
        "dependents_resolved.html",
        {
            "summary": found.summary,
            "rows": [(row, resolved_path(package, row)) for row in found.page.items],
            "declared_url": f"/packages/{ecosystem.language}/{quote(package, safe='/@:')}",
            **_more(request, base, asked, found.page.next_cursor),
        },
    )


@routes.get("/packages/{language}/{name:.+}")
@html_page
async def dependents_page(request: web.Request) -> web.StreamResponse:
    """Repositories that depend on a package, counted as repositories, packages and declarations,
    each with its first declarations, keyset-paginated; filtered by a version its ranges admit and
    by an advisory; the declared ranges' distribution as a chart (its table beside it)."""
    language = request.match_info["language"]
    ecosystem = ecosystem_named(language)
    if ecosystem is None:
        raise NotFound(f"No package index for {language!r}; it has {', '.join(LANGUAGES)}.")
    package = ecosystem.normalise_name(request.match_info["name"])
    version, advisory = version_of(request.query, blank_is_none=True), advisory_of(request.query)
    index = services(request).package_index
    found = await index.dependent_repos(
        ecosystem, package, page_request(request), version=version, advisory=advisory, per_repo=DECLARATIONS
    )
    resolved = await services(request).resolved.version_counts(ecosystem, package)
    context = dependents_context(found, resolved, limit=request.query.get("limit", ""), paged="cursor" in request.query)
    return pages.html_response(request, "dependents.html", context)


@routes.get("/repos/{uri:.+}")
@html_page
async def repo_page(request: web.Request) -> web.StreamResponse:
    """A repository of the package index: what its manifests define and declare, keyset-paginated
    (the dependents page links each repository here)."""
    index = services(request).package_index
    uri = request.match_info["uri"]
    packages = await index.repo_packages(uri, PageRequest(PAGE_SIZE))
    dependencies = await index.repo_dependencies(uri, page_request(request))
    more = _more(request, f"/repos/{quote(uri, safe='/@:')}", _limit(request), dependencies.page.next_cursor)
    return pages.html_response(
        request,
        "repo.html",
        {
            "repo": dependencies.repo,
            "packages": packages.page.items,
            "more_packages": packages.page.next_cursor is not None,
            "dependencies": dependencies.page.items,
            **more,
        },
    )


@routes.get("/advisories/{id}")
@html_page
async def advisory_page(request: web.Request) -> web.StreamResponse:
    """An advisory: summary, aliases, affected packages and ranges, and a page of the repositories
    it affects (as `/api/advisories/{id}/affected`)."""
    advisories = services(request).advisories
    details = await advisories.advisory(request.match_info["id"])
    found = await advisories.affected(details.advisory.id, page_request_of(request.query, default_limit=PAGE_SIZE))
    more = _more(request, f"/advisories/{details.advisory.id}", _limit(request), found.page.next_cursor)
    return pages.html_response(
        request,
        "advisory.html",
        {
            "advisory": details.advisory,
            "affected": details.affected,
            "rows": found.page.items,
            **more,
        },
    )


@routes.get("/api/docs")
async def api_docs(request: web.Request) -> web.StreamResponse:
    """The OpenAPI document as one HTML page: every operation by tag, `$ref`s resolved."""
    cache = request.app[pages.CACHE]
    if "api_docs" not in cache:
        docs = build_docs(request.app[appkeys.OPENAPI])
        cache["api_docs"] = aiohttp_jinja2.render_string("api_docs.html", request, {"docs": docs})
    response = web.Response(text=cache["api_docs"], content_type="text/html", charset="utf-8")
    response.headers.update(pages.HTML_HEADERS)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@routes.get(pages.STATIC_PREFIX + "/{file}")
async def static_file(request: web.Request) -> web.StreamResponse:
    """The pages' stylesheet (and any other file of registry/static/web), from memory."""
    found = request.app[pages.STATIC_FILES].get(request.match_info["file"])
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
