"""The certificate cache table: keys to base64 data, soft-deletable (an ACME autocert cache), which
also keeps Wharf's own secrets under `RESERVED_PREFIX`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow
from registry.domain.page import Column, CursorCodec, Page, PageRequest

_SQL = queries.load(__file__)

RESERVED_PREFIX = "wharf:"
"""Keys under this prefix are Wharf's own (the license signing key) and never shown over HTTP."""

BY_KEY = CursorCodec(Column.TEXT)


@dataclass(frozen=True)
class CacheEntry(FromRow):
    key: str
    b64data: str
    created_at: datetime
    updated_at: datetime


async def get_entry(conn: asyncpg.Connection, key: str) -> CacheEntry | None:
    """The entry under `key`, unless deleted."""
    return await _SQL.live_entry.one(conn, CacheEntry, key=key)


async def put_entry(conn: asyncpg.Connection, key: str, b64data: str) -> CacheEntry:
    """Insert or replace; a soft-deleted key comes back to life with the new data."""
    entry = await _SQL.put_entry.one(conn, CacheEntry, key=key, b64data=b64data)
    assert entry is not None  # an upsert … RETURNING returns its row
    return entry


async def delete_entry(conn: asyncpg.Connection, key: str) -> bool:
    """Soft delete; False when there was no live entry."""
    return await _SQL.delete_entry.execute(conn, key=key) == "UPDATE 1"


async def list_keys(conn: asyncpg.Connection, page: PageRequest) -> Page[CacheEntry]:
    """Live entries in key order, without their data and without Wharf's own."""
    after = BY_KEY.after(page)
    rows = await _SQL.keys_in_order.all(
        conn, CacheEntry, after=after[0] if after else None, limit=page.limit + 1, hidden_prefix=RESERVED_PREFIX
    )
    return BY_KEY.page(rows, page, lambda entry: (entry.key,))


async def insert_entry_if_absent(conn: asyncpg.Connection, key: str, b64data: str) -> None:
    """Store a value under `key` unless one is there already (the first writer wins)."""
    await _SQL.insert_entry_if_absent.execute(conn, key=key, b64data=b64data)


async def stored_data(conn: asyncpg.Connection, key: str) -> str | None:
    """The data under `key`, even a deleted entry's (as the signing key has always been read)."""
    data: str | None = await _SQL.stored_data.fetchval(conn, key=key)
    return data
