"""Extensions: one row per publisher/name, with the listing fields of its latest release."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from registry.store.publishers import Publisher

_SELECT = (
    "SELECT e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,"
    "       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,"
    "       e.updated_at, e.published_at, e.downloads, e.latest_release_id,"
    "       r.release_version::text AS latest_version, r.created_at AS latest_created_at"
    "  FROM registry_extensions e"
    "  LEFT JOIN users u ON u.id = e.publisher_user_id"
    "  LEFT JOIN orgs o ON o.id = e.publisher_org_id"
    "  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id"
)
# Extensions of deleted publishers are hidden with them.
_LIVE = "e.deleted_at IS NULL AND (u.deleted_at IS NULL AND o.deleted_at IS NULL)"


@dataclass(frozen=True)
class Extension:
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
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    downloads: int
    latest_release_id: int | None
    latest_version: str | None
    latest_created_at: datetime | None

    @property
    def extension_id(self) -> str:
        return f"{self.publisher}/{self.name}"

    def publisher_of(self) -> Publisher:
        return Publisher(self.publisher, self.publisher_user_id, self.publisher_org_id)


def _extension(row: Mapping[str, Any]) -> Extension:
    values = dict(row)
    values["uuid"] = uuid.UUID(str(values["uuid"]))  # asyncpg's own UUID type is not orjson's
    values["categories"] = tuple(values["categories"])
    values["tags"] = tuple(values["tags"])
    return Extension(**values)


async def create_extension(conn: asyncpg.Connection, publisher: Publisher, name: str) -> Extension | None:
    """A new extension, or None when the publisher already has a live one by that name."""
    new_id = await conn.fetchval(
        "-- source: registry/store/extensions.py:create_extension\n"
        "INSERT INTO registry_extensions (uuid, publisher_user_id, publisher_org_id, name) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT ((COALESCE(publisher_user_id, 0)), (COALESCE(publisher_org_id, 0)), name)"
        "   WHERE deleted_at IS NULL DO NOTHING RETURNING id",
        uuid.uuid4(),
        publisher.user_id,
        publisher.org_id,
        name,
    )
    return await extension_by_pk(conn, new_id) if new_id is not None else None


async def extension_by_pk(conn: asyncpg.Connection, extension_pk: int) -> Extension | None:
    row = await conn.fetchrow(
        f"-- source: registry/store/extensions.py:extension_by_pk\n{_SELECT} WHERE e.id = $1 AND {_LIVE}", extension_pk
    )
    return _extension(row) if row else None


async def extension_by_name(
    conn: asyncpg.Connection, publisher: str, name: str, *, lock: bool = False
) -> Extension | None:
    """A live extension by `publisher/name` (both case-insensitive); with `lock`, its row stays
    locked until the transaction ends (publishes of one extension serialise their listing update)."""
    row = await conn.fetchrow(
        f"-- source: registry/store/extensions.py:extension_by_name\n{_SELECT}"
        f" WHERE coalesce(u.username, o.name) = $1::citext AND e.name = $2::citext AND {_LIVE}"
        + (" FOR UPDATE OF e" if lock else ""),
        publisher,
        name,
    )
    return _extension(row) if row else None


async def extension_by_uuid(conn: asyncpg.Connection, extension_uuid: uuid.UUID) -> Extension | None:
    row = await conn.fetchrow(
        f"-- source: registry/store/extensions.py:extension_by_uuid\n{_SELECT} WHERE e.uuid = $1 AND {_LIVE}",
        extension_uuid,
    )
    return _extension(row) if row else None


async def extensions_by_names(conn: asyncpg.Connection, ids: Sequence[tuple[str, str]]) -> list[Extension]:
    """Many live extensions in one query (the batch read)."""
    rows = await conn.fetch(
        f"-- source: registry/store/extensions.py:extensions_by_names\n{_SELECT}"
        " JOIN unnest($1::text[], $2::text[]) AS wanted(publisher, name)"
        "   ON coalesce(u.username, o.name) = wanted.publisher::citext AND e.name = wanted.name::citext"
        f" WHERE {_LIVE}",
        [publisher for publisher, _ in ids],
        [name for _, name in ids],
    )
    return [_extension(row) for row in rows]


async def soft_delete_extension(conn: asyncpg.Connection, extension_pk: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/extensions.py:soft_delete_extension\n"
        "UPDATE registry_extensions SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
        extension_pk,
    )
    return bool(status == "UPDATE 1")


@dataclass(frozen=True)
class ListingFields:
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
    await conn.execute(
        "-- source: registry/store/extensions.py:update_listing\n"
        "UPDATE registry_extensions SET latest_release_id = $2, manifest = $3, title = $4, description = $5,"
        " categories = $6, tags = $7, wip = $8, published_at = $9, search_text = $10, updated_at = now()"
        " WHERE id = $1",
        extension.id,
        fields.latest_release_id,
        fields.manifest,
        fields.title,
        fields.description,
        fields.categories,
        fields.tags,
        fields.wip,
        fields.published_at,
        search_text,
    )


@dataclass(frozen=True)
class ListQuery:
    text: str | None = None
    publisher: str | None = None
    category: str | None = None
    tag: str | None = None
    include_wip: bool = False
    include_unpublished: bool = False  # extensions without a release (Sourcegraph listed them)
    sort: str = "name"  # name | updated | downloads | relevance
    after: list[Any] | None = None
    limit: int = 50


# Each sort: the ORDER BY, the keyset comparison with the cursor, and the sort key (the cursor's
# first value; the id is its second).
_SORTS: dict[str, tuple[str, str, str]] = {
    "name": ("lower(e.name::text), e.id", "(lower(e.name::text), e.id) > ({0}::text, {1}::int)", "lower(e.name::text)"),
    "updated": ("e.updated_at DESC, e.id DESC", "(e.updated_at, e.id) < ({0}::timestamptz, {1}::int)", "e.updated_at"),
    "downloads": ("e.downloads DESC, e.id DESC", "(e.downloads, e.id) < ({0}::bigint, {1}::int)", "e.downloads"),
    "relevance": (
        "similarity(e.search_text, {q}) DESC, e.id",
        "(similarity(e.search_text, {q}) < {0}::real"
        " OR similarity(e.search_text, {q}) = {0}::real AND e.id > {1}::int)",
        "similarity(e.search_text, {q})",
    ),
}


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_extensions(conn: asyncpg.Connection, query: ListQuery) -> list[tuple[Extension, list[Any]]]:
    """A page of live, published extensions with each row's cursor key; `limit` rows at most.

    The SQL is assembled from fixed fragments only; every value is a bound parameter.
    """
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    conditions = [_LIVE] if query.include_unpublished else [_LIVE, "e.published_at IS NOT NULL"]
    # the search text is a parameter of the ranking only: bind it only when the ranking is used
    q = bind(query.text.lower()) if query.text and query.sort == "relevance" else "''"
    if query.text:
        conditions.append(f"e.search_text LIKE {bind(_like_pattern(query.text))}")
    if query.publisher:
        conditions.append(f"coalesce(u.username, o.name) = {bind(query.publisher)}::citext")
    if query.category:
        conditions.append(f"e.categories @> ARRAY[{bind(query.category)}::text]")
    if query.tag:
        conditions.append(f"e.tags @> ARRAY[{bind(query.tag)}::text]")
    if not query.include_wip:
        conditions.append("NOT e.wip")
    order, keyset, sort_key = (part.replace("{q}", q) for part in _SORTS[query.sort])
    if query.after is not None:
        conditions.append(keyset.format(bind(query.after[0]), bind(query.after[1])))
    select = _SELECT.replace("SELECT ", f"SELECT {sort_key} AS sort_key, ", 1)
    sql = (
        f"-- source: registry/store/extensions.py:list_extensions\n{select}"
        f" WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT {bind(query.limit)}"
    )
    rows = await conn.fetch(sql, *params)
    result = []
    for row in rows:
        values = dict(row)
        sort_key = values.pop("sort_key")
        if isinstance(sort_key, datetime):
            sort_key = sort_key.isoformat()
        result.append((_extension(values), [sort_key, values["id"]]))
    return result
