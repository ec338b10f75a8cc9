"""The package index over HTTP: who depends on a package (optionally: in a range admitting a
version), who defines it, what a repository holds, and queueing repositories for the indexer."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from registry import appkeys
from registry.auth import policy
from registry.auth.actor import request_actor
from registry.domain.errors import BadRequest, NotFound
from registry.ecosystems import LANGUAGES, Ecosystem, ecosystem_named
from registry.handlers.common import connection, json_body, transaction
from registry.http import json_response
from registry.pagination import Column, PageRequest, encode_cursor, page_request
from registry.store import index_queue
from registry.store import package_index as store
from registry.store.package_index import DependentRow, RangeCount

routes = web.RouteTableDef()

_MAX_NAME = 512
_MAX_VERSION = 256
_URI_SAFE = "/:@!$&'()*+,;=~"  # a repository URI in a Location header: all but these percent-encoded


def _ecosystem_and_name(request: web.Request, name_param: str) -> tuple[Ecosystem, str]:
    ecosystem = ecosystem_named(request.query.get("language", ""))
    if ecosystem is None:
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}.")
    name = request.query.get(name_param, "").strip()
    if not name or len(name) > _MAX_NAME:
        raise BadRequest(f"{name_param} is required (at most {_MAX_NAME} characters).")
    return ecosystem, ecosystem.normalise_name(name)


def _version(request: web.Request) -> str | None:
    version = request.query.get("version")
    if version is not None and not 0 < len(version) <= _MAX_VERSION:
        raise BadRequest(f"version must be 1 to {_MAX_VERSION} characters.")
    return version


def _keyset(page: PageRequest) -> tuple[int, int] | None:
    """A (repo id, row id) cursor: an integer (serial) and a bigint identity; or 400."""
    key = page.after_key(Column.INT4, Column.INT8)
    return None if key is None else (key[0], key[1])


def _dependent(row: DependentRow, verdict: bool | str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "repo": row.repo,
        "repo_id": row.repo_id,
        "range": row.declared_range,
        "dep_type": row.dep_type,
        "path": row.path,
    }
    if verdict != "unasked":
        item["admits"] = verdict
    return item


async def _summary(request: web.Request, language: str, package: str) -> list[RangeCount]:
    """Per-range counts, at most a few seconds old: totals need not be exact to the second, and
    a popular package's counts are the costliest part of its first page."""

    async def load() -> list[RangeCount]:
        async with connection(request) as conn:
            return await store.dependents_by_range(conn, language, package)

    return await request.app[appkeys.DEPENDENTS_SUMMARIES].get((language, package), load)


@routes.get("/api/dependents")
async def dependents(request: web.Request) -> web.Response:
    """Repositories depending on a package: declared range, dep type and manifest path, keyset-
    paginated, with a total. With `version`, only ranges admitting it are kept, by the
    ecosystem's own rules; a range that cannot be evaluated is kept and marked `admits: null`
    (and counted in `unevaluated`), never silently dropped."""
    ecosystem, package = _ecosystem_and_name(request, "package")
    language = ecosystem.language
    version = _version(request)
    page = page_request(request)
    cursor = _keyset(page)
    summary = await _summary(request, language, package)
    verdicts = (
        {entry.declared_range: ecosystem.admits(entry.declared_range, version) for entry in summary} if version else {}
    )
    kept = [entry for entry in summary if verdicts.get(entry.declared_range) is not False]
    async with connection(request) as conn:
        rows = await store.dependents_page(
            conn,
            language,
            package,
            matching=sum(entry.count for entry in summary),
            after=cursor,
            limit=page.limit + 1,
            declared_ranges=[entry.declared_range for entry in kept] if version is not None else None,
        )
    shown = rows[: page.limit]
    body: dict[str, Any] = {
        "language": language,
        "package": package,
        "version": version,
        "total": sum(entry.count for entry in kept),
        "items": [
            _dependent(row, verdicts.get(row.declared_range) if version is not None else "unasked") for row in shown
        ],
        "next_cursor": encode_cursor([shown[-1].repo_id, shown[-1].row_id]) if len(rows) > page.limit else None,
    }
    if version is not None:
        body["unevaluated"] = sum(entry.count for entry in summary if verdicts[entry.declared_range] is None)
    return json_response(body)


@routes.get("/api/dependents/summary")
async def dependents_summary(request: web.Request) -> web.Response:
    """How many dependents declare each range; with `version`, whether each range admits it."""
    ecosystem, package = _ecosystem_and_name(request, "package")
    language = ecosystem.language
    version = _version(request)
    ranges = await _summary(request, language, package)
    items = []
    for entry in ranges:
        item: dict[str, Any] = {"range": entry.declared_range, "count": entry.count}
        if version is not None:
            item["admits"] = ecosystem.admits(entry.declared_range, version)
        items.append(item)
    total = sum(entry.count for entry in ranges)
    body = {"language": language, "package": package, "version": version, "total": total, "ranges": items}
    return json_response(body)


@routes.get("/api/packages")
async def packages(request: web.Request) -> web.Response:
    """Repositories that define a package (its manifests' name, version and path)."""
    ecosystem, name = _ecosystem_and_name(request, "name")
    language = ecosystem.language
    page = page_request(request)
    cursor = _keyset(page)
    async with connection(request) as conn:
        rows = await store.definers_page(conn, language, name, after=cursor, limit=page.limit + 1)
    shown = rows[: page.limit]
    return json_response(
        {
            "language": language,
            "name": name,
            "items": [{"repo": r["repo"], "repo_id": r["repo_id"], **r["pkg"]} for r in shown],
            "next_cursor": encode_cursor([shown[-1]["repo_id"], shown[-1]["id"]]) if len(rows) > page.limit else None,
        }
    )


async def _repo_rows(request: web.Request, table: str) -> web.Response:
    page = page_request(request)
    uri = request.match_info["uri"]
    async with connection(request) as conn:
        repo = await store.repo_by_uri(conn, uri)
        if repo is None:
            raise NotFound(f"No repository {uri}.")
        rows = await store.repo_rows(conn, table, repo.id, after=page.after_id(Column.INT8), limit=page.limit + 1)
    shown = rows[: page.limit]
    items = [
        {"language": r["language"], **r["data"], **({"hints": r["hints"]} if r["hints"] is not None else {})}
        for r in shown
    ]
    return json_response(
        {
            "repo": repo.uri,
            "indexed_revision": repo.indexed_revision,
            "items": items,
            "next_cursor": encode_cursor([shown[-1]["id"]]) if len(rows) > page.limit else None,
        }
    )


@routes.get("/api/repos/{uri:.+}/dependencies")
async def repo_dependencies(request: web.Request) -> web.Response:
    return await _repo_rows(request, "global_dep")


@routes.get("/api/repos/{uri:.+}/packages")
async def repo_packages(request: web.Request) -> web.Response:
    return await _repo_rows(request, "pkgs")


async def _queue(request: web.Request, uri: str, body: dict[str, Any]) -> web.Response:
    async with transaction(request) as conn:
        repo_id = await index_queue.ensure_repo(conn, uri)
        current = await index_queue.queue_entry(conn, repo_id)
        source = body.get("source") or (current.source if current else None)
        if source is None:
            raise BadRequest("source is required the first time a repository is queued.")
        await index_queue.enqueue(conn, repo_id, source, body.get("revision"))
    return json_response(
        {"repo": uri, "queued": True, "source": source, "revision": body.get("revision")},
        status=202,
        headers={"Location": f"/api/repos/{quote(uri, safe=_URI_SAFE)}"},
    )


@routes.post("/api/repos")
async def add_repo(request: web.Request) -> web.Response:
    """Register a repository and queue it for the indexer (site admins). `source` is a path the
    workers can read: a directory, or a git repository (with `revision`)."""
    policy.require_site_admin(request_actor(request))
    body = await json_body(request, "RepoCreate")
    return await _queue(request, body["uri"], body)


@routes.post("/api/repos/{uri:.+}/index")
async def reindex_repo(request: web.Request) -> web.Response:
    policy.require_site_admin(request_actor(request))
    body = await json_body(request, "RepoIndex")
    uri = request.match_info["uri"]
    async with connection(request) as conn:
        if await store.repo_by_uri(conn, uri) is None:
            raise NotFound(f"No repository {uri}.")
    return await _queue(request, uri, body)


@routes.get("/api/repos/{uri:.+}")
async def get_repo(request: web.Request) -> web.Response:
    """A repository and its place in the index queue. The indexer's last error names paths on
    the server (where sources are read from): site admins only."""
    actor = request_actor(request)
    uri = request.match_info["uri"]
    async with connection(request) as conn:
        repo = await store.repo_by_uri(conn, uri)
        if repo is None:
            raise NotFound(f"No repository {uri}.")
        queued = await index_queue.queue_entry(conn, repo.id)
    return json_response(
        {
            "repo": repo.uri,
            "indexed_revision": repo.indexed_revision,
            "created_at": repo.created_at,
            "updated_at": repo.updated_at,
            "queue": None
            if queued is None
            else {
                "revision": queued.revision,
                "requested_at": queued.requested_at,
                "claimed": queued.claimed_by is not None,
                "attempts": queued.attempts,
                "last_error": queued.last_error if policy.is_site_admin(actor) else None,
            },
        }
    )
