"""Product subscriptions, their license keys, and the license signing key kept in `cert_cache`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

_SUBSCRIPTION_COLUMNS = (
    "s.id, s.user_id, u.username::text AS username, s.billing_subscription_id, s.created_at, s.updated_at,"
    " s.archived_at"
)


@dataclass(frozen=True)
class Subscription:
    id: UUID
    user_id: int
    username: str
    billing_subscription_id: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


@dataclass(frozen=True)
class License:
    id: UUID
    subscription_id: UUID
    license_key: str
    created_at: datetime


def _uuid(value: UUID) -> UUID:
    """asyncpg's own UUID type as a plain `uuid.UUID` (which orjson serialises)."""
    return UUID(bytes=value.bytes)


def _subscription(row: asyncpg.Record) -> Subscription:
    return Subscription(
        _uuid(row["id"]),
        row["user_id"],
        row["username"],
        row["billing_subscription_id"],
        row["created_at"],
        row["updated_at"],
        row["archived_at"],
    )


def _license(row: asyncpg.Record) -> License:
    return License(_uuid(row["id"]), _uuid(row["product_subscription_id"]), row["license_key"], row["created_at"])


async def insert_cache_entry_if_absent(conn: asyncpg.Connection, cache_key: str, b64data: str) -> None:
    """Store a value under `cache_key` unless one is there already (the first writer wins)."""
    await conn.execute(
        "-- source: registry/store/licenses.py:insert_cache_entry_if_absent\n"
        "INSERT INTO cert_cache (cache_key, b64data) VALUES ($1, $2) ON CONFLICT (cache_key) DO NOTHING",
        cache_key,
        b64data,
    )


async def cache_entry(conn: asyncpg.Connection, cache_key: str) -> str | None:
    value: str | None = await conn.fetchval(
        "-- source: registry/store/licenses.py:cache_entry\nSELECT b64data FROM cert_cache WHERE cache_key = $1",
        cache_key,
    )
    return value


async def insert_subscription(conn: asyncpg.Connection, user_id: int) -> Subscription:
    row = await conn.fetchrow(
        "-- source: registry/store/licenses.py:insert_subscription\n"  # noqa: S608 (a module constant)
        "WITH s AS (INSERT INTO product_subscriptions (id, user_id) VALUES (gen_random_uuid(), $1) RETURNING *)"
        f" SELECT {_SUBSCRIPTION_COLUMNS} FROM s JOIN users u ON u.id = s.user_id",
        user_id,
    )
    return _subscription(row)


async def subscription_by_id(
    conn: asyncpg.Connection, subscription_id: UUID, *, lock: bool = False
) -> Subscription | None:
    """One subscription; with `lock`, its row stays locked until the transaction ends (so it cannot
    be archived while a license is being issued for it)."""
    row = await conn.fetchrow(
        "-- source: registry/store/licenses.py:subscription_by_id\n"  # noqa: S608 (a module constant)
        f"SELECT {_SUBSCRIPTION_COLUMNS} FROM product_subscriptions s JOIN users u ON u.id = s.user_id"
        " WHERE s.id = $1" + (" FOR UPDATE OF s" if lock else ""),
        subscription_id,
    )
    return _subscription(row) if row else None


async def list_subscriptions(
    conn: asyncpg.Connection, *, user_id: int | None, after: tuple[datetime, UUID] | None, limit: int
) -> list[Subscription]:
    """Subscriptions (of one user, or all) in creation order, after a (created_at, id) cursor."""
    rows = await conn.fetch(
        "-- source: registry/store/licenses.py:list_subscriptions\n"
        f"SELECT {_SUBSCRIPTION_COLUMNS} FROM product_subscriptions s JOIN users u ON u.id = s.user_id"
        " WHERE ($1::integer IS NULL OR s.user_id = $1)"
        "   AND ($2::timestamptz IS NULL OR (s.created_at, s.id) > ($2, $3::uuid))"
        " ORDER BY s.created_at, s.id LIMIT $4",
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_subscription(row) for row in rows]


async def archive_subscription(conn: asyncpg.Connection, subscription_id: UUID) -> Subscription | None:
    """Archive (idempotently: the first archived_at stays); None if there is no such subscription."""
    row = await conn.fetchrow(
        "-- source: registry/store/licenses.py:archive_subscription\n"  # noqa: S608 (a module constant)
        "WITH s AS (UPDATE product_subscriptions"
        "             SET archived_at = coalesce(archived_at, now()),"
        "                 updated_at = CASE WHEN archived_at IS NULL THEN now() ELSE updated_at END"
        "           WHERE id = $1 RETURNING *)"
        f" SELECT {_SUBSCRIPTION_COLUMNS} FROM s JOIN users u ON u.id = s.user_id",
        subscription_id,
    )
    return _subscription(row) if row else None


async def insert_license(
    conn: asyncpg.Connection, *, license_id: UUID, subscription_id: UUID, license_key: str
) -> License:
    row = await conn.fetchrow(
        "-- source: registry/store/licenses.py:insert_license\n"
        "INSERT INTO product_licenses (id, product_subscription_id, license_key) VALUES ($1, $2, $3) RETURNING *",
        license_id,
        subscription_id,
        license_key,
    )
    return _license(row)


async def list_licenses(
    conn: asyncpg.Connection, subscription_id: UUID, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[License]:
    rows = await conn.fetch(
        "-- source: registry/store/licenses.py:list_licenses\n"
        "SELECT * FROM product_licenses"
        " WHERE product_subscription_id = $1"
        "   AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))"
        " ORDER BY created_at, id LIMIT $4",
        subscription_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_license(row) for row in rows]
