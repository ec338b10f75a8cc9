"""Organizations and their members."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset, Timestamped
from registry.domain.page import Column, CursorCodec, Page, PageRequest
from registry.domain.record import Record
from registry.names import fold_name

_SQL = queries.load(__file__)


class Org(Timestamped):
    id: int
    name: str
    display_name: str | None


class OrgMembership(Record):
    """An org as one user sees it: whether they are a member decides what they may do to it."""

    org: Org
    user_id: int | None  # whose membership `member` tells (None: anonymous, never a member)
    member: bool


class Member(FromRow):
    membership_id: int
    user_id: int
    username: str
    display_name: str | None
    joined_at: datetime


_BY_MEMBERSHIP: Keyset[Member] = Keyset(
    CursorCodec(Column.INT4), ("after_id",), lambda member: [member.membership_id], first=0
)


async def insert_org(conn: asyncpg.Connection, name: str, display_name: str | None) -> Org:
    return await _SQL.insert_org.single(conn, Org, name=name, display_name=display_name)


async def org_by_name(conn: asyncpg.Connection, name: str, *, lock: bool = False) -> Org | None:
    """A live org; with `lock`, its row is locked until the transaction ends (membership changes
    serialise on it, so an org can never lose its last member to two concurrent removals). The name
    is folded as registry.names folds it (a string that can be no name: None)."""
    folded = fold_name(name)
    if folded is None:
        return None
    query = _SQL.org_by_name_for_update if lock else _SQL.org_by_name
    return await query.one(conn, Org, name=folded)


async def org_membership(conn: asyncpg.Connection, name: str, user_id: int | None) -> OrgMembership | None:
    """A live org by name (folded as in org_by_name) and whether `user_id` belongs to it."""
    folded = fold_name(name)
    if folded is None:
        return None
    row = await _SQL.org_membership.fetchrow(conn, name=folded, user_id=user_id)
    if row is None:
        return None
    return OrgMembership(Org(**{field.name: row[field.name] for field in fields(Org)}), user_id, row["member"])


async def org_by_id(conn: asyncpg.Connection, org_id: int) -> Org | None:
    """A live org by id (Sourcegraph's GraphQL names orgs by id)."""
    return await _SQL.org_by_id.one(conn, Org, org_id=org_id)


async def update_org_display_name(conn: asyncpg.Connection, org_id: int, display_name: str | None) -> Org | None:
    return await _SQL.update_org_display_name.one(conn, Org, org_id=org_id, display_name=display_name)


async def soft_delete_org(conn: asyncpg.Connection, org_id: int) -> bool:
    return await _SQL.soft_delete_org.changed(conn, org_id=org_id) == 1


async def insert_member(conn: asyncpg.Connection, org_id: int, user_id: int) -> None:
    await _SQL.insert_member.execute(conn, org_id=org_id, user_id=user_id)


async def is_member(conn: asyncpg.Connection, org_id: int, user_id: int) -> bool:
    return await _SQL.is_member.fetchval(conn, org_id=org_id, user_id=user_id) is not None


async def list_members(conn: asyncpg.Connection, org_id: int, page: PageRequest) -> Page[Member]:
    return await _SQL.list_members.page(conn, Member, _BY_MEMBERSHIP, page, org_id=org_id)


async def count_members(conn: asyncpg.Connection, org_id: int) -> int:
    count: int = await _SQL.count_members.fetchval(conn, org_id=org_id)
    return count


async def delete_member(conn: asyncpg.Connection, org_id: int, user_id: int) -> bool:
    return await _SQL.delete_member.changed(conn, org_id=org_id, user_id=user_id) == 1
