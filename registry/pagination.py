"""Keyset pagination: `limit` and an opaque `cursor` in, `next_cursor` out.

A cursor is the sort key of the last row returned, as base64url JSON; it carries no offset, so
pages stay stable and cheap however deep a client goes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from aiohttp import web

from registry.errors import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: list[Any] | None

    def after_id(self) -> int | None:
        """The cursor of a list ordered by one integer id (0 when there is no cursor)."""
        if self.after is None:
            return None
        if len(self.after) != 1 or type(self.after[0]) is not int:
            raise BadRequest("cursor is not one this server issued.")
        return int(self.after[0])

    def after_text(self) -> str | None:
        """The cursor of a list ordered by one text key."""
        if self.after is None:
            return None
        if len(self.after) != 1 or not isinstance(self.after[0], str):
            raise BadRequest("cursor is not one this server issued.")
        return self.after[0]


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def page_request(request: web.Request) -> PageRequest:
    """Parse `limit` (1..1000, default 50) and `cursor`; 400 on anything malformed."""
    raw_limit = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}.")
    cursor = request.query.get("cursor")
    after = None
    if cursor:
        try:
            after = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError, orjson.JSONDecodeError):
            raise BadRequest("cursor is not one this server issued.") from None
        if not isinstance(after, list):
            raise BadRequest("cursor is not one this server issued.")
    return PageRequest(int(raw_limit), after)


def page_body(
    rows: Sequence[T], page: PageRequest, key: Callable[[T], Sequence[Any]], render: Callable[[T], Any]
) -> dict[str, Any]:
    """`{"items", "next_cursor"}` from rows fetched with `limit + 1` (the extra row means "more")."""
    more = len(rows) > page.limit
    shown = rows[: page.limit]
    return {
        "items": [render(row) for row in shown],
        "next_cursor": encode_cursor(key(shown[-1])) if more and shown else None,
    }
