"""Accounts at external services (code hosts, identity providers) linked to users.

`auth_data` (the provider's tokens) is written here and never read back: no statement of this
store selects it, so no response can carry it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import asyncpg

from registry.db import queries
from registry.db.queries import Keyset, Timestamped
from registry.domain.page import Column, Page, PageRequest
from registry.domain.record import Record
from registry.store.users import User

_SQL = queries.load(__file__)


class ExternalAccount(Timestamped):
    id: int
    user_id: int
    service_type: str
    service_id: str
    client_id: str
    account_id: str
    account_data: Any


_BY_ID = Keyset.by_id(Column.INT4)


class AccountSpec(Record):
    """What identifies an external account: unique among live links."""

    service_type: str
    service_id: str
    client_id: str
    account_id: str


async def release_from_deleted_users(conn: asyncpg.Connection, spec: AccountSpec) -> None:
    """Unlink the account from a deleted user still holding it, so that it may be linked again."""
    await _SQL.release_from_deleted_users.execute(conn, **asdict(spec))


async def insert_external_account(
    conn: asyncpg.Connection, user_id: int, spec: AccountSpec, *, auth_data: Any, account_data: Any
) -> ExternalAccount | None:
    """Link an account; None when it is already linked (to anyone). Concurrent links of one account
    serialize on the `user_external_accounts_account` unique index: exactly one gets a row."""
    return await _SQL.insert_external_account.one(
        conn, ExternalAccount, user_id=user_id, auth_data=auth_data, account_data=account_data, **asdict(spec)
    )


async def list_external_accounts(conn: asyncpg.Connection, user_id: int, page: PageRequest) -> Page[ExternalAccount]:
    return await _SQL.list_external_accounts.page(conn, ExternalAccount, _BY_ID, page, user_id=user_id)


async def delete_external_account(conn: asyncpg.Connection, user_id: int, account_id: int) -> bool:
    """Unlink (soft delete) one of the user's live links; False if there is no such link."""
    return await _SQL.delete_external_account.changed(conn, user_id=user_id, account_id=account_id) == 1


async def user_by_external_account(conn: asyncpg.Connection, spec: AccountSpec) -> tuple[User, int] | None:
    """The live user a live link resolves to, and the link's id."""
    row = await _SQL.user_by_external_account.fetchrow(conn, **asdict(spec))
    return (User.within(row), row["link_id"]) if row else None
