"""Typed loaders: each loads one kind of resource named by a request and owns its 404.

A loader takes a connection (the caller's transaction or read) and returns the record, or raises
`NotFound` with the message clients have always seen for that kind of thing.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from registry.domain.errors import NotFound
from registry.store import licenses as license_store
from registry.store import users as user_store
from registry.store.licenses import Subscription
from registry.store.users import User

# --- licensing ---------------------------------------------------------------------------------


async def subscriber(conn: asyncpg.Connection, username: str) -> User:
    """The user a subscription is for, or whose subscriptions are listed."""
    user = await user_store.user_by_username(conn, username)
    if user is None:
        raise NotFound(f"No user named {username}.")
    return user


async def subscription(conn: asyncpg.Connection, subscription_id: UUID, *, lock: bool = False) -> Subscription:
    """A subscription; with `lock`, its row stays locked until the transaction ends."""
    found = await license_store.subscription_by_id(conn, subscription_id, lock=lock)
    if found is None:
        raise NotFound(f"No subscription {subscription_id}.")
    return found
