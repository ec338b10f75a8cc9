"""Product subscriptions and the license keys issued for them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self
from uuid import UUID

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset, Timestamped
from registry.domain.page import Column, CursorCodec, Page, PageRequest

_SQL = queries.load(__file__)


def _uuid(value: UUID) -> UUID:
    """asyncpg's own UUID type as a plain `uuid.UUID` (which orjson serialises)."""
    return UUID(bytes=value.bytes)


class Subscription(Timestamped):
    id: UUID
    user_id: int
    username: str
    billing_subscription_id: str | None
    archived_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return cls(**{**row, "id": _uuid(row["id"])})


class License(FromRow):
    id: UUID
    subscription_id: UUID
    license_key: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return cls(**{**row, "id": _uuid(row["id"]), "subscription_id": _uuid(row["subscription_id"])})


BY_CREATION: Keyset[Subscription | License] = Keyset(
    CursorCodec(Column.TIMESTAMPTZ, Column.UUID),
    ("after_created_at", "after_id"),
    lambda row: (row.created_at.isoformat(), str(row.id)),
)
"""Both lists are in creation order, (created_at, id)."""


async def insert_subscription(conn: asyncpg.Connection, user_id: int) -> Subscription:
    return await _SQL.insert_subscription.single(conn, Subscription, user_id=user_id)


async def subscription_by_id(
    conn: asyncpg.Connection, subscription_id: UUID, *, lock: bool = False
) -> Subscription | None:
    """One subscription; with `lock`, its row stays locked until the transaction ends."""
    query = _SQL.subscription_by_id_locked if lock else _SQL.subscription_by_id
    return await query.one(conn, Subscription, subscription_id=subscription_id)


async def list_subscriptions(conn: asyncpg.Connection, *, user_id: int | None, page: PageRequest) -> Page[Subscription]:
    """Subscriptions (of one user, or all) in creation order."""
    return await _SQL.subscriptions_in_creation_order.page(conn, Subscription, BY_CREATION, page, user_id=user_id)


async def archive_subscription(conn: asyncpg.Connection, subscription_id: UUID) -> Subscription | None:
    """Archive (idempotently); None if there is no such subscription."""
    return await _SQL.archive_subscription.one(conn, Subscription, subscription_id=subscription_id)


async def insert_license(
    conn: asyncpg.Connection, *, license_id: UUID, subscription_id: UUID, license_key: str
) -> License:
    return await _SQL.insert_license.single(
        conn, License, license_id=license_id, subscription_id=subscription_id, license_key=license_key
    )


async def list_licenses(conn: asyncpg.Connection, subscription_id: UUID, *, page: PageRequest) -> Page[License]:
    return await _SQL.licenses_in_creation_order.page(conn, License, BY_CREATION, page, subscription_id=subscription_id)
