"""Keyset pagination: `limit` and an opaque `cursor` in, `next_cursor` out.

A cursor is the sort key of the last row returned, as base64url JSON; it carries no offset, so
pages stay stable and cheap however deep a client goes. Its values come back from the client,
so each is typed by the column it is compared with (`Column`): asyncpg refuses a parameter its
type cannot hold, and in this schema most ids are `integer` (serial) and the search ranking a
`real`, narrower than JSON's numbers.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

import orjson
from aiohttp import web

from registry.domain.errors import BadRequest
from registry.validation import BIGINT_MAX, BIGINT_MIN, INT4_MAX, INT4_MIN, parse_count, parse_timestamp

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

T = TypeVar("T")


_FORGED = "cursor is not one this server issued."
_MAX_CURSOR_LENGTH = 4096  # base64 of a few keys; bounds the decoding of a forged one


class Column(Enum):
    """The PostgreSQL type of the column a cursor value is compared with."""

    INT4 = "integer"
    INT8 = "bigint"
    FLOAT4 = "real"
    TEXT = "text"
    TIMESTAMPTZ = "timestamptz"
    UUID = "uuid"

    def typed(self, value: Any) -> Any:
        """`value` as this column holds it; ValueError for a value it cannot hold, so that no
        cursor reaches PostgreSQL (or asyncpg's encoder) with a value out of the column's range."""
        kind = type(value)  # exact: JSON's true is no integer here
        if self in (Column.INT4, Column.INT8) and kind is int:
            low, high = (INT4_MIN, INT4_MAX) if self is Column.INT4 else (BIGINT_MIN, BIGINT_MAX)
            if low <= value <= high:
                return value
        elif self is Column.FLOAT4 and kind in (int, float):
            # asyncpg refuses what rounds to infinity as a float4 (beyond ±3.4e38); NaN is no ranking
            (single,) = struct.unpack("f", struct.pack("f", value))
            if math.isfinite(single) and math.isfinite(value):
                return float(value)
        elif self is Column.TEXT and kind is str and "\x00" not in value:
            return value
        elif self is Column.TIMESTAMPTZ and kind is str:
            return parse_timestamp(value)
        elif self is Column.UUID and kind is str:
            return UUID(value)
        raise ValueError(f"not a {self.value}")


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: list[Any] | None

    def after_key(self, *columns: Column) -> tuple[Any, ...] | None:
        """The cursor as a key of values of exactly these columns, in order; None without a
        cursor; 400 for any other. This is the one place a cursor's values are typed."""
        if self.after is None:
            return None
        if len(self.after) != len(columns):
            raise BadRequest(_FORGED)
        try:
            return tuple(column.typed(value) for column, value in zip(columns, self.after, strict=True))
        except (ValueError, OverflowError):
            raise BadRequest(_FORGED) from None

    def after_id(self, column: Column = Column.INT4) -> int | None:
        """The cursor of a list ordered by one id: an `integer` (the seed's serial) unless told."""
        key = self.after_key(column)
        return None if key is None else int(key[0])

    def after_text(self) -> str | None:
        """The cursor of a list ordered by one text key."""
        key = self.after_key(Column.TEXT)
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
        if not isinstance(after, list):  # its values are typed by after_key, column by column
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
