"""A page's query parameters in, `{"items", "next_cursor"}` out: the HTTP side of registry.domain.page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from registry.domain.errors import BadRequest
from registry.domain.page import DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest
from registry.validation import parse_count

T = TypeVar("T")


def page_request(request: web.Request) -> PageRequest:
    """`limit` (1..1000, default 50) and the opaque `cursor`; the ordering's codec reads the cursor."""
    return page_request_of(request.query)


def page_request_of(params: Mapping[str, str], *, default_limit: int = DEFAULT_LIMIT) -> PageRequest:
    """`page_request` from parameters already picked out of a query (a form's non-empty fields)."""
    limit = parse_count(params.get("limit", str(default_limit)), max_digits=4)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}.")
    return PageRequest(limit, params.get("cursor") or None)


def page_json(page: Page[T], render: Callable[[T], Any]) -> dict[str, Any]:
    return {"items": [render(item) for item in page.items], "next_cursor": page.next_cursor}
