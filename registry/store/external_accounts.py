"""Accounts at external services (code hosts, identity providers) linked to users.

`auth_data` (the provider's tokens) is written here and never read back: no function of this
module selects it, so no response can carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from registry.store.users import User, user_from_row

_COLUMNS = (
    "e.id, e.user_id, e.service_type, e.service_id, e.client_id, e.account_id, e.account_data,"
    " e.created_at, e.updated_at"
)


@dataclass(frozen=True)
class ExternalAccount:
    id: int
    user_id: int
    service_type: str
    service_id: str
    client_id: str
    account_id: str
    account_data: Any
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AccountSpec:
    """What identifies an external account: unique among live links."""

    service_type: str
    service_id: str
    client_id: str
    account_id: str


def _account(row: asyncpg.Record) -> ExternalAccount:
    return ExternalAccount(
        row["id"],
        row["user_id"],
        row["service_type"],
        row["service_id"],
        row["client_id"],
        row["account_id"],
        row["account_data"],
        row["created_at"],
        row["updated_at"],
    )


async def release_from_deleted_users(conn: asyncpg.Connection, spec: AccountSpec) -> None:
    """Unlink the account from a deleted user still holding it, so that it may be linked again."""
    await conn.execute(
        "-- source: registry/store/external_accounts.py:release_from_deleted_users\n"
        "UPDATE user_external_accounts e SET deleted_at = now(), updated_at = now()"
        "  FROM users u"
        " WHERE u.id = e.user_id AND u.deleted_at IS NOT NULL AND e.deleted_at IS NULL"
        "   AND e.service_type = $1 AND e.service_id = $2 AND e.client_id = $3 AND e.account_id = $4",
        spec.service_type,
        spec.service_id,
        spec.client_id,
        spec.account_id,
    )


async def insert_external_account(
    conn: asyncpg.Connection, user_id: int, spec: AccountSpec, *, auth_data: Any, account_data: Any
) -> ExternalAccount | None:
    """Link an account; None when it is already linked (to anyone). Concurrent links of one account
    serialize on the `user_external_accounts_account` unique index: exactly one gets a row."""
    row = await conn.fetchrow(
        "-- source: registry/store/external_accounts.py:insert_external_account\n"
        "INSERT INTO user_external_accounts AS e"
        "       (user_id, service_type, service_id, client_id, account_id, auth_data, account_data)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (service_type, service_id, client_id, account_id) WHERE deleted_at IS NULL DO NOTHING"
        f" RETURNING {_COLUMNS}",
        user_id,
        spec.service_type,
        spec.service_id,
        spec.client_id,
        spec.account_id,
        auth_data,
        account_data,
    )
    return _account(row) if row else None


async def list_external_accounts(
    conn: asyncpg.Connection, user_id: int, *, after_id: int | None, limit: int
) -> list[ExternalAccount]:
    rows = await conn.fetch(
        "-- source: registry/store/external_accounts.py:list_external_accounts\n"
        f"SELECT {_COLUMNS} FROM user_external_accounts e"
        " WHERE e.user_id = $1 AND e.deleted_at IS NULL AND e.id > $2 ORDER BY e.id LIMIT $3",
        user_id,
        after_id or 0,
        limit,
    )
    return [_account(row) for row in rows]


async def delete_external_account(conn: asyncpg.Connection, user_id: int, account_id: int) -> bool:
    """Unlink (soft delete) one of the user's live links; False if there is no such link."""
    status = await conn.execute(
        "-- source: registry/store/external_accounts.py:delete_external_account\n"
        "UPDATE user_external_accounts SET deleted_at = now(), updated_at = now()"
        " WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL",
        account_id,
        user_id,
    )
    return bool(status == "UPDATE 1")


async def user_by_external_account(conn: asyncpg.Connection, spec: AccountSpec) -> tuple[User, int] | None:
    """The live user a live link resolves to, and the link's id."""
    row = await conn.fetchrow(
        "-- source: registry/store/external_accounts.py:user_by_external_account\n"
        "SELECT e.id AS link_id, u.id, u.username::text, u.display_name, u.avatar_url, u.site_admin,"
        "       u.created_at, u.updated_at"
        "  FROM user_external_accounts e JOIN users u ON u.id = e.user_id AND u.deleted_at IS NULL"
        " WHERE e.service_type = $1 AND e.service_id = $2 AND e.client_id = $3 AND e.account_id = $4"
        "   AND e.deleted_at IS NULL",
        spec.service_type,
        spec.service_id,
        spec.client_id,
        spec.account_id,
    )
    return (user_from_row(row), row["link_id"]) if row else None
