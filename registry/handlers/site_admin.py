"""Site-admin tables: the certificate cache and Phabricator repository mappings."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from registry.auth import policy
from registry.auth.actor import request_actor
from registry.cert_cache import RESERVED_PREFIX
from registry.domain.errors import BadRequest, Conflict, NotFound
from registry.handlers.common import connection, int_param, json_body, transaction
from registry.http import json_response
from registry.pagination import Column, encode_cursor, page_body, page_request
from registry.store import cert_cache as cache_store
from registry.store import site as site_store
from registry.store.cert_cache import CacheEntry
from registry.store.site import PhabricatorRepo
from registry.validation import INT4_MAX

routes = web.RouteTableDef()


_MAX_KEY = 512


def _entry(entry: CacheEntry, *, with_data: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"key": entry.key, "created_at": entry.created_at, "updated_at": entry.updated_at}
    if with_data:
        body["data"] = entry.b64data
    return body


def _key(request: web.Request) -> str:
    key = request.match_info["key"]
    if len(key) > _MAX_KEY:
        raise BadRequest(f"A cache key is at most {_MAX_KEY} characters.")
    if key.startswith(RESERVED_PREFIX):
        raise NotFound(f"No cache entry {key}.")  # Wharf's own entries (signing keys) are not for HTTP
    return key


@routes.get("/api/cert-cache")
async def list_cache(request: web.Request) -> web.Response:
    policy.require_site_admin(request_actor(request))
    page = page_request(request)
    after = page.after_text()
    async with connection(request) as conn:
        rows = await cache_store.list_keys(conn, after=after, limit=page.limit + 1, hidden_prefix=RESERVED_PREFIX)
    shown = rows[: page.limit]
    return json_response(
        {
            "items": [_entry(row, with_data=False) for row in shown],
            "next_cursor": encode_cursor([shown[-1].key]) if len(rows) > page.limit else None,
        }
    )


@routes.get("/api/cert-cache/{key}")
async def get_cache(request: web.Request) -> web.Response:
    policy.require_site_admin(request_actor(request))
    key = _key(request)
    async with connection(request) as conn:
        entry = await cache_store.get_entry(conn, key)
    if entry is None:
        raise NotFound(f"No cache entry {key}.")
    return json_response(_entry(entry, with_data=True), headers={"Cache-Control": "no-store"})


@routes.put("/api/cert-cache/{key}")
async def put_cache(request: web.Request) -> web.Response:
    """Store `{"data": base64}` under the key (replacing, or reviving a deleted key)."""
    policy.require_site_admin(request_actor(request))
    key = _key(request)
    body = await json_body(request, "CertCachePut")
    try:
        base64.b64decode(body["data"], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("data must be base64.") from None
    async with transaction(request) as conn:
        entry = await cache_store.put_entry(conn, key, body["data"])
    return json_response(_entry(entry, with_data=False))


@routes.delete("/api/cert-cache/{key}")
async def delete_cache(request: web.Request) -> web.Response:
    """Soft delete; deleting an absent key is not an error (autocert semantics)."""
    policy.require_site_admin(request_actor(request))
    key = _key(request)
    async with transaction(request) as conn:
        await cache_store.delete_entry(conn, key)
    return web.Response(status=204)


def _phabricator(repo: PhabricatorRepo) -> dict[str, Any]:
    return {
        "id": repo.id,
        "callsign": repo.callsign,
        "uri": repo.uri,
        "url": repo.url,
        "created_at": repo.created_at,
        "updated_at": repo.updated_at,
    }


@routes.post("/api/phabricator-repos")
async def add_phabricator_repo(request: web.Request) -> web.Response:
    policy.require_site_admin(request_actor(request))
    body = await json_body(request, "PhabricatorRepoCreate")
    async with transaction(request) as conn:
        repo = await site_store.insert_phabricator_repo(conn, body["callsign"], body["uri"], body["url"])
    if repo is None:
        raise Conflict(f"{body['uri']} is already mapped to a Phabricator repository.")
    return json_response(_phabricator(repo), status=201)


@routes.get("/api/phabricator-repos")
async def list_phabricator_repos(request: web.Request) -> web.Response:
    policy.require_site_admin(request_actor(request))
    page = page_request(request)
    async with connection(request) as conn:
        rows = await site_store.phabricator_repos(conn, after_id=page.after_id(Column.INT4), limit=page.limit + 1)
    return json_response(page_body(rows, page, lambda row: [row.id], _phabricator))


@routes.delete("/api/phabricator-repos/{id}")
async def delete_phabricator_repo(request: web.Request) -> web.Response:
    policy.require_site_admin(request_actor(request))
    repo_id = int_param(request, "id")
    async with transaction(request) as conn:
        if repo_id > INT4_MAX or not await site_store.delete_phabricator_repo(conn, repo_id):
            raise NotFound(f"No Phabricator repository {repo_id}.")
    return web.Response(status=204)
