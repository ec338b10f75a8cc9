"""Reading a request's body: bounded in bytes before and while it is read, inflated with bounds,
and refused in a format the operation does not take (the HTTP side of every body a service sees)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from registry import appkeys
from registry.domain.errors import PayloadTooLarge, UnsupportedMediaType
from registry.inflation import Inflater
from registry.validation import parse_json


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit`: from Content-Length
    before reading anything, else after reading at most `limit` + 1 bytes. A compressed body
    (Content-Encoding) is inflated here as it is read, to at most `limit` + 1 bytes and at most
    WHARF_MAX_DECOMPRESSION_RATIO times what was received (registry.inflation)."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The request body is {request.content_length} bytes; the limit is {limit}.")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    max_ratio = request.app[appkeys.CONFIG].max_decompression_ratio
    inflater = None if encoding in ("", "identity") else Inflater(encoding, limit=limit, max_ratio=max_ratio)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(65536):
        if inflater is not None:
            chunk = inflater.inflate(chunk)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, limit: int) -> Any:
    """The body as JSON; 415 for another content type, 413 over `limit`, 400 when it does not parse."""
    return parse_json(await read_json_body(request, limit))


async def read_json_body(request: web.Request, limit: int) -> bytes:
    """The bytes of a JSON body, unparsed; 415 for another content type, 413 over `limit`."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType(f"Send the body as application/json (got {request.content_type or 'nothing'}).")
    return await read_body(request, limit)
