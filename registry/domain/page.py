"""Keyset pages: a `PageRequest` (limit and an opaque cursor) in, a `Page[T]` out.

A cursor is the sort key of the last item of a page, as base64url JSON; it carries no offset, so
pages stay stable and cheap however deep a client goes. Each ordering a store offers has its
`CursorCodec`, which knows the PostgreSQL type of every column of its key: the values come back
from the client, asyncpg refuses a parameter its type cannot hold, and in this schema most ids
are `integer` (serial) and the search ranking a `real`, narrower than JSON's numbers. The codec
is the one place a cursor is decoded, typed, and refused when this server did not issue it.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, Generic, TypeVar
from uuid import UUID

import orjson

from registry.domain.errors import BadRequest
from registry.domain.record import Record
from registry.validation import BIGINT_MAX, BIGINT_MIN, INT4_MAX, INT4_MIN, parse_timestamp

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_CURSOR_LENGTH = 4096  # base64 of a few keys; bounds the decoding of a forged one
FOREIGN_CURSOR = "cursor is not one this server issued."

T = TypeVar("T")
U = TypeVar("U")


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


class PageRequest(Record):
    """How many items a client wants (already checked against MAX_LIMIT) and after which cursor."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class Page(Record, Generic[T]):
    """One page of items and the cursor of the next page (None: this is the last)."""

    items: list[T]
    next_cursor: str | None = None

    def map(self, render: Callable[[T], U]) -> Page[U]:
        return Page([render(item) for item in self.items], self.next_cursor)


class CursorCodec:
    """The cursor of one ordering: its key's columns, in order."""

    def __init__(self, *columns: Column) -> None:
        self.columns = columns

    def after(self, page: PageRequest) -> tuple[Any, ...] | None:
        """The key to continue after: None without a cursor, 400 for one this codec did not write."""
        if not page.cursor:
            return None
        if len(page.cursor) > MAX_CURSOR_LENGTH:
            raise BadRequest(FOREIGN_CURSOR)
        try:
            values = orjson.loads(base64.urlsafe_b64decode(page.cursor + "=" * (-len(page.cursor) % 4)))
        except (binascii.Error, ValueError, orjson.JSONDecodeError):
            raise BadRequest(FOREIGN_CURSOR) from None
        if not isinstance(values, list) or len(values) != len(self.columns):
            raise BadRequest(FOREIGN_CURSOR)
        try:
            return tuple(column.typed(value) for column, value in zip(self.columns, values, strict=True))
        except (ValueError, OverflowError):
            raise BadRequest(FOREIGN_CURSOR) from None

    def encode(self, key: Sequence[Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")

    def page(self, rows: Sequence[T], request: PageRequest, key: Callable[[T], Sequence[Any]]) -> Page[T]:
        """The page from rows fetched with `limit + 1` (the extra row only says there is more)."""
        shown = list(rows[: request.limit])
        more = len(rows) > request.limit and bool(shown)
        return Page(shown, self.encode(key(shown[-1])) if more else None)
