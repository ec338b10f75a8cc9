"""Walking a paged listing through the real API, the way a client follows `next_cursor`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]

_MAX_PAGES = 100  # a cursor that never ends fails the test instead of hanging it


async def every_page(
    client: Client, path: str, *, headers: dict[str, str] | None = None, limit: int = 2
) -> list[list[Any]]:
    """The items of each page of `path` (which may carry its own query), `limit` per page, from the
    first page to the one whose `next_cursor` is null."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    separator = "&" if "?" in path else "?"
    while len(pages) < _MAX_PAGES:
        query = f"limit={limit}" + (f"&cursor={quote(cursor, safe='')}" if cursor else "")
        page = await (await client.get(f"{path}{separator}{query}", headers=headers)).json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError(f"{path} still had a next page after {_MAX_PAGES}")


async def every_item(client: Client, path: str, *, headers: dict[str, str] | None = None, limit: int = 2) -> list[Any]:
    """Every item of `path`, page after page, in the order served."""
    return [item for page in await every_page(client, path, headers=headers, limit=limit) for item in page]
