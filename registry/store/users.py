"""Users, their names in the shared namespace, and the site's one-time configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from registry.names import fold_name

_USER_COLUMNS = "u.id, u.username::text, u.display_name, u.avatar_url, u.site_admin, u.created_at, u.updated_at"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str | None
    avatar_url: str | None
    site_admin: bool
    created_at: datetime
    updated_at: datetime


def user_from_row(row: asyncpg.Record) -> User:
    """A User from a row holding the users columns (under their own names)."""
    return User(
        row["id"],
        row["username"],
        row["display_name"],
        row["avatar_url"],
        row["site_admin"],
        row["created_at"],
        row["updated_at"],
    )


async def ensure_site_config(conn: asyncpg.Connection) -> None:
    """Create the site's row, with a random site_id, unless it exists (first start). Run in a
    transaction: the advisory lock keeps two processes starting at once from adding two rows."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('wharf:site_config'))")
    await conn.execute(
        "-- source: registry/store/users.py:ensure_site_config\n"
        "INSERT INTO site_config (site_id)"
        " SELECT gen_random_uuid() WHERE NOT EXISTS (SELECT FROM site_config)"
    )


async def site_initialized(conn: asyncpg.Connection, *, lock: bool = False) -> bool:
    """Whether a first user exists; with `lock`, the row stays locked until the transaction ends,
    so two concurrent first sign-ups cannot both become site admin."""
    sql = "-- source: registry/store/users.py:site_initialized\nSELECT initialized FROM site_config LIMIT 1"
    value = await conn.fetchval(sql + (" FOR UPDATE" if lock else ""))
    return bool(value)


async def mark_site_initialized(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "-- source: registry/store/users.py:mark_site_initialized\nUPDATE site_config SET initialized = true"
    )


async def insert_user(
    conn: asyncpg.Connection, *, username: str, display_name: str | None, password_hash: str, site_admin: bool
) -> User:
    row = await conn.fetchrow(
        "-- source: registry/store/users.py:insert_user\n"
        "INSERT INTO users AS u (username, display_name, passwd, site_admin) VALUES ($1, $2, $3, $4)"
        f" RETURNING {_USER_COLUMNS}",
        username,
        display_name,
        password_hash,
        site_admin,
    )
    return user_from_row(row)


async def claim_name(
    conn: asyncpg.Connection, name: str, *, user_id: int | None = None, org_id: int | None = None
) -> None:
    """Take `name` in the namespace users and orgs share (names_pkey makes a clash a 409)."""
    await conn.execute(
        "-- source: registry/store/users.py:claim_name\nINSERT INTO names (name, user_id, org_id) VALUES ($1, $2, $3)",
        name,
        user_id,
        org_id,
    )


async def release_name(conn: asyncpg.Connection, *, user_id: int | None = None, org_id: int | None = None) -> None:
    await conn.execute(
        "-- source: registry/store/users.py:release_name\nDELETE FROM names WHERE user_id = $1 OR org_id = $2",
        user_id,
        org_id,
    )


async def user_by_username(conn: asyncpg.Connection, username: str) -> User | None:
    """A live user by name, folded as registry.names folds it (a string that can be no name: None)."""
    folded = fold_name(username)
    if folded is None:
        return None
    row = await conn.fetchrow(
        f"-- source: registry/store/users.py:user_by_username\nSELECT {_USER_COLUMNS} FROM users u"
        " WHERE u.username = $1 AND u.deleted_at IS NULL",
        folded,
    )
    return user_from_row(row) if row else None


async def user_by_id(conn: asyncpg.Connection, user_id: int) -> User | None:
    row = await conn.fetchrow(
        f"-- source: registry/store/users.py:user_by_id\nSELECT {_USER_COLUMNS} FROM users u"
        " WHERE u.id = $1 AND u.deleted_at IS NULL",
        user_id,
    )
    return user_from_row(row) if row else None


async def password_hash(conn: asyncpg.Connection, username: str) -> tuple[User, str | None] | None:
    """A live user and their stored hash, for sign-in only (the name folded as in user_by_username)."""
    folded = fold_name(username)
    if folded is None:
        return None
    row = await conn.fetchrow(
        f"-- source: registry/store/users.py:password_hash\nSELECT {_USER_COLUMNS}, u.passwd FROM users u"
        " WHERE u.username = $1 AND u.deleted_at IS NULL",
        folded,
    )
    return (user_from_row(row), row["passwd"]) if row else None


_UPDATABLE = {"username", "display_name", "avatar_url", "passwd", "site_admin"}


async def update_user(conn: asyncpg.Connection, user_id: int, changes: dict[str, Any]) -> User | None:
    """Apply `changes` (only the known columns above; values always bound as parameters)."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    columns = sorted(changes)
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(columns, start=2))
    row = await conn.fetchrow(
        "-- source: registry/store/users.py:update_user\n"
        f"UPDATE users AS u SET {assignments}, updated_at = now()"
        f" WHERE u.id = $1 AND u.deleted_at IS NULL RETURNING {_USER_COLUMNS}",
        user_id,
        *(changes[column] for column in columns),
    )
    return user_from_row(row) if row else None


async def rename_user_name(conn: asyncpg.Connection, user_id: int, new_name: str) -> None:
    """Keep the user's `names` row in step with a rename."""
    await conn.execute(
        "-- source: registry/store/users.py:rename_user_name\nUPDATE names SET name = $2 WHERE user_id = $1",
        user_id,
        new_name,
    )


async def soft_delete_user(conn: asyncpg.Connection, user_id: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/users.py:soft_delete_user\n"
        "UPDATE users SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
        user_id,
    )
    return bool(status == "UPDATE 1")


async def count_site_admins(conn: asyncpg.Connection) -> int:
    """Live site admins, counted under a lock on each so two demotions cannot both pass."""
    rows = await conn.fetch(
        "-- source: registry/store/users.py:count_site_admins\n"
        "SELECT id FROM users WHERE site_admin AND deleted_at IS NULL FOR UPDATE"
    )
    return len(rows)
