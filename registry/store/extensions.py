"""Extensions: one row per publisher/name, with the listing fields of its latest release."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, Self

import asyncpg

from registry.db import queries
from registry.db.queries import Keyset, Timestamped
from registry.domain.page import Column, CursorCodec, Page, PageRequest
from registry.domain.record import Record
from registry.store.publishers import Publisher

_SQL = queries.load(__file__)


class Extension(Timestamped):
    id: int
    uuid: uuid.UUID
    publisher: str
    publisher_user_id: int | None
    publisher_org_id: int | None
    name: str
    title: str | None
    description: str | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    wip: bool
    manifest: str | None
    published_at: datetime | None
    downloads: int
    latest_release_id: int | None
    latest_version: str | None
    latest_created_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """The record of a row that may carry more columns (a listing's sort key)."""
        values = {field.name: row[field.name] for field in fields(cls)}
        values["uuid"] = uuid.UUID(str(values["uuid"]))  # asyncpg's own UUID type is not orjson's
        values["categories"] = tuple(values["categories"])
        values["tags"] = tuple(values["tags"])
        return cls(**values)

    @property
    def extension_id(self) -> str:
        return f"{self.publisher}/{self.name}"

    def publisher_of(self) -> Publisher:
        return Publisher(self.publisher, self.publisher_user_id, self.publisher_org_id)


async def create_extension(conn: asyncpg.Connection, publisher: Publisher, name: str) -> Extension | None:
    """A new extension, or None when the publisher already has a live one by that name."""
    new_id = await _SQL.create_extension.fetchval(
        conn, uuid=uuid.uuid4(), publisher_user_id=publisher.user_id, publisher_org_id=publisher.org_id, name=name
    )
    return await extension_by_pk(conn, new_id) if new_id is not None else None


async def extension_by_pk(conn: asyncpg.Connection, extension_pk: int) -> Extension | None:
    return await _SQL.extension_by_pk.one(conn, Extension, extension_pk=extension_pk)


async def extension_by_name(
    conn: asyncpg.Connection, publisher: str, name: str, *, lock: bool = False
) -> Extension | None:
    """A live extension by `publisher/name` (both case-insensitive); with `lock`, its row stays
    locked until the transaction ends (publishes of one extension serialise their listing update)."""
    if not lock:
        return await _SQL.extension_by_name.one(conn, Extension, publisher=publisher, name=name)
    locked: int | None = await _SQL.lock_extension_by_name.fetchval(conn, publisher=publisher, name=name)
    if locked is None:
        return None
    # Read after the lock, in a statement of its own: as the lock found it (it may have waited for a
    # change, which the locking statement's snapshot would not show).
    return await extension_by_pk(conn, locked)


async def extension_by_uuid(conn: asyncpg.Connection, extension_uuid: uuid.UUID) -> Extension | None:
    return await _SQL.extension_by_uuid.one(conn, Extension, uuid=extension_uuid)


async def extensions_by_names(conn: asyncpg.Connection, ids: Sequence[tuple[str, str]]) -> list[Extension]:
    """Many live extensions in one query (the batch read)."""
    return await _SQL.extensions_by_names.all(
        conn, Extension, publishers=[publisher for publisher, _ in ids], names=[name for _, name in ids]
    )


async def soft_delete_extension(conn: asyncpg.Connection, extension_pk: int) -> bool:
    return await _SQL.soft_delete_extension.changed(conn, extension_pk=extension_pk) == 1


class ListingFields(Record):
    """What the listing shows, taken from the latest release (all None: nothing published)."""

    latest_release_id: int | None
    manifest: str | None
    title: str | None
    description: str | None
    categories: list[str]
    tags: list[str]
    wip: bool
    published_at: datetime | None


async def update_listing(conn: asyncpg.Connection, extension: Extension, fields: ListingFields) -> None:
    search_text = " ".join(
        part for part in (extension.publisher, extension.name, fields.title, fields.description, *fields.tags) if part
    ).lower()
    await _SQL.update_listing.execute(conn, extension_pk=extension.id, search_text=search_text, **asdict(fields))


SORTS = ("name", "updated", "downloads", "relevance")


class ListQuery(Record):
    """Which extensions a listing shows and in which order; `relevance` ranks by `text`."""

    text: str | None = None
    publisher: str | None = None
    category: str | None = None
    tag: str | None = None
    include_wip: bool = False
    include_unpublished: bool = False  # extensions without a release (Sourcegraph listed them)
    sort: str = "name"  # one of SORTS


def _ordering(sort_key: Column) -> Keyset[asyncpg.Record]:
    """A listing's ordering: its sort key, then the id; a listed row carries both (`sort_key`, `id`)."""
    return Keyset(
        CursorCodec(sort_key, Column.INT4), ("after_key", "after_id"), lambda row: (row["sort_key"], row["id"])
    )


BY_NAME = _ordering(Column.TEXT)
BY_UPDATED = _ordering(Column.TIMESTAMPTZ)
BY_DOWNLOADS = _ordering(Column.INT8)
BY_RELEVANCE = _ordering(Column.FLOAT4)
_ORDERINGS = {
    "name": (_SQL.list_by_name, BY_NAME),
    "updated": (_SQL.list_by_updated, BY_UPDATED),
    "downloads": (_SQL.list_by_downloads, BY_DOWNLOADS),
    "relevance": (_SQL.list_by_relevance, BY_RELEVANCE),
}


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_extensions(conn: asyncpg.Connection, query: ListQuery, page: PageRequest) -> Page[Extension]:
    """A page of live extensions (published ones only unless `include_unpublished`); `text`
    matches as a case-insensitive substring. A cursor of another ordering is refused (400)."""
    statement, keyset = _ORDERINGS[query.sort]
    filters: dict[str, Any] = {
        "include_unpublished": query.include_unpublished,
        "pattern": _like_pattern(query.text) if query.text else None,
        "publisher": query.publisher,
        "category": query.category,
        "tag": query.tag,
        "include_wip": query.include_wip,
        **keyset.bind(page),
    }
    if query.sort == "relevance":
        filters["query"] = (query.text or "").lower()
    rows = await statement.fetch(conn, **filters)
    return keyset.codec.page(rows, page, keyset.key).map(Extension.from_row)
