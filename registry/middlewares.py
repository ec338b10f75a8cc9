"""The middlewares every request passes through before its handler (the problem middleware and
the actor's are with what they serve: registry.problems, registry.auth.authentication)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from registry import appkeys, sourcegraph
from registry.client_address import Network, client_address_of
from registry.db.lsn import CURRENT_FLOOR, PRIMARY_ONLY, ReadFloor, format_lsn, parse_lsn
from registry.domain.errors import PayloadTooLarge, RequestTimeout


def client_address_middleware(trusted: Sequence[Network]) -> Middleware:
    """Put the client's address in `request.remote` for everything after it (the first middleware;
    installed only when some proxy is trusted)."""

    @web.middleware
    async def resolve_client_address(request: web.Request, handler: Handler) -> web.StreamResponse:
        if trusted:
            resolved = client_address_of(request.remote, request.headers, trusted)
            if resolved is not None and resolved != request.remote:
                request = request.clone(remote=resolved)
        return await handler(request)

    return resolve_client_address


@web.middleware
async def refuse_oversized_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a declared Content-Length over the largest body any route takes (a publish) before
    reading a byte of it. Each route then reads against its own, smaller limit
    (registry.handlers.bodies.read_body), and bodies without a length are cut off as they are read.
    """
    limit = request.app[appkeys.CONFIG].max_publish_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The request body is {request.content_length} bytes; the limit is {limit}.")
    return await handler(request)


@web.middleware
async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give a client `body_timeout` seconds to send the whole body: a body dribbled slowly
    (slowloris) would otherwise hold a handler, and maybe a database connection, for ever.

    Only the receiving is bounded, not the handler's own work: when the deadline passes with the
    body incomplete, the body stream fails with 408, which surfaces wherever the handler reads it,
    and the connection is closed after the answer.
    """
    if request.content.is_eof():
        return await handler(request)
    timeout = request.app[appkeys.CONFIG].body_timeout
    expired = False

    def expire() -> None:
        nonlocal expired
        if not request.content.is_eof():
            expired = True
            request.content.set_exception(
                RequestTimeout(f"The request body was not received within {timeout:g} seconds.")
            )

    deadline = asyncio.get_running_loop().call_later(timeout, expire)
    try:
        response = await handler(request)
    finally:
        deadline.cancel()
    if expired:
        response.force_close()
    return response


def identify_registry_response(request: web.Request, response: web.StreamResponse) -> None:
    """Mark every response under /.api/registry/ (successes, errors, routing 404s, 503s) as
    coming from a Sourcegraph registry: the client rejects a response without it before it
    even looks at the status, so a not-found would otherwise not be a not-found."""
    if request.path == sourcegraph.REGISTRY_PREFIX or request.path.startswith(sourcegraph.REGISTRY_PREFIX + "/"):
        response.headers[sourcegraph.MEDIA_TYPE_HEADER] = sourcegraph.MEDIA_TYPE
        # every answer depends on Accept (a wrong one is refused) and is this API's media type
        vary = [part.strip() for part in response.headers.get("Vary", "").split(",") if part.strip()]
        for varies_on in ("Accept", sourcegraph.MEDIA_TYPE_HEADER):
            if varies_on.lower() not in (part.lower() for part in vary):
                vary.append(varies_on)
        response.headers["Vary"] = ", ".join(vary)


WRITE_POSITION_HEADER = "Wharf-LSN"
READ_AFTER_HEADER = "Wharf-Read-After"
WRITE_POSITION_COOKIE = "wharf_lsn"
_READ_FLOOR = web.RequestKey("read_floor", ReadFloor)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@web.middleware
async def read_your_writes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A client that has just written reads its write on its next request, on any node: its last
    write's position (the `wharf_lsn` cookie, or the `Wharf-Read-After` header of a client without
    cookies) is the floor of this request's reads, which a replica serves only once it has
    replayed that far (registry.db.database). A malformed value is ignored.

    A request that may write (any method but GET, HEAD, OPTIONS) reads from the primary: what it
    checks before its transaction (the publisher exists, the name is free) must be what the
    transaction will find, not what a replica last replayed."""
    if request.method in _SAFE_METHODS:
        floor = ReadFloor(
            max(
                parse_lsn(request.cookies.get(WRITE_POSITION_COOKIE)) or 0,
                parse_lsn(request.headers.get(READ_AFTER_HEADER)) or 0,
            )
        )
    else:
        floor = ReadFloor(PRIMARY_ONLY)
    request[_READ_FLOOR] = floor
    token = CURRENT_FLOOR.set(floor)
    try:
        return await handler(request)
    finally:
        CURRENT_FLOOR.reset(token)


def report_write_position(request: web.Request, response: web.StreamResponse) -> None:
    """A response to a request that committed a write tells the client where the primary's WAL
    stood after it (`Wharf-LSN`, and the cookie that brings it back for a minute: longer than any
    replica may lag before it is skipped)."""
    floor = request.get(_READ_FLOOR)
    if floor is None or floor.committed is None:
        return
    position = format_lsn(floor.committed)
    response.headers[WRITE_POSITION_HEADER] = position
    # Set by hand: http.cookies would quote the value for its "/", which the contract does not.
    response.headers.add(
        "Set-Cookie", f"{WRITE_POSITION_COOKIE}={position}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
    )
