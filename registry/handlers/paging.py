"""A page's query parameters in (the HTTP side of registry.domain.page); a page out is
registry.views.common.page_json."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from registry.domain.errors import BadRequest
from registry.domain.page import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from registry.validation import parse_count


def page_request(request: web.Request) -> PageRequest:
    """`limit` (1..1000, default 50) and the opaque `cursor`; the ordering's codec reads the cursor."""
    return page_request_of(request.query)


def page_request_of(params: Mapping[str, str], *, default_limit: int = DEFAULT_LIMIT) -> PageRequest:
    """`page_request` from parameters already picked out of a query (a form's non-empty fields)."""
    limit = parse_count(params.get("limit", str(default_limit)), max_digits=4)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}.")
    return PageRequest(limit, params.get("cursor") or None)
