"""What most renderings share: a record's fields under their own names, and a page of items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from registry.domain.page import Page

T = TypeVar("T")


def record_json(record: object, *names: str) -> dict[str, Any]:
    """The fields `names` of `record`, in that order, as they are: `json_response` (orjson) writes
    datetimes as RFC 3339, UUIDs as strings and tuples as arrays. Named, never all of a record's
    fields, so that a column a store comes to read (a hash, an internal id) stays unseen until a
    view names it."""
    return {name: getattr(record, name) for name in names}


def page_json(page: Page[T], render: Callable[[T], Any]) -> dict[str, Any]:
    """A page as every list route answers it: `{"items", "next_cursor"}`."""
    return {"items": [render(item) for item in page.items], "next_cursor": page.next_cursor}
