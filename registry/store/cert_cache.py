"""The certificate cache table: keys to base64 data, soft-deletable (an ACME autocert cache)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class CacheEntry:
    key: str
    b64data: str
    created_at: datetime
    updated_at: datetime


async def get_entry(conn: asyncpg.Connection, key: str) -> CacheEntry | None:
    row = await conn.fetchrow(
        "-- source: registry/store/cert_cache.py:get_entry\n"
        "SELECT cache_key AS key, b64data, created_at, updated_at FROM cert_cache"
        " WHERE cache_key = $1 AND deleted_at IS NULL",
        key,
    )
    return CacheEntry(**dict(row)) if row else None


async def put_entry(conn: asyncpg.Connection, key: str, b64data: str) -> CacheEntry:
    """Insert or replace; a soft-deleted key comes back to life with the new data."""
    row = await conn.fetchrow(
        "-- source: registry/store/cert_cache.py:put_entry\n"
        "INSERT INTO cert_cache (cache_key, b64data) VALUES ($1, $2)"
        " ON CONFLICT (cache_key) DO UPDATE SET b64data = EXCLUDED.b64data, updated_at = now(), deleted_at = NULL,"
        "   created_at = CASE WHEN cert_cache.deleted_at IS NULL THEN cert_cache.created_at ELSE now() END"
        " RETURNING cache_key AS key, b64data, created_at, updated_at",
        key,
        b64data,
    )
    return CacheEntry(**dict(row))


async def delete_entry(conn: asyncpg.Connection, key: str) -> bool:
    status = await conn.execute(
        "-- source: registry/store/cert_cache.py:delete_entry\n"
        "UPDATE cert_cache SET deleted_at = now(), updated_at = now() WHERE cache_key = $1 AND deleted_at IS NULL",
        key,
    )
    return bool(status == "UPDATE 1")


async def list_keys(conn: asyncpg.Connection, *, after: str | None, limit: int, hidden_prefix: str) -> list[CacheEntry]:
    rows = await conn.fetch(
        "-- source: registry/store/cert_cache.py:list_keys\n"
        "SELECT cache_key AS key, '' AS b64data, created_at, updated_at FROM cert_cache"
        " WHERE deleted_at IS NULL AND ($1::text IS NULL OR cache_key > $1) AND NOT starts_with(cache_key, $3)"
        " ORDER BY cache_key LIMIT $2",
        after,
        limit,
        hidden_prefix,
    )
    return [CacheEntry(**dict(row)) for row in rows]
