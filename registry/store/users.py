"""Users, their names in the shared namespace, and the site's one-time configuration."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import asyncpg

from registry.db import queries
from registry.db.queries import Timestamped
from registry.names import fold_name

_SQL = queries.load(__file__)


class User(Timestamped):
    id: int
    username: str
    display_name: str | None
    avatar_url: str | None
    site_admin: bool

    @classmethod
    def within(cls, row: asyncpg.Record) -> User:
        """The user whose columns a wider row (a token's, a link's) carries under their own names."""
        return cls(**{field.name: row[field.name] for field in fields(cls)})


async def ensure_site_config(conn: asyncpg.Connection, *, initialized: bool = False) -> None:
    """Create the site's row, with a random site_id, unless it exists (first start). Run in a
    transaction: the advisory lock keeps two processes starting at once from adding two rows."""
    await _SQL.lock_site_config.execute(conn)
    await _SQL.ensure_site_config.execute(conn, initialized=initialized)


async def site_initialized(conn: asyncpg.Connection, *, lock: bool = False) -> bool:
    """Whether a first user exists; with `lock`, the row stays locked until the transaction ends,
    so two concurrent first sign-ups cannot both become site admin."""
    query = _SQL.site_initialized_for_update if lock else _SQL.site_initialized
    return bool(await query.fetchval(conn))


async def mark_site_initialized(conn: asyncpg.Connection) -> None:
    await _SQL.mark_site_initialized.execute(conn)


async def insert_user(
    conn: asyncpg.Connection, *, username: str, display_name: str | None, password_hash: str, site_admin: bool
) -> User:
    return await _SQL.insert_user.single(
        conn, User, username=username, display_name=display_name, password_hash=password_hash, site_admin=site_admin
    )


async def claim_name(
    conn: asyncpg.Connection, name: str, *, user_id: int | None = None, org_id: int | None = None
) -> None:
    """Take `name` in the namespace users and orgs share (names_pkey makes a clash a 409)."""
    await _SQL.claim_name.execute(conn, name=name, user_id=user_id, org_id=org_id)


async def release_name(conn: asyncpg.Connection, *, user_id: int | None = None, org_id: int | None = None) -> None:
    await _SQL.release_name.execute(conn, user_id=user_id, org_id=org_id)


async def user_by_username(conn: asyncpg.Connection, username: str) -> User | None:
    """A live user by name, folded as registry.names folds it (a string that can be no name: None)."""
    folded = fold_name(username)
    if folded is None:
        return None
    return await _SQL.user_by_username.one(conn, User, username=folded)


async def user_by_id(conn: asyncpg.Connection, user_id: int) -> User | None:
    return await _SQL.user_by_id.one(conn, User, user_id=user_id)


async def password_hash(conn: asyncpg.Connection, username: str) -> tuple[User, str | None] | None:
    """A live user and their stored hash, for sign-in only (the name folded as in user_by_username)."""
    folded = fold_name(username)
    if folded is None:
        return None
    row = await _SQL.password_hash.fetchrow(conn, username=folded)
    return (User.within(row), row["passwd"]) if row else None


UPDATABLE = ("username", "display_name", "avatar_url", "passwd", "site_admin")


async def update_user(conn: asyncpg.Connection, user_id: int, changes: dict[str, Any]) -> User | None:
    """Apply `changes`, by column name (only those in UPDATABLE)."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    params = {column: changes.get(column) for column in UPDATABLE}
    flags = {f"set_{column}": column in changes for column in UPDATABLE}
    return await _SQL.update_user.one(conn, User, user_id=user_id, **params, **flags)


async def rename_user_name(conn: asyncpg.Connection, user_id: int, new_name: str) -> None:
    """Keep the user's `names` row in step with a rename."""
    await _SQL.rename_user_name.execute(conn, user_id=user_id, new_name=new_name)


async def soft_delete_user(conn: asyncpg.Connection, user_id: int) -> bool:
    return await _SQL.soft_delete_user.changed(conn, user_id=user_id) == 1


async def count_site_admins(conn: asyncpg.Connection) -> int:
    """Live site admins, counted under a lock on each so two demotions cannot both pass."""
    return len(await _SQL.site_admins_for_update.fetch(conn))
