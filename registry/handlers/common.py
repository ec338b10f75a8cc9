"""What every handler needs: the pool, the actor, a validated body, a transaction; and the reads
of an extension by its path, which follow a renamed publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiohttp import web

from registry import appkeys
from registry.auth import policy
from registry.auth.authentication import request_actor
from registry.db.errors import translate_pg_errors
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest, PublisherRenamed
from registry.handlers.bodies import read_json
from registry.problems import renamed_publisher_redirect
from registry.services import Services
from registry.store.extensions import Extension
from registry.validation import parse_count, refuse_unstorable


def pool(request: web.Request) -> asyncpg.Pool:
    """The pool; first, 400 for a NUL character in a path or query parameter, which PostgreSQL text
    cannot hold (every handler reaches the database through here)."""
    refuse_nul_parameters(request)
    return request.app[appkeys.POOL]


def refuse_nul_parameters(request: web.Request) -> None:
    for where, values in (("path", request.match_info), ("query", request.query)):
        for name, value in values.items():
            if "\x00" in name or "\x00" in value:
                raise BadRequest(f"The {where} parameter {name.replace(chr(0), '')!r} contains a NUL character.")


def services(request: web.Request) -> Services:
    """The services, first refusing a NUL in a path or query parameter (which PostgreSQL text
    cannot hold; every handler reaches the database through here)."""
    refuse_nul_parameters(request)
    return request.app[appkeys.SERVICES]


async def json_body(request: web.Request, schema: str) -> dict[str, Any]:
    """The request body, parsed, checked for what PostgreSQL cannot store, and validated against
    OpenAPI component `schema`."""
    body = await read_json(request, limit=request.app[appkeys.CONFIG].max_body_bytes)
    refuse_unstorable(body)
    request.app[appkeys.SCHEMAS].validate(schema, body)
    assert isinstance(body, dict)
    return body


@asynccontextmanager
async def transaction(request: web.Request) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction; constraint violations surface as domain errors."""
    with translate_pg_errors():
        async with pool(request).acquire() as conn, conn.transaction():
            yield conn


@asynccontextmanager
async def connection(request: web.Request) -> AsyncIterator[asyncpg.Connection]:
    """A connection for reads (each statement its own snapshot)."""
    async with pool(request).acquire() as conn:
        yield conn


async def no_content(write: Awaitable[object]) -> web.Response:
    """204 No Content, once `write` (a change with nothing to show: a delete, a revocation) is done."""
    await write
    return web.Response(status=204)


def int_param(request: web.Request, name: str) -> int:
    """A numeric path parameter (ids are bigint: at most 18 digits); 400 otherwise."""
    value = parse_count(request.match_info[name])
    if value is None:
        raise BadRequest(f"{name} must be a positive integer.")
    return value


async def redirect_renamed_publisher(
    request: web.Request, publisher: str, *, headers: Mapping[str, str] | None = None, key: str = "publisher"
) -> None:
    """For a read that found nothing under `publisher`, a renamed publisher's old name: 308 to the
    same route under its current name (`key` names the route's publisher parameter; `headers` go
    with the redirect). Writes are not redirected: they answer 404."""
    if request.method not in ("GET", "HEAD"):
        return
    current = await services(request).publishing.renamed_to(publisher)
    if current is None:
        return
    renamed = PublisherRenamed(f"{publisher} is now {current}.", current_name=current)
    redirect = renamed_publisher_redirect(request, renamed, key=key, headers=dict(headers or {}))
    if redirect is not None:
        raise redirect


async def path_extension(request: web.Request) -> Extension:
    """The live extension a route's `{publisher}/{name}` names; under a renamed publisher's old
    name the loader's PublisherRenamed becomes a 308 for a read (registry.problems)."""
    return await services(request).catalogue.extension(request.match_info["publisher"], request.match_info["name"])


def signed_in_actor(request: web.Request) -> Actor:
    """The request's actor, refused (401, or 403 for a token without `user:all`) unless signed in:
    before the path's ids, the page or the body are read, so that a refused client learns nothing
    from a malformed request. The service asks the policy again for its own rule."""
    actor = request_actor(request)
    policy.signed_in(actor)
    return actor


def site_admin_actor(request: web.Request) -> Actor:
    """The request's actor, refused (401/403) unless a site admin, before anything else is read."""
    actor = request_actor(request)
    policy.require_site_admin(actor)
    return actor
