"""Keyset pagination: `limit` and an opaque `cursor` in, `next_cursor` out.

A cursor is the sort key of the last row returned, as base64url JSON; it carries no offset, so
pages stay stable and cheap however deep a client goes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import orjson
from aiohttp import web

from registry.errors import BadRequest
from registry.validation import parse_count, parse_timestamp, unstorable

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

T = TypeVar("T")


_FORGED = "cursor is not one this server issued."
_MAX_CURSOR_LENGTH = 4096  # base64 of a few keys; bounds the decoding of a forged one
_KINDS: dict[type, Callable[[Any], Any]] = {
    int: lambda value: value if type(value) is int else None,
    str: lambda value: value if isinstance(value, str) else None,
    float: lambda value: value if isinstance(value, int | float) and not isinstance(value, bool) else None,
    datetime: lambda value: parse_timestamp(value) if isinstance(value, str) else None,
    UUID: lambda value: UUID(value) if isinstance(value, str) else None,
}


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: list[Any] | None

    def after_key(self, *kinds: type) -> tuple[Any, ...] | None:
        """The cursor as a key of exactly these kinds (int, str, float for any number, datetime from
        RFC 3339, UUID), None without a cursor; 400 for any other. This is the one place a cursor's
        values are typed; page_request has already bounded them to what PostgreSQL holds."""
        if self.after is None:
            return None
        if len(self.after) != len(kinds):
            raise BadRequest(_FORGED)
        key = []
        for kind, value in zip(kinds, self.after, strict=True):
            try:
                typed = _KINDS[kind](value)
            except ValueError:
                typed = None
            if typed is None:
                raise BadRequest(_FORGED)
            key.append(typed)
        return tuple(key)

    def after_id(self) -> int | None:
        """The cursor of a list ordered by one integer id."""
        key = self.after_key(int)
        return None if key is None else int(key[0])

    def after_text(self) -> str | None:
        """The cursor of a list ordered by one text key."""
        key = self.after_key(str)
        return None if key is None else str(key[0])


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def page_request(request: web.Request) -> PageRequest:
    """Parse `limit` (1..1000, default 50) and `cursor`; 400 on anything malformed."""
    raw_limit = request.query.get("limit", str(DEFAULT_LIMIT))
    limit = parse_count(raw_limit, max_digits=4)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}.")
    cursor = request.query.get("cursor")
    after = None
    if cursor:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise BadRequest(_FORGED)
        try:
            after = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError, orjson.JSONDecodeError):
            raise BadRequest(_FORGED) from None
        # a flat list of values PostgreSQL can hold: no NUL, no integer beyond bigint
        if not isinstance(after, list) or any(isinstance(v, list | dict) or unstorable(v) for v in after):
            raise BadRequest(_FORGED)
    return PageRequest(limit, after)


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
