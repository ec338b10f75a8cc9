"""Small HTTP helpers shared by every handler: JSON responses on orjson, request-scoped keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

REQUEST_ID = web.RequestKey("request_id", str)
"""Key of the request id in the request's own mapping (set by the observability middleware)."""


def json_response(
    body: Any,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> web.Response:
    """Serialise with orjson (datetimes as RFC 3339, UUIDs as strings) and answer."""
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        headers=headers,
        content_type=content_type,
    )
