"""The certificate cache table: keys to base64 data, soft-deletable (an ACME autocert cache), which
also keeps Wharf's own secrets under `RESERVED_PREFIX`."""

from __future__ import annotations

import asyncpg

from registry.db import queries
from registry.db.queries import Keyset, Timestamped
from registry.domain.page import Column, CursorCodec, Page, PageRequest

_SQL = queries.load(__file__)

RESERVED_PREFIX = "wharf:"
"""Keys under this prefix are Wharf's own (the license signing key) and never shown over HTTP."""


class CacheEntry(Timestamped):
    key: str
    b64data: str


BY_KEY: Keyset[CacheEntry] = Keyset(CursorCodec(Column.TEXT), ("after",), lambda entry: (entry.key,))


async def get_entry(conn: asyncpg.Connection, key: str) -> CacheEntry | None:
    """The entry under `key`, unless deleted."""
    return await _SQL.live_entry.one(conn, CacheEntry, key=key)


async def put_entry(conn: asyncpg.Connection, key: str, b64data: str) -> CacheEntry:
    """Insert or replace; a soft-deleted key comes back to life with the new data."""
    return await _SQL.put_entry.single(conn, CacheEntry, key=key, b64data=b64data)


async def delete_entry(conn: asyncpg.Connection, key: str) -> bool:
    """Soft delete; False when there was no live entry."""
    return await _SQL.delete_entry.changed(conn, key=key) == 1


async def list_keys(conn: asyncpg.Connection, page: PageRequest) -> Page[CacheEntry]:
    """Live entries in key order, without their data and without Wharf's own."""
    return await _SQL.keys_in_order.page(conn, CacheEntry, BY_KEY, page, hidden_prefix=RESERVED_PREFIX)


async def insert_entry_if_absent(conn: asyncpg.Connection, key: str, b64data: str) -> None:
    """Store a value under `key` unless one is there already (the first writer wins)."""
    await _SQL.insert_entry_if_absent.execute(conn, key=key, b64data=b64data)


async def stored_data(conn: asyncpg.Connection, key: str) -> str | None:
    """The data under `key`, even a deleted entry's (as the signing key has always been read)."""
    data: str | None = await _SQL.stored_data.fetchval(conn, key=key)
    return data
