"""An ACME autocert cache on PostgreSQL, for Python callers (as Go's `autocert.Cache`).

`get` raises `CacheMiss` for an absent (or deleted) key, `put` stores bytes, `delete` removes a
key and is not an error for an absent one. Data is stored base64-encoded in `cert_cache.b64data`.
Keys under `wharf:` are Wharf's own (the license signing key): see registry.store.cert_cache.
"""

from __future__ import annotations

import base64

import asyncpg

from registry.store import cert_cache as store


class CacheMiss(KeyError):
    """The key is not in the cache (autocert's ErrCacheMiss)."""


class CertCache:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, key: str) -> bytes:
        async with self._pool.acquire() as conn:
            entry = await store.get_entry(conn, key)
        if entry is None:
            raise CacheMiss(key)
        return base64.b64decode(entry.b64data)

    async def put(self, key: str, data: bytes) -> None:
        async with self._pool.acquire() as conn:
            await store.put_entry(conn, key, base64.b64encode(data).decode())

    async def delete(self, key: str) -> None:
        async with self._pool.acquire() as conn:
            await store.delete_entry(conn, key)
