"""Typed loaders: a resource by what names it, or the NotFound its absence means.

Each takes a connection (the caller owns the transaction) and returns a record of the store.
The message of each NotFound is the one the API has always answered.
"""

from __future__ import annotations

import asyncpg

from registry.domain.errors import NotFound
from registry.store import extensions as extension_store
from registry.store.extensions import Extension
from registry.store.publishers import Publisher, publisher_by_name

# --- catalogue ---------------------------------------------------------------------------------


async def live_extension(conn: asyncpg.Connection, publisher: str, name: str) -> Extension:
    """A live extension of a live publisher, by `publisher/name` (both case-insensitive)."""
    extension = await extension_store.extension_by_name(conn, publisher, name)
    if extension is None:
        raise NotFound(f"No extension {publisher}/{name}.")
    return extension


async def live_publisher(conn: asyncpg.Connection, name: str) -> Publisher:
    """The live user or org holding `name` in the shared namespace."""
    publisher = await publisher_by_name(conn, name)
    if publisher is None:
        raise NotFound(f"No user or organization named {name}.")
    return publisher
